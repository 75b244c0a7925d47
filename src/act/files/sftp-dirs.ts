/**
 * Directories: listing (OPENDIR, READDIR), allowed under every access, and making and removing
 * them (MKDIR, RMDIR), held to the policy. A stored directory is history: only delete removes it.
 */
import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  opendirSync,
  openSync,
  rmdirSync,
  type Dir,
  type Stats,
} from 'node:fs';
import { lstatOrNull } from './confined-root.js';
import { inodeKey } from './history.js';
import { newDirectoryMode, removeRefusal, writeRefusal } from './policy.js';
import { Answer } from './sftp-answer.js';
import type { SftpContext } from './sftp-context.js';
import { FX, FXP, longname, PacketWriter, type Attrs } from './sftp-wire.js';

const READDIR_BATCH = 100;

export function opendir(ctx: SftpContext, id: number, path: string): void {
  ctx.roomForHandle('read', path);
  const found = ctx.existing(path, 'read');
  // Opened once, checked on what opened, then listed through that same directory.
  const fd = openSync(found.host, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NONBLOCK);
  let dir: Dir;
  try {
    if (!ctx.fsroot.holds(fd)) ctx.refuse('read', found.client, 'outside-root');
    dir = opendirSync(`/proc/self/fd/${fd}`);
  } finally {
    closeSync(fd);
  }
  ctx.handleReply(id, { kind: 'dir', dir, client: found.client, host: found.host });
}

export function readdir(ctx: SftpContext, id: number, raw: Buffer): void {
  const handle = ctx.handles.get(raw);
  if (handle.kind !== 'dir') throw new Answer(FX.FAILURE);
  const names: [string, Stats][] = [];
  while (names.length < READDIR_BATCH) {
    const entry = handle.dir.readSync();
    if (entry === null) break;
    const stats = lstatOrNull(`${handle.host === '/' ? '' : handle.host}/${entry.name}`);
    if (stats) names.push([entry.name, stats]);
  }
  if (names.length === 0) return ctx.status(id, FX.EOF);
  const now = new Date();
  const reply = new PacketWriter(FXP.NAME, id, 8192).u32(names.length);
  for (const [name, stats] of names)
    reply
      .string(name)
      .string(longname(name, stats, now))
      .attrs(stats);
  ctx.send(reply.done());
}

export function mkdir(ctx: SftpContext, id: number, path: string, attrs: Attrs): void {
  const refusal = writeRefusal(ctx.policy);
  if (refusal) ctx.refuse('mkdir', path, refusal);
  const found = ctx.entry(path, 'mkdir');
  const mode = newDirectoryMode(ctx.policy, attrs.permissions);
  mkdirSync(found.host, mode);
  // The process umask took bits off; set exactly what the policy says, on the new directory
  // itself (O_NOFOLLOW: not through a link planted since).
  const fd = openSync(found.host, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  try {
    fchmodSync(fd, mode);
    ctx.inodes.made(inodeKey(fstatSync(fd)));
  } finally {
    closeSync(fd);
  }
  ctx.record.done({ op: 'mkdir', path: found.client });
  ctx.status(id, FX.OK);
}

export function rmdir(ctx: SftpContext, id: number, path: string): void {
  const early = writeRefusal(ctx.policy);
  if (early) ctx.refuse('rmdir', path, early);
  const found = ctx.entry(path, 'rmdir');
  const stats = lstatSync(found.host);
  const refusal = removeRefusal(ctx.policy, !ctx.inodes.own(inodeKey(stats)));
  if (refusal) ctx.refuse('rmdir', found.client, refusal);
  rmdirSync(found.host);
  ctx.inodes.unmade(inodeKey(stats));
  ctx.record.done({ op: 'rmdir', path: found.client });
  ctx.status(id, FX.OK);
}
