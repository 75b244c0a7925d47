/**
 * `check`: pattern words that micromatch read differently before issue 14 (values/pattern.ts
 * says what they mean now). A policy written for the old reading keeps loading, so the admin
 * learns here, once, which words changed meaning, instead of from a refused backup or, worse,
 * from a pattern that used to match more than it does now and was relied on for that.
 *
 * Words whose meaning only narrowed are not flagged: `x/*` no longer matching `x/` or `x//`,
 * `x/**` no longer matching `x` are the holes issue 14 closed, no policy relies on them, and a
 * warning on every `/srv/backup/*` forever would teach admins to skip warnings.
 */
import type { Finding, RuleBase } from './base.js';

/** What changed for `word`, one sentence each; empty when it means what it meant. */
export function patternWordChanges(word: string): string[] {
  const changes: string[] = [];
  const unescaped = unescapedCharacters(word);
  const has = (c: string) => unescaped.includes(c);
  const wildcard = has('*') || has('?') || has('[');
  if (/[ \t]/.test(word) && wildcard) {
    changes.push('it holds a space, so it is literal as a whole: its * ? [ match only themselves');
  }
  const extglob = /(?:^|[^\\])[!@+*?]\(/.exec(word);
  if (extglob) changes.push(`"${extglob[0].slice(-2)}...)" is literal now, not an extended glob`);
  else if (has('(') || has(')') || has('|')) changes.push('( ) | are literal now, not alternatives');
  if (has('{') || has('}')) changes.push('{ } are literal now, not a brace list: write one rule per alternative');
  if (/\[\[?:[a-z]+:\]/.test(word)) changes.push('[:class:] is not a character class: list the characters ([a-z0-9])');
  return changes;
}

/** Warnings for the pattern words of `rule` (exec words, a receive client-name) whose meaning changed. */
export function patternWordFindings(rule: RuleBase, words: readonly { word: string; what: string }[]): Finding[] {
  return words.flatMap(({ word, what }) => {
    const changes = patternWordChanges(word);
    if (changes.length === 0) return [];
    return [
      {
        where: rule.where,
        level: 'warning' as const,
        id: 'pattern-word-changed' as const,
        message: `rule "${rule.name}" ${what} ${JSON.stringify(word)} means something else since patterns stopped being micromatch globs: ${changes.join('; ')} (docs/policy.md, "Patterns")`,
      },
    ];
  });
}

/** The characters of `word` that are not made literal by a backslash. */
function unescapedCharacters(word: string): string {
  let out = '';
  for (let i = 0; i < word.length; i++) {
    if (word[i] === '\\') i++;
    else out += word[i];
  }
  return out;
}
