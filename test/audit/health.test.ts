/**
 * The monitoring verdict of `status`, from records to one plugin line: ages against the period,
 * and what the last success alone hides (a failure in the period, a burst, a success under
 * min-bytes, foreign records claiming the rule).
 */
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_BURST,
  emptyHistory,
  evaluateStatus,
  formatSpan,
  perfdatum,
  StatusBuilder,
  type StatusCheck,
} from '../../src/audit/health.js';
import type { AuditRecord } from '../../src/audit/review.js';

const now = new Date('2026-11-24T12:00:00Z');

describe('evaluateStatus', () => {
  const h = 3600_000;
  const nightly = (id: string): StatusCheck => ({
    id,
    rule: 'nightly',
    warnMs: 26 * h,
    critMs: 52 * h,
    minBytes: null,
    burst: DEFAULT_BURST,
  });
  const checks = [nightly('host1'), nightly('host2')];
  const ago = (hours: number) => now.getTime() - hours * h;
  const successAt = (id: string, hours: number) => ({
    ...emptyHistory(),
    lastSuccess: ago(hours),
    successes: hours <= 26 ? 1 : 0,
    sessions: hours <= 26 ? 1 : 0,
  });
  const lines = (entries: [string, number][]) =>
    evaluateStatus(checks, new Map(entries.map(([id, hours]) => [`${id}\0nightly`, successAt(id, hours)])), now);

  it.each([
    // [case, successes (identity, hours ago), exit code, the text before the perfdata]
    [
      'both in time',
      [
        ['host1', 2],
        ['host2', 20],
      ],
      0,
      'SSH-DISPATCH OK - all 2 rules succeeded in time; oldest success host2/nightly 20h ago',
    ],
    [
      'one just at its period',
      [
        ['host1', 2],
        ['host2', 26],
      ],
      0,
      'SSH-DISPATCH OK - all 2 rules succeeded in time; oldest success host2/nightly 1d2h ago',
    ],
    [
      'one past its period',
      [
        ['host1', 2],
        ['host2', 30],
      ],
      1,
      'SSH-DISPATCH WARNING - host2/nightly last success 1d6h ago (expected every 1d2h); 1 of 2 rules OK',
    ],
    [
      'one past twice its period',
      [
        ['host1', 2],
        ['host2', 53],
      ],
      2,
      'SSH-DISPATCH CRITICAL - host2/nightly last success 2d5h ago (critical past 2d4h); 1 of 2 rules OK',
    ],
    [
      'one never, one late',
      [['host1', 30]],
      2,
      'SSH-DISPATCH CRITICAL - host2/nightly no success logged; WARNING: host1/nightly last success 1d6h ago (expected every 1d2h); 0 of 2 rules OK',
    ],
    [
      'a success stamped in the future (clock set back)',
      [
        ['host1', -1],
        ['host2', 1],
      ],
      0,
      'SSH-DISPATCH OK - all 2 rules succeeded in time; oldest success host2/nightly 1h ago',
    ],
  ] as const)('%s', (_case, successes, code, text) => {
    const r = lines(successes.map(([id, hours]) => [id, hours]));
    expect([r.code, r.line.split(' | ')[0]]).toEqual([code, text]);
    expect(r.line.split('\n')).toHaveLength(1);
  });

  it('never says "no success" of a rule that has one, however short its thresholds (a success 52 s ago)', () => {
    const r = evaluateStatus(
      [{ id: 'a', rule: 'r', warnMs: 26_000, critMs: 52_000, minBytes: null, burst: DEFAULT_BURST }],
      new Map([['a\0r', { ...emptyHistory(), lastSuccess: now.getTime() - 53_000 }]]),
      now,
    );
    expect(r.code).toBe(2);
    expect(r.line).toContain('a/r last success 53s ago (critical past 52s)');
    expect(r.line).not.toContain('no success');
  });

  it('says since when it read the log, for a rule with no success in it', () => {
    const r = evaluateStatus(checks, new Map(), now, '2026-11-20T06:25:00Z');
    expect(r.line).toMatch(/host1\/nightly no success logged since 2026-11-2[01] [0-9]{2}:25; host2/);
  });

  it('perfdata: quoted labels, ages in seconds with warn and crit, failures and sessions with theirs, min 0, U for no success, counts bounded', () => {
    const r = lines([['host1', 20]]);
    expect(r.line.split(' | ')[1]).toBe(
      "'ok'=1;;;0;2 'warning'=0;;;0;2 'critical'=1;;;0;2 'host1/nightly'=72000s;93600;187200;0 'host1/nightly failed'=0;0;;0 'host1/nightly sessions'=1;10;;0 'host2/nightly'=U;93600;187200;0 'host2/nightly failed'=0;0;;0 'host2/nightly sessions'=0;10;;0",
    );
    expect(r.line).not.toMatch(/=-1/);
  });

  it.each([
    ['a value and unit', ['age', 5, 's', 10, 20, 0] as const, "'age'=5s;10;20;0"],
    ['unknown', ['age', null, 's', 10, 20, 0] as const, "'age'=U;10;20;0"],
    ['no thresholds: trailing fields dropped', ['n', 3, ''] as const, "'n'=3"],
    ['a label with quote and equals', ["it's=x", 1, ''] as const, "'it_s_x'=1"],
    ['a range: alert below', ['smallest', 5, 'B', '1000:', undefined, 0] as const, "'smallest'=5B;1000:;;0"],
  ])('perfdatum: %s', (_case, args, expected) => {
    expect(perfdatum(...(args as unknown as Parameters<typeof perfdatum>))).toBe(expected);
  });

  it.each([
    [0, '0s'],
    [52_000, '52s'],
    [14 * 60_000 + 5_000, '14m'],
    [3 * h, '3h'],
    [8 * h + 26 * 60_000, '8h26m'],
    [26 * h, '1d2h'],
    [48 * h, '2d'],
    [-5, '0s'],
  ])('formatSpan(%d) = %s', (ms, text) => expect(formatSpan(ms)).toBe(text));

  it('UNKNOWN with nothing to check', () => expect(evaluateStatus([], new Map(), now).code).toBe(3));
});

