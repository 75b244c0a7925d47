/**
 * Reading the audit log back: records streamed line by line (bounded memory whatever the size),
 * from the log and, when asked, its rotated predecessors (`audit.jsonl.1`, `audit.jsonl.2.gz`,
 * ... as logrotate names them), oldest first. A line that is not a record (a truncated last line,
 * a corrupt disk block, JSON that schema/audit.schema.json refuses: audit/validate.ts) is counted
 * and skipped, never fatal. Every reader (logs, summary, status, suggest) reads through here.
 */
import { closeSync, createReadStream, fstatSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import type { LoggedRecord as AuditRecord } from './record-types.js';
import { asRecord } from './validate.js';
import { ACCOUNT_NAME } from '../policy/schema.js';

/** The log and, with `rotated`, its rotated files, oldest first. */
export function auditFiles(path: string, rotated: boolean): string[] {
  if (!rotated) return [path];
  const base = basename(path);
  const dir = dirname(path);
  const older: { file: string; n: number }[] = [];
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    // A missing directory reads as an empty log.
  }
  for (const name of names) {
    const match = name.startsWith(`${base}.`) ? /^\.([0-9]{1,4})(\.gz)?$/.exec(name.slice(base.length)) : null;
    if (match) older.push({ file: join(dir, name), n: Number(match[1]) });
  }
  return [...older.sort((a, b) => b.n - a.n).map((o) => o.file), path];
}

/** The account whose log `name` is, beside root's log named `base` (accountLogFile's names), or null. */
function accountOfName(base: string, name: string): string | null {
  const dot = base.lastIndexOf('.');
  const [stem, ext] = dot > 0 ? [base.slice(0, dot), base.slice(dot)] : [base, ''];
  if (!(name.startsWith(`${stem}.`) && name.endsWith(ext) && name.length > stem.length + 1 + ext.length)) return null;
  const account = name.slice(stem.length + 1, name.length - ext.length);
  return ACCOUNT_NAME.test(account) ? account : null;
}

/** The account logs beside root's log `path` (accountLogFile's names), in name order; none where the directory cannot be listed. */
export function accountLogs(path: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dirname(path));
  } catch {
    return [];
  }
  return names
    .filter((name) => accountOfName(basename(path), name) !== null)
    .sort()
    .map((name) => join(dirname(path), name));
}

/**
 * Whose log `file` is, given root's log `rootLog`: null for root's, else the account's name (its
 * rotated files too). `--log /var/log/ssh-dispatch/audit.backup.jsonl` is still backup's log,
 * and its records are judged as the account's, never trusted as root's.
 */
export function accountOfLog(rootLog: string, file: string): string | null {
  if (dirname(resolve(file)) !== dirname(resolve(rootLog))) return null;
  const name = basename(file).replace(/\.[0-9]{1,4}(\.gz)?$/, '');
  return name === basename(rootLog) ? null : accountOfName(basename(rootLog), name);
}

/**
 * Records of several logs (root's and the accounts'), each in its own order, merged by time:
 * each log is in time order already, so the next record is the earliest head.
 */
export async function* mergeByTime(sources: AsyncIterable<AuditRecord>[]): AsyncGenerator<AuditRecord> {
  const iterators = sources.map((source) => source[Symbol.asyncIterator]());
  const heads = await Promise.all(iterators.map((it) => it.next()));
  for (;;) {
    let pick = -1;
    for (let i = 0; i < heads.length; i++) {
      if (heads[i]!.done) continue;
      if (pick === -1 || heads[i]!.value.ts < heads[pick]!.value.ts) pick = i;
    }
    if (pick === -1) return;
    yield heads[pick]!.value;
    heads[pick] = await iterators[pick]!.next();
  }
}

export interface ReadStats {
  skipped: number;
}

/** One log line as a record, or null (counted in `stats`) when it is not one. */
export function parseRecord(line: string, stats: ReadStats): AuditRecord | null {
  let record: AuditRecord | null;
  try {
    record = asRecord(JSON.parse(line));
  } catch {
    record = null;
  }
  if (record === null) stats.skipped++;
  return record;
}

/** `wanted`: a line it refuses is neither parsed nor counted (replay reads decision records only: audit/replay.ts lineMayBeDecision). */
export async function* readRecords(
  files: readonly string[],
  stats: ReadStats,
  wanted?: (line: string) => boolean,
): AsyncGenerator<AuditRecord> {
  for (const file of files) {
    let input: NodeJS.ReadableStream;
    try {
      statSync(file);
      const raw = createReadStream(file, { highWaterMark: 1024 * 1024 });
      input = file.endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
    } catch {
      continue;
    }
    for await (const line of createInterface({ input, crlfDelay: Infinity })) {
      if (line === '' || (wanted !== undefined && !wanted(line))) continue;
      const record = parseRecord(line, stats);
      if (record !== null) yield record;
    }
  }
}

/**
 * After the existing records: prints what is appended, for as long as the process runs. Survives
 * rotation by rename (the path gets a new inode: the old file is read to its end first) and by
 * copytruncate (the file shrinks: read again from its start).
 */
