/**
 * Expands an rsync pull's wildcard operand inside the rule's root, as the remote shell would
 * have (rsync clients send `host:'logs/*.gz'` unescaped for it), but never leaving root: the
 * walk starts at root, never yields "." or "..", does not match dotfiles (like sh), and every
 * result is then re-checked on disk with the other paths (act/confine-check.ts).
 *
 * Like sh without nullglob, a pattern that matches nothing is passed on as it is, so rsync
 * reports the missing file as it would have.
 *
 * The work is bounded whatever the client sends or the tree holds: each segment is matched by
 * decide/pattern.ts (linear in the name), at most MAX_WILDCARD_MATCHES names come out, at most
 * MAX_NAMES_READ directory entries are read, and the whole expansion stops at a deadline.
 */
import { opendirSync, statSync } from 'node:fs';
import { compileNamePattern, matchPattern } from '../decide/pattern.js';

/** At most this many names from one pattern; more is refused (an argument flood). */
export const MAX_WILDCARD_MATCHES = 10_000;
/** At most this many directory entries read for one pattern (a wildcard in every segment over a huge tree). */
export const MAX_NAMES_READ = 200_000;
/** Wall-clock budget of one pattern's expansion. */
export const WILDCARD_DEADLINE_MS = 2_000;

export type Expansion = { ok: true; paths: string[] } | { ok: false; bound: 'matches' | 'names-read' | 'time'; detail: string };

export interface ExpansionLimits {
  maxMatches?: number;
  maxNamesRead?: number;
  deadlineMs?: number;
  /** Milliseconds, monotonic; tests give a clock that jumps. */
  clock?: () => number;
}

/** Relative paths under `root` that `pattern` (relative, "/"-separated) names, or which bound it hit. */
export function expandInRoot(root: string, pattern: string, limits: ExpansionLimits = {}): Expansion {
  const maxMatches = limits.maxMatches ?? MAX_WILDCARD_MATCHES;
  const maxNamesRead = limits.maxNamesRead ?? MAX_NAMES_READ;
  const deadlineMs = limits.deadlineMs ?? WILDCARD_DEADLINE_MS;
  const clock = limits.clock ?? (() => performance.now());
  const started = clock();
  let namesRead = 0;
  const over = (bound: 'matches' | 'names-read' | 'time'): Expansion => ({
    ok: false,
    bound,
    detail:
      bound === 'matches' ? `${pattern} matches more than ${maxMatches} names`
      : bound === 'names-read' ? `${pattern} needs more than ${maxNamesRead} directory entries read`
      : `${pattern} was still expanding after ${deadlineMs} ms (${namesRead} entries read)`,
  });

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
            if (++namesRead > maxNamesRead) return over('names-read');
            if ((namesRead & 1023) === 0 && clock() - started > deadlineMs) return over('time');
            entries.push(entry.name);
          }
        } finally {
          handle.closeSync();
        }
      } catch {
        continue;
      }
      for (const name of entries.sort()) {
        if (clock() - started > deadlineMs) return over('time');
        if (!matchPattern(compiled, name)) continue;
        const path = prefix === '' ? name : `${prefix}/${name}`;
        if ((!last || trailingSlash) && !isDirectory(`${root}/${path}`)) continue;
        next.push(path);
        if (next.length > maxMatches) return over('matches');
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
