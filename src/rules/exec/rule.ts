/** An exec rule, as checked by ./parse.ts: the client's words against a pattern, one fixed program. */
import type { RuleBase } from '../base.js';
import type { SecretsPolicy } from '../sandbox.js';

/**
 * A word of `run`: a literal (`{ text }`), or `{N}` in the policy (`{ word: N }`): the client's
 * word N, counted from 1, where word 1 is the program name the client sent (`borg` in
 * `borg serve --umask=077`) and `{2}` its first argument. Only words the pattern matched can be named.
 */
export type RunWord = { text: string } | { word: number };

/** The keys of the `exec:` block: what its parser enforces and the JSON Schema is tested against. */
export const EXEC_KEYS = {
  allowed: ['command', 'program', 'run', 'env', 'cwd', 'umask', 'timeout', 'supervise', 'sandbox', 'pass-env'],
  required: ['command'],
} as const;

export interface ExecRule extends RuleBase {
  kind: 'exec';
  /** One pattern per word of the client's command (values/pattern.ts). */
  pattern: string[];
  /** The pattern ended with `...`: any further words (zero or more), which are never passed on (`run` is set). */
  rest: boolean;
  /** Absolute path of what runs. */
  program: string;
  /**
   * The argv that runs, fixed by the policy (run[0] is `program`), with `{N}` words filled from
   * the client's; null: `program` and the client's words after its first (the default).
   */
  run: RunWord[] | null;
  /** Added to the minimal environment. */
  env: Record<string, string>;
  /** Session variables passed on when sshd set them and their value passes values/passable-env.ts (GIT_PROTOCOL). */
  passEnv: string[];
  cwd: string | null;
  umask: number | null;
  timeoutMs: number | null;
  /**
   * true: spawn the program and wait, so the end record has its exit status and duration.
   * false: replace the dispatcher with it (execve); nothing stays resident, no end record.
   */
  supervise: boolean;
  /** Run the program in a namespace that shows it only these paths besides the system (act/sandbox.ts); null: no sandbox. */
  sandbox: { read: string[]; write: string[]; secrets: SecretsPolicy | null } | null;
}
