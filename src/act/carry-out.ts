/**
 * Carrying out an allowed plan, by its kind: a program (exec and rsync rules) started by execve
 * or spawned and waited for, an upload received, a connection relayed, files served (sftp rules). Each ends in the facts of
 * the end record; an execve that works never returns here.
 */
import type { EndFacts } from '../audit/record.js';
import type { Plan } from '../rules/plan.js';
import { EXIT_START_FAILED, replaceWith, superviseExec, withholds, type RunHooks } from './exec.js';
import { receiveUpload } from './receive.js';
import { relay } from './relay.js';
import { serveFiles, type FileEvent } from './files-session.js';
import { keepsHistory, pushKeepingHistory } from './rsync-push.js';

export async function carryOut(plan: Plan, rule: string, session: string, recordFile: (event: FileEvent) => void): Promise<EndFacts> {
  // A run that withholds secrets from its request stays supervised (act/exec.ts withholds).
  if (plan.kind === 'exec' && !plan.supervise && withholds(plan)) plan = { ...plan, supervise: true };
  switch (plan.kind) {
    case 'files':
      return serveFiles(plan, rule, recordFile);
    case 'relay':
      return relay(plan, rule);
    case 'receive':
      return receiveUpload(plan, rule, session);
    case 'exec': {
      const exec = plan;
      const start = async (hooks: RunHooks): Promise<EndFacts> => {
        const facts = exec.supervise
          ? await superviseExec(exec, rule, hooks)
          : { rule, exit: EXIT_START_FAILED, signal: null, durationMs: 0, outcome: 'start-failed' as const, error: replaceWith(exec) };
        if (facts.outcome === 'start-failed') process.stderr.write('ssh-dispatch: the program could not be started\n');
        return facts;
      };
      return keepsHistory(exec) ? pushKeepingHistory(exec, rule, session, start) : start({});
    }
  }
}
