/**
 * What a file session did, as the dispatcher logs it: one event per file read or written (when
 * its handle closes), per removal, rename, directory made or removed, attribute change, and per
 * refusal; then a summary. Refusals beyond REPORTED_REFUSALS are only counted, so a client
 * cannot flood the log.
 */
import { REPORTED_REFUSALS, type Refusal } from './policy.js';

export const FILE_OPS = ['read', 'write', 'remove', 'rename', 'mkdir', 'rmdir', 'setstat'] as const;
export type FileOp = (typeof FILE_OPS)[number];

export interface FileEvent {
  op: FileOp;
  /** The client's view: "/dir/file". */
  path: string;
  /** A rename's new name. */
  to?: string;
  /** Bytes moved, for read and write. */
  bytes?: number;
  /** Set when the request was refused: why. */
  refused?: Refusal;
  /** A write: this handle made the file (a new name). */
  created?: true;
  /** A write: the name held a file before, now replaced by a new inode; a rename: its target existed and was replaced. */
  replaced?: true;
}

/** idle-timeout: nothing came from the client (and nothing it read) for the policy's idleTimeoutMs. */
export const SESSION_ENDS = ['eof', 'protocol-error', 'output-closed', 'client-error', 'error', 'idle-timeout'] as const;
export type SessionEnd = (typeof SESSION_ENDS)[number];

export interface FileSummary {
  /** Operations done (refusals not included). */
  counts: Record<FileOp, number>;
  bytesRead: number;
  bytesWritten: number;
  refusals: number;
  /** Refusals counted but not reported as events. */
  refusalsUnreported: number;
  ended: SessionEnd;
  /** For a protocol error or an error: what happened, in a few words. */
  detail?: string;
}

export class SessionRecord {
  private readonly summary: FileSummary = {
    counts: { read: 0, write: 0, remove: 0, rename: 0, mkdir: 0, rmdir: 0, setstat: 0 },
    bytesRead: 0,
    bytesWritten: 0,
    refusals: 0,
    refusalsUnreported: 0,
    ended: 'eof',
  };

  constructor(private readonly report: (event: FileEvent) => void) {}

  done(event: FileEvent): void {
    this.summary.counts[event.op]++;
    if (event.op === 'read') this.summary.bytesRead += event.bytes ?? 0;
    if (event.op === 'write') this.summary.bytesWritten += event.bytes ?? 0;
    this.report(event);
  }

  refused(op: FileOp, path: string, refused: Refusal, to?: string): void {
    this.summary.refusals++;
    if (this.summary.refusals > REPORTED_REFUSALS) {
      this.summary.refusalsUnreported++;
      return;
    }
    this.report(to === undefined ? { op, path, refused } : { op, path, to, refused });
  }

  end(ended: SessionEnd, detail?: string): FileSummary {
    // The first cause wins: a protocol error is not overwritten by the end of input after it.
    if (this.summary.ended === 'eof' && ended !== 'eof') {
      this.summary.ended = ended;
      if (detail !== undefined) this.summary.detail = detail;
    }
    return { ...this.summary, counts: { ...this.summary.counts } };
  }
}
