/**
 * What `check` says about an exec rule: a program that runs others (a shell, an interpreter,
 * sudo, GTFOBins' ways out) with a glob word is UNSAFE, because the client's words become code;
 * so is a word that can name any absolute path for a program that reads or writes files. Each
 * concern's findings are in a module of its own; this one gathers them, and answers check's two
 * questions across rules (which rule covers another, where a rule writes). Pure.
 */
import { compilePattern, matchPattern } from '../../values/pattern.js';
import type { Finding } from '../base.js';
import { patternWordFindings } from '../pattern-words.js';
import { globReachFindings } from './glob-reach.js';
import { runnerFindings, servesFilesFindings, writesWithoutCwdFindings } from './program-findings.js';
import { writesWhereItsInputSays, writtenWords } from './programs.js';
import type { ExecRule } from './rule.js';
import { hasWildcard, pathOf, programWords } from './rule-words.js';
import { borgConfigFindings, rdiffBackupFindings } from './upstream-servers.js';

export function lintExec(rule: ExecRule, context: { resolveProgram(path: string): string }): Finding[] {
  // /usr/bin/editor is vim and /usr/bin/perl5.36-x86_64-linux-gnu is perl: classify what runs.
  const real = context.resolveProgram(rule.program);
  return [
    ...runnerFindings(rule, real),
    ...servesFilesFindings(rule, real),
    ...rdiffBackupFindings(rule, real),
    ...borgConfigFindings(rule, real),
    ...writesWithoutCwdFindings(rule, real),
    ...globReachFindings(rule, real),
    ...patternWordFindings(
      rule,
      rule.pattern.map((word, i) => ({ word, what: `word ${i + 1}` })),
    ),
  ];
}

/**
 * Whether exec rule `earlier` matches every command that `later` matches. An earlier `...` takes
 * any further words, so it covers a longer later pattern (and a later `...`); a later `...`
 * matches commands of any length, which only an earlier `...` takes.
 */
export function execCovers(earlier: ExecRule, later: ExecRule): boolean {
  if (earlier.rest ? later.pattern.length < earlier.pattern.length : later.rest || earlier.pattern.length !== later.pattern.length)
    return false;
  return earlier.pattern.every((word, i) => {
    const other = later.pattern[i]!;
    if (word === other) return true;
    // A literal later word is covered by an earlier glob that matches it (options aside).
    const glob = compilePattern(word);
    const literal = compilePattern(other);
    return (
      glob.kind === 'glob' &&
      literal.kind === 'literal' &&
      !(literal.text.startsWith('-') && !word.startsWith('-')) &&
      !literal.text.split('/').includes('..') &&
      matchPattern(glob, literal.text)
    );
  });
}

/**
 * Where an exec rule can write, for check's write-rule standard (homes, /etc, cron, the policy,
 * the log): an extractor's working directory, and each absolute word the program writes, up to its
 * first wildcard (`tee /etc/cron.d/*` writes in /etc/cron.d; `cp /etc/hosts /srv/x` only in
 * /srv/x). Relative words land in the working directory, which the rule's cwd names.
 */
export function execWritesTo(rule: ExecRule): string[] {
  // In a sandbox the kernel keeps every write in its writable paths (and a private /tmp).
  if (rule.sandbox) return [...rule.sandbox.write];
  const targets: string[] = [];
  if (rule.cwd !== null && writesWhereItsInputSays(rule.program)) targets.push(rule.cwd);
  for (const word of writtenWords(rule.program, programWords(rule))) {
    const path = pathOf(word);
    if (!path.startsWith('/')) continue;
    const parts = path.split('/').filter((part) => part !== '' && part !== '.');
    const firstGlob = parts.findIndex(hasWildcard);
    targets.push(`/${parts.slice(0, firstGlob === -1 ? parts.length : firstGlob).join('/')}`);
  }
  return [...new Set(targets)];
}
