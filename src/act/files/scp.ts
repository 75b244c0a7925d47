/**
 * The legacy scp protocol (`scp -O`, and every scp before OpenSSH 9.0): the server side of
 * `scp -t TARGET` (the client pushes) and `scp -f SOURCE` (the client pulls), confined to a
 * root and held to the same FilePolicy as SFTP.
 *
 * The protocol, as OpenSSH's scp.c speaks it: control lines `C<mode> <size> <name>` (a file,
 * then its bytes and a status byte), `D<mode> 0 <name>` (enter a directory), `E` (leave it),
 * `T<mtime> 0 <atime> 0` (times of what follows, with -p); each answered by a status byte:
 * `\0` for yes, `\x01message\n` for an error the other side prints and continues past,
 * `\x02message\n` for a fatal one.
 *
 * The source path is taken literally: the OpenSSH client sends wildcards for the remote shell
 * to expand, and there is no shell here. `scp -O host:'*.log' .` looks for a file named `*.log`.
 */
import { closeSync, constants, fchmodSync, fstatSync, ftruncateSync, futimesSync, lstatSync, mkdirSync, openSync, opendirSync, readSync, statSync, utimesSync, writeSync, type Dir, type Stats } from 'node:fs';
import { ConfinedRoot, lstatOrNull, normaliseClientPath, type Located } from './confined-root.js';
import { SessionRecord, type FileEvent, type FileOp, type FileSummary, type SessionEnd } from './events.js';
import { FLOOR_MESSAGE, SpaceFloor, statfsFree, type SessionOptions } from './free-space.js';
import { IdleTimer } from './idle.js';
import type { ScpRequest } from '../../rules/plan.js';
import { existingOpen, newDirectoryMode, newFileMode, openRefusal, readRefusal, setstatRefusal, writeRefusal, type FilePolicy, type Refusal } from './policy.js';
import { dropReplacement, inodeKey, putInPlace, replacementName } from './history.js';

/** A control line longer than this is no scp client's. */
const MAX_LINE = 8192;
/** Unread input held before the stream is paused. */
const HIGH_WATER = 1024 * 1024;
const CHUNK = 256 * 1024;

/** Stops the session: the other side is not speaking scp, or said stop. */
class Stop extends Error {
  constructor(readonly ended: SessionEnd, detail: string) {
    super(detail);
  }
}

/** The client's bytes, read as lines, single bytes or counted runs. */
class Incoming {
  private chunks: Buffer[] = [];
  private length = 0;
  private ended = false;
  private wake: (() => void) | null = null;

  constructor(
    private readonly input: NodeJS.ReadableStream,
    private readonly activity: () => void,
  ) {
    input.on('data', (chunk: Buffer) => {
      activity();
      this.chunks.push(chunk);
      this.length += chunk.length;
      if (this.length > HIGH_WATER) input.pause();
      this.notify();
    });
    input.on('end', () => {
      this.ended = true;
      this.notify();
    });
    input.on('error', () => {
      this.ended = true;
      this.notify();
    });
  }

  /** Ends the input here (the idle timeout): whatever waits for more hears it has ended. */
  abort(): void {
    this.ended = true;
    this.input.pause();
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  /** Waits for more input; false at its end. */
  private async more(): Promise<boolean> {
    if (this.ended) return false;
    this.input.resume();
    await new Promise<void>((resolve) => (this.wake = resolve));
    return this.length > 0 || !this.ended;
  }

  private takeBytes(n: number): Buffer {
    const joined = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.length);
    const taken = joined.subarray(0, n);
    const rest = joined.subarray(n);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.length = rest.length;
    if (this.length <= HIGH_WATER) this.input.resume();
    return taken;
  }

  /** One line without its newline; null at the end of input before any byte of it. */
  async line(): Promise<string | null> {
    for (;;) {
      const joined = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.length);
      this.chunks = joined.length > 0 ? [joined] : [];
      const newline = joined.indexOf(10);
      if (newline >= 0 && newline <= MAX_LINE) return this.takeBytes(newline + 1).subarray(0, newline).toString('utf8');
      if (joined.length > MAX_LINE) throw new Stop('protocol-error', 'control line too long');
      if (!(await this.more())) {
        if (this.length === 0) return null;
        throw new Stop('protocol-error', 'input ended inside a line');
      }
    }
  }

  async byte(): Promise<number | null> {
    while (this.length === 0) if (!(await this.more())) return null;
    return this.takeBytes(1)[0]!;
  }

  /** Hands exactly n bytes to sink, as they come; false when the input ends first. */
  async run(n: number, sink: (bytes: Buffer) => void): Promise<boolean> {
    let left = n;
    while (left > 0) {
      if (this.length === 0 && !(await this.more())) return false;
      const bytes = this.takeBytes(Math.min(left, this.length));
      left -= bytes.length;
      sink(bytes);
    }
    return true;
  }
}

