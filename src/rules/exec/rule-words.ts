/**
 * An exec rule's words as `check` reads them: which are wildcards, which reach the program, and
 * where an option's path is. Shared by lint.ts and the findings it gathers, so that every finding
 * reads a word the same way the matcher does (values/pattern.ts). Pure.
 */
import { compilePattern, isGlob } from '../../values/pattern.js';
import type { ExecRule } from './rule.js';

/** Whether a pattern word holds a wildcard under values/pattern.ts (`(`, `|`, `{` no longer do). */
export function hasWildcard(word: string): boolean {
  return isGlob(compilePattern(word));
}

/** A word's path part: an option's value (`--output=/x`, `of=/x`, `-o/x`) or the word. */
export function pathOf(word: string): string {
  return /^-{0,2}[A-Za-z][A-Za-z0-9-]*=/.test(word) ? word.slice(word.indexOf('=') + 1) : /^-[A-Za-z]./.test(word) ? word.slice(2) : word;
}

/**
 * The words the program is given after its name, as patterns: the client's words after the first,
 * or `run`'s, where a `{N}` is pattern word N (what the client's word matched) and a literal is
 * itself, escaped so that no `*` in it reads as a wildcard.
 */
export function programWords(rule: ExecRule): string[] {
  if (!rule.run) return rule.pattern.slice(1);
  return rule.run.slice(1).map((word) => ('text' in word ? word.text.replace(/[\\*?[]/g, '\\$&') : rule.pattern[word.word - 1]!));
}

/**
 * The glob words that reach the program, with what to call them: every glob word of the pattern
 * without `run` (the first word too: `command: "*"` with `program: /bin/sh` is the classic
 * mistake), or with `run` the glob words it passes on by `{N}`; `passed` says whether the word
 * is in the program's argv (the first word is not, without `run`).
 */
export function globsOf(rule: ExecRule): { word: string; what: string; passed: boolean }[] {
  if (!rule.run) return rule.pattern.flatMap((word, i) => (hasWildcard(word) ? [{ word, what: `word ${i + 1}`, passed: i > 0 }] : []));
  const seen = new Set<number>();
  return rule.run.flatMap((runWord) => {
    if ('text' in runWord || seen.has(runWord.word)) return [];
    seen.add(runWord.word);
    const word = rule.pattern[runWord.word - 1]!;
    return hasWildcard(word) ? [{ word, what: `word ${runWord.word}, passed on by run as {${runWord.word}}`, passed: true }] : [];
  });
}
