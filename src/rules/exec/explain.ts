/** An exec plan (exec and rsync rules) as the audit record and `explain` show it. */
import type { ExecPlan } from '../plan.js';

export function execPlanFields(plan: ExecPlan): Record<string, unknown> {
  return {
    argv: plan.argv,
    ...(plan.cwd !== null ? { cwd: plan.cwd } : {}),
    ...(!plan.supervise ? { handoff: 'execve' } : {}),
    ...(plan.dryRun ? { dry_run: true } : {}),
  };
}

export function execPlanLines(plan: ExecPlan): string[] {
  return [
    `  argv     ${JSON.stringify(plan.argv)}`,
    ...(plan.cwd ? [`  cwd      ${plan.cwd}`] : []),
    `  handoff  ${plan.supervise ? 'spawn and wait (end record written)' : 'execve (nothing stays resident, no end record)'}`,
    ...(plan.minFree ? [`  floor    stopped before less than ${plan.minFree.bytes} bytes stay free on the filesystem of ${plan.minFree.path}`] : []),
  ];
}
