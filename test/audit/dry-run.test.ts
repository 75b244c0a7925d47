/**
 * A dry run is not a backup (issue 14: `status` counted a stolen key's `rsync -n` push as the
 * nightly's success). Records are made by the real decide() and record builders.
 */
import { describe, expect, it } from 'vitest';
import { decide } from '../../src/decide/decide.js';
import { decisionRecord, endRecord } from '../../src/audit/record.js';
import type { AuditRecord } from '../../src/audit/review.js';
import { SuccessTracker } from '../../src/audit/success.js';
import { SummaryBuilder } from '../../src/audit/summary.js';
import { policyFrom, requestFor } from '../helpers.js';

const policy = policyFrom(`
version: 1
identities:
  h:
    rules:
      - { name: nightly, rsync: { root: /srv/backup/h, access: write } }
  h2:
    rules:
      - { name: nightly-execve, rsync: { root: /srv/backup/h2, access: write, supervise: false, min-free: "0" } }
`);

/** The decision and (for a supervised rule) end record of one session that exited 0. */
function session(command: string, id = 's1', identity = 'h'): AuditRecord[] {
  const request = requestFor(identity, command, {});
  const decision: AuditRecord = decisionRecord(id, request, decide(policy, request));
  if (decision.handoff === 'execve') return [decision];
  return [
    decision,
    endRecord({ session: id, identity: 'h' }, request.now, {
      rule: String(decision.rule),
      exit: 0,
      signal: null,
      durationMs: 5,
      outcome: 'exited',
    }),
  ];
}

const rows: [string, string, boolean][] = [
  ['a push', 'rsync --server -logDtpre.iLsfxCIvu . dst/', true],
  ['-n alone', 'rsync --server -n -logDtpre.iLsfxCIvu . dst/', false],
  ['n inside the bundle', 'rsync --server -nlogDtpre.iLsfxCIvu . dst/', false],
  ['n later in the bundle', 'rsync --server -logDtprne.iLsfxCIvu . dst/', false],
  ['--dry-run', 'rsync --server -logDtpre.iLsfxCIvu --dry-run . dst/', false],
  // The letters after "e" are the client's capabilities, not options: this is no dry run.
  ['an n among the capability letters', 'rsync --server -logDtpre.iLsfnxCIvu . dst/', true],
];

describe('a dry run is never a success', () => {
  it.each(rows)('%s: success %s', (_, command, expected) => {
    const records = session(command);
    expect(records[0]).toMatchObject({ decision: 'allow' });
    const tracker = new SuccessTracker();
    expect(records.some((r) => tracker.isSuccess(r))).toBe(expected);
    const summary = new SummaryBuilder(null);
    for (const r of records) summary.add(r);
    expect(summary.result().rules.find((s) => s.rule === 'nightly')?.lastSuccess !== null).toBe(expected);
  });

  it('records the dry run in the decision record', () => {
    expect(session('rsync --server -n -logDtpre.iLsfxCIvu . dst/')[0]).toMatchObject({ dry_run: true });
    expect(session('rsync --server -logDtpre.iLsfxCIvu . dst/')[0]).not.toHaveProperty('dry_run');
  });

  it('holds for an execve rule too, whose allowed decision is otherwise its success', () => {
    const tracker = new SuccessTracker();
    const [dry] = session('rsync --server -n -logDtpre.iLsfxCIvu . dst/', 's1', 'h2');
    expect(dry).toMatchObject({ handoff: 'execve' });
    expect(tracker.isSuccess(dry!)).toBe(false);
  });

  it('does not let a dry run mark another session', () => {
    const tracker = new SuccessTracker();
    const dry = session('rsync --server -n -logDtpre.iLsfxCIvu . dst/', 'a');
    const real = session('rsync --server -logDtpre.iLsfxCIvu . dst/', 'b');
    // Interleaved as concurrent sessions are: decision a, decision b, end a, end b.
    const order = [dry[0]!, real[0]!, dry[1]!, real[1]!];
    expect(order.map((r) => tracker.isSuccess(r))).toEqual([false, false, false, true]);
  });
});
