/** Reading the log back: windows, filters, summary and monitoring status, as pure functions. */
import { describe, expect, it } from 'vitest';
import { evaluateStatus, formatSpan, formatSummary, matches, parseWhen, perfdatum, SummaryBuilder, tableRow } from '../../src/audit/review.js';
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
  const nightly = (id: string) => ({ id, rule: 'nightly', warnMs: 26 * h, critMs: 52 * h });
  const checks = [nightly('host1'), nightly('host2')];
  const ago = (hours: number) => now.getTime() - hours * h;
  const lines = (entries: [string, number][]) => evaluateStatus(checks, new Map(entries.map(([id, hours]) => [`${id}\0nightly`, ago(hours)])), now);

  it.each([
    // [case, successes (identity, hours ago), exit code, the text before the perfdata]
    ['both in time', [['host1', 2], ['host2', 20]], 0, 'SSH-DISPATCH OK - all 2 rules succeeded in time; oldest success host2/nightly 20h ago'],
    ['one just at its period', [['host1', 2], ['host2', 26]], 0, 'SSH-DISPATCH OK - all 2 rules succeeded in time; oldest success host2/nightly 1d2h ago'],
    ['one past its period', [['host1', 2], ['host2', 30]], 1, 'SSH-DISPATCH WARNING - host2/nightly last success 1d6h ago (expected every 1d2h); 1 of 2 rules in time'],
    ['one past twice its period', [['host1', 2], ['host2', 53]], 2, 'SSH-DISPATCH CRITICAL - host2/nightly last success 2d5h ago (critical past 2d4h); 1 of 2 rules in time'],
    ['one never, one late', [['host1', 30]], 2, 'SSH-DISPATCH CRITICAL - host2/nightly no success logged; WARNING: host1/nightly last success 1d6h ago (expected every 1d2h); 0 of 2 rules in time'],
    ['a success stamped in the future (clock set back)', [['host1', -1], ['host2', 1]], 0, 'SSH-DISPATCH OK - all 2 rules succeeded in time; oldest success host2/nightly 1h ago'],
  ] as const)('%s', (_case, successes, code, text) => {
    const r = lines(successes.map(([id, hours]) => [id, hours]));
    expect([r.code, r.line.split(' | ')[0]]).toEqual([code, text]);
    expect(r.line.split('\n')).toHaveLength(1);
  });

  it('never says "no success" of a rule that has one, however short its thresholds (a success 52 s ago)', () => {
    const r = evaluateStatus([{ id: 'a', rule: 'r', warnMs: 26_000, critMs: 52_000 }], new Map([['a\0r', now.getTime() - 53_000]]), now);
    expect(r.code).toBe(2);
    expect(r.line).toContain('a/r last success 53s ago (critical past 52s)');
    expect(r.line).not.toContain('no success');
  });

  it('says since when it read the log, for a rule with no success in it', () => {
    const r = evaluateStatus(checks, new Map(), now, '2026-11-20T06:25:00Z');
    expect(r.line).toMatch(/host1\/nightly no success logged since 2026-11-2[01] [0-9]{2}:25, host2/);
  });

  it('perfdata: quoted labels, ages in seconds with warn and crit, min 0, U for no success, counts bounded', () => {
    const r = lines([['host1', 20]]);
    expect(r.line.split(' | ')[1]).toBe("'ok'=1;;;0;2 'warning'=0;;;0;2 'critical'=1;;;0;2 'host1/nightly'=72000s;93600;187200;0 'host2/nightly'=U;93600;187200;0");
    expect(r.line).not.toMatch(/=-1/);
  });

  it.each([
    ['a value and unit', ['age', 5, 's', 10, 20, 0] as const, "'age'=5s;10;20;0"],
    ['unknown', ['age', null, 's', 10, 20, 0] as const, "'age'=U;10;20;0"],
    ['no thresholds: trailing fields dropped', ['n', 3, ''] as const, "'n'=3"],
    ['a label with quote and equals', ["it's=x", 1, ''] as const, "'it_s_x'=1"],
  ])('perfdatum: %s', (_case, args, expected) => {
    expect(perfdatum(...(args as unknown as Parameters<typeof perfdatum>))).toBe(expected);
  });

  it.each([
    [0, '0s'], [52_000, '52s'], [14 * 60_000 + 5_000, '14m'], [3 * h, '3h'], [8 * h + 26 * 60_000, '8h26m'], [26 * h, '1d2h'], [48 * h, '2d'], [-5, '0s'],
  ])('formatSpan(%d) = %s', (ms, text) => expect(formatSpan(ms)).toBe(text));

  it('UNKNOWN with nothing to check', () => expect(evaluateStatus([], new Map(), now).code).toBe(3));
});
