/** An exec plan (exec and rsync rules) as the audit record and `explain` show it. */
import type { ExecPlan } from '../plan.js';
import { priorityFields, priorityPrefix, type PriorityFields } from '../priority.js';
import type { SandboxPlan } from '../sandbox.js';

/** A sandbox as a plan shows it: the paths the program sees. */
export type SandboxFields = { read: string[]; write: string[]; secrets?: 'serve' };

/** The audit record's fields of an exec plan (schema/audit.schema.json). */
export type ExecPlanFields = {
  argv: string[];
  /** The rule's `run:` made argv, not the client's words. */
  argv_from?: 'run';
  cwd?: string;
  /** The program replaced the dispatcher: no end record follows. */
  handoff?: 'execve';
  dry_run?: true;
  pass_env?: Record<string, string>;
  sandbox?: SandboxFields;
} & PriorityFields;

export function execPlanFields(plan: ExecPlan): ExecPlanFields {
  return {
    argv: plan.argv,
    ...(plan.fixed ? { argv_from: 'run' } : {}),
    ...(plan.cwd !== null ? { cwd: plan.cwd } : {}),
    ...(!plan.supervise ? { handoff: 'execve' } : {}),
    ...(plan.dryRun ? { dry_run: true } : {}),
    ...priorityFields(plan.priority),
    ...(plan.passedEnv ? { pass_env: plan.passedEnv } : {}),
    ...(plan.sandbox
      ? {
          sandbox: {
            read: plan.sandbox.read,
            write: plan.sandbox.write,
            ...(plan.sandbox.secrets === 'serve' ? { secrets: 'serve' } : {}),
          },
        }
      : {}),
  };
}

export function execPlanLines(plan: ExecPlan): string[] {
  return [
    `  argv     ${JSON.stringify(plan.argv)}`,
    ...(plan.fixed
      ? ["           (the rule's run: fixed by the policy; the client's words only where it says {N}, the rest dropped)"]
      : []),
    ...(plan.cwd ? [`  cwd      ${plan.cwd}`] : []),
    ...(plan.priority && priorityPrefix(plan.priority).length > 0
      ? [`  priority started through ${priorityPrefix(plan.priority).join(' ')}`]
      : []),
    ...(plan.passedEnv
      ? [
          `  env      passed from the session: ${Object.entries(plan.passedEnv)
            .map(([name, value]) => `${name}=${value}`)
            .join(' ')}`,
        ]
      : []),
    `  handoff  ${plan.supervise ? 'spawn and wait (end record written)' : 'execve (nothing stays resident, no end record)'}`,
    `  sandbox  ${plan.sandbox ? sandboxLine(plan.sandbox) : 'none: the program sees the whole filesystem'}`,
    ...(plan.minFree
      ? [`  floor    stopped before less than ${plan.minFree.bytes} bytes stay free on the filesystem of ${plan.minFree.path}`]
      : []),
  ];
}

function sandboxLine(sandbox: SandboxPlan): string {
  const shown = [...sandbox.read.map((p) => `${p} (read-only)`), ...sandbox.write.map((p) => `${p} (writable)`)];
  const secrets = sandbox.secrets === 'serve' ? ' (with the secrets in the read-only paths: secrets: serve)' : '';
  return `bubblewrap: ${shown.length > 0 ? shown.join(', ') : 'no paths'}${secrets} and the system's programs, nothing else`;
}
