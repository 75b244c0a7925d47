/**
 * `scp -f`: the client pulls. The source path is sent as it stands (a file, or with -r a tree),
 * each file exactly the size announced in its C line, each directory checked on what opened
 * before the client hears of it. Links to a directory above are not followed round.
 */
import { closeSync, constants, fstatSync, opendirSync, openSync, readSync, statSync, type Dir, type Stats } from 'node:fs';
import { lstatOrNull, normaliseClientPath, type Located } from './confined-root.js';
import { readRefusal } from './policy.js';
import { errnoText, type ScpChannel } from './scp-channel.js';

const CHUNK = 256 * 1024;

export async function source(ch: ScpChannel): Promise<void> {
  if (!(await ch.response())) return;
  const path = normaliseClientPath(ch.request.path);
  const refusal = readRefusal(ch.policy);
  if (refusal) return ch.refused('read', path, refusal);
  const found = ch.fsroot.existing(path);
  if (found === 'outside') return ch.refused('read', path, 'outside-root');
  if (found === 'missing') return ch.error(path, 'No such file or directory');
  const stats = statSync(found.host);
  const name = path === '/' ? '.' : path.slice(path.lastIndexOf('/') + 1);
  if (stats.isDirectory()) {
    if (!ch.request.recursive) return ch.error(path, 'not a regular file');
    await sendDirectory(ch, found, name, stats, new Set());
  } else await sendFile(ch, found, name);
}

/** `-p`: a T line before what it dates; false when the client refused it. */
async function times(ch: ScpChannel, stats: Stats): Promise<boolean> {
  if (!ch.request.preserveTimes) return true;
  await ch.send(`T${Math.floor(stats.mtimeMs / 1000)} 0 ${Math.floor(stats.atimeMs / 1000)} 0\n`);
  return ch.response();
}

async function sendFile(ch: ScpChannel, file: Located, name: string): Promise<void> {
  if (name.includes('\n')) return ch.error(file.client, 'file name has a newline: not sent');
  let fd: number;
  try {
    fd = openSync(file.host, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    return ch.error(file.client, errnoText(error));
  }
  const sent = { bytes: 0 };
  let refused = false;
  try {
    // A directory on the path swapped for a link out since the look (confined-root.ts).
    if (!ch.fsroot.holds(fd)) {
      refused = true;
      return await ch.refused('read', file.client, 'outside-root');
    }
    const stats = fstatSync(fd);
    if (!stats.isFile()) return await ch.error(file.client, 'not a regular file');
    if (!(await times(ch, stats))) return;
    await ch.send(`C${(stats.mode & 0o777).toString(8).padStart(4, '0')} ${stats.size} ${name}\n`);
    if (!(await ch.response())) return;
    const failure = await sendBytes(ch, fd, stats.size, sent);
    if (failure !== null) await ch.error(file.client, failure);
    else await ch.ok();
    await ch.response();
  } finally {
    closeSync(fd);
    if (!refused) ch.record.done({ op: 'read', path: file.client, bytes: sent.bytes });
  }
}

/**
 * Exactly the size announced: a file that shrinks meanwhile is padded, and said so after (the
 * failure returned). `sent` counts as it goes, for the read record however this ends.
 */
async function sendBytes(ch: ScpChannel, fd: number, size: number, sent: { bytes: number }): Promise<string | null> {
  let failure: string | null = null;
  while (sent.bytes < size) {
    const chunk = Buffer.allocUnsafe(Math.min(CHUNK, size - sent.bytes));
    let got = 0;
    if (failure === null) {
      try {
        got = readSync(fd, chunk, 0, chunk.length, sent.bytes);
      } catch (error) {
        failure = errnoText(error);
      }
      if (got === 0 && failure === null) failure = 'file shrank while being sent';
    }
    if (got === 0) chunk.fill(0);
    const part = got === 0 ? chunk : chunk.subarray(0, got);
    await ch.send(part);
    sent.bytes += part.length;
  }
  return failure;
}

async function sendDirectory(ch: ScpChannel, dir: Located, name: string, stats: Stats, above: Set<string>): Promise<void> {
  if (name.includes('\n')) return ch.error(dir.client, 'directory name has a newline: not sent');
  // A link to a directory above would send forever.
  const identity = `${stats.dev}:${stats.ino}`;
  if (above.has(identity)) return ch.error(dir.client, 'directory loop: not sent');
  // Opened once, checked on what opened (before the client hears of it), then listed through
  // that same directory.
  const fd = openSync(dir.host, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NONBLOCK);
  let listing: Dir;
  try {
    if (!ch.fsroot.holds(fd)) return await ch.refused('read', dir.client, 'outside-root');
    listing = opendirSync(`/proc/self/fd/${fd}`);
  } finally {
    closeSync(fd);
  }
  const entered =
    (await times(ch, stats)) && (await ch.send(`D${(stats.mode & 0o777).toString(8).padStart(4, '0')} 0 ${name}\n`), await ch.response());
  if (!entered) {
    listing.closeSync();
    return;
  }
  const inner = new Set(above).add(identity);
  try {
    for (let entry = listing.readSync(); entry !== null; entry = listing.readSync()) {
      const childPath = `${dir.client === '/' ? '' : dir.client}/${entry.name}`;
      const child = ch.fsroot.existing(childPath);
      if (child === 'outside') await ch.refused('read', childPath, 'outside-root');
      else if (child === 'missing') await ch.error(childPath, 'No such file or directory');
      else {
        const childStats = lstatOrNull(child.host);
        if (childStats?.isDirectory()) await sendDirectory(ch, child, entry.name, childStats, inner);
        else if (childStats?.isFile()) await sendFile(ch, child, entry.name);
        else await ch.error(childPath, 'not a regular file');
      }
    }
  } finally {
    listing.closeSync();
  }
  await ch.send('E\n');
  await ch.response();
}
