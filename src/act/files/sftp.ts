/**
 * The SFTP version 3 server: what OpenSSH's sftp and scp (9.0+), restic's sftp backend (Go
 * pkg/sftp) and rclone send, confined to a root and held to a FilePolicy.
 *
 * Requests are served in order, synchronously, one input chunk at a time: pipelined clients (64
 * requests in flight) are answered as fast as the disk goes, without a promise per request.
 * Memory stays bounded: packets are capped at MAX_PACKET, handles at MAX_HANDLES, and when the
 * output's buffer is full the server stops both reading input and answering what it already
 * has, until the output drains (a client that sends READs and never reads answers stalls itself).
 */
import {
  closeSync, constants, fchmodSync, fstatSync, fsyncSync, ftruncateSync, futimesSync, linkSync, lstatSync, mkdirSync, openSync,
  opendirSync, readlinkSync, readSync, renameSync, rmdirSync, statfsSync, statSync, unlinkSync, utimesSync, writeSync,
  chmodSync, type Dir, type Stats,
} from 'node:fs';
import type { Writable } from 'node:stream';
import { ConfinedRoot, lstatOrNull, normaliseClientPath, type Located } from './confined-root.js';
import { SessionRecord, type FileEvent, type FileOp, type FileSummary, type SessionEnd } from './events.js';
import { FLOOR_MESSAGE, SpaceFloor, statfsFree, type SessionOptions } from './free-space.js';
import { IdleTimer } from './idle.js';
import {
  changes, existingOpen, newDirectoryMode, newFileMode, openRefusal, permittedMode, removeRefusal, renameRefusal, setstatRefusal, writeRefusal,
  type FilePolicy, type Inode, type Refusal,
} from './policy.js';
import { dropReplacement, inodeKey, putInPlace, replacementName } from './history.js';
import { FX, FXP, longname, Malformed, MAX_DATA, MAX_PACKET, PacketReader, PacketWriter, STATUS_TEXT, type Attrs, type StatusCode } from './sftp-wire.js';

export const MAX_HANDLES = 256;
const READDIR_BATCH = 100;
const COPY_CHUNK = 1024 * 1024;

/** The extensions advertised in VERSION: each is implemented below. */
const EXTENSIONS: [string, string][] = [
  ['posix-rename@openssh.com', '1'],
  ['statvfs@openssh.com', '2'],
  ['fstatvfs@openssh.com', '2'],
  ['limits@openssh.com', '1'],
  ['expand-path@openssh.com', '1'],
  ['fsync@openssh.com', '1'],
];

interface FileHandle {
  kind: 'file';
  fd: number;
  client: string;
  host: string;
  readable: boolean;
  writable: boolean;
  /** The file is new: made by this open, or the new inode of a replacement. */
  created: boolean;
  /** Opened with TRUNC: what was there is gone, whatever is written after. */
  truncated: boolean;
  /**
   * Replacing a stored file (overwrite): the client writes into a new inode at `temp` in the same
   * directory, renamed over `host` when the handle is closed; `key` is its inode, checked first.
   */
  replacing: { temp: string; key: string } | null;
  /**
   * A write open of a stored file without TRUNC: `fd` is the stored file, opened for reading,
   * until the first change makes a copy of it (materialise), which becomes the replacement.
   */
  copy: { append: boolean; mode: number } | null;
  /**
   * A copy made lazily (a write-only handle, not appending: OpenSSH's sftp put and scp over SFTP,
   * which write a whole file over a stored one): the stored file stays open as `fd`, and only the
   * ranges the client did not write (`written`, sorted, merged) below `size` are copied from it,
   * when the handle is read, synced or closed (fillFromBasis). A whole-file put copies nothing.
   */
  basis: { fd: number; size: number; written: [number, number][] } | null;
  /**
   * A write through this handle was refused at the free-space floor: every later one is too,
   * so that a WRITE pipelined after it cannot land once space is freed and leave a hole of
   * zeros in the file. The client opens the file again to go on.
   */
  spaceRefused: boolean;
  /** Counted apart: a read-write handle that only reads is a read, not an upload (found in review). */
  bytesRead: number;
  bytesWritten: number;
  /** The client read to the end (an empty file is read too). */
  readToEnd: boolean;
}

interface DirHandle {
  kind: 'dir';
  dir: Dir;
  client: string;
  host: string;
}

type Handle = FileHandle | DirHandle;

/** A request that is answered with a status, for the log and the client. */
class Answer extends Error {
  constructor(readonly code: StatusCode, readonly refusal?: Refusal, text?: string) {
    super(text ?? STATUS_TEXT[code]);
  }
}


const O_NOFOLLOW = constants.O_NOFOLLOW;

/** errno to SFTP status, as OpenSSH's errno_to_portable does. */
function statusOf(error: unknown): StatusCode {
  switch ((error as NodeJS.ErrnoException).code) {
    case 'ENOENT': case 'ENOTDIR': case 'EBADF': case 'ELOOP':
      return FX.NO_SUCH_FILE;
    case 'EPERM': case 'EACCES': case 'EFAULT':
      return FX.PERMISSION_DENIED;
    case 'ENAMETOOLONG':
      return FX.BAD_MESSAGE;
    case 'ENOSYS':
      return FX.OP_UNSUPPORTED;
    default:
      return FX.FAILURE;
  }
}

