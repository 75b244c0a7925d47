/**
 * Attributes: reading them (LSTAT, STAT, FSTAT, statvfs) and changing them (SETSTAT, FSETSTAT).
 * A change is judged on the inode it would reach (the session's own or history), looked at
 * through a descriptor, so a name renamed onto a stored file meanwhile changes nothing stored.
 */
import {
  chmodSync,
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  ftruncateSync,
  futimesSync,
  lstatSync,
  openSync,
  statfsSync,
  statSync,
  utimesSync,
  type Stats,
} from 'node:fs';
import { inodeKey } from './history.js';
import { changes, permittedMode, setstatRefusal, writeRefusal } from './policy.js';
import { Answer } from './sftp-answer.js';
import type { SftpContext } from './sftp-context.js';
import type { FileHandle, Handle } from './sftp-handles.js';
import { fillFromBasis, materialise } from './sftp-lazy-copy.js';
import { FX, FXP, PacketWriter, type Attrs } from './sftp-wire.js';

export function lstat(ctx: SftpContext, path: string): Stats {
  const found = ctx.fsroot.entry(path);
  if (found === null) return lstatSync(ctx.fsroot.root);
  if (typeof found === 'string') throw new Answer(FX.NO_SUCH_FILE);
  return lstatSync(found.host);
}

export function stat(ctx: SftpContext, path: string): Stats {
  return statSync(ctx.existing(path, 'read').host);
}

/** A handle's attributes; a lazy copy is completed first, so that the size is the file's. */
export function fstat(handle: Handle): Stats {
  if (handle.kind === 'file') fillFromBasis(handle);
  return handle.kind === 'file' ? fstatSync(handle.fd) : statSync(handle.host);
}

function hasChange(attrs: Attrs): boolean {
  return attrs.size !== undefined || attrs.permissions !== undefined || attrs.uid !== undefined || attrs.mtime !== undefined;
}

function checkSetstat(ctx: SftpContext, path: string, attrs: Attrs, stats: Stats): void {
  const refusal = setstatRefusal(ctx.policy, attrs, ctx.inodes.inode(stats));
  if (refusal) ctx.refuse('setstat', path, refusal);
}

export function setstat(ctx: SftpContext, id: number, path: string, attrs: Attrs): void {
  const early = writeRefusal(ctx.policy);
  if (early) ctx.refuse('setstat', path, early);
  const found = ctx.existing(path, 'setstat');
  const stats = statSync(found.host);
  checkSetstat(ctx, found.client, attrs, stats);
  if (attrs.size !== undefined) {
    // Through a descriptor, checked on what it opened: "created by this session" is the file
    // (its inode), not the name, which renames can give to a stored file (found in review).
    const fd = openSync(found.host, constants.O_WRONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    try {
      const opened = fstatSync(fd);
      if (!ctx.fsroot.holds(fd)) ctx.refuse('setstat', found.client, 'outside-root');
      if (!opened.isFile() || inodeKey(opened) !== inodeKey(stats)) throw new Answer(FX.FAILURE);
      ftruncateSync(fd, attrs.size);
    } finally {
      closeSync(fd);
    }
  }
  if (attrs.permissions !== undefined) chmodSync(found.host, permittedMode(ctx.policy, attrs.permissions));
  if (attrs.atime !== undefined && attrs.mtime !== undefined) utimesSync(found.host, attrs.atime, attrs.mtime);
  if (hasChange(attrs)) ctx.record.done({ op: 'setstat', path: found.client });
  ctx.status(id, FX.OK);
}

export function fsetstat(ctx: SftpContext, id: number, handle: Handle, attrs: Attrs): void {
  if (handle.kind === 'dir') return setstat(ctx, id, handle.client, attrs);
  if (handle.copy !== null && changes(attrs)) copyBeforeChange(ctx, handle, attrs);
  checkSetstat(ctx, handle.client, attrs, fstatSync(handle.fd));
  if (attrs.size !== undefined) {
    // What lies past the new size is gone: nothing of the stored file is copied there later.
    if (handle.basis !== null) handle.basis.size = Math.min(handle.basis.size, attrs.size);
    ftruncateSync(handle.fd, attrs.size);
  }
  if (attrs.permissions !== undefined) fchmodSync(handle.fd, permittedMode(ctx.policy, attrs.permissions));
  if (attrs.atime !== undefined && attrs.mtime !== undefined) futimesSync(handle.fd, attrs.atime, attrs.mtime);
  // Setting the mode and times of a file this handle created is part of the upload (scp and
  // sftp put -p do it): its write event says enough.
  if (hasChange(attrs) && !handle.created) ctx.record.done({ op: 'setstat', path: handle.client });
  ctx.status(id, FX.OK);
}

/**
 * A change through a write handle of a stored file is made on its copy (OpenSSH's scp truncates
 * the file it wrote over to the bytes it sent): asked of the copy it will be.
 */
function copyBeforeChange(ctx: SftpContext, handle: FileHandle, attrs: Attrs): void {
  const refusal = setstatRefusal(ctx.policy, attrs, { stored: false, links: 1, directory: false });
  if (refusal) ctx.refuse('setstat', handle.client, refusal);
  materialise(ctx, handle, true);
}

export function statvfs(ctx: SftpContext, id: number, host: string): void {
  const fs = statfsSync(host);
  const readOnly = ctx.policy.access === 'read' ? 1 : 0;
  ctx.send(
    new PacketWriter(FXP.EXTENDED_REPLY, id)
      .u64(fs.bsize)
      .u64(fs.bsize)
      .u64(fs.blocks)
      .u64(fs.bfree)
      .u64(fs.bavail)
      .u64(fs.files)
      .u64(fs.ffree)
      .u64(fs.ffree)
      .u64(0)
      .u64(readOnly)
      .u64(255)
      .done(),
  );
}
