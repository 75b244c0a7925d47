/** The `exec:` block of a rule, read and checked (docs/policy.md, "exec"). */
import { PASSABLE_ENV_NAMES } from '../../values/passable-env.js';
import { ABSOLUTE_PATH, isAbsoluteCleanPath, isWithin } from '../../values/paths.js';
import type { Node, Reader } from '../../values/reader.js';
import { parsePolicyDuration } from '../../values/units.js';
import type { RuleBody } from '../base.js';
import { GLOB_CHARACTERS } from './match.js';
import { EXEC_KEYS, type ExecRule, type RunWord } from './rule.js';
import { readSecretsPolicy, type SecretsPolicy } from '../sandbox.js';

/** The last word of a pattern that stands for any further words (a rule with `run` only). */
export const REST = '...';

/**
 * Variables a rule may not add to a program's environment: each changes what code a program,
 * its dynamic loader or its interpreter runs, or hands over the client's forwarded agent.
 */
const REFUSED_ENV =
  /^(LD_|DYLD_|NODE_|PERL5|PERLLIB|PYTHON|RUBY|GIT_|BASH_ENV$|BASH_FUNC_|ENV$|IFS$|PS4$|SHELLOPTS$|BASHOPTS$|CDPATH$|GCONV_PATH$|LOCPATH$|MALLOC_|SSH_AUTH_SOCK$|SSH_ORIGINAL_COMMAND$)/;

export function parseExecRule(reader: Reader, node: Node | null, key: string): RuleBody<ExecRule> | null {
  const fields = reader.map(node, key, EXEC_KEYS.allowed, EXEC_KEYS.required);
  if (!fields) return null;
  const errorsBefore = reader.errors.length;

  const { pattern, rest, commandNode } = parseCommand(reader, fields, key);
  const run = fields.has('run') && pattern ? parseRun(reader, fields.get('run') ?? null, `${key}.run`, pattern.length, rest) : null;

  const program = parseProgram(reader, fields, key, { run, pattern, commandNode });
  const { env, passEnv } = parseEnv(reader, fields, key);
  const cwd = fields.has('cwd') ? reader.string(fields.get('cwd') ?? null, `${key}.cwd`, ABSOLUTE_PATH) : null;
  const umask = fields.has('umask') ? reader.octal(fields.get('umask') ?? null, `${key}.umask`, 'mask') : null;
  const { timeoutText, supervise } = parseSupervision(reader, fields, key);
  const sandbox = fields.has('sandbox') ? parseSandbox(reader, fields.get('sandbox') ?? null, `${key}.sandbox`) : null;
  if (sandbox && cwd !== null && !isUnderAny(cwd, [...sandbox.read, ...sandbox.write])) {
    reader.error(
      fields.get('cwd') ?? null,
      `${key}.cwd`,
      'the program starts in cwd, so it must lie in one of sandbox.read or sandbox.write (nothing else exists in the sandbox)',
    );
  }
  if (reader.errors.length > errorsBefore || !pattern || !program || supervise === null) return null;
  return {
    kind: 'exec',
    pattern,
    rest,
    program,
    run,
    env,
    passEnv: [...new Set(passEnv ?? [])],
    cwd,
    umask,
    timeoutMs: timeoutText === null ? null : parsePolicyDuration(timeoutText),
    supervise,
    sandbox,
  };
}

type Fields = Map<string, Node | null>;

/**
 * `command:`, a list of words or a string split at blanks, with a last `...` taken off into
 * `rest`; `pattern` is null (and an error given) when it cannot be read.
 */