/** Written ranges followed for a lazy copy before it is completed at once (a client writing scattered blocks). */
const MAX_SPANS = 4096;

/** Adds [start, end) to sorted, merged `spans`; returns how many there are now. */
export function addSpan(spans: [number, number][], start: number, end: number): number {
  // Writes come in order, mostly: look from the end.
  let i = spans.length;
  while (i > 0 && spans[i - 1]![0] > start) i--;
  spans.splice(i, 0, [start, end]);
  // Merge with the one before, then with those after while they touch.
  let at = i > 0 && spans[i - 1]![1] >= start ? i - 1 : i;
  while (at + 1 < spans.length && spans[at]![1] >= spans[at + 1]![0]) {
    spans[at]![1] = Math.max(spans[at]![1], spans[at + 1]![1]);
    spans.splice(at + 1, 1);
  }
  return spans.length;
}

/** READ answers' buffers kept for reuse: OpenSSH's sftp keeps 64 requests in flight. */
const MAX_SPARE_READS = 64;

export function serveSftp(policy: FilePolicy, input: NodeJS.ReadableStream, output: NodeJS.WritableStream, report: (event: FileEvent) => void, options: SessionOptions = {}): Promise<FileSummary> {
  return new Promise((resolve) => new SftpSession(policy, input, output, report, resolve, options).start());
}

class SftpSession {
  private readonly fsroot: ConfinedRoot;
  private readonly record: SessionRecord;
  private readonly handles = new Map<string, Handle>();
  private readonly spareReads: Buffer[] = [];
  private pooledSize: number | undefined;
  private nextHandle = 1;
  private initialised = false;
  /** Input not yet served: whole chunks, and how many bytes the next step needs. */
  private chunks: Buffer[] = [];
  private queued = 0;
  private blocked = false;
  private inputEnded = false;
  private finished = false;
  /**
   * Files and directories this session created, by device and inode (inodeKey): the session's own
   * work, which it may change and undo; everything else is history (policy.ts, the table).
   */
  private readonly createdHere = new Set<string>();
  /**
   * The session's own files that took a stored name (a replacement put in place over it): their
   * contents are the session's, but the name is history's, which only delete lets go (else put,
   * then rm, would remove a stored name under delete: false).
   */
  private readonly storedNames = new Set<string>();
  private readonly space: SpaceFloor;
  private idle: IdleTimer | null = null;

  constructor(
    private readonly policy: FilePolicy,
    private readonly input: NodeJS.ReadableStream,
    private readonly output: NodeJS.WritableStream,
    report: (event: FileEvent) => void,
    private readonly resolve: (summary: FileSummary) => void,
    options: SessionOptions,
  ) {
    this.record = new SessionRecord(report);
    this.fsroot = new ConfinedRoot(policy.root);
    this.space = new SpaceFloor(policy.minFreeBytes, options.freeBytes ?? statfsFree(this.fsroot.root));
  }

  start(): void {
    this.idle = new IdleTimer(this.policy.idleTimeoutMs, () => this.finish('idle-timeout', `nothing from the client for ${this.policy.idleTimeoutMs / 1000} s`));
    this.input.on('data', (chunk: Buffer) => {
      this.idle?.touch();
      this.chunks.push(chunk);
      this.queued += chunk.length;
      this.serve();
    });
    this.input.on('end', () => {
      this.inputEnded = true;
      if (!this.blocked) this.finish('eof');
    });
    this.input.on('error', () => this.finish('error', 'input failed'));
    this.output.on('error', () => this.finish('output-closed'));
    this.output.on('drain', () => {
      // The client reads what it asked for: a slow download is not idle.
      this.idle?.touch();
      if (!this.blocked || this.finished) return;
      this.blocked = false;
      this.serve();
      if (this.blocked) return;
      if (this.inputEnded) this.finish('eof');
      else this.input.resume();
    });
  }

