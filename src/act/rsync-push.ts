/**
 * What an rsync push does around rsync itself to keep the owner's history (docs/threat-model.md,
 * "History belongs to the owner"): a snapshot's directory is claimed before rsync starts and set
 * aside when the push fails (act/snapshot.ts); rsync's own report becomes the end record's writes
 * (act/rsync-report.ts); stored directories noted at the decision get their attributes back
 * (act/stored-directories.ts). `run` starts rsync, with the hooks the report needs.
 */
import type { EndFacts } from '../audit/record.js';
import type { ExecPlan } from '../rules/plan.js';
import type { RunHooks } from './exec.js';
import { RsyncReport } from './rsync-report.js';
import { claimSnapshot, setAsideSnapshot } from './snapshot.js';
import { restoreDirectories } from './stored-directories.js';

/** Whether a plan is a push with history to keep (rules/rsync/match.ts sets these on pushes only). */
export function keepsHistory(plan: ExecPlan): boolean {
  return plan.snapshot !== undefined || plan.report !== undefined || plan.history !== undefined;
}

export async function pushKeepingHistory(
  plan: ExecPlan,
  rule: string,
  session: string,
  run: (hooks: RunHooks) => Promise<EndFacts>,
): Promise<EndFacts> {
  // A dry run writes nothing: no directory is made for it, none set aside.
  const snapshot = plan.dryRun ? undefined : plan.snapshot;
  if (snapshot !== undefined) {
    const taken = claimSnapshot(snapshot);
    if (taken !== null) {
      process.stderr.write('ssh-dispatch: refused: the snapshot directory already exists (a snapshot is written once)\n');
      return { rule, exit: 1, signal: null, durationMs: 0, outcome: 'snapshot-exists', error: taken };
    }
  }
  const { report } = plan;
  const reading = report ? new RsyncReport(report.dest, report.token, plan.snapshot !== undefined) : null;
  const facts = await run(
    reading && report ? { events: (line) => reading.line(line), eventsByName: { dir: report.dir, tag: report.token } } : {},
  );
  const restored = plan.history?.dirs ? restoreDirectories(plan.history.dirs) : [];
  const aside = snapshot !== undefined && facts.exit !== 0 ? setAsideSnapshot(snapshot, session) : null;
  return {
    ...facts,
    ...(reading ? { writes: reading.writes.facts() } : {}),
    ...(restored.length > 0 ? { restored } : {}),
    ...(aside !== null ? { setAside: aside } : {}),
  };
}
