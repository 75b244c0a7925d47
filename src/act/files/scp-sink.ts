/**
 * `scp -t`: the client pushes. Its control lines are read one by one: T (times of what follows),
 * D (enter, or make, a directory), E (leave it), C (a file and its bytes). A file over history is
 * replaced whole, by a new inode put in place once all its bytes have come (policy.ts, the table).
 */
import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  ftruncateSync,
  futimesSync,
  lstatSync,
  mkdirSync,
  openSync,
  statSync,
  utimesSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { normaliseClientPath, type Located } from './confined-root.js';
import { dropReplacement, inodeKey, putInPlace, replacementName } from './history.js';
import { FLOOR_MESSAGE } from './free-space.js';
import { existingOpen, newDirectoryMode, newFileMode, openRefusal, setstatRefusal, writeRefusal } from './policy.js';
import { errnoText, type ScpChannel } from './scp-channel.js';
import { Stop } from './scp-incoming.js';

type Times = [atime: number, mtime: number];

export async function sink(ch: ScpChannel): Promise<void> {
  const target = normaliseClientPath(ch.request.path);
  const top = ch.fsroot.existing(target);
  const targetIsDir = typeof top !== 'string' && statSync(top.host).isDirectory();
  if (ch.request.targetMustBeDir && !targetIsDir) {
    await ch.error(target, 'Not a directory');
    return;
  }
  await ch.ok();
  // The directories entered by D lines, innermost last, each with the times to set on leaving.
  const stack: { dir: Located; times: Times | null }[] = [];
  let times: Times | null = null;
  for (;;) {
    const line = await ch.incoming.line();
    if (line === null) return;
    const kind = line[0];
    if (kind === '\x01' || kind === '\x02') {
      if (kind === '\x02') throw new Stop('client-error', line.slice(1));
      continue;
    }
    if (kind === 'E' && line === 'E') {
      const left = stack.pop();
      if (!left) throw new Stop('protocol-error', 'E without a directory');
      if (left.times && ch.request.preserveTimes) directoryTimes(ch, left.dir, left.times);
      await ch.ok();
      continue;
    }
    if (kind === 'T') {
      times = timesLine(line);
      await ch.ok();
      continue;
    }
    const { type, mode, size, name } = entryLine(line);
    const here = stack.at(-1)?.dir.client ?? (targetIsDir ? target : null);
    const clientPath = here === null ? target : `${here === '/' ? '' : here}/${name}`;
    const fileTimes = times;
    times = null;
    if (type === 'D') {
      if (!ch.request.recursive) throw new Stop('protocol-error', 'received a directory without -r');
      const dir = await enterDirectory(ch, clientPath, mode);
      if (dir) {
        stack.push({ dir, times: fileTimes });
        await ch.ok();
      }
    } else {
      await receiveFile(ch, clientPath, mode, size, fileTimes);
    }
  }
}

/** `T<mtime> 0 <atime> 0`: the times of what follows. */
function timesLine(line: string): Times {
  const match = /^T(\d{1,12}) (\d{1,9}) (\d{1,12}) (\d{1,9})$/.exec(line);
  if (!match) throw new Stop('protocol-error', 'bad T line');
  return [Number(match[3]), Number(match[1])];
}

/** `C<mode> <size> <name>` or `D<mode> 0 <name>`: a name in the current directory, never a path. */
function entryLine(line: string): { type: 'C' | 'D'; mode: number; size: number; name: string } {
  const match = /^([CD])([0-7]{4}) (\d{1,16}) ([^]*)$/.exec(line);
  if (!match) throw new Stop('protocol-error', 'expected a control line');
  const [, type, modeText, sizeText, name] = match as unknown as [string, 'C' | 'D', string, string, string];
  if (name === '' || name === '.' || name === '..' || name.includes('/'))
    throw new Stop('protocol-error', `unexpected file name ${JSON.stringify(name)}`);
  const size = Number(sizeText);
  if (!Number.isSafeInteger(size)) throw new Stop('protocol-error', 'size out of range');
  return { type, mode: parseInt(modeText, 8), size, name };
}