describe('the owner sees every failure: status from the records', () => {
  const h = 3600_000;
  const at = (hours: number) => new Date(now.getTime() - hours * h).toISOString();
  let n = 0;
  /** One session of host1/nightly `hours` ago: its allowed decision and its end record. */
  const run = (hours: number, end: Record<string, unknown> = {}, decisionExtra: Record<string, unknown> = {}) => {
    const session = `s${++n}`;
    return [
      {
        ts: at(hours),
        event: 'decision',
        session,
        id: 'host1',
        user: 'root',
        rule: 'nightly',
        decision: 'allow',
        handoff: 'spawn',
        ...decisionExtra,
      },
      { ts: at(hours - 0.01), event: 'end', session, id: 'host1', rule: 'nightly', exit: 0, outcome: 'exited', duration_ms: 5, ...end },
    ];
  };
  const check = (extra: Partial<StatusCheck> = {}): StatusCheck => ({
    id: 'host1',
    rule: 'nightly',
    warnMs: 26 * h,
    critMs: 52 * h,
    minBytes: null,
    burst: DEFAULT_BURST,
    ...extra,
  });
  const verdict = (records: Record<string, unknown>[], extra: Partial<StatusCheck> = {}) => {
    const builder = new StatusBuilder([check(extra)], now);
    for (const record of records) builder.add(record as AuditRecord);
    const r = evaluateStatus([check(extra)], builder.result(), now, builder.readSince);
    return { code: r.code, text: r.line.split(' | ')[0]!, perf: r.line.split(' | ')[1]!, history: builder.result().get('host1\0nightly')! };
  };
  const owner23 = run(3, { exit: 23 });
  const thief = run(1, { bytes: 10 });

  it.each([
    // [case, records, check, exit code, text]
    [
      'a normal night',
      [...run(30), ...run(6)],
      {},
      0,
      'SSH-DISPATCH OK - the rule succeeded in time; oldest success host1/nightly 5h59m ago',
    ],
    [
      'the owner’s run exited 23, then a thief’s tiny push succeeded',
      [...run(27), ...owner23, ...thief],
      {},
      1,
      'SSH-DISPATCH WARNING - host1/nightly a run failed within 1d2h, the last 2h59m ago (exit 23), though a later run succeeded; 0 of 1 rule OK',
    ],
    [
      'the owner’s run exited 23, nothing since; yesterday’s success still in the period',
      [...run(25), ...run(3, { exit: 23 })],
      {},
      1,
      'SSH-DISPATCH WARNING - host1/nightly a run failed within 1d2h, the last 2h59m ago (exit 23); 0 of 1 rule OK',
    ],
    [
      'every run in the period failed (a receive refused at its floor, a flood refused: any non-zero exit)',
      [...run(30), ...run(20, { exit: 1, outcome: 'no-space' }), ...run(3, { exit: 1, outcome: 'flood' })],
      {},
      2,
      'SSH-DISPATCH CRITICAL - host1/nightly 2 runs failed within 1d2h, the last 2h59m ago (exit 1 flood), none succeeded, last success 1d5h ago (expected every 1d2h); 0 of 1 rule OK',
    ],
    [
      'an end with exit 0 and an outcome that is no success is a failure (fail closed: a new outcome)',
      [...run(30), ...run(3, { exit: 0, outcome: 'something-new' }), ...run(2)],
      {},
      1,
      'SSH-DISPATCH WARNING - host1/nightly a run failed within 1d2h, the last 2h59m ago (exit 0 something-new), though a later run succeeded; 0 of 1 rule OK',
    ],
    [
      'a failure before the period no longer warns',
      [...run(40, { exit: 23 }), ...run(6)],
      {},
      0,
      'SSH-DISPATCH OK - the rule succeeded in time; oldest success host1/nightly 5h59m ago',
    ],
    [
      'a dry run that failed is a failure too',
      [...run(30), ...run(3, { exit: 0 }), ...run(2, { exit: 12 }, { dry_run: true })],
      {},
      1,
      'SSH-DISPATCH WARNING - host1/nightly a run failed within 1d2h, the last 1h59m ago (exit 12); 0 of 1 rule OK',
    ],
    [
      '11 sessions in the period: a burst',
      Array.from({ length: 11 }, (_, i) => run(20 - i)).flat(),
      {},
      1,
      'SSH-DISPATCH WARNING - host1/nightly 11 sessions within 1d2h (a burst: more than 10); 0 of 1 rule OK',
    ],
    [
      '10 sessions in the period: no burst',
      Array.from({ length: 10 }, (_, i) => run(20 - i)).flat(),
      {},
      0,
      'SSH-DISPATCH OK - the rule succeeded in time; oldest success host1/nightly 10h59m ago',
    ],
    [
      '--burst 2: 3 sessions are a burst',
      [...run(5), ...run(4), ...run(3)],
      { burst: 2 },
      1,
      'SSH-DISPATCH WARNING - host1/nightly 3 sessions within 1d2h (a burst: more than 2); 0 of 1 rule OK',
    ],
    [
      'a success below min-bytes (receive: bytes)',
      [...run(20, { bytes: 5000 }), ...run(2, { bytes: 10 })],
      { minBytes: 1000 },
      1,
      'SSH-DISPATCH WARNING - host1/nightly a success 1h59m ago wrote 10 bytes (min-bytes 1000); 0 of 1 rule OK',
    ],
    [
      'a success below min-bytes (writes.bytes first)',
      [...run(2, { bytes: 5000, writes: { created: ['a'], bytes: 10 } })],
      { minBytes: 1000 },
      1,
      'SSH-DISPATCH WARNING - host1/nightly a success 1h59m ago wrote 10 bytes (min-bytes 1000); 0 of 1 rule OK',
    ],
    [
      'a success that does not say its size, with min-bytes',
      [...run(2)],
      { minBytes: 1000 },
      1,
      'SSH-DISPATCH WARNING - host1/nightly a success 1h59m ago did not say how many bytes it wrote (min-bytes 1000); 0 of 1 rule OK',
    ],
    [
      'successes at min-bytes and above',
      [...run(20, { bytes: 1000 }), ...run(2, { writes: { bytes: 5000 } })],
      { minBytes: 1000 },
      0,
      'SSH-DISPATCH OK - the rule succeeded in time; oldest success host1/nightly 1h59m ago',
    ],
    [
      'a small success before the period no longer warns',
      [...run(30, { bytes: 1 }), ...run(2, { bytes: 5000 })],
      { minBytes: 1000 },
      0,
      'SSH-DISPATCH OK - the rule succeeded in time; oldest success host1/nightly 1h59m ago',
    ],
    [
      'foreign records claiming the rule: not counted, and said',
      [...run(60), ...run(2).map((r) => ({ ...r, foreign: "in backup's log, identity host1 may not log into backup" }))],
      {},
      2,
      'SSH-DISPATCH CRITICAL - host1/nightly last success 2d11h ago (critical past 2d4h), 2 foreign records in account logs not counted (ssh-dispatch logs --rule nightly marks them); 0 of 1 rule OK',
    ],
  ] as const)('%s', (_case, records, extra, code, text) => {
    const r = verdict(records as unknown as Record<string, unknown>[], extra);
    expect([r.code, r.text]).toEqual([code, text]);
  });

  it('control: a "last success only" reading of the theft says OK (the thief’s success is newer than the failure)', () => {
    const r = verdict([...run(27), ...owner23, ...thief]);
    expect(r.history.lastSuccess!).toBeGreaterThan(r.history.lastFailure!.at);
    expect(evaluateStatus([check()], new Map([['host1\0nightly', { ...r.history, failures: 0 }]]), now).code).toBe(0);
  });

  it('perfdata: failures, sessions and, with min-bytes, the smallest success in bytes against a range', () => {
    const r = verdict([...run(20, { bytes: 5000 }), ...owner23, ...run(2, { bytes: 10 })], { minBytes: 1000 });
    expect(r.perf).toMatch(/'host1\/nightly failed'=1;0;;0 'host1\/nightly sessions'=3;10;;0 'host1\/nightly smallest'=10B;1000:;;0$/);
  });
});
