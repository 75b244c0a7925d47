/**
 * Puts back the attributes of directories that existed before an `overwrite: false` push
 * (host/stored-history.ts noted them): rsync's --ignore-existing skips stored files but sets the
 * client's mode, owner and times on every stored directory it passes. Each is opened without
 * following a symlink and changed through the descriptor, and only if it is still the inode noted:
 * a name swapped meanwhile is left alone and not counted.
 */
import { closeSync, constants, fchmodSync, fchownSync, fstatSync, futimesSync, openSync } from 'node:fs';
import type { StoredDirectory } from '../rules/plan.js';

/** The directories whose attributes were put back. */
export function restoreDirectories(dirs: readonly StoredDirectory[]): string[] {
  const restored: string[] = [];
  for (const dir of dirs) {
    let fd: number;
    try {
      fd = openSync(dir.path, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
    } catch {
      continue;
    }
    try {
      const now = fstatSync(fd);
      if (now.ino !== dir.ino || now.dev !== dir.dev || now.birthtimeMs !== dir.birthtimeMs) continue;
      const ownerChanged = now.uid !== dir.uid || now.gid !== dir.gid;
      const modeChanged = (now.mode & 0o7777) !== dir.mode;
      const timeChanged = now.mtimeMs !== dir.mtimeMs;
      if (ownerChanged) fchownSync(fd, dir.uid, dir.gid);
      // Also after a chown, which clears set-id bits.
      if (ownerChanged || modeChanged) fchmodSync(fd, dir.mode);
      if (timeChanged) futimesSync(fd, dir.atimeMs / 1000, dir.mtimeMs / 1000);
      const changed = ownerChanged || modeChanged || timeChanged;
      if (changed) restored.push(dir.path);
    } catch {
      // Not ours to change (another owner, a read-only mount): left as it is.
    } finally {
      closeSync(fd);
    }
  }
  return restored;
}
