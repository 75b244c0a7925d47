/**
 * What counts as a success and a failure of a rule, for `summary` and `status` alike: one
 * definition, so that the two never disagree about whether last night's backup ran.
 */
import type { LoggedRecord as AuditRecord } from './record-types.js';

/** An end record that means the job did what it was for. */
export function succeeded(record: AuditRecord): boolean {
  return record.event === 'end' && record.exit === 0 && ['exited', 'stored', 'closed'].includes(String(record.outcome));
}

/** A run that failed: an end record that is no success, whatever its outcome (any non-zero exit). */
export function failed(record: AuditRecord): boolean {
  return record.event === 'end' && !succeeded(record);
}

/**
 * A rule's successes, over records read in log order: an end record that succeeded, or the
 * allowed decision of an execve rule (which writes no end record), but never a dry run: a stolen
 * key's `rsync -n` exits 0 and transfers nothing, and must not keep a backup check green.
 * The end record does not say it was a dry run; its session's decision record does.
 */
export class SuccessTracker {
  private readonly dryRunSessions = new Set<string>();
  /** Sessions whose end never came (killed dispatcher) must not grow this without end. */
  private static readonly MAX_PENDING = 10_000;

  isSuccess(record: AuditRecord): boolean {
    if (record.event === 'decision') {
      if (record.decision !== 'allow') return false;
      if (record.dry_run === true) {
        if (record.handoff !== 'execve') this.notePending(record.session);
        return false;
      }
      return record.handoff === 'execve';
    }
    if (record.event === 'end' && this.dryRunSessions.delete(record.session)) return false;
    return succeeded(record);
  }

  private notePending(session: string): void {
    this.dryRunSessions.add(session);
    if (this.dryRunSessions.size > SuccessTracker.MAX_PENDING) this.dryRunSessions.delete(this.dryRunSessions.values().next().value!);
  }
}
