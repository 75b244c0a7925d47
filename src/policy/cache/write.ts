/**
 * Writing a cache entry atomically: into a temp directory, renamed into place, so a reader sees
 * a whole entry or none; with the modes of the policy it compiles (nobody reads the cache who
 * may not read the policy). Best effort: a cache not written costs a YAML parse, never a
 * connection. Then housekeeping removes this policy's older entries.
 */
import { chmodSync, chownSync, lstatSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Policy } from '../schema.js';
import { APPROVED, approvedKeys } from './approved.js';
import { readMeta } from './deserialise.js';
import { IDENTITIES, LOGINS, META, serialiseEntry } from './serialise.js';
import { cacheKey, policyPathOf, type PolicyFileStat } from './stamp.js';
import { readLoose } from './trusted.js';

/**
 * Who may read a cache entry: the cache is the policy compiled, so nobody may read it who may
 * not read every policy file (found in review: a 0600 policy was published 0644). Others, when
 * every file is readable by others; else the one group every file shares and lets read (the
 * commands' account of docs/fleet.md); else root and the owner alone.
 */
export interface CacheAccess {
  fileMode: number;
  dirMode: number;
  gid: number | null;
}

export const PUBLIC_CACHE: CacheAccess = { fileMode: 0o644, dirMode: 0o755, gid: null };

export function cacheAccess(files: readonly PolicyFileStat[]): CacheAccess {
  const modes = files.map((file) => Number(file.stats.mode));
  const gids = new Set(files.map((file) => Number(file.stats.gid)));
  if (modes.every((mode) => (mode & 0o004) !== 0)) return PUBLIC_CACHE;
  if (gids.size === 1 && modes.every((mode) => (mode & 0o040) !== 0)) return { fileMode: 0o640, dirMode: 0o750, gid: [...gids][0]! };
  return { fileMode: 0o600, dirMode: 0o700, gid: null };
}

/** Gives a path written for the cache its group; where that is not allowed, nobody but the owner reads it. */
function restrict(path: string, access: CacheAccess, directory: boolean): void {
  if (access.gid === null) return;
  try {
    chownSync(path, -1, access.gid);
  } catch {
    chmodSync(path, directory ? 0o700 : 0o600);
  }
}

/** The cache root, made searchable by every account that reads an entry; or why not. */
function prepareRoot(cacheRoot: string): string | null {
  try {
    mkdirSync(cacheRoot, { mode: 0o755 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') return (error as NodeJS.ErrnoException).code ?? 'mkdir failed';
  }
  // Searchable whatever the umask of whoever made it (a hardened 027 made it root's alone, and
  // every other account's connections were denied): the entries below keep their own modes,
  // and the root lists only their hashes.
  try {
    const stats = lstatSync(cacheRoot);
    if (stats.isDirectory() && stats.uid === (process.getuid?.() ?? 0) && (stats.mode & 0o777) !== 0o755) chmodSync(cacheRoot, 0o755);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? 'stat failed';
  }
  return null;
}

/** Writes every file of the entry under `temp` (which must not exist), modes as given whatever the umask. */
function writeEntry(temp: string, files: Map<string, string>, access: CacheAccess): void {
  const made = new Set<string>();
  const makeDir = (dir: string): void => {
    if (made.has(dir)) return;
    if (dir !== temp) makeDir(dirname(dir));
    mkdirSync(dir, { mode: access.dirMode });
    chmodSync(dir, access.dirMode);
    restrict(dir, access, true);
    made.add(dir);
  };
  // Both always there: a reader takes a missing one as a doubt, not as "none".
  makeDir(join(temp, IDENTITIES));
  makeDir(join(temp, LOGINS));
  for (const [name, text] of files) {
    const path = join(temp, name);
    makeDir(dirname(path));
    writeFileSync(path, text, { mode: access.fileMode, flag: 'wx' });
    chmodSync(path, access.fileMode);
    restrict(path, access, false);
  }
}

/** Writes the cache for `policy` under `key`, best effort: returns why it did not, or null. */
export function writeCachedPolicy(cacheRoot: string, signature: string, policy: Policy, access: CacheAccess = PUBLIC_CACHE): string | null {
  const key = cacheKey(signature);
  const temp = join(cacheRoot, `.tmp-${process.pid}-${key}`);
  const notReady = prepareRoot(cacheRoot);
  if (notReady !== null) return notReady;
  try {
    rmSync(temp, { recursive: true, force: true });
    writeEntry(temp, serialiseEntry(signature, policy), access);
    renameSync(temp, join(cacheRoot, key));
  } catch (error) {
    try {
      rmSync(temp, { recursive: true, force: true });
    } catch {
      // Left for the next writer; this one reports why it did not write.
    }
    const code = (error as NodeJS.ErrnoException).code;
    // Another session wrote the same key first: that one is as good.
    return code === 'ENOTEMPTY' || code === 'EEXIST' ? null : (code ?? (error as Error).message);
  }
  removeOlderEntries(cacheRoot, key, policyPathOf(signature));
  return null;
}

/**
 * Caches of older policies or builds are never read again. Removing them is housekeeping: when
 * a policy changes under starting sessions, another one may be writing a key that this one is
 * removing (rmdir then fails with ENOTEMPTY). A stale entry costs a few files; a throw here
 * denied a connection. Only this policy's own older entries go: another policy file beside it
 * has entries here too.
 */
function removeOlderEntries(cacheRoot: string, key: string, policyPath: string | null): void {
  try {
    const keep = approvedKeys(cacheRoot);
    for (const name of readdirSync(cacheRoot)) {
      if (name === key || keep.has(name) || name.startsWith(`${APPROVED}.`) || name.startsWith('.tmp-')) continue;
      // No meta.json this build can read: not an entry anything can use, so it goes too.
      const meta = readMeta(readLoose(join(cacheRoot, name, META)) ?? '');
      if (meta.ok && policyPathOf(meta.value.signature) !== policyPath) continue;
      try {
        rmSync(join(cacheRoot, name), { recursive: true, force: true });
      } catch {
        // Left for the next writer.
      }
    }
  } catch {
    // Housekeeping is never a reason to fail.
  }
}
