/**
 * The learning window of a key line (--learn-run UNTIL, --learn-write PATH, --learn-read PATH):
 * until UNTIL the key runs what its client sends, in the sandbox, with only the named paths
 * (serve/learn-run.ts); after it, it only records, as --learn does. Pure: the clock is passed in,
 * by the connection (its start) and by `check` (now).
 *
 * A key line is written once and read by every connection after, so the window is bounded where
 * it is read: an UNTIL more than MAX_WINDOW_MS after the connection is a bad line, never a long
 * window, and a line left behind expires by itself.
 */

/** The longest a learning window may reach ahead of the connection that reads it. */
export const MAX_WINDOW_MS = 7 * 24 * 3600 * 1000;

/** What --learn-run and its paths say, checked. */
export interface LearnRun {
  /** The end of the window (exclusive): from this instant the key runs nothing. */
  until: Date;
  /** Bound writable in the sandbox, at their own paths. */
  write: string[];
  /** Bound read-only in the sandbox. */
  read: string[];
}

export type LearnFlag = 'learn-run' | 'learn-write' | 'learn-read';

/** Absolute UTC time to the minute or the second, with its Z: 2026-12-09T06:00Z, 2026-12-09T06:00:30Z. */
const UNTIL = /^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2})(?::([0-9]{2}))?Z$/;

/** UNTIL as an instant, or why it is none. Only UTC, spelled out: a local time would move with the host's zone. */
export function parseUntil(text: string): Date | string {
  const match = UNTIL.exec(text);
  if (!match) return `--learn-run ${text}: expected an absolute UTC time such as 2026-12-09T06:00Z`;
  const [year, month, day, hour, minute, second] = match.slice(1).map((part) => Number(part ?? '0')) as number[];
  const ms = Date.UTC(year!, month! - 1, day!, hour!, minute!, second!);
  const date = new Date(ms);
  // Date.UTC rolls 2026-02-30 over into March, 24:00 into the next day: refused, not guessed.
  if (
    date.getUTCFullYear() !== year ||
    date.getUTCMonth() !== month! - 1 ||
    date.getUTCDate() !== day ||
    date.getUTCHours() !== hour ||
    date.getUTCMinutes() !== minute ||
    date.getUTCSeconds() !== second
  )
    return `--learn-run ${text}: not a time of the calendar`;
  return date;
}

/**
 * Directories that hold no data of a job and lead out of any sandbox: the host's /proc holds
 * every process's root (/proc/1/root), /sys and /dev the kernel's and the devices' controls.
 */
const NEVER_BOUND = ['/proc', '/sys', '/dev'];

/** A --learn-write or --learn-read path, or why it is refused. */
export function learnPathProblem(flag: LearnFlag, path: string): string | null {
  // Relative, it would be read from the session's working directory, the account's home.
  if (!path.startsWith('/')) return `--${flag} ${path}: give an absolute path`;
  // Written as it resolves: no "." or ".." or "//", no trailing slash, so that what check shows is what is bound.
  if (path === '/') return `--${flag} /: the whole host is not a path a job may be given`;
  if (
    path.endsWith('/') ||
    path
      .split('/')
      .slice(1)
      .some((part) => part === '' || part === '.' || part === '..')
  )
    return `--${flag} ${path}: write the path without ".", "..", "//" or a trailing slash`;
  if (NEVER_BOUND.some((dir) => path === dir || path.startsWith(`${dir}/`)))
    return `--${flag} ${path}: ${path.split('/')[1]} leads out of the sandbox, it is never bound`;
  return null;
}

/**
 * The learn-run flags of a key line (in the order given), checked against each other and the
 * connection's clock; null when there are none.
 */
export function learnRunOf(flags: readonly [LearnFlag, string][], learn: boolean, now: Date): LearnRun | null | string {
  if (flags.length === 0) return null;
  const untils = flags.filter(([flag]) => flag === 'learn-run');
  if (untils.length === 0) return `--${flags[0]![0]} needs --learn-run UNTIL (the end of the learning window)`;
  if (untils.length > 1) return 'duplicate --learn-run';
  if (learn) return '--learn and --learn-run exclude each other: --learn runs nothing, --learn-run runs until UNTIL';
  const until = parseUntil(untils[0]![1]);
  if (typeof until === 'string') return until;
  if (until.getTime() - now.getTime() > MAX_WINDOW_MS)
    return `--learn-run ${untils[0]![1]}: more than 7 days after now (${now.toISOString()}): a learning window is at most 7 days`;
  const run: LearnRun = { until, write: [], read: [] };
  const seen = new Set<string>();
  for (const [flag, path] of flags) {
    if (flag === 'learn-run') continue;
    const problem = learnPathProblem(flag, path);
    if (problem !== null) return problem;
    if (seen.has(path)) return `--${flag} ${path}: the path is named twice`;
    seen.add(path);
    (flag === 'learn-write' ? run.write : run.read).push(path);
  }
  return run;
}

/** Whether the window is open at `now`: it closes at UNTIL itself. */
export function learnWindowOpen(run: Pick<LearnRun, 'until'>, now: Date): boolean {
  return now.getTime() < run.until.getTime();
}

/** How long a run started at `now` may go on: to the end of the window, when a program still running is stopped. */
export function learnWindowLeftMs(run: Pick<LearnRun, 'until'>, now: Date): number {
  return Math.max(0, run.until.getTime() - now.getTime());
}
