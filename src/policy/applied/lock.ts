/**
 * One apply, rollback or adopt at a time per policy (found in review): two at once each took a
 * version number and each made its own current, and the one that renamed `current` last was
 * served, the older one as often as not, while the other said its own was served; each then
 * pruned what the other compiled. The lock is a file naming its holder's pid; one whose
 * process is gone (an apply killed half way), or taken before the last boot, is taken over.
 */
import { closeSync, lstatSync, openSync, rmSync, writeSync } from 'node:fs';
import { uptime } from 'node:os';
import { join } from 'node:path';
import { readLoose } from '../cache/trusted.js';
import type { AppliedPlace } from './place.js';

export const LOCK = '.lock';

/** Whether the lock at `path` was taken since the last boot (an older one names a pid another process may have now). */
function sinceBoot(path: string): boolean {
  try {
    return lstatSync(path).mtimeMs >= Date.now() - uptime() * 1000;
  } catch {
    return false;
  }
}

/** Whether a process with this pid runs (EPERM: it does, as another user). */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the policy's lock: the function that releases it, or why not. */
export function lockApplied(place: AppliedPlace): (() => void) | string {
  const path = join(place.dir, LOCK);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      try {
        writeSync(fd, `${process.pid}\n`);
      } finally {
        closeSync(fd);
      }
      return () => rmSync(path, { force: true });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') return `cannot take ${path}: ${code ?? (error as Error).message}`;
      const pid = Number(readLoose(path)?.trim());
      if (Number.isInteger(pid) && pid > 0 && running(pid) && sinceBoot(path))
        return `another apply (pid ${pid}) is running: run this again when it has ended (${path})`;
      // Its holder is gone: what it left half way is in a temp directory no reader looks at.
      rmSync(path, { force: true });
    }
  }
  return `another apply took ${path} at the same time: run this again`;
}
