/**
 * exec rules: the client's words against the rule's pattern, one micromatch glob per word.
 *
 * A pattern word without glob characters must equal the client's word. A glob word must match
 * by micromatch, and in addition (THREATS.md 3.17):
 * - never a word starting with "-" unless the pattern word does, so `tar -C /srv *` cannot be
 *   fed `--use-compress-program=...` (GNU getopt also accepts unique prefixes of long options,
 *   so refusing known-bad options by name would not be enough);
 * - never a word with a ".." path segment, so `/srv/data/*` cannot reach `/srv/data/../x` by
 *   some pattern that happens to let "/" through (`**`, extglobs).
 */
import micromatch from 'micromatch';
import type { ExecRule } from '../policy/schema.js';

export type WordsMatch = { ok: true } | { ok: false; why: string };

const MATCH_OPTIONS = { dot: false, nonegate: true, nocase: false } as const;
/** Characters that make a pattern word a glob rather than a literal (micromatch syntax). */
export const GLOB_CHARACTERS = /[*?[\]{}()!+@|\\]/;

export function matchExecWords(rule: ExecRule, words: readonly string[]): WordsMatch {
  if (words.length !== rule.pattern.length) {
    return { ok: false, why: `expected ${rule.pattern.length} words, got ${words.length}` };
  }
  for (const [i, pattern] of rule.pattern.entries()) {
    const word = words[i]!;
    const why = mismatch(pattern, word);
    if (why) return { ok: false, why: `word ${i + 1}: ${why}` };
  }
  return { ok: true };
}

function mismatch(pattern: string, word: string): string | null {
  if (!GLOB_CHARACTERS.test(pattern)) return word === pattern ? null : `not "${pattern}"`;
  if (word.startsWith('-') && !pattern.startsWith('-')) return `an option cannot match the glob "${pattern}"`;
  if (word.split('/').includes('..')) return `".." cannot match the glob "${pattern}"`;
  return micromatch.isMatch(word, pattern, MATCH_OPTIONS) ? null : `does not match "${pattern}"`;
}
