/**
 * Expands an rsync pull's wildcard operand inside the rule's root, as the remote shell would
 * have (rsync clients send `host:'logs/*.gz'` unescaped for it), but never leaving root: the
 * walk starts at root, never yields "." or "..", does not match dotfiles (like sh), and every
 * result is then re-checked on disk with the other paths (host/confine-check.ts).
 *
 * Like sh without nullglob, a pattern that matches nothing is passed on as it is, so rsync
 * reports the missing file as it would have.
 *
 * The work is bounded whatever the client sends or the tree holds: each segment is matched by
 * values/pattern.ts (linear in the name), and one budget spans all the wildcards of a request
 * (a pull may name 4000 of them): at most MAX_WILDCARD_MATCHES names come out, at most
 * MAX_NAMES_READ directory entries are read, and the expansion stops at a deadline.
 */
import { opendirSync, statSync } from 'node:fs';
import { compileNamePattern, matchPattern } from '../values/pattern.js';

/** At most this many names from the wildcards of one request; more is refused (an argument flood). */
export const MAX_WILDCARD_MATCHES = 10_000;
/** At most this many directory entries read for one request (a wildcard in every segment over a huge tree). */
export const MAX_NAMES_READ = 200_000;
/** Wall-clock budget of one request's expansions. */
export const WILDCARD_DEADLINE_MS = 2_000;

export type Expansion = { ok: true; paths: string[] } | { ok: false; bound: 'matches' | 'names-read' | 'time'; detail: string };

export interface ExpansionLimits {
  maxMatches?: number;
  maxNamesRead?: number;
  deadlineMs?: number;
  /** Milliseconds, monotonic; tests give a clock that jumps. */
  clock?: () => number;
}

/** What the expansions of one request may still use; create one per request and pass it to each. */
export class ExpansionBudget {
  readonly maxMatches: number;
  readonly maxNamesRead: number;
  readonly deadlineMs: number;
  readonly clock: () => number;
  readonly started: number;
  matches = 0;
  namesRead = 0;

  constructor(limits: ExpansionLimits = {}) {
    this.maxMatches = limits.maxMatches ?? MAX_WILDCARD_MATCHES;
    this.maxNamesRead = limits.maxNamesRead ?? MAX_NAMES_READ;
    this.deadlineMs = limits.deadlineMs ?? WILDCARD_DEADLINE_MS;
    this.clock = limits.clock ?? (() => performance.now());
    this.started = this.clock();
  }

  late(): boolean {
    return this.clock() - this.started > this.deadlineMs;
  }
}

/** Relative paths under `root` that `pattern` (relative, "/"-separated) names, or which bound it hit. */
export function expandInRoot(root: string, pattern: string, budget: ExpansionBudget = new ExpansionBudget()): Expansion {
  const over = (bound: 'matches' | 'names-read' | 'time'): Expansion => ({
    ok: false,
    bound,
    detail:
      bound === 'matches'
        ? `${pattern}: the wildcards match more than ${budget.maxMatches} names`
        : bound === 'names-read'
          ? `${pattern}: the wildcards need more than ${budget.maxNamesRead} directory entries read`
          : `${pattern}: the wildcards were still expanding after ${budget.deadlineMs} ms (${budget.namesRead} entries read)`,
  });
  if (budget.late()) return over('time');

  const trailingSlash = pattern.endsWith('/');
  const segments = pattern.split('/').filter((s) => s !== '' && s !== '.');
  let matches: string[] = [''];
  for (const [i, segment] of segments.entries()) {
    const last = i === segments.length - 1;
    const compiled = compileNamePattern(segment);
    const next: string[] = [];
    for (const prefix of matches) {
      if (compiled.kind === 'literal') {
        next.push(prefix === '' ? compiled.text : `${prefix}/${compiled.text}`);
        continue;
      }
      const dir = prefix === '' ? root : `${root}/${prefix}`;
      const entries: string[] = [];
      try {
        const handle = opendirSync(dir);
        try {
          for (let entry = handle.readSync(); entry !== null; entry = handle.readSync()) {
            if (++budget.namesRead > budget.maxNamesRead) return over('names-read');
            if ((budget.namesRead & 1023) === 0 && budget.late()) return over('time');
            entries.push(entry.name);
          }
        } finally {
          handle.closeSync();
        }
      } catch {
        continue;
      }
      for (const name of entries.sort()) {
        if (budget.late()) return over('time');
        if (!matchPattern(compiled, name)) continue;
        const path = prefix === '' ? name : `${prefix}/${name}`;
        if ((!last || trailingSlash) && !isDirectory(`${root}/${path}`)) continue;
        next.push(path);
        if (++budget.matches > budget.maxMatches) return over('matches');
      }
    }
    matches = next;
  }
  const found = matches.filter((m) => m !== '' && exists(`${root}/${m}`));
  if (found.length === 0) return { ok: true, paths: [unescape(pattern)] };
  return { ok: true, paths: found.map((m) => (trailingSlash ? `${m}/` : m)) };
}

/** The pattern as sh passes on a glob that matched nothing: its escapes taken out. */
function unescape(pattern: string): string {
  return pattern.replace(/\\(.)/g, '$1');
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}
