/**
 * Which handler serves which request: the SFTP version 3 requests and the OpenSSH extensions
 * advertised in VERSION. Anything else is OP_UNSUPPORTED; links are refused (the root must not
 * gain a way out).
 */
import { fsyncSync } from 'node:fs';
import { fstat, lstat, setstat, fsetstat, stat, statvfs } from './sftp-attrs.js';
import { close } from './sftp-close.js';
import type { SftpContext } from './sftp-context.js';
import { mkdir, opendir, readdir, rmdir } from './sftp-dirs.js';
import { MAX_HANDLES } from './sftp-handles.js';
import { fillFromBasis } from './sftp-lazy-copy.js';
import { open } from './sftp-open.js';
import { expandTilde, readlink, realpath } from './sftp-paths.js';
import { read, write } from './sftp-read-write.js';
import { remove, rename } from './sftp-remove-rename.js';
import { FX, FXP, MAX_DATA, MAX_PACKET, PacketWriter, type PacketReader } from './sftp-wire.js';

/** The extensions advertised in VERSION: each is served by `extended` below. */
const EXTENSIONS: [string, string][] = [
  ['posix-rename@openssh.com', '1'],
  ['statvfs@openssh.com', '2'],
  ['fstatvfs@openssh.com', '2'],
  ['limits@openssh.com', '1'],
  ['expand-path@openssh.com', '1'],
  ['fsync@openssh.com', '1'],
];

/** The answer to INIT. */
export function versionPacket(): Buffer {
  const version = new PacketWriter(FXP.VERSION, null).u32(3);
  for (const [name, data] of EXTENSIONS) version.string(name).string(data);
  return version.done();
}

export function request(ctx: SftpContext, type: number, id: number, r: PacketReader): void {
  switch (type) {
    case FXP.OPEN:
      return open(ctx, id, r.text(), r.u32(), r.attrs());
    case FXP.CLOSE:
      return close(ctx, id, r.bytes());
    case FXP.READ:
      return read(ctx, id, r.bytes(), r.u64(), r.u32());
    case FXP.WRITE:
      return write(ctx, id, r.bytes(), r.u64(), r.bytes());
    case FXP.LSTAT:
      return ctx.attrsReply(id, lstat(ctx, r.text()));
    case FXP.STAT:
      return ctx.attrsReply(id, stat(ctx, r.text()));
    case FXP.FSTAT:
      return ctx.attrsReply(id, fstat(ctx.handles.get(r.bytes())));
    case FXP.SETSTAT:
      return setstat(ctx, id, r.text(), r.attrs());
    case FXP.FSETSTAT:
      return fsetstat(ctx, id, ctx.handles.get(r.bytes()), r.attrs());
    case FXP.OPENDIR:
      return opendir(ctx, id, r.text());
    case FXP.READDIR:
      return readdir(ctx, id, r.bytes());
    case FXP.REMOVE:
      return remove(ctx, id, r.text());
    case FXP.MKDIR:
      return mkdir(ctx, id, r.text(), r.attrs());
    case FXP.RMDIR:
      return rmdir(ctx, id, r.text());
    case FXP.REALPATH:
      return ctx.nameReply(id, realpath(ctx, r.text()));
    case FXP.RENAME:
      return rename(ctx, id, r.text(), r.text(), false);
    case FXP.READLINK:
      return readlink(ctx, id, r.text());
    case FXP.SYMLINK:
      return ctx.refuse('write', r.text(), 'links');
    case FXP.EXTENDED:
      return extended(ctx, id, r.text(), r);
    default:
      return ctx.status(id, FX.OP_UNSUPPORTED);
  }
}

function extended(ctx: SftpContext, id: number, name: string, r: PacketReader): void {
  switch (name) {
    case 'posix-rename@openssh.com':
      return rename(ctx, id, r.text(), r.text(), true);
    case 'statvfs@openssh.com':
      return statvfs(ctx, id, ctx.existing(r.text(), null).host);
    case 'fstatvfs@openssh.com':
      return statvfs(ctx, id, ctx.handles.get(r.bytes()).host);
    case 'limits@openssh.com':
      return ctx.send(new PacketWriter(FXP.EXTENDED_REPLY, id).u64(MAX_PACKET).u64(MAX_DATA).u64(MAX_DATA).u64(MAX_HANDLES).done());
    case 'expand-path@openssh.com':
      return ctx.nameReply(id, realpath(ctx, expandTilde(r.text())));
    case 'fsync@openssh.com': {
      const handle = ctx.handles.file(r.bytes());
      fillFromBasis(handle);
      fsyncSync(handle.fd);
      return ctx.status(id, FX.OK);
    }
    case 'hardlink@openssh.com':
      return ctx.refuse('write', r.text(), 'links');
    default:
      return ctx.status(id, FX.OP_UNSUPPORTED);
  }
}
