/**
 * Where a policy's applied versions live: `.ssh-dispatch-applied/<hash of the policy's real
 * path>/` in the policy directory (beside a policy that is one file). Two policies in one
 * directory each have their own: one's apply must never serve the other.
 *
 *   current                  the served version's number, written whole (by rename)
 *   v/<N>/version.json       when, who, what (digest, files, the diff from the version before)
 *   v/<N>/src/<i>            the policy files as they were applied, byte for byte
 *   v/<N>/compiled/<key>/    the version compiled by one build (policy/cache/), read by connections
 *   .lock                    held by the apply, rollback or adopt writing a version (lock.ts)
 *
 * A connection reads only this, never the files as they are now: an edit, a typo or a chmod
 * slip changes nothing until `apply`. So the directories above must be trusted like the policy's
 * (StrictModes): a directory others may write lets them swap in another version.
 */
import { lstatSync, realpathSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { cacheKey } from '../cache/stamp.js';
import { untrustedWriter } from '../../trust.js';

export const APPLIED_DIR_NAME = '.ssh-dispatch-applied';

export interface AppliedPlace {
  /** The policy's real path (a file, or a directory of *.yaml files). */
  realPath: string;
  /** This policy's state directory. */
  dir: string;
}

/** Why a directory on the way to the policy could have been written by someone else, or null. */
export function untrustedParent(realPath: string, uid: number): string | null {
  for (let dir = dirname(realPath); ; dir = dirname(dir)) {
    const why = untrustedWriter(statSync(dir), uid, true);
    if (why) return `directory ${dir} is ${why}`;
    if (dir === '/') return null;
  }
}

/** The state directory of the policy at `path` (which need not have any version yet), or why not. */
export function appliedPlace(path: string, uid: number): AppliedPlace | string {
  try {
    const realPath = realpathSync(path);
    const stats = statSync(realPath);
    const parent = untrustedParent(realPath, uid);
    if (parent) return parent;
    const own = stats.isDirectory() ? untrustedWriter(stats, uid) : null;
    if (own) return `policy directory is ${own}`;
    const place = placeOf(realPath, stats.isDirectory());
    return untrustedState(place.dir, uid) ?? place;
  } catch (error) {
    return `cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`;
  }
}

/**
 * Why the state directories that are there (none before the first apply) could have been
 * written by someone else, or null. The state root too, not only this policy's directory in it:
 * one its group may write lets a member rename another policy's state over this one's (found in
 * review), and keys then serve what root applied for other keys. Each is owned by root or by the
 * owner of the directory it is made in: in a sticky directory anyone may add to (a policy file in
 * /tmp), an account's state made before root's first apply would be its own connections' policy.
 */
function untrustedState(dir: string, uid: number): string | null {
  const home = dirname(dirname(dir));
  const maker = statSync(home).uid;
  for (const path of [dirname(dir), dir]) {
    let stats: ReturnType<typeof lstatSync>;
    try {
      stats = lstatSync(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    if (!stats.isDirectory()) return `${path} is not a directory (a symbolic link is never followed)`;
    const why = untrustedWriter(stats, uid);
    if (why) return `directory ${path} is ${why}`;
    if (stats.uid !== 0 && stats.uid !== maker)
      return `directory ${path} is owned by uid ${stats.uid}, not by root or the owner of ${home}`;
  }
  return null;
}

export function placeOf(realPath: string, isDirectory: boolean): AppliedPlace {
  const root = join(isDirectory ? realPath : dirname(realPath), APPLIED_DIR_NAME);
  return { realPath, dir: join(root, cacheKey(realPath)) };
}

export function versionDir(place: AppliedPlace, version: number): string {
  return join(place.dir, 'v', String(version));
}
