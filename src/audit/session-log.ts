/**
 * Where one connection's records go: the audit file, which decides (a record it cannot take means
 * the request is denied), and a copy to syslog where the policy asks for one (best effort, and
 * awaited before the program starts, so that execve does not cut it off). Failures the file
 * cannot record go to syslog through logger(1), the last channel left.
 */
import type { SyslogSettings } from '../policy/schema.js';
import type { DenyReason } from '../values/deny-reason.js';
import type { AuditRecord } from './record-types.js';
import { AuditLog, tellSyslog } from './sink.js';
import { sendToSyslog } from './syslog.js';

/** The refusal no record can carry: it goes to syslog, code first, so that it is found the same way. */
const UNWRITABLE: DenyReason = 'audit-unwritable';

export class SessionLog {
  private readonly pending: Promise<void>[] = [];

  private constructor(
    private readonly file: AuditLog,
    private readonly syslog: SyslogSettings | null,
    /** Who the failure messages are about: session and identity. */
    private readonly about: string,
  ) {}

  /** The session's log, or null (after telling syslog why) when the audit file cannot be opened. */
  static open(path: string, syslog: SyslogSettings | null, about: string): SessionLog | null {
    const opened = AuditLog.open(path);
    if (!opened.ok) {
      tellSyslog(`${UNWRITABLE}: request denied (${about}): ${opened.error}`);
      return null;
    }
    return new SessionLog(opened.log, syslog, about);
  }

  /**
   * Appends a record; false (after telling syslog) when the file did not take it. `fileOnly`:
   * not copied to syslog. An sftp session's per-file records are the client's to multiply, and
   * each syslog copy is a logger process or a connection (found in review: 2000 opens made 2000
   * connections to the collector); syslog gets the decision and the end record, which counts them.
   */
  append(record: AuditRecord, what = 'request denied', fileOnly = false): boolean {
    const failure = this.file.append(record);
    if (this.syslog && !fileOnly) this.pending.push(sendToSyslog(this.syslog, record));
    if (failure) tellSyslog(`${UNWRITABLE}: ${what} (${this.about}): ${failure}`);
    return failure === null;
  }

  /** Waits for the syslog copies sent so far. */
  async flush(): Promise<void> {
    await Promise.all(this.pending.splice(0));
  }
}