export async function followRecords(
  path: string,
  onRecord: (record: AuditRecord) => void,
  stats: ReadStats,
  pollMs = 500,
  fromStart = false,
  signal?: AbortSignal,
): Promise<void> {
  let fd: number | null = null;
  let position = 0;
  let partial = '';
  const open = (fromStart: boolean) => {
    try {
      fd = openSync(path, 'r');
      position = fromStart ? 0 : fstatSync(fd).size;
    } catch {
      fd = null;
    }
  };
  const drain = () => {
    if (fd === null) return;
    const buffer = Buffer.alloc(1024 * 1024);
    for (;;) {
      const n = readSync(fd, buffer, 0, buffer.length, position);
      if (n === 0) break;
      position += n;
      const lines = (partial + buffer.subarray(0, n).toString('utf8')).split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        if (line === '') continue;
        const record = parseRecord(line, stats);
        if (record !== null) onRecord(record);
      }
    }
  };
  open(fromStart);
  while (!signal?.aborted) {
    await new Promise((r) => setTimeout(r, pollMs));
    if (fd === null) {
      open(true);
      continue;
    }
    let current: { ino: number } | null = null;
    try {
      current = statSync(path);
    } catch {
      current = null;
    }
    const mine = fstatSync(fd);
    if (mine.size < position) {
      // copytruncate: the same file, emptied.
      position = 0;
      partial = '';
    }
    drain();
    if (current === null || current.ino !== mine.ino) {
      // Renamed away: what was left in the old file is read; now the new one, from its start.
      closeSync(fd);
      fd = null;
      partial = '';
      open(true);
      drain();
    }
  }
  if (fd !== null) closeSync(fd);
}

/**
 * followRecords for root's log `path` and every account's log beside it (accountLogs), each
 * record with the log it came from. An account's log that appears later (its first connection)
 * is found on the next poll and read from its start.
 */
export async function followLogs(
  path: string,
  onRecord: (record: AuditRecord, log: string) => void,
  stats: ReadStats,
  pollMs = 500,
  signal?: AbortSignal,
): Promise<void> {
  const followers = new Map<string, Promise<void>>();
  const follow = (log: string, fromStart: boolean) =>
    followers.set(
      log,
      followRecords(log, (record) => onRecord(record, log), stats, pollMs, fromStart, signal),
    );
  follow(path, false);
  for (const log of accountLogs(path)) follow(log, false);
  while (!signal?.aborted) {
    await new Promise((r) => setTimeout(r, pollMs));
    for (const log of accountLogs(path)) if (!followers.has(log)) follow(log, true);
  }
  await Promise.all(followers.values());
}

/**
 * Why the log files cannot be read, as one line for stderr; null when they can. The log itself
 * must be a readable file, except that it may be missing when older rotated files are there
 * (rotated away, not yet recreated) or when `mayBeMissing` (--follow waits for it). A log that
 * reads as empty because it is not there must not look like a quiet day.
 */
export function unreadableLog(files: readonly string[], mayBeMissing: boolean): string | null {
  const path = files[files.length - 1]!;
  for (const file of files) {
    let fd: number | null = null;
    try {
      fd = openSync(file, 'r');
      if (!fstatSync(fd).isFile()) return `${file}: not a regular file`;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && file === path && (mayBeMissing || files.length > 1)) continue;
      if (code === 'ENOENT') return `${file}: no such file (no connection recorded yet, or another log: --log FILE, --policy PATH)`;
      if (code === 'EACCES' || code === 'EPERM') return `${file}: permission denied (run as root, or as a member of the log's group)`;
      return `${file}: cannot be read (${code ?? (error as Error).message})`;
    } finally {
      if (fd !== null) closeSync(fd);
    }
  }
  return null;
}

/**
 * The log and as many of its rotated files as may hold records at or after `since`, oldest first
 * (for `status`: right after a rotation the window's successes are in `audit.jsonl.1`). A rotated
 * file's mtime is its last write, or later where compressing touched it, never earlier: a file
 * whose mtime is before `since` holds nothing after it, nor does any older one. Unlike auditFiles,
 * a directory that cannot be listed is an error, not an empty log; a missing one lists the log.
 */
export function auditFilesSince(path: string, since: Date): string[] {
  const base = basename(path);
  const dir = dirname(path);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [path];
    throw error;
  }
  const rotated: { file: string; n: number }[] = [];
  for (const name of names) {
    const match = name.startsWith(`${base}.`) ? /^\.([0-9]{1,4})(\.gz)?$/.exec(name.slice(base.length)) : null;
    if (match) rotated.push({ file: join(dir, name), n: Number(match[1]) });
  }
  rotated.sort((a, b) => a.n - b.n);
  let needed = 0;
  for (const [i, { file }] of rotated.entries()) {
    let mtimeMs: number;
    try {
      mtimeMs = statSync(file).mtimeMs;
    } catch {
      continue; // rotated away between the listing and now
    }
    if (mtimeMs >= since.getTime()) needed = i + 1;
  }
  return [
    ...rotated
      .slice(0, needed)
      .reverse()
      .map((r) => r.file),
    path,
  ];
}
