/**
 * The on-disk half of path confinement: just before rsync runs, every path the decision
 * allowed must still resolve inside the rule's root. rules/rsync/confine.ts checked the words;
 * this checks the symlinks, by resolving the deepest existing prefix of each path.
 *
 * A symlink swapped in after this check and before rsync opens the path: a pull's sources are
 * held by entering their directory (enterConfinedCwd, rules/rsync/pin.ts); rsync >= 3.5.0
 * resolves the destination and option paths itself with O_NOFOLLOW walks that accept only
 * root- or self-owned symlinks, --confine-root bounds option paths and merge files, and
 * --munge-links keeps the client from planting working symlinks; see docs/rules/rsync.md.
 */
import { lstatSync, realpathSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DenyReason } from '../values/deny-reason.js';
import { isWithin } from '../values/paths.js';

export type ConfineProblem = { reason: DenyReason; detail: string } | null;

function deepestExisting(path: string): string {
  for (let p = path; ; p = dirname(p)) {
    try {
      lstatSync(p);
      return p;
    } catch {
      if (p === '/') return p;
    }
  }
}

export function checkConfinement(root: string, paths: readonly string[]): ConfineProblem {
  let realRoot: string;
  try {
    realRoot = realpathSync(root);
    const stats = statSync(realRoot);
    if (!stats.isDirectory()) return { reason: 'rsync-root-unusable', detail: `${root} is not a directory` };
    if ((stats.mode & 0o002) !== 0) return { reason: 'rsync-root-unusable', detail: `${root} is writable by others` };
  } catch (error) {
    return { reason: 'rsync-root-unusable', detail: `${root}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` };
  }
  for (const path of paths) {
    const existing = deepestExisting(path);
    let real: string;
    try {
      real = realpathSync(existing);
    } catch (error) {
      return { reason: 'rsync-symlink-escape', detail: `${existing}: ${(error as NodeJS.ErrnoException).code ?? 'unresolvable'}` };
    }
    if (!isWithin(real, realRoot)) return { reason: 'rsync-symlink-escape', detail: `${existing} resolves to ${real}, outside ${root}` };
  }
  return null;
}

/**
 * Enters the directory rsync will start in and checks where the kernel put us. The working
 * directory then holds that inode whatever happens to the names on the way to it, and execve
 * and spawn both pass it on; so the plan's cwd must not be entered again by name afterwards.
 */
export function enterConfinedCwd(root: string, cwd: string): ConfineProblem {
  try {
    const realRoot = realpathSync(root);
    process.chdir(cwd);
    const entered = process.cwd();
    if (!isWithin(entered, realRoot))
      return {
        reason: 'rsync-symlink-escape',
        detail: `${cwd} led to ${entered}, outside ${root}, when entered (a symlink swapped in after the check)`,
      };
    return null;
  } catch (error) {
    return unreachable(cwd, error) ?? { reason: 'rsync-symlink-escape', detail: `${cwd}: ${(error as Error).message} when entered` };
  }
}

/**
 * Whether a pull's directory can be started in, as explain sees it (enterConfinedCwd then
 * enters it for real): the same refusal either way.
 */
export function checkReachableDirectory(path: string): ConfineProblem {
  try {
    if (statSync(path).isDirectory()) return null;
    return { reason: 'rsync-source-unreachable', detail: `${path} is not a directory` };
  } catch (error) {
    return unreachable(path, error) ?? { reason: 'rsync-source-unreachable', detail: `${path}: ${(error as Error).message}` };
  }
}

function unreachable(path: string, error: unknown): ConfineProblem {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR')
    return { reason: 'rsync-source-unreachable', detail: `${path} is not a directory (${code})` };
  if (code === 'EACCES' || code === 'EPERM')
    return { reason: 'rsync-source-unreachable', detail: `${path} cannot be entered by this account (${code})` };
  return null;
}
