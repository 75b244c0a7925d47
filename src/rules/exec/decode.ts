/** An exec rule read back from the compiled policy cache (policy/cache/): every key of ExecRule, checked. */
import { array, boolean, integer, literal, nullable, number, object, oneOf, record, string, type Fields } from '../../values/decode.js';
import type { RuleBody } from '../base.js';
import { SECRETS_POLICIES } from '../sandbox.js';
import type { ExecRule, RunWord } from './rule.js';

const runWord = oneOf<RunWord>(
  'a word of run ({ text } or { word })',
  object<{ text: string }>({ text: string }),
  object<{ word: number }>({ word: integer }),
);

export const EXEC_BODY: Fields<RuleBody<ExecRule>> = {
  kind: literal('exec'),
  pattern: array(string),
  rest: boolean,
  program: string,
  run: nullable(array(runWord)),
  env: record(string),
  passEnv: array(string),
  cwd: nullable(string),
  umask: nullable(integer),
  timeoutMs: nullable(number),
  supervise: boolean,
  sandbox: nullable(
    object<NonNullable<ExecRule['sandbox']>>({
      read: array(string),
      write: array(string),
      secrets: nullable(literal(...SECRETS_POLICIES)),
    }),
  ),
};
