/**
 * What a client's path means, as SFTP answers it: REALPATH, expand-path@openssh.com and
 * READLINK, all inside the root; the client's "/" is the root, and its home too.
 */
import { readlinkSync } from 'node:fs';
import { Answer } from './sftp-answer.js';
import type { SftpContext } from './sftp-context.js';
import { FX } from './sftp-wire.js';

export function realpath(ctx: SftpContext, path: string): string {
  const found = ctx.fsroot.existing(path === '' ? '/' : path);
  if (typeof found !== 'string') return found.client;
  if (found === 'outside') throw new Answer(FX.NO_SUCH_FILE);
  // As OpenSSH's realpath: the last component may be missing (a name about to be created).
  const entry = ctx.fsroot.entry(path);
  if (entry === null || typeof entry === 'string') throw new Answer(FX.NO_SUCH_FILE);
  return entry.client;
}

/** "~" and "~/x" are the client's home, which is `/`; another user's home does not exist here. */
export function expandTilde(path: string): string {
  if (path === '~') return '/';
  if (path.startsWith('~/')) return path.slice(1);
  if (path.startsWith('~')) throw new Answer(FX.NO_SUCH_FILE);
  return path;
}

export function readlink(ctx: SftpContext, id: number, path: string): void {
  const found = ctx.entry(path, null);
  const shown = ctx.fsroot.linkTarget(found.client, readlinkSync(found.host));
  if (shown === null) throw new Answer(FX.NO_SUCH_FILE);
  ctx.nameReply(id, shown);
}
