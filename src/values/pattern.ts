/**
 * Policy patterns, matched by a small matcher of our own (docs/policy.md, "Patterns").
 *
 * micromatch read far more than the admin wrote: `(`, `|`, `{` and extglobs were syntax, so
 * `count(*)` in a SQL word matched any text, `!(*.key)` served dotfiles and `spool/*` matched
 * `spool/`; its backtracking took seconds on crafted words. Here the only wildcards are:
 * - `*`: any characters within one path component (never `/`);
 * - `?`: one character, never `/`;
 * - `[abc]`, `[a-z]`, `[!a-z]` (or `[^a-z]`): one character of (not of) the set, never `/`;
 * - `**` as a whole component: any number of whole components, at least one when it is the
 *   last component (`/srv/data/**` never names `/srv/data` itself); inside a component it is `*`.
 * and every wildcard obeys two rules that a shell's globbing taught admins to expect:
 * - a component that holds a wildcard never matches an empty component (`spool/*` is not
 *   `spool/` nor `spool//`), and `**` never spans one;
 * - a component starting with `.` is matched only by a pattern component starting with a
 *   literal `.` (so no wildcard reaches `.ssh`, `.`, `..`), and `**` never spans one.
 * A backslash makes the next character literal. Everything else means itself.
 *
 * Time: a component is matched segment by segment (the text between `*`s), each segment at the
 * leftmost place it fits, which is exact for `*` and never backtracks; `**` is run as a set of
 * live positions over the components. Both are linear in the word's length for a given pattern
 * (times the longest star-free segment, or the number of components of the pattern).
 */

/** One character position of a pattern component. */
type Token =
  | { kind: 'char'; char: string }
  | { kind: 'any' }
  | { kind: 'class'; negated: boolean; ranges: [number, number][] }
  | { kind: 'star' };

type Component = { kind: 'literal'; text: string } | { kind: 'glob'; tokens: Token[] } | { kind: 'globstar' };

export type Pattern =
  /** No wildcard: the word must equal `text` (backslashes already taken out). */
  { kind: 'literal'; text: string; source: string } | { kind: 'glob'; components: Component[]; source: string };

/** A pattern token before components are cut: a literal character keeps its escape. */
type Raw = Token & { escaped?: boolean };

function parseTokens(source: string, wildcards: boolean): Raw[] {
  const chars = Array.from(source);
  const tokens: Raw[] = [];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (c === '\\' && i + 1 < chars.length) {
      tokens.push({ kind: 'char', char: chars[++i]!, escaped: true });
    } else if (wildcards && c === '*') {
      tokens.push({ kind: 'star' });
    } else if (wildcards && c === '?') {
      tokens.push({ kind: 'any' });
    } else if (wildcards && c === '[') {
      const parsed = parseClass(chars, i);
      if (parsed) {
        tokens.push(parsed.token);
        i = parsed.end;
      } else {
        // An unclosed "[" is a literal, as in sh.
        tokens.push({ kind: 'char', char: c });
      }
    } else {
      tokens.push({ kind: 'char', char: c });
    }
  }
  return tokens;
}

/** `[...]` starting at `start`: the token and the index of its `]`, or null when unclosed. */
function parseClass(chars: string[], start: number): { token: Token; end: number } | null {
  let i = start + 1;
  let negated = false;
  if (chars[i] === '!' || chars[i] === '^') {
    negated = true;
    i++;
  }
  const ranges: [number, number][] = [];
  let first = true;
  while (i < chars.length) {
    let c = chars[i]!;
    if (c === ']' && !first) return { token: { kind: 'class', negated, ranges }, end: i };
    first = false;
    if (c === '\\' && i + 1 < chars.length) c = chars[++i]!;
    const low = c.codePointAt(0)!;
    if (chars[i + 1] === '-' && i + 2 < chars.length && chars[i + 2] !== ']') {
      let h = chars[i + 2]!;
      i += 2;
      if (h === '\\' && i + 1 < chars.length) h = chars[++i]!;
      const high = h.codePointAt(0)!;
      ranges.push([Math.min(low, high), Math.max(low, high)]);
    } else {
      ranges.push([low, low]);
    }
    i++;
  }
  return null;
}

function componentOf(tokens: Raw[], allowGlobstar: boolean): Component {
  if (tokens.every((t) => t.kind === 'char')) return { kind: 'literal', text: tokens.map((t) => (t as { char: string }).char).join('') };
  if (allowGlobstar && tokens.length === 2 && tokens[0]!.kind === 'star' && tokens[1]!.kind === 'star') return { kind: 'globstar' };
  // Adjacent stars are one star; dropping the extras keeps the segments short.
  const compact = tokens.filter((t, i) => !(t.kind === 'star' && tokens[i - 1]?.kind === 'star'));
  return { kind: 'glob', tokens: compact.map(({ escaped: _, ...t }) => t as Token) };
}

