/**
 * Writing through a handle opened on a stored file without TRUNC: history is never written in
 * place, so the first change copies the stored contents into a new inode beside it, which is
 * renamed over the name when the handle closes (sftp-close.ts). A write-only handle that does not
 * append copies lazily: only the ranges the client did not write itself are copied, at the end.
 */
import { closeSync, constants, fstatSync, readSync, writeSync } from 'node:fs';
import { FLOOR_MESSAGE } from './free-space.js';
import { dropReplacement, inodeKey, replacementName } from './history.js';
import { Answer } from './sftp-answer.js';
import type { SftpContext } from './sftp-context.js';
import type { FileHandle } from './sftp-handles.js';
import { openChecked } from './sftp-open.js';
import { FX } from './sftp-wire.js';

const COPY_CHUNK = 1024 * 1024;

/** Written ranges followed for a lazy copy before it is completed at once (a client writing scattered blocks). */
export const MAX_SPANS = 4096;

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

/**
 * The first change through a write handle of a stored file: the stored contents are copied into
 * a new inode beside it, which the handle writes from now on and which is renamed over the name
 * when the handle closes. The stored inode is only read. Costs a copy of the file, counted
 * against the free-space floor first.
 */
export function materialise(ctx: SftpContext, handle: FileHandle, lazy = false): void {
  const pending = handle.copy;
  if (pending === null) return;
  const stored = fstatSync(handle.fd);
  if (!ctx.space.fits(stored.size)) {
    handle.spaceRefused = true;
    ctx.record.refused('write', handle.client, 'min-free');
    throw new Answer(FX.FAILURE, 'min-free', FLOOR_MESSAGE);
  }
  const temp = replacementName(handle.host);
  const located = { host: handle.host, client: handle.client };
  const fd = openChecked(
    ctx,
    'write',
    located,
    temp,
    constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW | (pending.append ? constants.O_APPEND : 0),
    pending.mode,
    true,
  );
  const key = inodeKey(fstatSync(fd));
  if (lazy && !handle.readable && !pending.append) {
    handle.basis = { fd: handle.fd, size: stored.size, written: [] };
  } else {
    try {
      copyAll(handle.fd, fd);
    } catch (error) {
      closeSync(fd);
      dropReplacement(temp, key);
      ctx.inodes.unmade(key);
      throw error;
    }
    closeSync(handle.fd);
  }
  handle.fd = fd;
  handle.copy = null;
  handle.created = true;
  handle.replacing = { temp, key };
}

function copyAll(from: number, to: number): void {
  const buffer = Buffer.allocUnsafe(COPY_CHUNK);
  for (let at = 0; ; ) {
    const got = readSync(from, buffer, 0, buffer.length, at);
    if (got === 0) break;
    for (let done = 0; done < got; ) done += writeSync(to, buffer, done, got - done, at + done);
    at += got;
  }
}

/** Completes a lazy copy: the stored file's bytes the client did not write, below its size. */
export function fillFromBasis(handle: FileHandle): void {
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
