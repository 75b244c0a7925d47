/** Reading the log back: windows, filters, the summary, the sessions that wrote a path, as pure functions (the status verdict: health.test.ts). */
import { describe, expect, it } from 'vitest';
import { matches, parseWhen, wrotePath, type AuditRecord } from '../../src/audit/review.js';
import { tableRow } from '../../src/audit/log-table.js';
import { formatSummary, SummaryBuilder } from '../../src/audit/summary.js';
import { parseDuration } from '../../src/values/units.js';

const now = new Date('2026-11-24T12:00:00Z');
const decision = (ts: string, extra: Record<string, unknown>) =>
  ({
    ts,
    event: 'decision',
    session: 'aaaa1111',
    id: 'host1',
    user: 'root',
    client: '192.0.2.10:5000',
    command: 'x',
    ...extra,
  }) as AuditRecord;
const end = (ts: string, extra: Record<string, unknown>) =>
  ({
    ts,
    event: 'end',
    session: 'aaaa1111',
    id: 'host1',
    rule: 'nightly',
    exit: 0,
    outcome: 'exited',
    duration_ms: 5,
    ...extra,
  }) as AuditRecord;

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
  it('sessions (logs --path): a counted record by the counted set, a foreign one by the foreign set', () => {
    const sessions = { counted: new Set(['aaaa1111']), foreign: new Set(['bbbb2222']) };
    expect(matches(end('2026-11-24T10:00:01Z', {}), { sessions })).toBe(true);
    expect(matches(end('2026-11-24T10:00:01Z', { foreign: 'x' }), { sessions })).toBe(false);
    expect(matches(end('2026-11-24T10:00:01Z', { session: 'bbbb2222', foreign: 'x' }), { sessions })).toBe(true);
    expect(matches(end('2026-11-24T10:00:01Z', { session: 'bbbb2222' }), { sessions })).toBe(false);
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
    expect(tableRow(end('2026-11-24T10:00:01Z', { foreign: "in backup's log, identity host1 may not log into backup\u001b[2J" }))).toMatch(
      /exit 0, 5 ms  \[FOREIGN: in backup's log, identity host1 may not log into backup\\x1b\[2J, not counted\]$/,
    );
    expect(tableRow(end('2026-11-24T10:00:01Z', {}))).not.toContain('FOREIGN');
  });

  it('escapes control characters in the table', () => {
    expect(tableRow(decision('2026-11-24T10:00:00Z', { decision: 'deny', reason: 'x', command: 'ls\u001b[2J\nid' }))).not.toMatch(
      /[\u0000-\u001f]/,
    );
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
    for (let i = 0; i < 3; i++)
      builder.add(
        decision('2026-11-24T04:00:00Z', { decision: 'deny', reason: 'tokenize-operator', command: 'ls; id', client: '203.0.113.9:1' }),
      );
    builder.add(decision('2026-11-24T04:00:00Z', { decision: 'deny', reason: 'no-command', command: null }));
    const s = builder.result();
    expect(s.rules.find((r) => r.rule === 'nightly')).toMatchObject({ allowed: 2, failed: 1, lastSuccess: '2026-11-23T02:10:00Z' });
    expect(s.rules.find((r) => r.rule === 'tarball')).toMatchObject({
      allowed: 1,
      failed: 0,
      bytes: 1000,
      lastSuccess: '2026-11-24T03:01:00Z',
    });
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
    expect(s.rules).toEqual([
      expect.objectContaining({
        rule: 'nightly',
        allowed: 3,
        failed: 2,
        lastSuccess: '2026-11-24T03:01:00Z',
        lastFailure: '2026-11-24T02:10:00Z',
        lastFailureHow: 'exit 1 too-large',
      }),
    ]);
    expect(s.foreign).toBe(3);
    const text = formatSummary(s, '7d');
    expect(text).toContain('3 foreign record(s) in account logs not counted');
    expect(text).toMatch(/last success +last failure\n/);
    expect(text).toMatch(/nightly .* 2026-11-24 0[0-9]:01:00 +2026-11-24 0[0-9]:10:00 \(exit 1 too-large\)\n/);
    expect(text).not.toContain('invented');
  });

  it('counts an sftp session’s file records (and their bytes) per rule, refusals apart, and shows them in the table', () => {
    const builder = new SummaryBuilder(null);
    const file = (fields: Record<string, unknown>) =>
      ({ ts: '2026-11-24T05:00:00Z', event: 'file', session: 's1', id: 'host1', rule: 'exchange', ...fields }) as AuditRecord;
    builder.add(decision('2026-11-24T05:00:00Z', { decision: 'allow', rule: 'exchange' }));
    builder.add(file({ op: 'write', path: '/in/a.txt', bytes: 300 }));
    builder.add(file({ op: 'read', path: '/out/b.txt', bytes: 200 }));
    builder.add(file({ op: 'rename', path: '/in/a.tmp', to: '/in/a.txt' }));
    builder.add(file({ op: 'remove', path: '/in/old', refused: 'no-delete' }));
    builder.add(end('2026-11-24T05:01:00Z', { rule: 'exchange', files: { write: 1, read: 1, rename: 1, refused: 1 } }));
    expect(builder.result().rules.find((r) => r.rule === 'exchange')).toMatchObject({ allowed: 1, files: 3, filesRefused: 1, bytes: 500 });
    expect(formatSummary(builder.result(), '7d')).toMatch(/exchange .* 500 +3 \/1 refused/);
    expect(tableRow(file({ op: 'remove', path: '/in/old\u001b[2J', refused: 'no-delete' }))).toMatch(
      /file +exchange +remove \/in\/old\\x1b\[2J, refused: no-delete$/,
    );
  });
});

describe('wrotePath: the records that say their session wrote a path', () => {
  const writes = (fields: Record<string, unknown>) => ({
    ts: '2026-11-24T05:00:00Z',
    event: 'end',
    session: 's1',
    id: 'host1',
    rule: 'push',
    exit: 0,
    outcome: 'exited',
    writes: { created: [], replaced: [], removed: [], bytes: 0, ...fields },
  });
  const file = (fields: Record<string, unknown>) => ({
    ts: '2026-11-24T05:00:00Z',
    event: 'file',
    session: 's1',
    id: 'host1',
    rule: 'exchange',
    ...fields,
  });
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
  ] as const)('%s', (_case, record, path, expected) => expect(wrotePath(record as AuditRecord, path)).toBe(expected));
});
