/**
 * Carrying out an allowed plan, by its kind: a program (exec and rsync rules) started by execve
 * or spawned and waited for, an upload received, a connection relayed, files served (sftp rules). Each ends in the facts of
 * the end record; an execve that works never returns here.
 */
import type { EndFacts } from '../audit/record.js';
import type { Plan } from '../rules/plan.js';
import { EXIT_START_FAILED, replaceWith, superviseExec, withholds } from './exec.js';
import { receiveUpload } from './receive.js';
import { relay } from './relay.js';
import { serveFiles, type FileEvent } from './files-session.js';
import { RsyncReport } from './rsync-report.js';
import { claimSnapshot, setAsideSnapshot } from './snapshot.js';
import { restoreDirectories } from './stored-directories.js';

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
      if (plan.snapshot !== undefined && !plan.dryRun) {
        const taken = claimSnapshot(plan.snapshot);
        if (taken !== null) {
          process.stderr.write('ssh-dispatch: refused: the snapshot directory already exists (a snapshot is written once)\n');
          return { rule, exit: 1, signal: null, durationMs: 0, outcome: 'snapshot-exists', error: taken };
        }
      }
      const report = plan.report ? new RsyncReport(plan.report.dest, plan.report.token, plan.snapshot !== undefined) : null;
      const facts = plan.supervise ? await superviseExec(plan, rule, report ? { events: (line) => report.line(line), eventsByName: { dir: plan.report!.dir, tag: plan.report!.token } } : {}) : { rule, exit: EXIT_START_FAILED, signal: null, durationMs: 0, outcome: 'start-failed' as const, error: replaceWith(plan) };
      if (facts.outcome === 'start-failed') process.stderr.write('ssh-dispatch: the program could not be started\n');
      // overwrite: false: stored directories' attributes, noted as the decision was made, put back.
      const restored = plan.history?.dirs ? restoreDirectories(plan.history.dirs) : [];
      const withWrites = { ...facts, ...(report ? { writes: report.writes.facts() } : {}), ...(restored.length > 0 ? { restored } : {}) };
      if (plan.snapshot !== undefined && !plan.dryRun && facts.exit !== 0) {
        const aside = setAsideSnapshot(plan.snapshot, session);
        return { ...withWrites, ...(aside !== null ? { setAside: aside } : {}) };
      }
      return withWrites;
    }
  }
}
