/** An exec rule, as checked by ./parse.ts: the client's words against a pattern, one fixed program. */
import type { RuleBase } from '../base.js';

/** The keys of the `exec:` block: what its parser enforces and the JSON Schema is tested against. */
export const EXEC_KEYS = { allowed: ['command', 'program', 'env', 'cwd', 'umask', 'timeout', 'supervise', 'sandbox', 'pass-env'], required: ['command'] } as const;

export interface ExecRule extends RuleBase {
  kind: 'exec';
  /** One pattern per word of the client's command (values/pattern.ts). */
  pattern: string[];
  /** Absolute path of what runs. */
  program: string;
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
  sandbox: { read: string[]; write: string[] } | null;
}
