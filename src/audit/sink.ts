/**
 * The audit log file: one JSON line per record, appended with a single write(2).
 *
 * Synchronous on purpose: the decision record must be on its way to disk before the program
 * runs, and after execve there is no event loop left to flush an asynchronous logger. O_APPEND
 * keeps concurrent sessions' lines whole; O_NOFOLLOW and the regular-file check keep a planted
 * symlink or FIFO from redirecting or blocking the log (rrsync's safe_open_logfile does the same).
 * The descriptor is close-on-exec (Node's default), so no child inherits it.
 */
import { closeSync, constants, fstatSync, openSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { childProcess } from '../lazy-builtins.js';
import { toLogLine } from './escape.js';
import type { AuditRecord } from './record-types.js';
import { ACCOUNT_NAME } from '../policy/schema.js';

export type AuditOpen = { ok: true; log: AuditLog } | { ok: false; error: string };

export class AuditLog {
  private constructor(private readonly fd: number) {}

  static open(path: string): AuditOpen {
    let fd: number;
    try {
      fd = openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK, 0o640);
    } catch (error) {
      return { ok: false, error: `cannot open ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` };
    }
    if (!fstatSync(fd).isFile()) {
      closeSync(fd);
      return { ok: false, error: `${path} is not a regular file` };
    }
    return { ok: true, log: new AuditLog(fd) };
  }

  /** Appends one record, serialised as every record is (escape.ts's toLogLine); returns why it failed, or null. */
  append(record: AuditRecord): string | null {
    const line = Buffer.from(toLogLine(record), 'utf8');
    try {
      const written = writeSync(this.fd, line);
      return written === line.length ? null : `short write (${written} of ${line.length} bytes)`;
    } catch (error) {
      return `write failed: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`;
    }
  }

  close(): void {
    closeSync(this.fd);
  }
}

/**
 * When the audit log itself fails, the admin still needs to learn why every request is being
 * denied: tell syslog through logger(1), best effort, with a fixed text (never client words).
 */
export function tellSyslog(message: string): void {
  try {
    childProcess().spawnSync('/usr/bin/logger', ['-t', 'ssh-dispatch', '-p', 'auth.err', '--', message], {
      stdio: 'ignore',
      timeout: 2000,
    });
  } catch {
    // Nothing is left to tell; the client has been denied already.
  }
}

/**
 * Where the records of connections that log into an account other than root go: beside root's
 * log, the account's name before its extension (`audit.jsonl` → `audit.backup.jsonl`). A file of
 * its own, created for it by `install.sh --account NAME` and owned by it, so that the account
 * cannot alter root's records or another account's, and root reads them all.
 */
export function accountLogFile(path: string, uid: number, user: string): string {
  if (uid === 0) return path;
  if (!ACCOUNT_NAME.test(user)) return path;
  const base = basename(path);
  const dot = base.lastIndexOf('.');
  const name = dot > 0 ? `${base.slice(0, dot)}.${user}${base.slice(dot)}` : `${base}.${user}`;
  return join(dirname(path), name);
}
