/**
 * What every SFTP request handler works with: the policy, the confined root, the session's
 * record, its handles and its own inodes, the free-space floor, and the ways a request is
 * answered (a packet, a status, a refusal). The request loop (sftp.ts) owns one per session and
 * marks it finished; the handlers (sftp-*.ts) are functions of it.
 */
import type { Stats } from 'node:fs';
import { ConfinedRoot, normaliseClientPath, type Located } from './confined-root.js';
import { SessionRecord, type FileEvent, type FileOp } from './events.js';
import { SpaceFloor, statfsFree, type SessionOptions } from './free-space.js';
import { SessionInodes } from './history.js';
import type { FilePolicy, Refusal } from './policy.js';
import { Answer } from './sftp-answer.js';
import { HandleTable, type Handle } from './sftp-handles.js';
import { ReadBuffers } from './sftp-read-buffers.js';
import { FX, FXP, PacketWriter, STATUS_TEXT, type StatusCode } from './sftp-wire.js';

export class SftpContext {
  readonly fsroot: ConfinedRoot;
  readonly record: SessionRecord;
  readonly handles = new HandleTable();
  /** Files and directories this session created: the session's own work; the rest is history. */
  readonly inodes = new SessionInodes();
  readonly space: SpaceFloor;
  readonly readBuffers = new ReadBuffers();
  /** The session has ended: nothing more is sent. */
  finished = false;

  constructor(
    readonly policy: FilePolicy,
    private readonly output: NodeJS.WritableStream,
    report: (event: FileEvent) => void,
    options: SessionOptions,
  ) {
    this.record = new SessionRecord(report);
    this.fsroot = new ConfinedRoot(policy.root);
    this.space = new SpaceFloor(policy.minFreeBytes, options.freeBytes ?? statfsFree(this.fsroot.root));
  }

  send(packet: Buffer, written?: () => void): void {
    if (!this.finished) this.output.write(packet, written);
  }

  status(id: number, code: StatusCode, text = STATUS_TEXT[code]): void {
    this.send(new PacketWriter(FXP.STATUS, id).u32(code).string(text).string('en').done());
  }

  attrsReply(id: number, stats: Stats): void {
    this.send(new PacketWriter(FXP.ATTRS, id).attrs(stats).done());
  }

  nameReply(id: number, name: string): void {
    this.send(new PacketWriter(FXP.NAME, id).u32(1).string(name).string(name).attrs(null).done());
  }

  /** Names a new handle and answers with its name. */
  handleReply(id: number, handle: Handle): void {
    const name = this.handles.add(handle);
    this.send(new PacketWriter(FXP.HANDLE, id).string(name).done());
  }

  /** Records a refusal and answers PERMISSION_DENIED (NO_SUCH_FILE for what lies outside). */
  refuse(op: FileOp, path: string, refusal: Refusal, to?: string): never {
    this.record.refused(op, normaliseClientPath(path), refusal, to === undefined ? undefined : normaliseClientPath(to));
    throw new Answer(
      refusal === 'outside-root' ? FX.NO_SUCH_FILE : refusal === 'too-many-handles' ? FX.FAILURE : FX.PERMISSION_DENIED,
      refusal,
    );
  }

  roomForHandle(op: FileOp, path: string): void {
    if (this.handles.full) this.refuse(op, path, 'too-many-handles');
  }

  /** An existing path, symlinks followed; outside the root it does not exist. */
  existing(path: string, op: FileOp | null): Located {
    const found = this.fsroot.existing(path);
    if (found === 'outside' && op !== null) this.refuse(op, path, 'outside-root');
    if (typeof found === 'string') throw new Answer(FX.NO_SUCH_FILE);
    return found;
  }

  /** The last name itself (not followed), in a directory inside the root. */
  entry(path: string, op: FileOp | null): Located {
    const found = this.fsroot.entry(path);
    if (found === null) throw new Answer(FX.PERMISSION_DENIED);
    if (found === 'outside' && op !== null) this.refuse(op, path, 'outside-root');
    if (typeof found === 'string') throw new Answer(FX.NO_SUCH_FILE);
    return found;
  }
}