/** A D line's directory: entered if it exists, else made. Null when refused (reported). */
async function enterDirectory(ch: ScpChannel, clientPath: string, mode: number): Promise<Located | null> {
  const refusal = writeRefusal(ch.policy);
  if (refusal) return ch.refused('mkdir', clientPath, refusal).then(() => null);
  const found = ch.fsroot.target(clientPath);
  if (found === 'outside') return ch.refused('mkdir', clientPath, 'outside-root').then(() => null);
  if (found === 'missing' || found === 'root') {
    if (found === 'root') return { host: ch.fsroot.root, client: '/' };
    return ch.error(clientPath, 'No such file or directory').then(() => null);
  }
  if (found.exists) {
    if (statSync(found.host).isDirectory()) return found;
    return ch.error(clientPath, 'Not a directory').then(() => null);
  }
  const permissions = newDirectoryMode(ch.policy, mode);
  try {
    mkdirSync(found.host, permissions);
    const fd = openSync(found.host, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
    try {
      fchmodSync(fd, permissions);
      ch.inodes.made(inodeKey(fstatSync(fd)));
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    return ch.error(clientPath, errnoText(error)).then(() => null);
  }
  ch.record.done({ op: 'mkdir', path: found.client });
  return found;
}

/** `-p`'s times of a directory, on leaving it: a stored directory's only as SETSTAT would allow. */
function directoryTimes(ch: ScpChannel, dir: Located, [atime, mtime]: Times): void {
  try {
    const stats = statSync(dir.host);
    const stored = !ch.inodes.own(inodeKey(stats));
    const refusal = setstatRefusal(ch.policy, { atime, mtime }, { stored, links: stats.nlink, directory: true });
    if (refusal) return ch.record.refused('setstat', dir.client, refusal);
    utimesSync(dir.host, atime, mtime);
    // A directory it made is part of the upload; a stored one changed is worth its own record.
    if (stored) ch.record.done({ op: 'setstat', path: dir.client });
  } catch {}
}

/** How a C line's file is written: a new name, the session's own file in place, or history replaced whole. */
type How = 'new' | 'in-place' | 'replace';

/** Where a C line's file goes: its name and how; null when refused or impossible (the client is told). */
async function placeFor(
  ch: ScpChannel,
  clientPath: string,
  size: number,
): Promise<{ found: Located; how: How; before: Stats | null } | null> {
  const intent = { read: false, write: true, truncate: true, append: false, create: true, exclusive: false };
  const early = openRefusal(ch.policy, intent, false);
  if (early) return ch.refused('write', clientPath, early).then(() => null);
  const found = ch.fsroot.target(clientPath);
  if (found === 'outside') return ch.refused('write', clientPath, 'outside-root').then(() => null);
  if (found === 'missing') return ch.error(clientPath, 'No such file or directory').then(() => null);
  if (found === 'root') return ch.error(clientPath, 'Is a directory').then(() => null);
  // An existing file: the session's own is rewritten in place; history only replaced whole,
  // by a new inode put in place when all its bytes have come (policy.ts, the table).
  let how: How = 'new';
  let before: Stats | null = null;
  if (found.exists) {
    before = lstatSync(found.host);
    if (!before.isFile()) return ch.error(found.client, 'not a regular file').then(() => null);
    const open = existingOpen(ch.policy, intent, !ch.inodes.own(inodeKey(before)));
    // A C line always replaces the whole file (TRUNC): never 'copy'.
    if (open !== 'in-place' && open !== 'replace')
      return ch.refused('write', found.client, open === 'copy' ? 'history' : open).then(() => null);
    how = open;
  }
  // The C line says how large the file is: one that cannot fit above the floor is refused
  // before it is opened (an existing file is not truncated, a new one not made).
  if (!ch.space.fits(size)) return ch.refusedForSpace(found.client).then(() => null);
  return { found, how, before };
}

/** What became of a file's bytes, for its record and the client's answer. */
interface Receipt {
  /** The inode opened, once it was checked to be under the root; '' before. */
  key: string;
  written: number;
  failure: string | null;
  spaceRefused: boolean;
  complete: boolean;
}

/**
 * A C line's file. Refused before its bytes come (the client then skips them, as OpenSSH's
 * does on an error answer); a write that fails midway still reads the rest, then says so.
 */
async function receiveFile(ch: ScpChannel, clientPath: string, mode: number, size: number, times: Times | null): Promise<void> {
  const place = await placeFor(ch, clientPath, size);
  if (place === null) return;
  const { found, how } = place;
  const permissions = newFileMode(ch.policy, mode);
  const temp = how === 'replace' ? replacementName(found.host) : null;
  let fd: number;
  try {
    const base = constants.O_WRONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
    fd = openSync(temp ?? found.host, how === 'in-place' ? base : base | constants.O_CREAT | constants.O_EXCL, permissions);
  } catch (error) {
    return ch.error(found.client, errnoText(error));
  }
  const receipt: Receipt = { key: '', written: 0, failure: null, spaceRefused: false, complete: false };
  try {
    if (!(await readyToReceive(ch, fd, place, permissions, receipt))) return;
    await ch.ok();
    await takeBytes(ch, fd, size, receipt);
    if (!receipt.complete) throw new Stop('eof', 'input ended inside a file');
    if (times && ch.request.preserveTimes) futimesSync(fd, times[0], times[1]);
  } finally {
    closeSync(fd);
    settle(ch, found, how, temp, receipt);
  }
  await ch.response();
  if (receipt.failure !== null) await ch.error(found.client, receipt.failure);
  else await ch.ok();
}

/** Checks what opened before a byte lands; false when it is not to be written (the client is told). */
async function readyToReceive(
  ch: ScpChannel,
  fd: number,
  place: { found: Located; how: How; before: Stats | null },
  permissions: number,
  receipt: Receipt,
): Promise<boolean> {
  const { found, how, before } = place;
  // A directory on the path swapped for a link out since the look (confined-root.ts).
  if (!ch.fsroot.holds(fd)) {
    await ch.refused('write', found.client, 'outside-root');
    return false;
  }
  const stats = fstatSync(fd);
  receipt.key = inodeKey(stats);
  if (!stats.isFile()) {
    await ch.error(found.client, 'not a regular file');
    return false;
  }
  if (how === 'in-place') {
    // Checked to be the file looked at before anything is cut: never a stored one swapped in.
    if (receipt.key !== inodeKey(before!)) {
      await ch.error(found.client, 'changed while being opened');
      return false;
    }
    ftruncateSync(fd, 0);
  } else {
    fchmodSync(fd, permissions);
    ch.inodes.made(receipt.key);
  }
  return true;
}

/** The file's bytes, written as they come; the rest is read and dropped after a failure. */
async function takeBytes(ch: ScpChannel, fd: number, size: number, receipt: Receipt): Promise<void> {
  receipt.complete = await ch.incoming.run(size, (bytes) => {
    if (receipt.failure !== null) return;
    // Other sessions write too: the data is admitted as it comes. Refused, the file keeps
    // what was written (the write record says how much) and the rest is read and dropped.
    if (!ch.space.admit(bytes.length)) {
      receipt.failure = FLOOR_MESSAGE;
      receipt.spaceRefused = true;
      return;
    }
    try {
      for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done, receipt.written + done);
      receipt.written += bytes.length;
    } catch (error) {
      receipt.failure = errnoText(error);
    }
  });
}

/** After the file is closed: a replacement put in place whole or dropped, and the records. */
function settle(ch: ScpChannel, found: Located, how: How, temp: string | null, receipt: Receipt): void {
  const { key } = receipt;
  let made: { created?: true; replaced?: true } = how === 'new' ? { created: true } : {};
  let recorded = key !== '';
  if (temp !== null && key !== '') {
    // A replacement goes in whole or not at all: the stored file stays as it was otherwise.
    const put = receipt.complete && receipt.failure === null ? putInPlaceOrNull(temp, key, found.host) : null;
    if (put === null) {
      dropReplacement(temp, key);
      ch.inodes.unmade(key);
      recorded = false;
    } else made = put.replaced ? { replaced: true } : { created: true };
  }
  if (recorded) ch.record.done({ op: 'write', path: found.client, bytes: receipt.written, ...made });
  if (receipt.spaceRefused) ch.record.refused('write', found.client, 'min-free');
}

function putInPlaceOrNull(temp: string, key: string, host: string): { replaced: boolean } | null {
  try {
    return putInPlace(temp, key, host);
  } catch {
    return null;
  }
}