function parseCommand(reader: Reader, fields: Fields, key: string): { pattern: string[] | null; rest: boolean; commandNode: Node | null } {
  const commandNode = fields.get('command') ?? null;
  let pattern: string[] | null;
  // Where each word was written, for errors that point at one (the list form's items).
  let wordNodes: (Node | null)[] = [];
  if (reader.isList(commandNode)) {
    pattern = reader.stringList(commandNode, `${key}.command`);
    wordNodes = reader.list(commandNode, `${key}.command`) ?? [];
  } else {
    const text = reader.string(commandNode, `${key}.command`);
    pattern = null;
    if (text !== null) {
      if (/["'\\]/.test(text))
        reader.error(
          commandNode,
          `${key}.command`,
          'quotes and backslashes are not read in the string form: write the command as a list of words instead',
        );
      else pattern = text.split(/[ \t]+/).filter((w) => w !== '');
    }
  }
  const wordNode = (i: number) => wordNodes[i] ?? commandNode;
  if (pattern && pattern.length === 0) reader.error(commandNode, `${key}.command`, 'expected at least one word');
  if (pattern && pattern.some((w) => w === '')) reader.error(commandNode, `${key}.command`, 'empty words are not allowed');
  if (!pattern) return { pattern, rest: false, commandNode };
  return { ...takeRest(reader, fields, key, pattern, wordNode), commandNode };
}

/**
 * `...` as the last word: any further words, which only a rule with `run` may take (it drops
 * them). The pattern without it, and whether it was there and allowed.
 */
function takeRest(
  reader: Reader,
  fields: Fields,
  key: string,
  pattern: string[],
  wordNode: (i: number) => Node | null,
): { pattern: string[]; rest: boolean } {
  const at = pattern.indexOf(REST);
  if (at === -1) return { pattern, rest: false };
  if (at !== pattern.length - 1) reader.error(wordNode(at), `${key}.command`, '"..." (any further words) can only be the last word');
  else if (at === 0)
    reader.error(wordNode(at), `${key}.command`, '"..." needs a word before it: at least the program name the client sends');
  else if (!fields.has('run')) {
    reader.error(
      wordNode(at),
      `${key}.command`,
      '"..." (any further words) needs run: the words it stands for are passed to no program, so run must give the argv that runs',
    );
  } else return { pattern: pattern.slice(0, -1), rest: true };
  return { pattern, rest: false };
}

/** `timeout:` (text, as written) and `supervise:` (default true), which a timeout needs: nothing else is left running to enforce it. */
function parseSupervision(reader: Reader, fields: Fields, key: string): { timeoutText: string | null; supervise: boolean | null } {
  const timeoutText = fields.has('timeout')
    ? reader.string(fields.get('timeout') ?? null, `${key}.timeout`, {
        test: (s) => parsePolicyDuration(s) !== null,
        expected: 'a duration such as 90s, 5m, 2h',
      })
    : null;
  const supervise = fields.has('supervise') ? reader.boolean(fields.get('supervise') ?? null, `${key}.supervise`) : true;
  if (supervise === false && timeoutText !== null) {
    reader.error(
      fields.get('timeout') ?? null,
      `${key}.timeout`,
      'a timeout needs supervise: true (with supervise: false nothing is left running to enforce it)',
    );
  }
  return { timeoutText, supervise };
}

/**
 * What runs: `program`, or run's first word, or the command's first word when it is a literal
 * absolute path; null (and an error) when none of them names one.
 */
function parseProgram(
  reader: Reader,
  fields: Fields,
  key: string,
  from: { run: RunWord[] | null; pattern: string[] | null; commandNode: Node | null },
): string | null {
  const { run, pattern, commandNode } = from;
  let program: string | null = null;
  if (fields.has('program')) {
    program = reader.string(fields.get('program') ?? null, `${key}.program`, ABSOLUTE_PATH);
    const first = run?.[0];
    if (program !== null && first && 'text' in first && first.text !== program) {
      reader.error(
        fields.get('program') ?? null,
        `${key}.program`,
        `run's first word ${first.text} is what runs, and program names another (${program}): drop program`,
      );
    }
  } else if (fields.has('run')) {
    const first = run?.[0];
    if (first && 'text' in first) program = first.text;
  } else if (pattern && pattern.length > 0) {
    const first = pattern[0]!;
    if (isAbsoluteCleanPath(first) && !GLOB_CHARACTERS.test(first)) program = first;
    else
      reader.error(
        commandNode,
        `${key}.command`,
        `the first word "${first}" is not an absolute path: add program: /absolute/path/of/${first.split('/').pop()}`,
      );
  }
  if (program !== null && GLOB_CHARACTERS.test(program) && !run)
    reader.error(fields.get('program') ?? null, `${key}.program`, 'expected a literal path, not a pattern');

  return program;
}

/** `env:` (names a program may be given, never one that changes what code it loads) and `pass-env:` (session variables whose values can be checked). */
function parseEnv(reader: Reader, fields: Fields, key: string): { env: Record<string, string>; passEnv: string[] | null } {
  const env: Record<string, string> = {};
  if (fields.has('env')) {
    for (const [name, valueNode, nameNode] of reader.entries(fields.get('env') ?? null, `${key}.env`) ?? []) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
        reader.error(nameNode, `${key}.env.${name}`, 'expected a variable name of letters, digits and _');
      else if (name === '__proto__') reader.error(nameNode, `${key}.env.${name}`, 'refused: not a variable a program could be given');
      else if (REFUSED_ENV.test(name))
        reader.error(
          nameNode,
          `${key}.env.${name}`,
          'refused: this variable changes what code a program loads or hands over the forwarded agent',
        );
      const value = reader.string(valueNode, `${key}.env.${name}`);
      if (value !== null) env[name] = value;
    }
  }
  const passEnv = fields.has('pass-env')
    ? reader.stringList(fields.get('pass-env') ?? null, `${key}.pass-env`, {
        test: (name) => PASSABLE_ENV_NAMES.includes(name),
        expected: `one of ${PASSABLE_ENV_NAMES.join(', ')} (the variables whose values can be checked)`,
      })
    : [];
  for (const name of passEnv ?? [])
    if (Object.hasOwn(env, name))
      reader.error(fields.get('pass-env') ?? null, `${key}.pass-env`, `${name} is also set by env: one or the other`);
  return { env, passEnv };
}

/**
 * `run: [/usr/bin/borg, serve, --append-only]`: the argv that runs, a list. Its first word is the
 * program (an absolute path, literal); a word `{N}` is the client's word N (1 = the program name
 * it sent), which must be one the pattern matched (`count` words; not one of `...`'s).
 */
function parseRun(reader: Reader, node: Node | null, key: string, count: number, rest: boolean): RunWord[] | null {
  const items = reader.list(node, key);
  if (!items) return null;
  if (items.length === 0) return reader.error(node, key, 'expected at least one word: the program, an absolute path');
  const errorsBefore = reader.errors.length;
  const words: RunWord[] = [];
  for (const [i, item] of items.entries()) {
    const text = reader.string(item, `${key}[${i}]`);
    if (text === null) continue;
    const placeholder = /^\{(\d+)\}$/.exec(text);
    if (i === 0) {
      if (placeholder || !isAbsoluteCleanPath(text) || GLOB_CHARACTERS.test(text)) {
        reader.error(
          item,
          `${key}[0]`,
          `expected the program, a literal absolute path without . or .. parts, got ${JSON.stringify(text)}: the client never chooses what runs`,
        );
      }
      words.push({ text });
      continue;
    }
    if (placeholder) {
      const n = Number(placeholder[1]);
      if (n === 0)
        reader.error(item, `${key}[${i}]`, 'words are counted from 1: {1} is the program name the client sent, {2} its first argument');
      else if (n > count && rest)
        reader.error(
          item,
          `${key}[${i}]`,
          `{${n}} would be one of the words "..." stands for, which are never passed on: only the ${count} words before "..." can be`,
        );
      else if (n > count)
        reader.error(item, `${key}[${i}]`, `the command has ${count} word${count === 1 ? '' : 's'}: there is no word ${n} to pass on`);
      else words.push({ word: n });
      continue;
    }
    if (/\{\d+\}/.test(text)) {
      reader.error(
        item,
        `${key}[${i}]`,
        `{N} stands for a whole word: ${JSON.stringify(text)} would put the client's word inside another, where check cannot judge it; write {N} alone`,
      );
      continue;
    }
    words.push({ text });
  }
  return reader.errors.length > errorsBefore ? null : words;
}

function isUnderAny(path: string, roots: readonly string[]): boolean {
  return roots.some((root) => isWithin(path, root));
}

/** `sandbox: {read: [...], write: [...], secrets: serve|withhold}`: absolute paths, each listed once. */
function parseSandbox(
  reader: Reader,
  node: Node | null,
  key: string,
): { read: string[]; write: string[]; secrets: SecretsPolicy | null } | null {
  const fields = reader.map(node, key, ['read', 'write', 'secrets']);
  if (!fields) return null;
  const list = (name: string) => (fields.has(name) ? reader.stringList(fields.get(name) ?? null, `${key}.${name}`, ABSOLUTE_PATH) : []);
  const read = list('read');
  const write = list('write');
  const secrets = fields.has('secrets') ? readSecretsPolicy(reader, fields.get('secrets') ?? null, `${key}.secrets`) : null;
  if (!read || !write || (fields.has('secrets') && secrets === null)) return null;
  const all = [...read, ...write];
  const twice = all.find((path, i) => all.indexOf(path) !== i);
  if (twice !== undefined) {
    reader.error(node, key, `${twice} is listed twice: give each path once, in read or in write`);
    return null;
  }
  if (all.includes('/')) {
    reader.error(node, key, 'the whole filesystem (/) cannot be a sandbox path: name the directories the program needs');
    return null;
  }
  return { read, write, secrets };
}