export async function serveScp(policy: FilePolicy, request: ScpRequest, input: NodeJS.ReadableStream, output: NodeJS.WritableStream, report: (event: FileEvent) => void, options: SessionOptions = {}): Promise<FileSummary> {
  const session = new ScpSession(policy, request, input, output, report, options);
  return session.run();
}

class ScpSession {
  private readonly fsroot: ConfinedRoot;
  private readonly record: SessionRecord;
  private readonly incoming: Incoming;
  private outputFailed = false;
  private readonly space: SpaceFloor;
  private readonly idle: IdleTimer;
  private idledOut = false;
  /** Sends waiting for the output to drain: woken by the idle timeout too. */
  private readonly waiting = new Set<() => void>();
  /** Files and directories this session made, by inode: the rest is history (policy.ts, the table). */
  private readonly createdHere = new Set<string>();

  constructor(
    private readonly policy: FilePolicy,
    private readonly request: ScpRequest,
    input: NodeJS.ReadableStream,
    private readonly output: NodeJS.WritableStream,
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

  async run(): Promise<FileSummary> {
    let ended: SessionEnd = 'eof';
    let detail: string | undefined;
    try {
      if (this.request.direction === 'to-server') await this.sink();
      else await this.source();
    } catch (error) {
      if (!(error instanceof Stop)) throw error;
      ended = error.ended;
      detail = error.message;
      if (ended === 'protocol-error') await this.send(`\x01scp: protocol error: ${error.message}\n`).catch(() => {});
    } finally {
      this.idle.stop();
    }
    if (this.outputFailed) ended = 'output-closed';
    if (this.idledOut) {
      // Whatever the wait ended in (an end of input, a cut file), the cause was the timeout. A
      // client that stopped reading would never let the end be written: do not wait for it.
      ended = 'idle-timeout';
      detail = `nothing from the client for ${this.policy.idleTimeoutMs / 1000} s`;
      this.output.end();
    } else {
      await new Promise<void>((resolve) => this.output.end(resolve));
    }
    return this.record.end(ended, detail);
  }

  /** Writes, waiting while the output's buffer is full. */
  private async send(data: string | Buffer): Promise<void> {
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

  private ok(): Promise<void> {
    return this.send(Buffer.of(0));
  }

  /** An error the client prints and goes on from (`\x01`). */
  private error(clientPath: string, message: string): Promise<void> {
    return this.send(`\x01scp: ${clientPath}: ${message}\n`);
  }

  private async refused(op: FileOp, clientPath: string, refusal: Refusal): Promise<void> {
    this.record.refused(op, clientPath, refusal);
    await this.error(clientPath, refusal === 'outside-root' ? 'No such file or directory' : `Permission denied (${refusal})`);
  }

  /** A file that would take free space below min-free: recorded, and said to the client, which goes on to the next. */
  private async refusedForSpace(clientPath: string): Promise<void> {
    this.record.refused('write', clientPath, 'min-free');
    await this.error(clientPath, FLOOR_MESSAGE);
  }

  /** The client's status byte: true for yes; a `\x01` line is an error it reported, `\x02` stops. */
  private async response(): Promise<boolean> {
    const byte = await this.incoming.byte();
    if (byte === null) throw new Stop('eof', 'input ended');
    if (byte === 0) return true;
    if (byte !== 1 && byte !== 2) throw new Stop('protocol-error', 'expected a status byte');
    const message = await this.incoming.line();
    if (byte === 2) throw new Stop('client-error', message ?? '');
    return false;
  }

  // ---- scp -t: the client pushes ----

  private async sink(): Promise<void> {
    const target = normaliseClientPath(this.request.path);
    const top = this.fsroot.existing(target);
    const targetIsDir = typeof top !== 'string' && statSync(top.host).isDirectory();
    if (this.request.targetMustBeDir && !targetIsDir) {
      await this.error(target, 'Not a directory');
      return;
    }
    await this.ok();
    // The directories entered by D lines, innermost last, each with the times to set on leaving.
    const stack: { dir: Located; times: [number, number] | null }[] = [];
    let times: [number, number] | null = null;
    for (;;) {
      const line = await this.incoming.line();
      if (line === null) return;
      const kind = line[0];
      if (kind === '\x01' || kind === '\x02') {
        if (kind === '\x02') throw new Stop('client-error', line.slice(1));
        continue;
      }
      if (kind === 'E' && line === 'E') {
        const left = stack.pop();
        if (!left) throw new Stop('protocol-error', 'E without a directory');
        if (left.times && this.request.preserveTimes) this.directoryTimes(left.dir, left.times);
        await this.ok();
        continue;
      }
      if (kind === 'T') {
        const match = /^T(\d{1,12}) (\d{1,9}) (\d{1,12}) (\d{1,9})$/.exec(line);
        if (!match) throw new Stop('protocol-error', 'bad T line');
        times = [Number(match[3]), Number(match[1])];
        await this.ok();
        continue;
      }
      const match = /^([CD])([0-7]{4}) (\d{1,16}) ([^]*)$/.exec(line);
      if (!match) throw new Stop('protocol-error', 'expected a control line');
      const [, type, modeText, sizeText, name] = match as unknown as [string, 'C' | 'D', string, string, string];
      if (name === '' || name === '.' || name === '..' || name.includes('/')) throw new Stop('protocol-error', `unexpected file name ${JSON.stringify(name)}`);
      const size = Number(sizeText);
      if (!Number.isSafeInteger(size)) throw new Stop('protocol-error', 'size out of range');
      const here = stack.at(-1)?.dir.client ?? (targetIsDir ? target : null);
      const clientPath = here === null ? target : `${here === '/' ? '' : here}/${name}`;
      const mode = parseInt(modeText, 8);
      const fileTimes = times;
      times = null;
      if (type === 'D') {
        if (!this.request.recursive) throw new Stop('protocol-error', 'received a directory without -r');
        const dir = await this.enterDirectory(clientPath, mode);
        if (dir) {
          stack.push({ dir, times: fileTimes });
          await this.ok();
        }
      } else {
        await this.receiveFile(clientPath, mode, size, fileTimes);
      }
    }
  }

  /** A D line's directory: entered if it exists, else made. Null when refused (reported). */
  private async enterDirectory(clientPath: string, mode: number): Promise<Located | null> {
    const refusal = writeRefusal(this.policy);
    if (refusal) return this.refused('mkdir', clientPath, refusal).then(() => null);
    const found = this.fsroot.target(clientPath);
    if (found === 'outside') return this.refused('mkdir', clientPath, 'outside-root').then(() => null);
    if (found === 'missing' || found === 'root') {
      if (found === 'root') return { host: this.fsroot.root, client: '/' };
      return this.error(clientPath, 'No such file or directory').then(() => null);
    }
    if (found.exists) {
      if (statSync(found.host).isDirectory()) return found;
      return this.error(clientPath, 'Not a directory').then(() => null);
    }
    const permissions = newDirectoryMode(this.policy, mode);
    try {
      mkdirSync(found.host, permissions);
      const fd = openSync(found.host, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
      try {
        fchmodSync(fd, permissions);
        this.createdHere.add(inodeKey(fstatSync(fd)));
      } finally {
        closeSync(fd);
      }
    } catch (error) {
      return this.error(clientPath, errnoText(error)).then(() => null);
    }
    this.record.done({ op: 'mkdir', path: found.client });
    return found;
  }

  /** `-p`'s times of a directory, on leaving it: a stored directory's only as SETSTAT would allow. */
  private directoryTimes(dir: Located, [atime, mtime]: [number, number]): void {
    try {
      const stats = statSync(dir.host);
      const stored = !this.createdHere.has(inodeKey(stats));
      const refusal = setstatRefusal(this.policy, { atime, mtime }, { stored, links: stats.nlink, directory: true });
      if (refusal) return this.record.refused('setstat', dir.client, refusal);
      utimesSync(dir.host, atime, mtime);
      // A directory it made is part of the upload; a stored one changed is worth its own record.
      if (stored) this.record.done({ op: 'setstat', path: dir.client });
    } catch {}
  }

  /**
   * A C line's file. Refused before its bytes come (the client then skips them, as OpenSSH's
   * does on an error answer); a write that fails midway still reads the rest, then says so.
   */
  private async receiveFile(clientPath: string, mode: number, size: number, times: [number, number] | null): Promise<void> {
    const intent = { read: false, write: true, truncate: true, append: false, create: true, exclusive: false };
    const early = openRefusal(this.policy, intent, false);
    if (early) return this.refused('write', clientPath, early);
    const found = this.fsroot.target(clientPath);
    if (found === 'outside') return this.refused('write', clientPath, 'outside-root');
    if (found === 'missing') return this.error(clientPath, 'No such file or directory');
    if (found === 'root') return this.error(clientPath, 'Is a directory');
    // An existing file: the session's own is rewritten in place; history only replaced whole,
    // by a new inode put in place when all its bytes have come (policy.ts, the table).
    let how: ReturnType<typeof existingOpen> | 'new' = 'new';
    let before: Stats | null = null;
    if (found.exists) {
      before = lstatSync(found.host);
      if (!before.isFile()) return this.error(found.client, 'not a regular file');
      how = existingOpen(this.policy, intent, !this.createdHere.has(inodeKey(before)));
      // A C line always replaces the whole file (TRUNC): never 'copy'.
      if (how !== 'in-place' && how !== 'replace') return this.refused('write', found.client, how === 'copy' ? 'history' : how);
    }
    // The C line says how large the file is: one that cannot fit above the floor is refused
    // before it is opened (an existing file is not truncated, a new one not made).
    if (!this.space.fits(size)) return this.refusedForSpace(found.client);
    const permissions = newFileMode(this.policy, mode);
    const temp = how === 'replace' ? replacementName(found.host) : null;
    let fd: number;
    try {
      const base = constants.O_WRONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
      fd = openSync(temp ?? found.host, how === 'in-place' ? base : base | constants.O_CREAT | constants.O_EXCL, permissions);
    } catch (error) {
      return this.error(found.client, errnoText(error));
    }
    let failure: string | null = null;
    let spaceRefused = false;
    let written = 0;
    let complete = false;
    let key = '';
    try {
      // A directory on the path swapped for a link out since the look (confined-root.ts).
      if (!this.fsroot.holds(fd)) {
        await this.refused('write', found.client, 'outside-root');
        return;
      }
      const stats = fstatSync(fd);
      key = inodeKey(stats);
      if (!stats.isFile()) {
        await this.error(found.client, 'not a regular file');
        return;
      }
      if (how === 'in-place') {
        // Checked to be the file looked at before anything is cut: never a stored one swapped in.
        if (key !== inodeKey(before!)) {
          await this.error(found.client, 'changed while being opened');
          return;
        }
        ftruncateSync(fd, 0);
      } else {
        fchmodSync(fd, permissions);
        this.createdHere.add(key);
      }
      await this.ok();
      complete = await this.incoming.run(size, (bytes) => {
        if (failure !== null) return;
        // Other sessions write too: the data is admitted as it comes. Refused, the file keeps
        // what was written (the write record says how much) and the rest is read and dropped.
        if (!this.space.admit(bytes.length)) {
          failure = FLOOR_MESSAGE;
          spaceRefused = true;
          return;
        }
        try {
          for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done, written + done);
          written += bytes.length;
        } catch (error) {
          failure = errnoText(error);
        }
      });
      if (!complete) throw new Stop('eof', 'input ended inside a file');
      if (times && this.request.preserveTimes) futimesSync(fd, times[0], times[1]);
    } finally {
      closeSync(fd);
      let made: { created?: true; replaced?: true } = how === 'new' ? { created: true } : {};
      let recorded = key !== '';
      if (temp !== null && key !== '') {
        // A replacement goes in whole or not at all: the stored file stays as it was otherwise.
        const put = complete && failure === null ? putInPlaceOrNull(temp, key, found.host) : null;
        if (put === null) {
          dropReplacement(temp, key);
          this.createdHere.delete(key);
          recorded = false;
        } else made = put.replaced ? { replaced: true } : { created: true };
      }
      if (recorded) this.record.done({ op: 'write', path: found.client, bytes: written, ...made });
      if (spaceRefused) this.record.refused('write', found.client, 'min-free');
    }
    await this.response();
    if (failure !== null) await this.error(found.client, failure);
    else await this.ok();
  }

  // ---- scp -f: the client pulls ----

  private async source(): Promise<void> {
    if (!(await this.response())) return;
    const path = normaliseClientPath(this.request.path);
    const refusal = readRefusal(this.policy);
    if (refusal) return this.refused('read', path, refusal);
    const found = this.fsroot.existing(path);
    if (found === 'outside') return this.refused('read', path, 'outside-root');
    if (found === 'missing') return this.error(path, 'No such file or directory');
    const stats = statSync(found.host);
    const name = path === '/' ? '.' : path.slice(path.lastIndexOf('/') + 1);
    if (stats.isDirectory()) {
      if (!this.request.recursive) return this.error(path, 'not a regular file');
      await this.sendDirectory(found, name, stats, new Set());
    } else await this.sendFile(found, name);
  }

  private async times(stats: Stats): Promise<boolean> {
    if (!this.request.preserveTimes) return true;
    await this.send(`T${Math.floor(stats.mtimeMs / 1000)} 0 ${Math.floor(stats.atimeMs / 1000)} 0\n`);
    return this.response();
  }

  private async sendFile(file: Located, name: string): Promise<void> {
    if (name.includes('\n')) return this.error(file.client, 'file name has a newline: not sent');
    let fd: number;
    try {
      fd = openSync(file.host, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (error) {
      return this.error(file.client, errnoText(error));
    }
    let sent = 0;
    let refused = false;
    try {
      // A directory on the path swapped for a link out since the look (confined-root.ts).
      if (!this.fsroot.holds(fd)) {
        refused = true;
        return await this.refused('read', file.client, 'outside-root');
      }
      const stats = fstatSync(fd);
      if (!stats.isFile()) return await this.error(file.client, 'not a regular file');
      if (!(await this.times(stats))) return;
      await this.send(`C${(stats.mode & 0o777).toString(8).padStart(4, '0')} ${stats.size} ${name}\n`);
      if (!(await this.response())) return;
      // Exactly the size announced: a file that shrinks meanwhile is padded, and said so after.
      let failure: string | null = null;
      while (sent < stats.size) {
        const chunk = Buffer.allocUnsafe(Math.min(CHUNK, stats.size - sent));
        let got = 0;
        if (failure === null) {
          try {
            got = readSync(fd, chunk, 0, chunk.length, sent);
          } catch (error) {
            failure = errnoText(error);
          }
          if (got === 0 && failure === null) failure = 'file shrank while being sent';
        }
        if (got === 0) chunk.fill(0);
        const part = got === 0 ? chunk : chunk.subarray(0, got);
        await this.send(part);
        sent += part.length;
      }
      if (failure !== null) await this.error(file.client, failure);
      else await this.ok();
      await this.response();
    } finally {
      closeSync(fd);
      if (!refused) this.record.done({ op: 'read', path: file.client, bytes: sent });
    }
  }

  private async sendDirectory(dir: Located, name: string, stats: Stats, above: Set<string>): Promise<void> {
    if (name.includes('\n')) return this.error(dir.client, 'directory name has a newline: not sent');
    // A link to a directory above would send forever.
    const identity = `${stats.dev}:${stats.ino}`;
    if (above.has(identity)) return this.error(dir.client, 'directory loop: not sent');
    // Opened once, checked on what opened (before the client hears of it), then listed through
    // that same directory.
    const fd = openSync(dir.host, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NONBLOCK);
    let listing: Dir;
    try {
      if (!this.fsroot.holds(fd)) return await this.refused('read', dir.client, 'outside-root');
      listing = opendirSync(`/proc/self/fd/${fd}`);
    } finally {
      closeSync(fd);
    }
    const entered = (await this.times(stats)) && (await this.send(`D${(stats.mode & 0o777).toString(8).padStart(4, '0')} 0 ${name}\n`), await this.response());
    if (!entered) {
      listing.closeSync();
      return;
    }
    const inner = new Set(above).add(identity);
    try {
      for (let entry = listing.readSync(); entry !== null; entry = listing.readSync()) {
        const childPath = `${dir.client === '/' ? '' : dir.client}/${entry.name}`;
        const child = this.fsroot.existing(childPath);
        if (child === 'outside') await this.refused('read', childPath, 'outside-root');
        else if (child === 'missing') await this.error(childPath, 'No such file or directory');
        else {
          const childStats = lstatOrNull(child.host);
          if (childStats?.isDirectory()) await this.sendDirectory(child, entry.name, childStats, inner);
          else if (childStats?.isFile()) await this.sendFile(child, entry.name);
          else await this.error(childPath, 'not a regular file');
        }
      }
    } finally {
      listing.closeSync();
    }
    await this.send('E\n');
    await this.response();
  }
}

function putInPlaceOrNull(temp: string, key: string, host: string): { replaced: boolean } | null {
  try {
    return putInPlace(temp, key, host);
  } catch {
    return null;
  }
}

/** An errno in words, without the host path Node puts in its messages. */
function errnoText(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  const words: Record<string, string> = {
    ENOENT: 'No such file or directory', EACCES: 'Permission denied', EPERM: 'Operation not permitted', EEXIST: 'File exists',
    EISDIR: 'Is a directory', ENOTDIR: 'Not a directory', ENOSPC: 'No space left on device', EDQUOT: 'Disk quota exceeded',
    ELOOP: 'Too many levels of symbolic links', EROFS: 'Read-only file system', EIO: 'Input/output error',
  };
  return (code && words[code]) ?? 'Failure';
}

