/**
 * Whether what lies in the cache may be believed: trusted exactly like the policy (writing it
 * needs the same rights as writing the policy directory), so each directory and file must be
 * owned by root or the running user, not writable by group or others, and no symlinks are
 * followed. Any doubt is a miss, and a miss parses the YAML.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { untrustedWriter } from '../../trust.js';

const MAX_CACHE_FILE_BYTES = 16 * 1024 * 1024;

/** Reads a small file without following symlinks, if it is regular and trusted; else null. */
export function readTrusted(path: string, uid: number): string | null {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return null;
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile() || untrustedWriter(stats, uid) !== null || stats.size > MAX_CACHE_FILE_BYTES) return null;
    const buffer = Buffer.alloc(stats.size);
    let read = 0;
    while (read < stats.size) {
      const n = readSync(fd, buffer, read, stats.size - read, read);
      if (n === 0) break;
      read += n;
    }
    return buffer.subarray(0, read).toString('utf8');
  } catch {
    // An I/O error is a doubt, and doubts are misses.
    return null;
  } finally {
    closeSync(fd);
  }
}

export function trustedDirectory(path: string, uid: number): boolean {
  try {
    const stats = lstatSync(path);
    return stats.isDirectory() && untrustedWriter(stats, uid) === null;
  } catch {
    return false;
  }
}

/** Whether a path is there; only ENOENT says no (EACCES is a doubt, and doubts are misses). */
export function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

/** Reads a file whoever wrote it (what is read decides nothing a client asks: housekeeping, a writer's own check). */
export function readLoose(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}
