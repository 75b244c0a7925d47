/**
 * CLOSE, and the end of every handle still open when the session ends: what the handle did is
 * recorded, and a replacement of a stored file is put in place only when the client closed it.
 */
import { closeSync } from 'node:fs';
import { lstatOrNull } from './confined-root.js';
import { dropReplacement, putInPlace } from './history.js';
import type { SftpContext } from './sftp-context.js';
import type { FileHandle, Handle } from './sftp-handles.js';
import { fillFromBasis } from './sftp-lazy-copy.js';
import { FX, type StatusCode } from './sftp-wire.js';

export function close(ctx: SftpContext, id: number, raw: Buffer): void {
  ctx.status(id, closeHandle(ctx, ctx.handles.take(raw), true));
}

/**
 * Closes a handle and records what it did. A replacement is put in place when the client
 * closes it (`commit`), and dropped otherwise (the session ended with it open): the stored file
 * is then as it was. Answers the status for CLOSE.
 */
export function closeHandle(ctx: SftpContext, handle: Handle, commit: boolean): StatusCode {
  if (handle.kind === 'dir') {
    try {
      handle.dir.closeSync();
    } catch {}
    return FX.OK;
  }
  if (handle.basis !== null) {
    try {
      if (commit) fillFromBasis(handle);
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
  if (handle.bytesRead > 0 || handle.readToEnd) ctx.record.done({ op: 'read', path: handle.client, bytes: handle.bytesRead });
  if (!handle.writable) return FX.OK;
  let made: { created?: true; replaced?: true } = handle.created ? { created: true } : {};
  if (handle.replacing !== null) {
    const put = commit ? putReplacement(ctx, handle, handle.replacing) : null;
    if (put === null) {
      dropReplacement(handle.replacing.temp, handle.replacing.key);
      ctx.inodes.unmade(handle.replacing.key);
      if (!commit) return FX.OK;
      ctx.record.done({ op: 'write', path: handle.client, bytes: handle.bytesWritten });
      return FX.FAILURE;
    }
    made = put.replaced ? { replaced: true } : { created: true };
  }
  if (handle.bytesWritten > 0 || handle.created || handle.truncated)
    ctx.record.done({ op: 'write', path: handle.client, bytes: handle.bytesWritten, ...made });
  return FX.OK;
}

/** Renames the replacement over the name; null when it could not be (it is then dropped). */
function putReplacement(ctx: SftpContext, handle: FileHandle, replacing: { temp: string; key: string }): { replaced: boolean } | null {
  let put: { replaced: boolean } | null = null;
  const before = lstatOrNull(handle.host);
  try {
    put = putInPlace(replacing.temp, replacing.key, handle.host);
  } catch {}
  // The session's file now holds a name history held: only delete lets it go.
  if (put !== null && before !== null && ctx.inodes.holdsStoredName(before)) ctx.inodes.tookStoredName(replacing.key);
  return put;
}
