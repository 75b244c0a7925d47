/**
 * exec rules: the client's words against the rule's pattern, one pattern word per word
 * (values/pattern.ts says what a pattern word matches).
 *
 * A pattern word without wildcards must equal the client's word. A glob word must match, and in
 * addition (docs/threat-model.md, "exec"):
 * - never a word starting with "-" unless the pattern word does, so `tar -C /srv *` cannot be
 *   fed `--use-compress-program=...` (GNU getopt also accepts unique prefixes of long options,
 *   so refusing known-bad options by name would not be enough);
 * - never a word with a ".." path segment, so `/srv/data/*` cannot reach `/srv/data/../x`
 *   whatever the pattern spells literally.
 *
 * A pattern that ends with `...` (rules with `run` only) matches any further words, zero or more,
 * options included: they are dropped, and the plan's argv is `run` with its `{N}` words filled
 * from the client's words that the pattern matched.
 */
import type { Request } from '../../request/request.js';
import type { RuleOutcome } from '../base.js';
import { ROOT_CAPS } from '../sandbox.js';
import { minimalChildEnv } from '../plan.js';
import type { ExecRule } from './rule.js';
import { passableValue } from '../../values/passable-env.js';
import { compilePattern, matchPattern } from '../../values/pattern.js';

export type WordsMatch = { ok: true } | { ok: false; why: string };

/**
 * Characters that made a word a micromatch glob. Still what a `program` may not hold (a path,
 * not a pattern), and what `check` looks for in words that were read differently before.
 */
export const GLOB_CHARACTERS = /[*?[\]{}()!+@|\\]/;

export function matchExecWords(rule: Pick<ExecRule, 'pattern' | 'rest'>, words: readonly string[]): WordsMatch {
  if (rule.rest ? words.length < rule.pattern.length : words.length !== rule.pattern.length) {
    return { ok: false, why: `expected ${rule.rest ? 'at least ' : ''}${rule.pattern.length} words, got ${words.length}` };
  }
  for (const [i, pattern] of rule.pattern.entries()) {
    const word = words[i]!;
    const why = mismatch(pattern, word);
    if (why) return { ok: false, why: `word ${i + 1}: ${why}` };
  }
  return { ok: true };
}

function mismatch(source: string, word: string): string | null {
  const pattern = compilePattern(source);
  if (pattern.kind === 'literal') return word === pattern.text ? null : `not "${source}"`;
  if (word.startsWith('-') && !source.startsWith('-')) return `an option cannot match the glob "${source}"`;
  if (word.split('/').includes('..')) return `".." cannot match the glob "${source}"`;
  return matchPattern(pattern, word) ? null : `does not match "${source}"`;
}

/** What runs for `words` (which matched): `run` filled in, or the program and the client's words after the first. */
export function execArgv(rule: Pick<ExecRule, 'program' | 'run'>, words: readonly string[]): string[] {
  if (!rule.run) return [rule.program, ...words.slice(1)];
  return rule.run.map((word) => ('text' in word ? word.text : words[word.word - 1]!));
}

/** An exec rule tried on a request: its plan runs the rule's program with the client's other words, or its `run`. */
export function matchExec(rule: ExecRule, words: readonly string[], globs: ReadonlyMap<number, string>, request: Request): RuleOutcome {
  // A shell would have expanded it; an exec rule's words are matched as they are. The words that
  // `...` stands for go nowhere, so what they hold does not matter.
  if ([...globs.keys()].some((i) => !rule.rest || i < rule.pattern.length))
    return { ok: false, why: 'a word holds an unquoted glob character' };
  const match = matchExecWords(rule, words);
  if (!match.ok) return match;
  // pass-env: what sshd set and the value check lets through; anything else is simply not passed.
  const passed: Record<string, string> = {};
  for (const name of rule.passEnv) {
    const value = passableValue(name, request.env?.[name]);
    if (value !== null) passed[name] = value;
  }
  return {
    ok: true,
    plan: {
      kind: 'exec',
      program: rule.program,
      argv: execArgv(rule, words),
      ...(rule.run ? { fixed: true as const } : {}),
      env: minimalChildEnv({
        user: request.user,
        home: request.home,
        sshConnection: request.sshConnection,
        ruleEnv: { ...rule.env, ...passed },
      }),
      ...(Object.keys(passed).length > 0 ? { passedEnv: passed } : {}),
      cwd: rule.cwd,
      umask: rule.umask,
      timeoutMs: rule.timeoutMs,
      supervise: rule.supervise,
      confine: null,
      // The program may read anything in its paths: the secrets there are withheld from the request, or served.
      sandbox: rule.sandbox
        ? {
            read: [...rule.sandbox.read],
            write: [...rule.sandbox.write],
            rootCaps: [...ROOT_CAPS.store],
            secrets: rule.sandbox.secrets ?? 'withhold',
            reads: [...rule.sandbox.read, ...rule.sandbox.write],
          }
        : null,
    },
  };
}
