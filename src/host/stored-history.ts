/**
 * What a plain write push (not `snapshot: true`) could change of the owner's history, looked at
 * on disk before rsync starts, in the push's destination:
 *
 * - `overwrite: true`: rsync may replace stored files (by a new inode: a temporary file renamed
 *   into place), but a file it finds unchanged by size and time gets the client's mode, owner and
 *   times set in place, on the stored inode. A stored inode with a link outside the destination
 *   (a --link-dest snapshot, a `cp -al` rotation) is the same file in those other places, so such
 *   a push would change them too: it is refused (sharedInodeOutside).
 * - `overwrite: false`: --ignore-existing leaves stored files alone, but rsync still sets the
 *   attributes of every directory that exists (its generator skips only non-directories):
 *   act/stored-directories.ts notes them first and puts them back after (storedDirectories).
 *
 * Both walk the destination once; every walk is bounded (WALK_LIMIT entries), and a destination
 * too large to look at is refused rather than pushed into unchecked.
 */
import { lstatSync, readdirSync, type Stats } from 'node:fs';
import type { StoredDirectory } from '../rules/plan.js';
import type { DenyReason } from '../values/deny-reason.js';

export const WALK_LIMIT = 2_000_000;

export type HistoryProblem = { reason: DenyReason; detail: string } | null;

class TooLarge extends Error {}

/** Calls `each` with every entry under `top` (and `top` itself), by lstat; never follows a symlink. */
function walk(top: string, each: (path: string, stats: Stats) => void, wantFiles: boolean, limit: number): void {
  let seen = 0;
  const visit = (path: string, stats: Stats) => {
    if (++seen > limit) throw new TooLarge();
    each(path, stats);
    if (!stats.isDirectory()) return;
    let entries;
    try {
      entries = readdirSync(path, { withFileTypes: true });
    } catch {
      return; // unreadable to us is unreadable to rsync, run as the same account
    }
    for (const entry of entries) {
      const child = path === '/' ? `/${entry.name}` : `${path}/${entry.name}`;
      if (!entry.isDirectory() && !(wantFiles && (entry.isFile() || entry.isSymbolicLink()))) {
        if (++seen > limit) throw new TooLarge();
        continue;
      }
      try {
        visit(child, lstatSync(child));
      } catch (error) {
        if (error instanceof TooLarge) throw error;
      }
    }
  };
  let stats: Stats;
  try {
    stats = lstatSync(top);
  } catch {
    return; // a new destination holds no history
  }
  visit(top, stats);
}

/**
 * A file in `dest` whose inode has a link outside `dest`, or null. Links among names inside `dest`
 * are the push's own business: it may replace each of those names anyway.
 */
export function sharedInodeOutside(dest: string, limit = WALK_LIMIT): HistoryProblem {
  const inside = new Map<string, { path: string; nlink: number; seen: number }>();
  try {
    walk(
      dest,
      (path, stats) => {
        // Symlinks too: rsync -H links them where the system allows it (hardlink-symlinks).
        if (stats.isDirectory() || stats.nlink < 2) return;
        const key = `${stats.dev}:${stats.ino}`;
        const known = inside.get(key);
        if (known) known.seen++;
        else inside.set(key, { path, nlink: stats.nlink, seen: 1 });
      },
      true,
      limit,
    );
  } catch {
    return {
      reason: 'rsync-destination-unchecked',
      detail: `${dest} holds more than ${limit} entries: too many to check for hard links into other snapshots`,
    };
  }
  for (const { path, nlink, seen } of inside.values()) {
    if (nlink > seen) {
      return {
        reason: 'rsync-destination-shares-inodes',
        detail: `${path} is hard-linked from outside ${dest} (${nlink} links, ${seen} here): a push could change it there too (same size and time: the client's mode and owner are set on the shared file); push snapshots under snapshot: true`,
      };
    }
  }
  return null;
}

/** The directories in `dest` as they are now, to be put back after the push (act/stored-directories.ts). */
export function storedDirectories(dest: string, limit = WALK_LIMIT): StoredDirectory[] | HistoryProblem {
  const dirs: StoredDirectory[] = [];
  try {
    walk(
      dest,
      (path, s) =>
        void (
          s.isDirectory() &&
          dirs.push({
            path,
            dev: s.dev,
            ino: s.ino,
            birthtimeMs: s.birthtimeMs,
            mode: s.mode & 0o7777,
            uid: s.uid,
            gid: s.gid,
            atimeMs: s.atimeMs,
            mtimeMs: s.mtimeMs,
          })
        ),
      false,
      limit,
    );
  } catch {
    return { reason: 'rsync-destination-unchecked', detail: `${dest} holds more than ${limit} entries: too many to note its directories` };
  }
  return dirs;
}