/** Whether a pattern word has a wildcard that the matcher reads (escaped ones do not count). */
function hasWildcard(tokens: Raw[]): boolean {
  return tokens.some((t) => t.kind !== 'char');
}

/**
 * An exec pattern word (or a receive client-name). A word holding a space or a tab is literal
 * through and through: it can only come from a list-form command, where it is an argument such as
 * a SQL statement or a script, and a `*` in `SELECT count(*) FROM t` is not meant to match
 * `1) FROM t; DELETE FROM t; SELECT count(1`. Backslash escapes still apply.
 */
export function compilePattern(source: string): Pattern {
  const tokens = parseTokens(source, !/[ \t]/.test(source));
  if (!hasWildcard(tokens)) return { kind: 'literal', text: tokens.map((t) => (t as { char: string }).char).join(''), source };
  const components: Component[] = [];
  let current: Raw[] = [];
  for (const token of tokens) {
    if (token.kind === 'char' && token.char === '/') {
      components.push(componentOf(current, true));
      current = [];
    } else {
      current.push(token);
    }
  }
  components.push(componentOf(current, true));
  return { kind: 'glob', components, source };
}

/** A glob for one name (no `/` in it, no `**` meaning): a pull wildcard's path segment. */
export function compileNamePattern(source: string): Pattern {
  const tokens = parseTokens(source, true);
  if (!hasWildcard(tokens)) return { kind: 'literal', text: tokens.map((t) => (t as { char: string }).char).join(''), source };
  return { kind: 'glob', components: [componentOf(tokens, false)], source };
}

export function isGlob(pattern: Pattern): pattern is Extract<Pattern, { kind: 'glob' }> {
  return pattern.kind === 'glob';
}

export function matchPattern(pattern: Pattern, word: string): boolean {
  if (pattern.kind === 'literal') return word === pattern.text;
  const parts = word.split('/');
  const components = pattern.components;
  // Live positions in the pattern after the parts read so far (`**` may stay or move on).
  // A `**` that is not last may also stand for no component: reaching it reaches what follows.
  const enter = (set: Set<number>, j: number): void => {
    for (; j <= components.length && !set.has(j); j++) {
      set.add(j);
      if (components[j]?.kind !== 'globstar' || j === components.length - 1) break;
    }
  };
  let live = new Set<number>();
  enter(live, 0);
  for (const part of parts) {
    const next = new Set<number>();
    const chars = Array.from(part);
    for (const j of live) {
      const component = components[j];
      if (component === undefined) continue;
      if (component.kind === 'globstar') {
        if (plainComponent(part)) {
          enter(next, j);
          enter(next, j + 1);
        }
      } else if (matchComponent(component, part, chars)) {
        enter(next, j + 1);
      }
    }
    if (next.size === 0) return false;
    live = next;
  }
  return live.has(components.length);
}

/** What `**` may span: a component that is neither empty nor hidden (nor `.` or `..`). */
function plainComponent(part: string): boolean {
  return part !== '' && !part.startsWith('.');
}

function matchComponent(component: Exclude<Component, { kind: 'globstar' }>, part: string, chars: string[]): boolean {
  if (component.kind === 'literal') return part === component.text;
  const tokens = component.tokens;
  // Not even a literal leading dot lets a wildcard reach "." or ".." (`.*` would, in sh).
  if (chars.length === 0 || part === '.' || part === '..') return false;
  if (chars[0] === '.' && !(tokens[0]?.kind === 'char' && tokens[0].char === '.')) return false;

  // Segments: the runs of single-character tokens between stars.
  const segments: Token[][] = [[]];
  for (const token of tokens) {
    if (token.kind === 'star') segments.push([]);
    else segments[segments.length - 1]!.push(token);
  }
  const first = segments[0]!;
  if (segments.length === 1) return first.length === chars.length && fitsAt(first, chars, 0);
  const last = segments[segments.length - 1]!;
  if (first.length + last.length > chars.length) return false;
  if (!fitsAt(first, chars, 0) || !fitsAt(last, chars, chars.length - last.length)) return false;
  let position = first.length;
  const end = chars.length - last.length;
  for (const segment of segments.slice(1, -1)) {
    // The leftmost fit leaves the most room for what follows, so it is never the wrong choice.
    let found = -1;
    for (let at = position; at + segment.length <= end; at++) {
      if (fitsAt(segment, chars, at)) {
        found = at;
        break;
      }
    }
    if (found < 0) return false;
    position = found + segment.length;
  }
  return true;
}

function fitsAt(segment: Token[], chars: string[], at: number): boolean {
  for (let k = 0; k < segment.length; k++) {
    if (!fitsOne(segment[k]!, chars[at + k]!)) return false;
  }
  return true;
}

function fitsOne(token: Token, char: string): boolean {
  if (token.kind === 'char') return token.char === char;
  if (token.kind === 'any') return true;
  if (token.kind === 'star') return false;
  const code = char.codePointAt(0)!;
  const inside = token.ranges.some(([low, high]) => code >= low && code <= high);
  return inside !== token.negated;
}
