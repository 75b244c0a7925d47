/**
 * OPEN: a file handle, after the policy's word on the intent and on what the name holds now. A
 * stored file is never written in place: it is replaced by a new inode (TRUNC), or copied at the
 * first change (sftp-lazy-copy.ts); only the session's own files are opened for writing as they are.
 */
import { closeSync, constants, fchmodSync, fstatSync, ftruncateSync, lstatSync, openSync } from 'node:fs';
import type { Located } from './confined-root.js';
import type { FileOp } from './events.js';
import { inodeKey, replacementName } from './history.js';
import { existingOpen, newFileMode, openRefusal, type OpenIntent } from './policy.js';
import { Answer } from './sftp-answer.js';
import type { SftpContext } from './sftp-context.js';
import type { FileHandle } from './sftp-handles.js';
import { FX, type Attrs } from './sftp-wire.js';

/** SSH_FXF_* as the policy reads them. */
function intentOf(flags: number): OpenIntent {
  return {
    read: (flags & 1) !== 0 || (flags & 2) === 0,
    write: (flags & 2) !== 0,
    append: (flags & 4) !== 0,
    create: (flags & 8) !== 0,
    truncate: (flags & 0x10) !== 0,
    exclusive: (flags & 0x20) !== 0,
  };
}

// O_NONBLOCK: a FIFO in the root must not hang the session in open(2); non-regular files are
// refused right after.
const BASE = constants.O_NOFOLLOW | constants.O_NONBLOCK;

export function open(ctx: SftpContext, id: number, path: string, flags: number, attrs: Attrs): void {
  const intent = intentOf(flags);
  const writing = intent.write || intent.truncate || intent.append;
  const op: FileOp = writing ? 'write' : 'read';
  ctx.roomForHandle(op, path);
  // Refusals that need no look at the disk come first: a read-only session learns nothing
  // about names by trying to write them.
  const early = openRefusal(ctx.policy, intent, false);
  if (early) ctx.refuse(op, path, early);
  const target = ctx.fsroot.target(path);
  if (target === 'outside') ctx.refuse(op, path, 'outside-root');
  if (target === 'missing') throw new Answer(FX.NO_SUCH_FILE);
  if (target === 'root') throw new Answer(FX.FAILURE);
  const access = writing ? (intent.read ? constants.O_RDWR : constants.O_WRONLY) : constants.O_RDONLY;
  const handle: FileHandle = {
    kind: 'file',
    fd: -1,
    client: target.client,
    host: target.host,
    readable: intent.read,
    writable: writing,
    created: false,
    truncated: intent.truncate,
    replacing: null,
    copy: null,
    basis: null,
    spaceRefused: false,
    bytesRead: 0,
    bytesWritten: 0,
    readToEnd: false,
  };
  if (!target.exists) {
    if (!intent.create) throw new Answer(FX.NO_SUCH_FILE);
    // Always exclusive: a file that appeared since the look is not this session's to open.
    const permissions = newFileMode(ctx.policy, attrs.permissions);
    handle.fd = openChecked(
      ctx,
      op,
      target,
      target.host,
      BASE | access | constants.O_CREAT | constants.O_EXCL | (intent.append ? constants.O_APPEND : 0),
      permissions,
      true,
    );
    handle.created = true;
  } else if (!writing) {
    handle.fd = openChecked(ctx, op, target, target.host, BASE | access, 0, false);
  } else {
    openExistingForWrite(ctx, op, target, intent, access, handle);
  }
  ctx.handleReply(id, handle);
}

/** A write open of a name that holds a file: how depends on whose the file is (policy.ts, the table). */
function openExistingForWrite(ctx: SftpContext, op: FileOp, target: Located, intent: OpenIntent, access: number, handle: FileHandle): void {
  if (intent.create && intent.exclusive) throw new Answer(FX.FAILURE);
  const before = lstatSync(target.host);
  if (!before.isFile()) throw new Answer(FX.FAILURE);
  const how = existingOpen(ctx.policy, intent, !ctx.inodes.own(inodeKey(before)));
  // A replacement keeps the stored file's permission bits, as an open of the file itself
  // would have (OpenSSH's sftp-server ignores a mode sent with an open of an existing file).
  const storedMode = before.mode & 0o777;
  if (how === 'replace') {
    const temp = replacementName(target.host);
    handle.fd = openChecked(ctx, op, target, temp, BASE | access | constants.O_CREAT | constants.O_EXCL, storedMode, true);
    handle.created = true;
    handle.replacing = { temp, key: inodeKey(fstatSync(handle.fd)) };
  } else if (how === 'copy') {
    handle.fd = openChecked(ctx, op, target, target.host, BASE | constants.O_RDONLY, 0, false);
    if (inodeKey(fstatSync(handle.fd)) !== inodeKey(before)) {
      closeSync(handle.fd);
      throw new Answer(FX.FAILURE);
    }
    handle.copy = { append: intent.append, mode: storedMode };
    handle.truncated = false;
  } else if (how === 'in-place') {
    // The session's own file: opened without O_TRUNC, checked to be the inode looked at,
    // then truncated, so that a stored file swapped in meanwhile is never cut.
    handle.fd = openChecked(ctx, op, target, target.host, BASE | access | (intent.append ? constants.O_APPEND : 0), 0, false);
    if (inodeKey(fstatSync(handle.fd)) !== inodeKey(before)) {
      closeSync(handle.fd);
      throw new Answer(FX.FAILURE);
    }
    if (intent.truncate) ftruncateSync(handle.fd, 0);
  } else {
    ctx.refuse(op, target.client, how);
  }
}

/**
 * Opens and checks what opened: under the root, a regular file. A new file gets exactly the
 * mode asked (whatever the process umask) and becomes the session's own.
 */
export function openChecked(
  ctx: SftpContext,
  op: FileOp,
  target: Located,
  host: string,
  mode: number,
  permissions: number,
  creating: boolean,
): number {
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
    if (!ctx.fsroot.holds(fd)) ctx.refuse(op, target.client, 'outside-root');
    const stats = fstatSync(fd);
    if (!stats.isFile()) throw new Answer(FX.FAILURE);
    if (creating) {
      fchmodSync(fd, permissions);
      ctx.inodes.made(inodeKey(stats));
    }
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  return fd;
}
