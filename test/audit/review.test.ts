/** Reading the log back: windows, filters, summary and monitoring status, as pure functions. */
import { describe, expect, it } from 'vitest';
import { evaluateStatus, formatSummary, matches, parseWhen, SummaryBuilder, tableRow } from '../../src/audit/review.js';
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
  const expected = [
    { id: 'host1', rule: 'nightly' },
    { id: 'host2', rule: 'nightly' },
  ];
  const h = 3600_000;
  const at = (hoursAgo: number) => new Date(now.getTime() - hoursAgo * h).toISOString();
  it('OK when every rule succeeded within the window', () => {
    const r = evaluateStatus(expected, new Map([['host1\0nightly', at(2)], ['host2\0nightly', at(20)]]), now, 26 * h, 52 * h);
    expect(r.code).toBe(0);
    expect(r.line).toMatch(/^SSH-DISPATCH OK - 2 rule\(s\).*\| ok=2 stale=0 critical=0 oldest_s=72000$/);
  });
  it('WARNING when one is stale', () => {
    const r = evaluateStatus(expected, new Map([['host1\0nightly', at(2)], ['host2\0nightly', at(30)]]), now, 26 * h, 52 * h);
    expect([r.code, r.line.split(' |')[0]]).toEqual([1, 'SSH-DISPATCH WARNING - stale: host2/nightly']);
  });
  it('CRITICAL when one never succeeded', () => {
    const r = evaluateStatus(expected, new Map([['host1\0nightly', at(2)]]), now, 26 * h, 52 * h);
    expect([r.code, r.line.split(' |')[0]]).toEqual([2, 'SSH-DISPATCH CRITICAL - no success: host2/nightly (never)']);
  });
  it('UNKNOWN with nothing to check', () => expect(evaluateStatus([], new Map(), now, h, h).code).toBe(3));
});
