/** Paths as the kernel will follow them, for check's comparisons of where rules write. */
import { readlinkSync, realpathSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

/**
 * A path with its symlinks resolved, as the kernel will follow them when a rule writes there.
 * A path that does not exist yet is its deepest existing ancestor, resolved, plus the rest: a
 * rule that creates it later lands where that ancestor points.
 */
export function resolvePath(path: string, depth = 0): string {
  try {
    return realpathSync(path);
  } catch {
    const parent = dirname(path);
    if (parent === path || depth > 40) return path;
    const resolvedParent = resolvePath(parent, depth + 1);
    try {
      // A dangling symlink: a write through it creates its target.
      return resolvePath(resolve(resolvedParent, readlinkSync(path)), depth + 1);
    } catch {
      return join(resolvedParent, basename(path));
    }
  }
}

/** Where this ssh-dispatch runs from: its bundle's directory, its Node runtime, and install.sh's default. */
export function installDirectories(): string[] {
  const dirs = ['/usr/local/lib/ssh-dispatch', dirname(process.execPath)];
  if (process.argv[1]) dirs.push(dirname(resolvePath(process.argv[1])));
  return dirs;
}
