/**
 * Runs an exec plan: argv straight to execve(2) or spawn, never through a shell.
 *
 * The child gets the dispatcher's own stdin, stdout and stderr descriptors (the sshd channel),
 * so the data stream never passes through Node. Two ways to hand over, chosen per rule:
 * - supervise: true (default): spawn and wait. The dispatcher stays resident (~40 MB) but can
 *   write the end record (exit status, signal, duration), enforce `timeout`, and relay SIGTERM,
 *   SIGHUP and SIGINT to the child. Its lifecycle is in exec/: launch, signals, timeout,
 *   events, outcome, and supervise.ts that runs them in order.
 * - supervise: false: process.execve replaces the dispatcher. Nothing stays resident and there
 *   is no end record; the decision record is the last thing the dispatcher writes.
 */
import type { ExecPlan } from '../rules/plan.js';
import { applyProcessSettings, launchOf } from './exec/launch.js';

export { EXIT_START_FAILED, launchOf, withholds, type Launch, type RunHooks } from './exec/launch.js';
export { superviseExec } from './exec/supervise.js';

/**
 * Replaces this process with the program. Returns only if execve failed.
 *
 * Node ignores SIGPIPE and SIGXFSZ, and an ignored signal stays ignored across execve: the
 * program would get EPIPE where it should die quietly on a closed pipe. A caught signal reverts
 * to its default at execve, so listeners go on first (spawn resets dispositions itself).
 */
export function replaceWith(plan: ExecPlan): string {
  try {
    for (const signal of ['SIGPIPE', 'SIGXFSZ'] as const) process.on(signal, () => {});
    applyProcessSettings(plan);
    const launch = launchOf(plan, null);
    if (launch.cwd !== null) process.chdir(launch.cwd);
    process.execve!(launch.program, launch.argv, plan.env);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? (error as Error).message;
  }
  return 'execve returned';
}
