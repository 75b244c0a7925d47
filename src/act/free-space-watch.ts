/**
 * Keeps a free-space floor while a supervised program writes (rsync pushes; docs/rules/rsync.md, and
 * min-free in docs/policy.md). rsync has no such option, and a few KB of `-z` on
 * the wire can become gigabytes on disk, so the dispatcher watches the filesystem itself.
 *
 * When to look: statfs is a cheap system call, so the next look is scheduled before the headroom
 * left above the floor could be used up at the fastest fill rate seen so far, or at FAST_FILL if
 * that is faster: far from the floor a look a second, near it every few milliseconds. Every
 * session watches the same statfs, so the floor holds however many sessions write at once: each
 * sees what all of them wrote, and the rate it sees is their sum.
 *
 * At the floor: the program's process group is stopped (SIGSTOP, so that nothing is renamed into
 * place while we look), the files its processes hold open for writing under the watched path are
 * noted, the group is killed (SIGKILL: rsync's own cleanup on SIGTERM would keep a --partial
 * file under its final name), and the files among them that this session created are removed:
 * rsync's temporary names (`.NAME.XXXXXX`), one link only, born after the watch began, and still
 * the inode rsync held. A name alone proves nothing: a stored `.profile.backup` has the shape of
 * a temporary name (found in review). Anything else is kept and named in the end record.
 */
import { lstatSync, readdirSync, readFileSync, readlinkSync, statfsSync, statSync, unlinkSync, type Stats } from 'node:fs';
import { basename } from 'node:path';
import { statFields } from '../host/proc.js';

/** Assume at least this fill rate (bytes per ms, about 2 GB/s: tmpfs, or a fast SSD with -z zeros). */
const FAST_FILL = 2 * 1024 * 1024;
const SOONEST_MS = 2;
const LATEST_MS = 1000;

/** rsync's receiver writes into `.NAME.XXXXXX` (receiver.c get_tmpname) and renames it when done. */
const RSYNC_TEMP_NAME = /^\..+\.[A-Za-z0-9]{6}$/;

export function freeBytes(path: string): number {
  const stats = statfsSync(path);
  return stats.bavail * stats.bsize;
}

/** Milliseconds until the next look, so that `headroom` bytes cannot be used up in between. */
export function nextLookMs(headroom: number, fillRate: number): number {
  const rate = Math.max(fillRate, FAST_FILL);
  return Math.min(LATEST_MS, Math.max(SOONEST_MS, Math.floor(headroom / rate / 2)));
}

/**
 * Whether a file open for writing is one this session created: an rsync temporary name, a regular
 * file with one link (a hard link would make it someone's history), born since `sinceMs`. A
 * filesystem that keeps no birth time (birthtimeMs 0) proves nothing: the file is kept.
 */
export function createdBySession(name: string, open: Pick<Stats, 'nlink' | 'birthtimeMs' | 'isFile'>, sinceMs: number): boolean {
  return RSYNC_TEMP_NAME.test(name) && open.isFile() && open.nlink === 1 && open.birthtimeMs > 0 && open.birthtimeMs >= sinceMs;
}

export interface FloorReached {
  /** Temporary files of the program that were removed, and files written in place that were kept. */
  removed: string[];
  kept: string[];
}

/**
 * Watches `path` until stop() or until free space falls below `floor`; then stops and kills
 * process group `group` and removes its temporary files, and calls `reached`.
 */
export function watchFreeSpace(path: string, floor: number, group: number, reached: (facts: FloorReached) => void): { stop(): void } {
  let timer: NodeJS.Timeout | null = null;
  // Birth times are whole clock ticks on some filesystems: a second's slack, never more.
  const since = Date.now() - 1000;
  let last = { free: freeBytes(path), at: performance.now() };
  let rate = 0;
  const look = () => {
    timer = null;
    let free: number;
    try {
      free = freeBytes(path);
    } catch {
      free = 0; // the filesystem cannot be asked: fail closed, as at the floor
    }
    const now = performance.now();
    if (now > last.at) rate = Math.max(rate, (last.free - free) / (now - last.at));
    last = { free, at: now };
    if (free < floor) {
      reached(killAndClean(group, path, since));
      return;
    }
    timer = setTimeout(look, nextLookMs(free - floor, rate));
  };
  timer = setTimeout(look, nextLookMs(last.free - floor, 0));
  return {
    stop() {
      if (timer) clearTimeout(timer);
      timer = null;
    },
  };
}

function killAndClean(group: number, under: string, since: number): { removed: string[]; kept: string[] } {
  signalGroup(group, 'SIGSTOP');
  const writing = filesOpenForWriting(groupMembers(group), under);
  signalGroup(group, 'SIGKILL');
  const removed: string[] = [];
  const kept: string[] = [];
  for (const { path, open } of writing) {
    try {
      // The name must still lead to the inode rsync held: it was stopped, but a local user was not.
      const now = lstatSync(path);
      if (!createdBySession(basename(path), open, since) || now.ino !== open.ino || now.dev !== open.dev) throw new Error('not ours');
      unlinkSync(path);
      removed.push(path);
    } catch {
      kept.push(path);
    }
  }
  return { removed, kept };
}

function signalGroup(group: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-group, signal);
  } catch {
    // The group has already ended.
  }
}

/** The pids whose process group is `group` (/proc/PID/stat, field 5). */
function groupMembers(group: number): number[] {
  const members: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    // Gone while we looked: null.
    if (Number(statFields(entry)?.[2]) === group) members.push(Number(entry));
  }
  return members;
}

/** Paths under `under` that the processes hold open with write access (fdinfo flags), with what each descriptor holds. */
function filesOpenForWriting(pids: readonly number[], under: string): { path: string; open: Stats }[] {
  const prefix = under.endsWith('/') ? under : `${under}/`;
  const files = new Map<string, Stats>();
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
        if (!target.startsWith(prefix)) continue;
        const flags = /^flags:\s+([0-7]+)$/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'latin1'));
        // stat through the descriptor: the inode rsync has open, whatever the name leads to now.
        if (flags && (parseInt(flags[1]!, 8) & 0o3) !== 0) files.set(target, statSync(`/proc/${pid}/fd/${fd}`));
      } catch {
        // Closed while we looked.
      }
    }
  }
  return [...files].map(([path, open]) => ({ path, open }));
}
