/**
 * Expands an rsync pull's wildcard operand inside the rule's root, as the remote shell would
 * have (rsync clients send `host:'logs/*.gz'` unescaped for it), but never leaving root: the
 * walk starts at root, never yields "." or "..", does not match dotfiles (like sh), and every
 * result is then re-checked on disk with the other paths (act/confine-check.ts).
 *
 * Like sh without nullglob, a pattern that matches nothing is passed on as it is, so rsync
 * reports the missing file as it would have.
 */
import { readdirSync, statSync } from 'node:fs';
import micromatch from 'micromatch';

/** At most this many names from one pattern; more is refused (an argument flood). */
export const MAX_WILDCARD_MATCHES = 10_000;

const MATCH = { dot: false, nonegate: true, noext: true, nobrace: true } as const;

function hasUnescapedGlob(segment: string): boolean {
  for (let i = 0; i < segment.length; i++) {
    if (segment[i] === '\\') i++;
    else if ('*?['.includes(segment[i]!)) return true;
  }
  return false;
}

function unescape(segment: string): string {
  return segment.replace(/\\(.)/g, '$1');
}

/** Relative paths under `root` that `pattern` (relative, "/"-separated) names; null when too many. */
export function expandInRoot(root: string, pattern: string): string[] | null {
  const trailingSlash = pattern.endsWith('/');
  const segments = pattern.split('/').filter((s) => s !== '' && s !== '.');
  let matches: string[] = [''];
  for (const [i, segment] of segments.entries()) {
    const last = i === segments.length - 1;
    const next: string[] = [];
    for (const prefix of matches) {
      const dir = prefix === '' ? root : `${root}/${prefix}`;
      if (!hasUnescapedGlob(segment)) {
        next.push(prefix === '' ? unescape(segment) : `${prefix}/${unescape(segment)}`);
        continue;
      }
      let entries: string[];
      try {
        entries = readdirSync(dir);
      } catch {
        continue;
      }
      for (const name of entries.sort()) {
        if (!micromatch.isMatch(name, segment, MATCH)) continue;
        const path = prefix === '' ? name : `${prefix}/${name}`;
        if ((!last || trailingSlash) && !isDirectory(`${root}/${path}`)) continue;
        next.push(path);
        if (next.length > MAX_WILDCARD_MATCHES) return null;
      }
    }
    matches = next;
  }
  const found = matches.filter((m) => m !== '' && exists(`${root}/${m}`));
  if (found.length === 0) return [unescape(pattern)];
  return found.map((m) => (trailingSlash ? `${m}/` : m));
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
