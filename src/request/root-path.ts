/**
 * Every directory entry the kernel passes through to reach a path, symbolic links followed one
 * by one (not realpath: a link in a directory others can write could be pointed elsewhere after
 * the look, so each link, and each directory holding one, is an entry of the chain too).
 * Only reads (lstat, readlink); what the chain means is decided in session-env.ts.
 */
import { lstatSync, readlinkSync } from 'node:fs';
import type { OwnerAndMode } from '../trust.js';

export interface ChainEntry {
  path: string;
  stats: OwnerAndMode & { isSymbolicLink(): boolean; isFile(): boolean };
}

/** The chain from `/` to `path` (absolute), or why it cannot be walked (ENOENT, ELOOP, ...). */
export type PathChain = { entries: ChainEntry[] } | { error: string };

/** As many links as Linux follows (MAXSYMLINKS). */
const MAX_LINKS = 40;

export function walkPath(
  path: string,
  lstat: (path: string) => ChainEntry['stats'] = lstatSync,
  readlink: (path: string) => string = (p) => readlinkSync(p, 'utf8'),
): PathChain {
  try {
    const entries: ChainEntry[] = [{ path: '/', stats: lstat('/') }];
    // The parts still to walk, the next one last.
    const todo = path.split('/').reverse();
    let at = '/';
    let links = 0;
    while (todo.length > 0) {
      const part = todo.pop()!;
      if (part === '' || part === '.') continue;
      if (part === '..') {
        at = at.slice(0, at.lastIndexOf('/')) || '/';
        continue;
      }
      const next = at === '/' ? `/${part}` : `${at}/${part}`;
      const stats = lstat(next);
      entries.push({ path: next, stats });
      if (!stats.isSymbolicLink()) {
        at = next;
        continue;
      }
      if (++links > MAX_LINKS) return { error: 'ELOOP' };
      const target = readlink(next);
      todo.push(...target.split('/').reverse());
      if (target.startsWith('/')) at = '/';
    }
    return { entries };
  } catch (error) {
    return { error: (error as NodeJS.ErrnoException).code ?? (error as Error).message };
  }
}
