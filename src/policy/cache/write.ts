/**
 * Writing a cache entry atomically: into a temp directory, renamed into place, so a reader sees
 * a whole entry or none; with the modes of the policy it compiles (nobody reads the cache who
 * may not read the policy). Then housekeeping removes the entries other builds wrote beside it.
 */
import { type BigIntStats, chmodSync, chownSync, lstatSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Policy } from '../schema.js';
import { IDENTITIES, LOGINS, META, serialiseEntry } from './serialise.js';
import { cacheKey } from './stamp.js';

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

export function sameAccess(a: CacheAccess, b: CacheAccess): boolean {
  return a.fileMode === b.fileMode && a.dirMode === b.dirMode && a.gid === b.gid;
}

export function cacheAccess(files: readonly { stats: BigIntStats }[]): CacheAccess {
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

/** A directory others must search (a cache root, the applied versions' directories), made searchable by every account that reads an entry; or why not. */
export function prepareRoot(cacheRoot: string): string | null {
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

/** A directory with `access`'s mode and group, whatever the umask. */
export function makeAccessDir(dir: string, access: CacheAccess): void {
  mkdirSync(dir, { mode: access.dirMode });
  chmodSync(dir, access.dirMode);
  restrict(dir, access, true);
}

/** A new file (never an existing one) with `access`'s mode and group, whatever the umask. */
export function writeAccessFile(path: string, text: string, access: CacheAccess): void {
  writeFileSync(path, text, { mode: access.fileMode, flag: 'wx' });
  chmodSync(path, access.fileMode);
  restrict(path, access, false);
}

/** Writes every file of the entry under `temp` (which must not exist), modes as given whatever the umask. */
function writeEntry(temp: string, files: Map<string, string>, access: CacheAccess): void {
  const made = new Set<string>();
  const makeDir = (dir: string): void => {
    if (made.has(dir)) return;
    if (dir !== temp) makeDir(dirname(dir));
    makeAccessDir(dir, access);
    made.add(dir);
  };
  // Both always there: a reader takes a missing one as a doubt, not as "none".
  makeDir(join(temp, IDENTITIES));
  makeDir(join(temp, LOGINS));
  for (const [name, text] of files) {
    const path = join(temp, name);
    makeDir(dirname(path));
    writeAccessFile(path, text, access);
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
  removeOtherEntries(cacheRoot, key);
  return null;
}

/**
 * The entries other builds compiled of the same version are never read again by this one.
 * Removing them is housekeeping: a stale entry costs a few files, and a throw here would fail an
 * apply that succeeded.
 */
function removeOtherEntries(cacheRoot: string, key: string): void {
  try {
    for (const name of readdirSync(cacheRoot)) {
      if (name === key || name.startsWith('.tmp-')) continue;
      rmSync(join(cacheRoot, name), { recursive: true, force: true });
    }
  } catch {
    // Left for the next writer.
  }
}
