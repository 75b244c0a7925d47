/**
 * No older version is readable by more than the files are now (found in review): a chmod o-r of
 * the policy files, applied, hid only the versions applied after it, and every earlier one kept
 * its copy of the files readable as they were then. Each apply narrows the older versions to
 * its own access (it never widens one: a rollback publishes a version as its files were when
 * applied, and says so). Housekeeping after the new version is served: a failure leaves it as it
 * was, and is never a reason to fail the apply.
 */
import { chmodSync, chownSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { runningUid } from '../../trust.js';
import { PUBLIC_CACHE, sameAccess, type CacheAccess } from '../cache/write.js';
import { versionDir, type AppliedPlace } from './place.js';
import { readVersion, SOURCES, VERSION_FILE, versionNumbers, type VersionMeta } from './versions.js';

const PRIVATE: CacheAccess = { fileMode: 0o600, dirMode: 0o700, gid: null };

/** Who may read `old` once it is narrowed to `now`: everyone both let read. */
export function narrowAccess(old: CacheAccess, now: CacheAccess): CacheAccess {
  if (now.gid === null) return now.fileMode === PUBLIC_CACHE.fileMode ? old : PRIVATE;
  if (old.gid === null) return old.fileMode === PUBLIC_CACHE.fileMode ? now : old;
  return old.gid === now.gid ? old : PRIVATE;
}

function setAccess(path: string, access: CacheAccess, directory: boolean): void {
  const mode = directory ? access.dirMode : access.fileMode;
  if (access.gid !== null) {
    try {
      // The group first, while the mode is still the narrower of the two.
      chownSync(path, -1, access.gid);
    } catch {
      chmodSync(path, directory ? PRIVATE.dirMode : PRIVATE.fileMode);
      return;
    }
  }
  chmodSync(path, mode);
}

/** Narrows every version but `served` to who may read `served` (its access). */
export function narrowOlder(place: AppliedPlace, served: VersionMeta): void {
  for (const version of versionNumbers(place)) {
    if (version === served.version) continue;
    const meta = readVersion(place, version, runningUid());
    if (meta === null) continue;
    const access = narrowAccess(meta.access, served.access);
    if (sameAccess(access, meta.access)) continue;
    const dir = versionDir(place, version);
    try {
      for (const name of readdirSync(join(dir, SOURCES))) setAccess(join(dir, SOURCES, name), access, false);
      setAccess(join(dir, VERSION_FILE), access, false);
      setAccess(join(dir, SOURCES), access, true);
      setAccess(dir, access, true);
    } catch {
      // Left as it was; the next apply tries again.
    }
  }
}
