/** Reading the log back: windows, filters, summary and monitoring status, as pure functions. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_BURST, emptyHistory, evaluateStatus, formatSpan, formatSummary, matches, parseWhen, perfdatum, StatusBuilder, SummaryBuilder, tableRow, wrotePath, type StatusCheck } from '../../src/audit/review.js';
import { parseDuration } from '../../src/values/units.js';

const now = new Date('2026-11-24T12:00:00Z');
const decision = (ts: string, extra: Record<string, unknown>) => ({ ts, event: 'decision', session: 'aaaa1111', id: 'host1', user: 'root', client: '192.0.2.10:5000', command: 'x', ...extra });
const end = (ts: string, extra: Record<string, unknown>) => ({ ts, event: 'end', session: 'aaaa1111', id: 'host1', rule: 'nightly', exit: 0, outcome: 'exited', duration_ms: 5, ...extra });

describe('parseWhen and the one duration grammar', () => {
  it.each([
    ['24h', '2026-11-23T12:00:00.000Z'],
    ['30m', '2026-11-24T11:30:00.000Z'],
    ['7d', '2026-11-17T12:00:00.000Z'],
    ['2w', '2026-11-10T12:00:00.000Z'],
    ['2026-11-20T08:00:00Z', '2026-11-20T08:00:00.000Z'],
  ])('%s → %s', (text, iso) => expect(parseWhen(text, now)!.toISOString()).toBe(iso));
  it('reads a date as local midnight', () => expect(parseWhen('2026-11-20', now)!.getHours()).toBe(0));
  it.each(['yesterday', '24', 'h', '-1d', '2026-13-40x'])('refuses %s', (text) => expect(parseWhen(text, now)).toBeNull());
  it('spans', () => {
    expect(parseDuration('26h')).toBe(26 * 3600_000);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('26')).toBeNull();
  });
});

describe('matches', () => {
  const denied = decision('2026-11-24T10:00:00Z', { decision: 'deny', reason: 'no-rule-matched' });
  const ended = end('2026-11-24T10:00:01Z', {});
  it.each([
    [{}, true, true],
    [{ since: new Date('2026-11-24T10:00:00.500Z') }, false, true],
    [{ until: new Date('2026-11-24T10:00:00.500Z') }, true, false],
    [{ id: 'host1' }, true, true],
    [{ id: 'host2' }, false, false],
    [{ decision: 'deny' }, true, false],
    [{ decision: 'allow' }, false, false],
    [{ client: '192.0.2' }, true, false],
    [{ session: 'aaaa' }, true, true],
    [{ rule: 'nightly' }, false, true],
  ])('%j: decision %s, end %s', (filter, forDecision, forEnd) => {
    expect(matches(denied, filter)).toBe(forDecision);
    expect(matches(ended, filter)).toBe(forEnd);
  });
  it.each([
    [{ cert: '1042' }, true],
    [{ cert: 'alice@laptop' }, true],
    [{ cert: '104' }, false],
    [{ cert: 'bob@laptop' }, false],
  ])('certificate %j', (filter, expected) => {
    const certified = { cert_id: 'alice@laptop', cert_serial: '1042' };
    expect(matches(decision('2026-11-24T10:00:00Z', { decision: 'allow', ...certified }), filter)).toBe(expected);
    expect(matches(end('2026-11-24T10:00:01Z', certified), filter)).toBe(expected);
    expect(matches(denied, filter)).toBe(false);
  });
  it('marks a foreign record at the end of its row, escaped', () => {
    expect(tableRow(end('2026-11-24T10:00:01Z', { foreign: "in backup's log, identity host1 may not log into backup\u001b[2J" }))).toMatch(/exit 0, 5 ms  \[FOREIGN: in backup's log, identity host1 may not log into backup\\x1b\[2J, not counted\]$/);
    expect(tableRow(end('2026-11-24T10:00:01Z', {}))).not.toContain('FOREIGN');
  });

  it('escapes control characters in the table', () => {
    expect(tableRow(decision('2026-11-24T10:00:00Z', { decision: 'deny', reason: 'x', command: 'ls\u001b[2J\nid' }))).not.toMatch(/[\u0000-\u001f]/);
  });
});

describe('SummaryBuilder', () => {
  it('counts per identity and rule, failures, bytes, last success; top refusals; new clients', () => {
    const builder = new SummaryBuilder(new Date('2026-11-20T00:00:00Z'));
    builder.add(decision('2026-11-01T00:00:00Z', { decision: 'allow', rule: 'nightly', client: '198.51.100.1:22' }));
    builder.add(decision('2026-11-23T02:00:00Z', { decision: 'allow', rule: 'nightly' }));
    builder.add(end('2026-11-23T02:10:00Z', {}));
    builder.add(decision('2026-11-24T02:00:00Z', { decision: 'allow', rule: 'nightly' }));
    builder.add(end('2026-11-24T02:05:00Z', { exit: 23, outcome: 'exited' }));
    builder.add(decision('2026-11-24T03:00:00Z', { decision: 'allow', rule: 'tarball' }));
    builder.add(end('2026-11-24T03:01:00Z', { rule: 'tarball', outcome: 'stored', bytes: 1000 }));
    builder.add(decision('2026-11-24T03:00:00Z', { decision: 'allow', rule: 'ping', handoff: 'execve' }));
    for (let i = 0; i < 3; i++) builder.add(decision('2026-11-24T04:00:00Z', { decision: 'deny', reason: 'tokenize-operator', command: 'ls; id', client: '203.0.113.9:1' }));
    builder.add(decision('2026-11-24T04:00:00Z', { decision: 'deny', reason: 'no-command', command: null }));
    const s = builder.result();
    expect(s.rules.find((r) => r.rule === 'nightly')).toMatchObject({ allowed: 2, failed: 1, lastSuccess: '2026-11-23T02:10:00Z' });
    expect(s.rules.find((r) => r.rule === 'tarball')).toMatchObject({ allowed: 1, failed: 0, bytes: 1000, lastSuccess: '2026-11-24T03:01:00Z' });
    expect(s.rules.find((r) => r.rule === 'ping')).toMatchObject({ lastSuccess: '2026-11-24T03:00:00Z' });
    expect(s.rules.find((r) => r.rule === '(denied)')).toMatchObject({ denied: 4 });
    expect(s.refused[0]).toEqual({ command: 'ls; id', count: 3, reasons: ['tokenize-operator'] });
    expect(s.refused[1]!.command).toBe('(no command)');
    expect(s.newClients.map((c) => c.client).sort()).toEqual(['192.0.2.10', '203.0.113.9']);
  });

  it('shows the last failure, with its exit and outcome, beside the last success; foreign records counted apart, never in the table', () => {
    const builder = new SummaryBuilder(new Date('2026-11-20T00:00:00Z'));
    builder.add(decision('2026-11-23T02:00:00Z', { decision: 'allow', rule: 'nightly' }));
    builder.add(end('2026-11-23T02:10:00Z', { exit: 23 }));
    builder.add(decision('2026-11-24T02:00:00Z', { decision: 'allow', rule: 'nightly' }));
    builder.add(end('2026-11-24T02:10:00Z', { exit: 1, outcome: 'too-large' }));
    builder.add(decision('2026-11-24T03:00:00Z', { decision: 'allow', rule: 'nightly' }));
    builder.add(end('2026-11-24T03:01:00Z', {}));
    const forged = { foreign: "in backup's log, identity host1 may not log into backup" };
    builder.add(decision('2026-11-24T04:00:00Z', { decision: 'allow', rule: 'nightly', ...forged }));
    builder.add(end('2026-11-24T04:00:01Z', { ...forged }));
    builder.add(end('2026-11-24T04:00:02Z', { rule: 'invented', ...forged }));
    const s = builder.result();
    expect(s.rules).toEqual([expect.objectContaining({ rule: 'nightly', allowed: 3, failed: 2, lastSuccess: '2026-11-24T03:01:00Z', lastFailure: '2026-11-24T02:10:00Z', lastFailureHow: 'exit 1 too-large' })]);
    expect(s.foreign).toBe(3);
    const text = formatSummary(s, '7d');
    expect(text).toContain('3 foreign record(s) in account logs not counted');
    expect(text).toMatch(/last success +last failure\n/);
    expect(text).toMatch(/nightly .* 2026-11-24 0[0-9]:01:00 +2026-11-24 0[0-9]:10:00 \(exit 1 too-large\)\n/);
    expect(text).not.toContain('invented');
  });

  it('counts an sftp session’s file records (and their bytes) per rule, refusals apart, and shows them in the table', () => {
    const builder = new SummaryBuilder(null);
    const file = (fields: Record<string, unknown>) => ({ ts: '2026-11-24T05:00:00Z', event: 'file', session: 's1', id: 'host1', rule: 'exchange', ...fields });
    builder.add(decision('2026-11-24T05:00:00Z', { decision: 'allow', rule: 'exchange' }));
    builder.add(file({ op: 'write', path: '/in/a.txt', bytes: 300 }));
    builder.add(file({ op: 'read', path: '/out/b.txt', bytes: 200 }));
    builder.add(file({ op: 'rename', path: '/in/a.tmp', to: '/in/a.txt' }));
    builder.add(file({ op: 'remove', path: '/in/old', refused: 'no-delete' }));
    builder.add(end('2026-11-24T05:01:00Z', { rule: 'exchange', files: { write: 1, read: 1, rename: 1, refused: 1 } }));
    expect(builder.result().rules.find((r) => r.rule === 'exchange')).toMatchObject({ allowed: 1, files: 3, filesRefused: 1, bytes: 500 });
    expect(formatSummary(builder.result(), '7d')).toMatch(/exchange .* 500 +3 \/1 refused/);
    expect(tableRow(file({ op: 'remove', path: '/in/old\u001b[2J', refused: 'no-delete' }))).toMatch(/file +exchange +remove \/in\/old\\x1b\[2J, refused: no-delete$/);
  });
});

describe('evaluateStatus', () => {
  const h = 3600_000;
  const nightly = (id: string): StatusCheck => ({ id, rule: 'nightly', warnMs: 26 * h, critMs: 52 * h, minBytes: null, burst: DEFAULT_BURST });
  const checks = [nightly('host1'), nightly('host2')];
  const ago = (hours: number) => now.getTime() - hours * h;
  const successAt = (id: string, hours: number) => ({ ...emptyHistory(), lastSuccess: ago(hours), successes: hours <= 26 ? 1 : 0, sessions: hours <= 26 ? 1 : 0 });
  const lines = (entries: [string, number][]) => evaluateStatus(checks, new Map(entries.map(([id, hours]) => [`${id}\0nightly`, successAt(id, hours)])), now);

  it.each([
    // [case, successes (identity, hours ago), exit code, the text before the perfdata]
    ['both in time', [['host1', 2], ['host2', 20]], 0, 'SSH-DISPATCH OK - all 2 rules succeeded in time; oldest success host2/nightly 20h ago'],
    ['one just at its period', [['host1', 2], ['host2', 26]], 0, 'SSH-DISPATCH OK - all 2 rules succeeded in time; oldest success host2/nightly 1d2h ago'],
    ['one past its period', [['host1', 2], ['host2', 30]], 1, 'SSH-DISPATCH WARNING - host2/nightly last success 1d6h ago (expected every 1d2h); 1 of 2 rules OK'],
    ['one past twice its period', [['host1', 2], ['host2', 53]], 2, 'SSH-DISPATCH CRITICAL - host2/nightly last success 2d5h ago (critical past 2d4h); 1 of 2 rules OK'],
    ['one never, one late', [['host1', 30]], 2, 'SSH-DISPATCH CRITICAL - host2/nightly no success logged; WARNING: host1/nightly last success 1d6h ago (expected every 1d2h); 0 of 2 rules OK'],
    ['a success stamped in the future (clock set back)', [['host1', -1], ['host2', 1]], 0, 'SSH-DISPATCH OK - all 2 rules succeeded in time; oldest success host2/nightly 1h ago'],
  ] as const)('%s', (_case, successes, code, text) => {
    const r = lines(successes.map(([id, hours]) => [id, hours]));
    expect([r.code, r.line.split(' | ')[0]]).toEqual([code, text]);
    expect(r.line.split('\n')).toHaveLength(1);
  });

  it('never says "no success" of a rule that has one, however short its thresholds (a success 52 s ago)', () => {
    const r = evaluateStatus([{ id: 'a', rule: 'r', warnMs: 26_000, critMs: 52_000, minBytes: null, burst: DEFAULT_BURST }], new Map([['a\0r', { ...emptyHistory(), lastSuccess: now.getTime() - 53_000 }]]), now);
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
    [0, '0s'], [52_000, '52s'], [14 * 60_000 + 5_000, '14m'], [3 * h, '3h'], [8 * h + 26 * 60_000, '8h26m'], [26 * h, '1d2h'], [48 * h, '2d'], [-5, '0s'],
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
      { ts: at(hours), event: 'decision', session, id: 'host1', user: 'root', rule: 'nightly', decision: 'allow', handoff: 'spawn', ...decisionExtra },
      { ts: at(hours - 0.01), event: 'end', session, id: 'host1', rule: 'nightly', exit: 0, outcome: 'exited', duration_ms: 5, ...end },
    ];
  };
  const check = (extra: Partial<StatusCheck> = {}): StatusCheck => ({ id: 'host1', rule: 'nightly', warnMs: 26 * h, critMs: 52 * h, minBytes: null, burst: DEFAULT_BURST, ...extra });
  const verdict = (records: Record<string, unknown>[], extra: Partial<StatusCheck> = {}) => {
    const builder = new StatusBuilder([check(extra)], now);
    for (const record of records) builder.add(record);
    const r = evaluateStatus([check(extra)], builder.result(), now, builder.readSince);
    return { code: r.code, text: r.line.split(' | ')[0]!, perf: r.line.split(' | ')[1]!, history: builder.result().get('host1\0nightly')! };
  };
  const owner23 = run(3, { exit: 23 });
  const thief = run(1, { bytes: 10 });

  it.each([
    // [case, records, check, exit code, text]
    ['a normal night', [...run(30), ...run(6)], {}, 0, 'SSH-DISPATCH OK - the rule succeeded in time; oldest success host1/nightly 5h59m ago'],
    ['the owner’s run exited 23, then a thief’s tiny push succeeded', [...run(27), ...owner23, ...thief], {}, 1, 'SSH-DISPATCH WARNING - host1/nightly a run failed within 1d2h, the last 2h59m ago (exit 23), though a later run succeeded; 0 of 1 rule OK'],
    ['the owner’s run exited 23, nothing since; yesterday’s success still in the period', [...run(25), ...run(3, { exit: 23 })], {}, 1, 'SSH-DISPATCH WARNING - host1/nightly a run failed within 1d2h, the last 2h59m ago (exit 23); 0 of 1 rule OK'],
    ['every run in the period failed (a receive refused at its floor, a flood refused: any non-zero exit)', [...run(30), ...run(20, { exit: 1, outcome: 'no-space' }), ...run(3, { exit: 1, outcome: 'flood-refused' })], {}, 2, 'SSH-DISPATCH CRITICAL - host1/nightly 2 runs failed within 1d2h, the last 2h59m ago (exit 1 flood-refused), none succeeded, last success 1d5h ago (expected every 1d2h); 0 of 1 rule OK'],
    ['a failure before the period no longer warns', [...run(40, { exit: 23 }), ...run(6)], {}, 0, 'SSH-DISPATCH OK - the rule succeeded in time; oldest success host1/nightly 5h59m ago'],
    ['a dry run that failed is a failure too', [...run(30), ...run(3, { exit: 0 }), ...run(2, { exit: 12 }, { dry_run: true })], {}, 1, 'SSH-DISPATCH WARNING - host1/nightly a run failed within 1d2h, the last 1h59m ago (exit 12); 0 of 1 rule OK'],
    ['11 sessions in the period: a burst', Array.from({ length: 11 }, (_, i) => run(20 - i)).flat(), {}, 1, 'SSH-DISPATCH WARNING - host1/nightly 11 sessions within 1d2h (a burst: more than 10); 0 of 1 rule OK'],
    ['10 sessions in the period: no burst', Array.from({ length: 10 }, (_, i) => run(20 - i)).flat(), {}, 0, 'SSH-DISPATCH OK - the rule succeeded in time; oldest success host1/nightly 10h59m ago'],
    ['--burst 2: 3 sessions are a burst', [...run(5), ...run(4), ...run(3)], { burst: 2 }, 1, 'SSH-DISPATCH WARNING - host1/nightly 3 sessions within 1d2h (a burst: more than 2); 0 of 1 rule OK'],
    ['a success below min-bytes (receive: bytes)', [...run(20, { bytes: 5000 }), ...run(2, { bytes: 10 })], { minBytes: 1000 }, 1, 'SSH-DISPATCH WARNING - host1/nightly a success 1h59m ago wrote 10 bytes (min-bytes 1000); 0 of 1 rule OK'],
    ['a success below min-bytes (writes.bytes first)', [...run(2, { bytes: 5000, writes: { created: ['a'], bytes: 10 } })], { minBytes: 1000 }, 1, 'SSH-DISPATCH WARNING - host1/nightly a success 1h59m ago wrote 10 bytes (min-bytes 1000); 0 of 1 rule OK'],
    ['a success that does not say its size, with min-bytes', [...run(2)], { minBytes: 1000 }, 1, 'SSH-DISPATCH WARNING - host1/nightly a success 1h59m ago did not say how many bytes it wrote (min-bytes 1000); 0 of 1 rule OK'],
    ['successes at min-bytes and above', [...run(20, { bytes: 1000 }), ...run(2, { writes: { bytes: 5000 } })], { minBytes: 1000 }, 0, 'SSH-DISPATCH OK - the rule succeeded in time; oldest success host1/nightly 1h59m ago'],
    ['a small success before the period no longer warns', [...run(30, { bytes: 1 }), ...run(2, { bytes: 5000 })], { minBytes: 1000 }, 0, 'SSH-DISPATCH OK - the rule succeeded in time; oldest success host1/nightly 1h59m ago'],
    ['foreign records claiming the rule: not counted, and said', [...run(60), ...run(2).map((r) => ({ ...r, foreign: "in backup's log, identity host1 may not log into backup" }))], {}, 2, 'SSH-DISPATCH CRITICAL - host1/nightly last success 2d11h ago (critical past 2d4h), 2 foreign records in account logs not counted (ssh-dispatch logs --rule nightly marks them); 0 of 1 rule OK'],
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

describe('wrotePath: the records that say their session wrote a path', () => {
  const writes = (fields: Record<string, unknown>) => ({ ts: '2026-11-24T05:00:00Z', event: 'end', session: 's1', id: 'host1', rule: 'push', exit: 0, outcome: 'exited', writes: { created: [], replaced: [], removed: [], bytes: 0, ...fields } });
  const file = (fields: Record<string, unknown>) => ({ ts: '2026-11-24T05:00:00Z', event: 'file', session: 's1', id: 'host1', rule: 'exchange', ...fields });
  it.each([
    ['created, the name itself', writes({ created: ['daily.0/etc/passwd'] }), 'daily.0/etc/passwd', true],
    ['created, a directory above it', writes({ created: ['daily.0/etc/passwd'] }), 'daily.0', true],
    ['created, a directory above it with a slash', writes({ created: ['daily.0/etc/passwd'] }), 'daily.0/', true],
    ['a leading slash is optional', writes({ replaced: ['daily.0/etc/passwd'] }), '/daily.0/etc', true],
    ['removed', writes({ removed: ['old.tar'] }), 'old.tar', true],
    ['a name that only starts the same', writes({ created: ['daily.01/x'] }), 'daily.0', false],
    ['another name', writes({ created: ['a'] }), 'b', false],
    ['an end record without writes', { event: 'end', session: 's1', file: 'x.tar' }, 'x.tar', false],
    ['writes that is no object', { event: 'end', session: 's1', writes: 'x.tar' }, 'x.tar', false],
    ['an sftp write', file({ op: 'write', path: '/in/a.txt', bytes: 3 }), '/in/a.txt', true],
    ['an sftp write, without the slash', file({ op: 'write', path: '/in/a.txt', bytes: 3 }), 'in', true],
    ['an sftp rename to it', file({ op: 'rename', path: '/in/a.tmp', to: '/in/a.txt' }), '/in/a.txt', true],
    ['an sftp remove', file({ op: 'remove', path: '/in/a.txt' }), '/in/a.txt', true],
    ['an sftp read is no write', file({ op: 'read', path: '/in/a.txt', bytes: 3 }), '/in/a.txt', false],
    ['a refused write wrote nothing', file({ op: 'write', path: '/in/a.txt', refused: 'no-overwrite' }), '/in/a.txt', false],
    ['a decision record', { event: 'decision', session: 's1', command: 'rsync --server . daily.0' }, 'daily.0', false],
  ] as const)('%s', (_case, record, path, expected) => expect(wrotePath(record as Record<string, unknown>, path)).toBe(expected));
});
