/**
 * A legacy scp session's state and its side of the conversation: what both directions (the sink,
 * scp-sink.ts; the source, scp-source.ts) share. Writes wait while the output is full, and stop
 * the session when the output failed or the idle timeout struck while waiting.
 */
import { ConfinedRoot } from './confined-root.js';
import { SessionRecord, type FileEvent, type FileOp } from './events.js';
import { FLOOR_MESSAGE, SpaceFloor, statfsFree, type SessionOptions } from './free-space.js';
import { SessionInodes } from './history.js';
import { IdleTimer } from './idle.js';
import type { FilePolicy, Refusal } from './policy.js';
import { Incoming, Stop } from './scp-incoming.js';
import type { ScpRequest } from '../../rules/plan.js';

export class ScpChannel {
  readonly fsroot: ConfinedRoot;
  readonly record: SessionRecord;
  readonly incoming: Incoming;
  readonly space: SpaceFloor;
  readonly idle: IdleTimer;
  /** Files and directories this session made, by inode: the rest is history (policy.ts, the table). */
  readonly inodes = new SessionInodes();
  outputFailed = false;
  idledOut = false;
  /** Sends waiting for the output to drain: woken by the idle timeout too. */
  private readonly waiting = new Set<() => void>();

  constructor(
    readonly policy: FilePolicy,
    readonly request: ScpRequest,
    input: NodeJS.ReadableStream,
    readonly output: NodeJS.WritableStream,
    report: (event: FileEvent) => void,
    options: SessionOptions,
  ) {
    this.fsroot = new ConfinedRoot(policy.root);
    this.record = new SessionRecord(report);
    this.space = new SpaceFloor(policy.minFreeBytes, options.freeBytes ?? statfsFree(this.fsroot.root));
    this.idle = new IdleTimer(policy.idleTimeoutMs, () => {
      this.idledOut = true;
      this.incoming.abort();
      for (const wake of this.waiting) wake();
    });
    this.incoming = new Incoming(input, () => this.idle.touch());
    output.on('error', () => (this.outputFailed = true));
    output.on('drain', () => this.idle.touch());
  }

  /** Writes, waiting while the output's buffer is full. */
  async send(data: string | Buffer): Promise<void> {
    if (this.outputFailed) throw new Stop('output-closed', 'output closed');
    if (this.idledOut) throw new Stop('idle-timeout', 'idle');
    // Sending is activity: a download has no client bytes between a file's start and its end.
    this.idle.touch();
    if (this.output.write(data)) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        this.output.off('drain', done);
        this.output.off('error', done);
        this.waiting.delete(done);
        resolve();
      };
      this.output.on('drain', done);
      this.output.on('error', done);
      this.waiting.add(done);
    });
    if (this.outputFailed) throw new Stop('output-closed', 'output closed');
    if (this.idledOut) throw new Stop('idle-timeout', 'idle');
  }

  ok(): Promise<void> {
    return this.send(Buffer.of(0));
  }

  /** An error the client prints and goes on from (`\x01`). */
  error(clientPath: string, message: string): Promise<void> {
    return this.send(`\x01scp: ${clientPath}: ${message}\n`);
  }

  async refused(op: FileOp, clientPath: string, refusal: Refusal): Promise<void> {
    this.record.refused(op, clientPath, refusal);
    await this.error(clientPath, refusal === 'outside-root' ? 'No such file or directory' : `Permission denied (${refusal})`);
  }

  /** A file that would take free space below min-free: recorded, and said to the client, which goes on to the next. */
  async refusedForSpace(clientPath: string): Promise<void> {
    this.record.refused('write', clientPath, 'min-free');
    await this.error(clientPath, FLOOR_MESSAGE);
  }

  /** The client's status byte: true for yes; a `\x01` line is an error it reported, `\x02` stops. */
  async response(): Promise<boolean> {
    const byte = await this.incoming.byte();
    if (byte === null) throw new Stop('eof', 'input ended');
    if (byte === 0) return true;
    if (byte !== 1 && byte !== 2) throw new Stop('protocol-error', 'expected a status byte');
    const message = await this.incoming.line();
    if (byte === 2) throw new Stop('client-error', message ?? '');
    return false;
  }
}

/** An errno in words, without the host path Node puts in its messages. */
export function errnoText(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  const words: Record<string, string> = {
    ENOENT: 'No such file or directory',
    EACCES: 'Permission denied',
    EPERM: 'Operation not permitted',
    EEXIST: 'File exists',
    EISDIR: 'Is a directory',
    ENOTDIR: 'Not a directory',
    ENOSPC: 'No space left on device',
    EDQUOT: 'Disk quota exceeded',
    ELOOP: 'Too many levels of symbolic links',
    EROFS: 'Read-only file system',
    EIO: 'Input/output error',
  };
  return (code && words[code]) ?? 'Failure';
}
