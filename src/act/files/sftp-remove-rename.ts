/**
 * REMOVE, RENAME and posix-rename: the requests that take a name away. A name history held goes
 * only under delete (policy.ts, the table), whether it is removed or renamed away.
 */
import { linkSync, lstatSync, renameSync, unlinkSync, type Stats } from 'node:fs';
import { lstatOrNull } from './confined-root.js';
import { inodeKey } from './history.js';
import { removeRefusal, renameRefusal, writeRefusal } from './policy.js';
import { Answer } from './sftp-answer.js';
import type { SftpContext } from './sftp-context.js';
import { FX } from './sftp-wire.js';

export function remove(ctx: SftpContext, id: number, path: string): void {
  const early = writeRefusal(ctx.policy);
  if (early) ctx.refuse('remove', path, early);
  const found = ctx.entry(path, 'remove');
  const stats = lstatSync(found.host);
  if (stats.isDirectory()) throw new Answer(FX.FAILURE);
  const refusal = removeRefusal(ctx.policy, ctx.inodes.holdsStoredName(stats));
  if (refusal) ctx.refuse('remove', found.client, refusal);
  unlinkSync(found.host);
  // Its inode number may come back for another file.
  ctx.inodes.gone(inodeKey(stats));
  ctx.record.done({ op: 'remove', path: found.client });
  ctx.status(id, FX.OK);
}

/**
 * RENAME (v3): never replaces; an existing target is FAILURE, as in OpenSSH. posix-rename
 * replaces: a stored target needs delete and overwrite, the session's own file nothing more. A
 * stored source needs delete (a name renamed away is gone: rename away, then upload under the
 * old name, would replace history under overwrite: false). A rename that must not replace links the new
 * name then unlinks the old (link(2) fails on an existing name: no window for a race), as
 * OpenSSH does; directories, which cannot be linked, are renamed after a look.
 */
export function rename(ctx: SftpContext, id: number, from: string, to: string, replace: boolean): void {
  const early = writeRefusal(ctx.policy);
  if (early) ctx.refuse('rename', from, early, to);
  const source = ctx.entry(from, 'rename');
  const sourceStats = lstatSync(source.host);
  const target = ctx.entry(to, 'rename');
  const targetStats = lstatOrNull(target.host);
  if (targetStats !== null && !replace) throw new Answer(FX.FAILURE);
  const targetIs = targetStats === null ? 'none' : ctx.inodes.own(inodeKey(targetStats)) ? 'own' : 'stored';
  const refusal = renameRefusal(ctx.policy, ctx.inodes.holdsStoredName(sourceStats), targetIs);
  if (refusal) ctx.refuse('rename', source.client, refusal, target.client);
  if (replace && targetStats !== null) renameSync(source.host, target.host);
  else renameNoReplace(source.host, target.host, sourceStats);
  if (targetStats !== null && inodeKey(targetStats) !== inodeKey(sourceStats)) {
    // The session's file now holds the name the replaced one held.
    if (ctx.inodes.holdsStoredName(targetStats)) ctx.inodes.tookStoredName(inodeKey(sourceStats));
    // The replaced inode's number may come back for another file.
    ctx.inodes.gone(inodeKey(targetStats));
  }
  ctx.record.done({ op: 'rename', path: source.client, to: target.client, ...(targetStats !== null ? { replaced: true as const } : {}) });
  ctx.status(id, FX.OK);
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