  /** Serves every whole packet queued, until the output asks to wait. */
  private serve(): void {
    if (this.finished || this.blocked) return;
    // A packet spread over several chunks is joined once, when all of it is here, not once
    // per chunk (a 255 KiB WRITE comes in four or more pipe reads).
    const first = this.chunks[0];
    if (this.chunks.length > 1 && first !== undefined && first.length >= 4 && this.queued < 4 + first.readUInt32BE(0) && first.readUInt32BE(0) <= MAX_PACKET) return;
    let buf = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.queued);
    let at = 0;
    (this.output as { cork?: () => void }).cork?.();
    try {
      while (buf.length - at >= 4 && !this.finished) {
        const length = buf.readUInt32BE(at);
        if (length < 5 || length > MAX_PACKET) {
          this.finish('protocol-error', `packet length ${length}`);
          return;
        }
        if (buf.length - at - 4 < length) break;
        this.packet(buf.subarray(at + 4, at + 4 + length));
        at += 4 + length;
        if ((this.output as Writable).writableNeedDrain) {
          this.blocked = true;
          this.input.pause();
          break;
        }
      }
    } finally {
      (this.output as { uncork?: () => void }).uncork?.();
    }
    buf = buf.subarray(at);
    this.chunks = buf.length > 0 ? [buf] : [];
    this.queued = buf.length;
    // Served: a request that took long (an fsync of a large file) does not count as quiet time.
    this.idle?.touch();
  }

  private send(packet: Buffer, written?: () => void): void {
    if (!this.finished) this.output.write(packet, written);
  }

  /**
   * A buffer for a READ answer, reused once its answer is written. A client asks for one size
   * again and again (OpenSSH's sftp: the server's read limit, 255 KiB here; others 32 KiB), and a
   * fresh buffer per answer is freed to malloc, which keeps what it is given, fragmented, long
   * after V8 collects it: an idle session that had moved data held 60 to 80 MiB (BENCHMARKS.md,
   * section 9). The first size asked for is the pooled one; as many are kept as were in flight.
   */
  private readBuffer(size: number): { buffer: Buffer; done?: () => void } {
    this.pooledSize ??= size;
    if (size !== this.pooledSize) return { buffer: Buffer.allocUnsafe(size) };
    const buffer = this.spareReads.pop() ?? Buffer.allocUnsafeSlow(size);
    return { buffer, done: () => void (this.spareReads.length < MAX_SPARE_READS && this.spareReads.push(buffer)) };
  }

  private status(id: number, code: StatusCode, text = STATUS_TEXT[code]): void {
    this.send(new PacketWriter(FXP.STATUS, id).u32(code).string(text).string('en').done());
  }

  private finish(ended: SessionEnd, detail?: string): void {
    if (this.finished) return;
    this.finished = true;
    this.idle?.stop();
    // A replacement the client never closed is dropped: the stored file stays as it was.
    for (const handle of this.handles.values()) this.closeHandle(handle, false);
    this.handles.clear();
    this.input.removeAllListeners('data');
    this.input.pause();
    const summary = this.record.end(ended, detail);
    if (ended === 'output-closed') {
      this.resolve(summary);
      return;
    }
    if (ended === 'idle-timeout') {
      // A client that stopped reading would never let the end be written: do not wait for it.
      this.output.end();
      this.resolve(summary);
      return;
    }
    this.output.end(() => this.resolve(summary));
  }

  private packet(packet: Buffer): void {
    const reader = new PacketReader(packet);
    const type = reader.u8();
    if (type === FXP.INIT) {
      if (this.initialised) return this.finish('protocol-error', 'second INIT');
      this.initialised = true;
      const version = new PacketWriter(FXP.VERSION, null).u32(3);
      for (const [name, data] of EXTENSIONS) version.string(name).string(data);
      return this.send(version.done());
    }
    if (!this.initialised) return this.finish('protocol-error', 'request before INIT');
    let id = 0;
    try {
      id = reader.u32();
      this.request(type, id, reader);
    } catch (error) {
      if (error instanceof Malformed) return this.finish('protocol-error', error.message);
      if (error instanceof Answer) return this.status(id, error.code, error.message);
      this.status(id, statusOf(error));
    }
  }

  // ---- requests ----

  private request(type: number, id: number, r: PacketReader): void {
    switch (type) {
      case FXP.OPEN: return this.open(id, r.text(), r.u32(), r.attrs());
      case FXP.CLOSE: return this.close(id, r.bytes());
      case FXP.READ: return this.read(id, r.bytes(), r.u64(), r.u32());
      case FXP.WRITE: return this.write(id, r.bytes(), r.u64(), r.bytes());
      case FXP.LSTAT: return this.attrsReply(id, this.lstat(r.text()));
      case FXP.STAT: return this.attrsReply(id, statSync(this.existing(r.text(), 'read').host));
      case FXP.FSTAT: return this.attrsReply(id, this.fstat(this.handle(r.bytes())));
      case FXP.SETSTAT: return this.setstat(id, r.text(), r.attrs());
      case FXP.FSETSTAT: return this.fsetstat(id, this.handle(r.bytes()), r.attrs());
      case FXP.OPENDIR: return this.opendir(id, r.text());
      case FXP.READDIR: return this.readdir(id, r.bytes());
      case FXP.REMOVE: return this.remove(id, r.text());
      case FXP.MKDIR: return this.mkdir(id, r.text(), r.attrs());
      case FXP.RMDIR: return this.rmdir(id, r.text());
      case FXP.REALPATH: return this.nameReply(id, this.realpath(r.text()));
      case FXP.RENAME: return this.rename(id, r.text(), r.text(), false);
      case FXP.READLINK: return this.readlink(id, r.text());
      case FXP.SYMLINK: return this.refuse('write', r.text(), 'links');
      case FXP.EXTENDED: return this.extended(id, r.text(), r);
      default: return this.status(id, FX.OP_UNSUPPORTED);
    }
  }

  private extended(id: number, name: string, r: PacketReader): void {
    switch (name) {
      case 'posix-rename@openssh.com': return this.rename(id, r.text(), r.text(), true);
      case 'statvfs@openssh.com': return this.statvfs(id, this.existing(r.text(), null).host);
      case 'fstatvfs@openssh.com': return this.statvfs(id, this.handle(r.bytes()).host);
      case 'limits@openssh.com':
        return this.send(new PacketWriter(FXP.EXTENDED_REPLY, id).u64(MAX_PACKET).u64(MAX_DATA).u64(MAX_DATA).u64(MAX_HANDLES).done());
      case 'expand-path@openssh.com': return this.nameReply(id, this.realpath(expandTilde(r.text())));
      case 'fsync@openssh.com': {
        const handle = this.fileHandle(r.bytes());
        this.fillFromBasis(handle);
        fsyncSync(handle.fd);
        return this.status(id, FX.OK);
      }
      case 'hardlink@openssh.com': return this.refuse('write', r.text(), 'links');
      default: return this.status(id, FX.OP_UNSUPPORTED);
    }
  }

  /** Records a refusal and answers PERMISSION_DENIED (NO_SUCH_FILE for what lies outside). */
  private refuse(op: FileOp, path: string, refusal: Refusal, to?: string): never {
    this.record.refused(op, normaliseClientPath(path), refusal, to === undefined ? undefined : normaliseClientPath(to));
    throw new Answer(refusal === 'outside-root' ? FX.NO_SUCH_FILE : refusal === 'too-many-handles' ? FX.FAILURE : FX.PERMISSION_DENIED, refusal);
  }

  /** An existing path, symlinks followed; outside the root it does not exist. */
  private existing(path: string, op: FileOp | null): Located {
    const found = this.fsroot.existing(path);
    if (found === 'outside' && op !== null) this.refuse(op, path, 'outside-root');
    if (typeof found === 'string') throw new Answer(FX.NO_SUCH_FILE);
    return found;
  }

  /** The last name itself (not followed), in a directory inside the root. */
  private entry(path: string, op: FileOp | null): Located {
    const found = this.fsroot.entry(path);
    if (found === null) throw new Answer(FX.PERMISSION_DENIED);
    if (found === 'outside' && op !== null) this.refuse(op, path, 'outside-root');
    if (typeof found === 'string') throw new Answer(FX.NO_SUCH_FILE);
    return found;
  }

  private handle(raw: Buffer): Handle {
    const handle = this.handles.get(raw.toString('latin1'));
    if (!handle) throw new Answer(FX.FAILURE);
    return handle;
  }

  private fileHandle(raw: Buffer): FileHandle {
    const handle = this.handle(raw);
    if (handle.kind !== 'file') throw new Answer(FX.FAILURE);
    return handle;
  }

  private newHandle(handle: Handle): string {
    const name = String(this.nextHandle++);
    this.handles.set(name, handle);
    return name;
  }

  private roomForHandle(op: FileOp, path: string): void {
    if (this.handles.size >= MAX_HANDLES) this.refuse(op, path, 'too-many-handles');
  }

  private open(id: number, path: string, flags: number, attrs: Attrs): void {
    const intent = {
      read: (flags & 1) !== 0 || (flags & 2) === 0,
      write: (flags & 2) !== 0,
      append: (flags & 4) !== 0,
      create: (flags & 8) !== 0,
      truncate: (flags & 0x10) !== 0,
      exclusive: (flags & 0x20) !== 0,
    };
    const writing = intent.write || intent.truncate || intent.append;
    const op: FileOp = writing ? 'write' : 'read';
    this.roomForHandle(op, path);
    // Refusals that need no look at the disk come first: a read-only session learns nothing
    // about names by trying to write them.
    const early = openRefusal(this.policy, intent, false);
    if (early) this.refuse(op, path, early);
    const target = this.fsroot.target(path);
    if (target === 'outside') this.refuse(op, path, 'outside-root');
    if (target === 'missing') throw new Answer(FX.NO_SUCH_FILE);
    if (target === 'root') throw new Answer(FX.FAILURE);
    // O_NONBLOCK: a FIFO in the root must not hang the session in open(2); non-regular files
    // are refused right after.
    const access = writing ? (intent.read ? constants.O_RDWR : constants.O_WRONLY) : constants.O_RDONLY;
    const base = constants.O_NOFOLLOW | constants.O_NONBLOCK;
    const handle: FileHandle = { kind: 'file', fd: -1, client: target.client, host: target.host, readable: intent.read, writable: writing, created: false, truncated: intent.truncate, replacing: null, copy: null, basis: null, spaceRefused: false, bytesRead: 0, bytesWritten: 0, readToEnd: false };
    if (!target.exists) {
      if (!intent.create) throw new Answer(FX.NO_SUCH_FILE);
      // Always exclusive: a file that appeared since the look is not this session's to open.
      const permissions = newFileMode(this.policy, attrs.permissions);
      handle.fd = this.openChecked(op, target, target.host, base | access | constants.O_CREAT | constants.O_EXCL | (intent.append ? constants.O_APPEND : 0), permissions, true);
      handle.created = true;
    } else if (!writing) {
      handle.fd = this.openChecked(op, target, target.host, base | access, 0, false);
    } else {
      if (intent.create && intent.exclusive) throw new Answer(FX.FAILURE);
      const before = lstatSync(target.host);
      if (!before.isFile()) throw new Answer(FX.FAILURE);
      const how = existingOpen(this.policy, intent, !this.createdHere.has(inodeKey(before)));
      // A replacement keeps the stored file's permission bits, as an open of the file itself
      // would have (OpenSSH's sftp-server ignores a mode sent with an open of an existing file).
      const storedMode = before.mode & 0o777;
      if (how === 'replace') {
        const temp = replacementName(target.host);
        handle.fd = this.openChecked(op, target, temp, base | access | constants.O_CREAT | constants.O_EXCL, storedMode, true);
        handle.created = true;
        handle.replacing = { temp, key: inodeKey(fstatSync(handle.fd)) };
      } else if (how === 'copy') {
        handle.fd = this.openChecked(op, target, target.host, base | constants.O_RDONLY, 0, false);
        if (inodeKey(fstatSync(handle.fd)) !== inodeKey(before)) {
          closeSync(handle.fd);
          throw new Answer(FX.FAILURE);
        }
        handle.copy = { append: intent.append, mode: storedMode };
        handle.truncated = false;
      } else if (how === 'in-place') {
        // The session's own file: opened without O_TRUNC, checked to be the inode looked at,
        // then truncated, so that a stored file swapped in meanwhile is never cut.
        handle.fd = this.openChecked(op, target, target.host, base | access | (intent.append ? constants.O_APPEND : 0), 0, false);
        if (inodeKey(fstatSync(handle.fd)) !== inodeKey(before)) {
          closeSync(handle.fd);
          throw new Answer(FX.FAILURE);
        }
        if (intent.truncate) ftruncateSync(handle.fd, 0);
      } else {
        this.refuse(op, target.client, how);
      }
    }
    const name = this.newHandle(handle);
    this.send(new PacketWriter(FXP.HANDLE, id).string(name).done());
  }

  /**
   * Opens and checks what opened: under the root, a regular file. A new file gets exactly the
   * mode asked (whatever the process umask) and becomes the session's own.
   */
  private openChecked(op: FileOp, target: Located, host: string, mode: number, permissions: number, creating: boolean): number {
    let fd: number;
    try {
      fd = openSync(host, mode, permissions);
    } catch (error) {
      // Appeared since the look: not this session's file.
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new Answer(FX.FAILURE);
      throw error;
    }
    try {
      // A directory on the path swapped for a link out since the look: what opened is not ours.
      if (!this.fsroot.holds(fd)) this.refuse(op, target.client, 'outside-root');
      const stats = fstatSync(fd);
      if (!stats.isFile()) throw new Answer(FX.FAILURE);
      if (creating) {
        fchmodSync(fd, permissions);
        this.createdHere.add(inodeKey(stats));
      }
    } catch (error) {
      closeSync(fd);
      throw error;
    }
    return fd;
  }

  /**
   * Closes a handle and records what it did. A replacement is put in place when the client
   * closes it (`commit`), and dropped otherwise (the session ended with it open): the stored file
   * is then as it was. Answers the status for CLOSE.
   */
  private closeHandle(handle: Handle, commit: boolean): StatusCode {
    if (handle.kind === 'dir') {
      try {
        handle.dir.closeSync();
      } catch {}
      return FX.OK;
    }
    if (handle.basis !== null) {
      try {
        if (commit) this.fillFromBasis(handle);
      } catch {
        commit = false; // a replacement that could not be completed is not put in place
      } finally {
        if (handle.basis !== null) closeSync(handle.basis.fd);
        handle.basis = null;
      }
    }
    try {
      closeSync(handle.fd);
    } catch {}
    if (handle.bytesRead > 0 || handle.readToEnd) this.record.done({ op: 'read', path: handle.client, bytes: handle.bytesRead });
    if (!handle.writable) return FX.OK;
    const { replacing } = handle;
    let made: { created?: true; replaced?: true } = handle.created ? { created: true } : {};
    if (replacing !== null) {
      if (!commit) {
        dropReplacement(replacing.temp, replacing.key);
        this.createdHere.delete(replacing.key);
        return FX.OK;
      }
      let put: { replaced: boolean } | null = null;
      const before = lstatOrNull(handle.host);
      try {
        put = putInPlace(replacing.temp, replacing.key, handle.host);
      } catch {}
      if (put !== null && before !== null && this.holdsStoredName(before)) this.storedNames.add(replacing.key);
      if (put === null) {
        dropReplacement(replacing.temp, replacing.key);
        this.createdHere.delete(replacing.key);
        this.record.done({ op: 'write', path: handle.client, bytes: handle.bytesWritten });
        return FX.FAILURE;
      }
      made = put.replaced ? { replaced: true } : { created: true };
    }
    if (handle.bytesWritten > 0 || handle.created || handle.truncated) this.record.done({ op: 'write', path: handle.client, bytes: handle.bytesWritten, ...made });
    return FX.OK;
  }

  private close(id: number, raw: Buffer): void {
    const handle = this.handle(raw);
    this.handles.delete(raw.toString('latin1'));
    this.status(id, this.closeHandle(handle, true));
  }

  private read(id: number, raw: Buffer, offset: number, length: number): void {
    const handle = this.fileHandle(raw);
    if (!handle.readable) throw new Answer(FX.PERMISSION_DENIED);
    const want = Math.min(length, MAX_DATA);
    // One buffer for the answer: the file is read straight into its data field.
    const { buffer: packet, done } = this.readBuffer(13 + want);
    let got: number;
    try {
      got = want === 0 ? 0 : readSync(handle.fd, packet, 13, want, offset);
    } catch (error) {
      done?.();
      throw error;
    }
    if (got === 0) {
      done?.();
      handle.readToEnd = true;
      return this.status(id, FX.EOF);
    }
    handle.bytesRead += got;
    packet.writeUInt32BE(9 + got, 0);
    packet[4] = FXP.DATA;
    packet.writeUInt32BE(id, 5);
    packet.writeUInt32BE(got, 9);
    if (this.finished) done?.();
    else this.send(packet.subarray(0, 13 + got), done);
  }

  private write(id: number, raw: Buffer, offset: number, data: Buffer): void {
    const handle = this.fileHandle(raw);
    if (!handle.writable) throw new Answer(FX.PERMISSION_DENIED);
    // Refused at the floor: SSH_FX_FAILURE, as OpenSSH's sftp-server answers ENOSPC. SFTP
    // version 3 has no status for a full disk (SSH_FX_NO_SPACE_ON_FILESYSTEM is version 5's).
    if (handle.spaceRefused) throw new Answer(FX.FAILURE, 'min-free', FLOOR_MESSAGE);
    this.materialise(handle, true);
    if (!this.space.admit(data.length)) {
      // The file keeps what was written before: the write record says how much. One refusal
      // record per handle: a client has dozens of WRITEs in flight, all refused alike.
      handle.spaceRefused = true;
      this.record.refused('write', handle.client, 'min-free');
      throw new Answer(FX.FAILURE, 'min-free', FLOOR_MESSAGE);
    }
    let done = 0;
    while (done < data.length) done += writeSync(handle.fd, data, done, data.length - done, offset + done);
    handle.bytesWritten += done;
    if (handle.basis !== null && done > 0 && addSpan(handle.basis.written, offset, offset + done) > MAX_SPANS) this.fillFromBasis(handle);
    this.status(id, FX.OK);
  }

  private lstat(path: string): Stats {
    const found = this.fsroot.entry(path);
    if (found === null) return lstatSync(this.fsroot.root);
    if (typeof found === 'string') throw new Answer(FX.NO_SUCH_FILE);
    return lstatSync(found.host);
  }

  private fstat(handle: Handle): Stats {
    if (handle.kind === 'file') this.fillFromBasis(handle);
    return handle.kind === 'file' ? fstatSync(handle.fd) : statSync(handle.host);
  }

  private attrsReply(id: number, stats: Stats): void {
    this.send(new PacketWriter(FXP.ATTRS, id).attrs(stats).done());
  }

  /** What a SETSTAT would change: the session's own inode or history, and how many names share it. */
  private inode(stats: Stats): Inode {
    return { stored: !this.createdHere.has(inodeKey(stats)), links: stats.nlink, directory: stats.isDirectory() };
  }

  /** Whether removing or renaming away the name of this file takes a name from history. */
  private holdsStoredName(stats: Stats): boolean {
    const key = inodeKey(stats);
    return !this.createdHere.has(key) || this.storedNames.has(key);
  }

  private checkSetstat(path: string, attrs: Attrs, stats: Stats): void {
    const refusal = setstatRefusal(this.policy, attrs, this.inode(stats));
    if (refusal) this.refuse('setstat', path, refusal);
  }

  private setstat(id: number, path: string, attrs: Attrs): void {
    const early = writeRefusal(this.policy);
    if (early) this.refuse('setstat', path, early);
    const found = this.existing(path, 'setstat');
    const stats = statSync(found.host);
    this.checkSetstat(found.client, attrs, stats);
    if (attrs.size !== undefined) {
      // Through a descriptor, checked on what it opened: "created by this session" is the file
      // (its inode), not the name, which renames can give to a stored file (found in review).
      const fd = openSync(found.host, constants.O_WRONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
      try {
        const opened = fstatSync(fd);
        if (!this.fsroot.holds(fd)) this.refuse('setstat', found.client, 'outside-root');
        if (!opened.isFile() || inodeKey(opened) !== inodeKey(stats)) throw new Answer(FX.FAILURE);
        ftruncateSync(fd, attrs.size);
      } finally {
        closeSync(fd);
      }
    }
    if (attrs.permissions !== undefined) chmodSync(found.host, permittedMode(this.policy, attrs.permissions));
    if (attrs.atime !== undefined && attrs.mtime !== undefined) utimesSync(found.host, attrs.atime, attrs.mtime);
    if (hasChange(attrs)) this.record.done({ op: 'setstat', path: found.client });
    this.status(id, FX.OK);
  }

  private fsetstat(id: number, handle: Handle, attrs: Attrs): void {
    if (handle.kind === 'dir') return this.setstat(id, handle.client, attrs);
    if (handle.copy !== null && changes(attrs)) {
      // A change through a write handle of a stored file is made on its copy (OpenSSH's scp
      // truncates the file it wrote over to the bytes it sent): asked of the copy it will be.
      const refusal = setstatRefusal(this.policy, attrs, { stored: false, links: 1, directory: false });
      if (refusal) this.refuse('setstat', handle.client, refusal);
      this.materialise(handle, true);
    }
    this.checkSetstat(handle.client, attrs, fstatSync(handle.fd));
    if (attrs.size !== undefined) {
      // What lies past the new size is gone: nothing of the stored file is copied there later.
      if (handle.basis !== null) handle.basis.size = Math.min(handle.basis.size, attrs.size);
      ftruncateSync(handle.fd, attrs.size);
    }
    if (attrs.permissions !== undefined) fchmodSync(handle.fd, permittedMode(this.policy, attrs.permissions));
    if (attrs.atime !== undefined && attrs.mtime !== undefined) futimesSync(handle.fd, attrs.atime, attrs.mtime);
    // Setting the mode and times of a file this handle created is part of the upload (scp and
    // sftp put -p do it): its write event says enough.
    if (hasChange(attrs) && !handle.created) this.record.done({ op: 'setstat', path: handle.client });
    this.status(id, FX.OK);
  }

  /**
   * The first change through a write handle of a stored file: the stored contents are copied into
   * a new inode beside it, which the handle writes from now on and which is renamed over the name
   * when the handle closes. The stored inode is only read. Costs a copy of the file, counted
   * against the free-space floor first.
   */
  private materialise(handle: FileHandle, lazy = false): void {
    const pending = handle.copy;
    if (pending === null) return;
    const stored = fstatSync(handle.fd);
    if (!this.space.fits(stored.size)) {
      handle.spaceRefused = true;
      this.record.refused('write', handle.client, 'min-free');
      throw new Answer(FX.FAILURE, 'min-free', FLOOR_MESSAGE);
    }
    const temp = replacementName(handle.host);
    const located = { host: handle.host, client: handle.client };
    const fd = this.openChecked('write', located, temp, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW | (pending.append ? constants.O_APPEND : 0), pending.mode, true);
    const key = inodeKey(fstatSync(fd));
    if (lazy && !handle.readable && !pending.append) {
      handle.basis = { fd: handle.fd, size: stored.size, written: [] };
      handle.fd = fd;
      handle.copy = null;
      handle.created = true;
      handle.replacing = { temp, key };
      return;
    }
    try {
      const buffer = Buffer.allocUnsafe(COPY_CHUNK);
      for (let at = 0; ; ) {
        const got = readSync(handle.fd, buffer, 0, buffer.length, at);
        if (got === 0) break;
        for (let done = 0; done < got; ) done += writeSync(fd, buffer, done, got - done, at + done);
        at += got;
      }
    } catch (error) {
      closeSync(fd);
      dropReplacement(temp, key);
      this.createdHere.delete(key);
      throw error;
    }
    closeSync(handle.fd);
    handle.fd = fd;
    handle.copy = null;
    handle.created = true;
    handle.replacing = { temp, key };
  }

  /** Completes a lazy copy: the stored file's bytes the client did not write, below its size. */
  private fillFromBasis(handle: FileHandle): void {
    const basis = handle.basis;
    if (basis === null) return;
    const buffer = Buffer.allocUnsafe(COPY_CHUNK);
    let at = 0;
    for (const [start, end] of [...basis.written, [basis.size, basis.size] as [number, number]]) {
      for (const gapEnd = Math.min(start, basis.size); at < gapEnd; ) {
        const got = readSync(basis.fd, buffer, 0, Math.min(buffer.length, gapEnd - at), at);
        if (got === 0) break;
        for (let done = 0; done < got; ) done += writeSync(handle.fd, buffer, done, got - done, at + done);
        at += got;
      }
      at = Math.max(at, end);
      if (at >= basis.size) break;
    }
    closeSync(basis.fd);
    handle.basis = null;
  }

  private opendir(id: number, path: string): void {
    this.roomForHandle('read', path);
    const found = this.existing(path, 'read');
    // Opened once, checked on what opened, then listed through that same directory.
    const fd = openSync(found.host, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NONBLOCK);
    let dir: Dir;
    try {
      if (!this.fsroot.holds(fd)) this.refuse('read', found.client, 'outside-root');
      dir = opendirSync(`/proc/self/fd/${fd}`);
    } finally {
      closeSync(fd);
    }
    const handle = this.newHandle({ kind: 'dir', dir, client: found.client, host: found.host });
    this.send(new PacketWriter(FXP.HANDLE, id).string(handle).done());
  }

  private readdir(id: number, raw: Buffer): void {
    const handle = this.handle(raw);
    if (handle.kind !== 'dir') throw new Answer(FX.FAILURE);
    const names: [string, Stats][] = [];
    while (names.length < READDIR_BATCH) {
      const entry = handle.dir.readSync();
      if (entry === null) break;
      const stats = lstatOrNull(`${handle.host === '/' ? '' : handle.host}/${entry.name}`);
      if (stats) names.push([entry.name, stats]);
    }
    if (names.length === 0) return this.status(id, FX.EOF);
    const now = new Date();
    const reply = new PacketWriter(FXP.NAME, id, 8192).u32(names.length);
    for (const [name, stats] of names) reply.string(name).string(longname(name, stats, now)).attrs(stats);
    this.send(reply.done());
  }

  private remove(id: number, path: string): void {
    const early = writeRefusal(this.policy);
    if (early) this.refuse('remove', path, early);
    const found = this.entry(path, 'remove');
    const stats = lstatSync(found.host);
    if (stats.isDirectory()) throw new Answer(FX.FAILURE);
    const refusal = removeRefusal(this.policy, this.holdsStoredName(stats));
    if (refusal) this.refuse('remove', found.client, refusal);
    unlinkSync(found.host);
    this.storedNames.delete(inodeKey(stats));
    // Its inode number may come back for another file.
    this.createdHere.delete(inodeKey(stats));
    this.record.done({ op: 'remove', path: found.client });
    this.status(id, FX.OK);
  }

  private mkdir(id: number, path: string, attrs: Attrs): void {
    const refusal = writeRefusal(this.policy);
    if (refusal) this.refuse('mkdir', path, refusal);
    const found = this.entry(path, 'mkdir');
    const mode = newDirectoryMode(this.policy, attrs.permissions);
    mkdirSync(found.host, mode);
    // The process umask took bits off; set exactly what the policy says, on the new directory
    // itself (O_NOFOLLOW: not through a link planted since).
    const fd = openSync(found.host, constants.O_RDONLY | constants.O_DIRECTORY | O_NOFOLLOW);
    try {
      fchmodSync(fd, mode);
      this.createdHere.add(inodeKey(fstatSync(fd)));
    } finally {
      closeSync(fd);
    }
    this.record.done({ op: 'mkdir', path: found.client });
    this.status(id, FX.OK);
  }

  private rmdir(id: number, path: string): void {
    const early = writeRefusal(this.policy);
    if (early) this.refuse('rmdir', path, early);
    const found = this.entry(path, 'rmdir');
    const stats = lstatSync(found.host);
    const refusal = removeRefusal(this.policy, !this.createdHere.has(inodeKey(stats)));
    if (refusal) this.refuse('rmdir', found.client, refusal);
    rmdirSync(found.host);
    this.createdHere.delete(inodeKey(stats));
    this.record.done({ op: 'rmdir', path: found.client });
    this.status(id, FX.OK);
  }

  /**
   * RENAME (v3): never replaces; an existing target is FAILURE, as in OpenSSH. posix-rename
   * replaces: a stored target needs delete and overwrite, the session's own file nothing more. A
   * stored source needs delete (a name renamed away is gone: rename away, then upload under the
   * old name, would replace history under overwrite: false). A rename that must not replace links the new
   * name then unlinks the old (link(2) fails on an existing name: no window for a race), as
   * OpenSSH does; directories, which cannot be linked, are renamed after a look.
   */
  private rename(id: number, from: string, to: string, replace: boolean): void {
    const early = writeRefusal(this.policy);
    if (early) this.refuse('rename', from, early, to);
    const source = this.entry(from, 'rename');
    const sourceStats = lstatSync(source.host);
    const target = this.entry(to, 'rename');
    const targetStats = lstatOrNull(target.host);
    if (targetStats !== null && !replace) throw new Answer(FX.FAILURE);
    const own = (stats: Stats) => this.createdHere.has(inodeKey(stats));
    const refusal = renameRefusal(this.policy, this.holdsStoredName(sourceStats), targetStats === null ? 'none' : own(targetStats) ? 'own' : 'stored');
    if (refusal) this.refuse('rename', source.client, refusal, target.client);
    if (replace && targetStats !== null) renameSync(source.host, target.host);
    else renameNoReplace(source.host, target.host, sourceStats);
    if (targetStats !== null && inodeKey(targetStats) !== inodeKey(sourceStats)) {
      // The session's file now holds the name the replaced one held.
      if (this.holdsStoredName(targetStats)) this.storedNames.add(inodeKey(sourceStats));
      // The replaced inode's number may come back for another file.
      this.createdHere.delete(inodeKey(targetStats));
      this.storedNames.delete(inodeKey(targetStats));
    }
    this.record.done({ op: 'rename', path: source.client, to: target.client, ...(targetStats !== null ? { replaced: true as const } : {}) });
    this.status(id, FX.OK);
  }

  private realpath(path: string): string {
    const found = this.fsroot.existing(path === '' ? '/' : path);
    if (typeof found !== 'string') return found.client;
    if (found === 'outside') throw new Answer(FX.NO_SUCH_FILE);
    // As OpenSSH's realpath: the last component may be missing (a name about to be created).
    const entry = this.fsroot.entry(path);
    if (entry === null || typeof entry === 'string') throw new Answer(FX.NO_SUCH_FILE);
    return entry.client;
  }

  private nameReply(id: number, name: string): void {
    this.send(new PacketWriter(FXP.NAME, id).u32(1).string(name).string(name).attrs(null).done());
  }

  private readlink(id: number, path: string): void {
    const found = this.entry(path, null);
    const shown = this.fsroot.linkTarget(found.client, readlinkSync(found.host));
    if (shown === null) throw new Answer(FX.NO_SUCH_FILE);
    this.nameReply(id, shown);
  }

  private statvfs(id: number, host: string): void {
    const fs = statfsSync(host);
    const readOnly = this.policy.access === 'read' ? 1 : 0;
    this.send(
      new PacketWriter(FXP.EXTENDED_REPLY, id)
        .u64(fs.bsize).u64(fs.bsize).u64(fs.blocks).u64(fs.bfree).u64(fs.bavail)
        .u64(fs.files).u64(fs.ffree).u64(fs.ffree).u64(0).u64(readOnly).u64(255)
        .done(),
    );
  }
}

function hasChange(attrs: Attrs): boolean {
  return attrs.size !== undefined || attrs.permissions !== undefined || attrs.uid !== undefined || attrs.mtime !== undefined;
}

/** "~" and "~/x" are the client's home, which is `/`; another user's home does not exist here. */
function expandTilde(path: string): string {
  if (path === '~') return '/';
  if (path.startsWith('~/')) return path.slice(1);
  if (path.startsWith('~')) throw new Answer(FX.NO_SUCH_FILE);
  return path;
}

function renameNoReplace(from: string, to: string, stats: Stats): void {
  if (!stats.isDirectory()) {
    try {
      linkSync(from, to);
      unlinkSync(from);
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') throw new Answer(FX.FAILURE);
      // Filesystems without hard links: rename after a look, as for directories.
      if (code !== 'EPERM' && code !== 'EXDEV' && code !== 'ENOTSUP' && code !== 'EMLINK') throw error;
    }
  }
  if (lstatOrNull(to) !== null) throw new Answer(FX.FAILURE);
  renameSync(from, to);
}

