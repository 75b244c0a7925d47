/**
 * replay's pure core (audit/replay.ts): records written by the real record builder for requests
 * decided under one policy, decided again under another. One row per edit an admin makes: a rule
 * removed, added, narrowed, renamed; traffic the edit does not touch is never listed. Then counts
 * and grouping, refusals the policy did not make, the cap, and the request rebuilt from its record
 * (the hostile corpus and certificates, keys and rsync -s arguments replay unchanged under the
 * policy they were decided by).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decisionRecord, learnRecord } from '../../src/audit/record.js';
import { toLogLine } from '../../src/audit/escape.js';
import { asRecord } from '../../src/audit/validate.js';
import type { LoggedRecord } from '../../src/audit/record-types.js';
import { lineMayBeDecision, Replay, REFUSED_BY, replayRecords, type ReplayOptions, type ReplayResult } from '../../src/audit/replay.js';
import { formatReplay, replayJson } from '../../src/audit/replay-table.js';
import { localTime } from '../../src/audit/log-table.js';
import { parseClient, requestOf } from '../../src/audit/replay-request.js';
import { decide } from '../../src/decide/decide.js';
import { deny } from '../../src/decide/decision.js';
import type { Policy } from '../../src/policy/schema.js';
import type { Request } from '../../src/request/request.js';
import { policyFrom, requestFor } from '../helpers.js';
import { legitimate, rows, writeHostilePolicy } from '../hostile-corpus.js';

const KEY = 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s';

/** host1's policy, with `rules` as its rules block. */
const policyWith = (rules: string, extra = '') =>
  policyFrom(`version: 1
identities:
  host1:
${extra}    rules:
${rules}
  host2:
    rules:
      - { name: ping, exec: { command: "true", program: /bin/true } }
`);

const NIGHTLY = '      - { name: nightly, rsync: { root: /srv/backup/host1, access: write } }\n';
const RESTORE = '      - { name: restore, rsync: { root: /srv/backup/host1, access: read } }\n';
const DISK = '      - { name: disk, exec: { command: "df -h /srv", program: /bin/df } }\n';
const PUSH = 'rsync --server -logDtpre.iLsfxCIvu . 2026-11-24/';
const PULL = 'rsync --server --sender -logDtpre.iLsfxCIvu . 2026-11-24/';

let sessions = 0;
/** A record as the dispatcher writes it and a reader gets it back: decided under `policy`, logged, read. */
function logged(policy: Policy, request: Request): LoggedRecord {
  return readBack(decisionRecord(`s${sessions++}`, request, decide(policy, request)));
}
function readBack(record: object): LoggedRecord {
  const read = asRecord(JSON.parse(toLogLine(record)));
  if (read === null) throw new Error(`not a record: ${toLogLine(record)}`);
  return read;
}
async function* each(records: LoggedRecord[]): AsyncGenerator<LoggedRecord> {
  yield* records;
}
const replayUnder = (after: Policy, records: LoggedRecord[], options: Partial<ReplayOptions> = {}): Promise<ReplayResult> =>
  replayRecords(each(records), { decideAfter: (request) => decide(after, request), ...options });
/** The changes as `id: command: before -> after xN`. */
const lines = (result: ReplayResult) =>
  result.changes.map(
    (c) =>
      `${c.id}: ${c.command}: ${c.before.decision === 'allow' ? c.before.rule : c.before.reason} -> ${c.after.decision === 'allow' ? c.after.rule : c.after.reason} x${c.count}`,
  );

describe('an edit, decided again: what changes is listed, nothing else', () => {
  const before = policyWith(NIGHTLY + RESTORE + DISK, '    from: [192.0.2.0/24]\n');
  const traffic = () => [
    logged(before, requestFor('host1', PUSH)),
    logged(before, requestFor('host1', PULL)),
    logged(before, requestFor('host1', 'df -h /srv')),
    logged(before, requestFor('host1', 'sh -c id')),
    logged(before, requestFor('host2', 'true')),
  ];
  it.each([
    ['nothing edited', policyWith(NIGHTLY + RESTORE + DISK, '    from: [192.0.2.0/24]\n'), []],
    [
      'a rule removed: allow becomes deny',
      policyWith(NIGHTLY + DISK, '    from: [192.0.2.0/24]\n'),
      [`host1: ${PULL}: restore -> rsync-direction-refused x1`],
    ],
    [
      'a rule added: deny becomes allow',
      policyWith(
        `${NIGHTLY + RESTORE + DISK}      - { name: shell, exec: { command: [sh, -c, id], program: /bin/sh } }\n`,
        '    from: [192.0.2.0/24]\n',
      ),
      ['host1: sh -c id: no-rule-matched -> shell x1'],
    ],
    [
      'a rule narrowed: its other requests are refused',
      policyWith(NIGHTLY + RESTORE.replace('access: read', 'access: write') + DISK, '    from: [192.0.2.0/24]\n'),
      [`host1: ${PULL}: restore -> rsync-direction-refused x1`],
    ],
    [
      'an identity narrowed: every request of it is refused, the other identity untouched',
      policyWith(NIGHTLY + RESTORE + DISK, '    from: [198.51.100.7]\n'),
      [
        'host1: df -h /srv: disk -> from-not-allowed x1',
        `host1: ${PULL}: restore -> from-not-allowed x1`,
        `host1: ${PUSH}: nightly -> from-not-allowed x1`,
      ],
    ],
    [
      'a rule renamed: allowed by another rule is a change',
      policyWith(NIGHTLY + RESTORE + DISK.replace('name: disk', 'name: disk-free'), '    from: [192.0.2.0/24]\n'),
      ['host1: df -h /srv: disk -> disk-free x1'],
    ],
  ])('%s', async (_edit, after, expected) => {
    const result = await replayUnder(after, traffic());
    expect(lines(result)).toEqual(expected);
    expect(result.replayed).toBe(5);
    expect(result.unchanged + result.otherRefusal + result.changes.length).toBe(5);
  });

  it('a refusal that stays a refusal for another reason is counted, not listed', async () => {
    // The shell command: no-rule-matched before; from-not-allowed after.
    const result = await replayUnder(policyWith(NIGHTLY + RESTORE + DISK, '    from: [198.51.100.7]\n'), traffic());
    expect(result.otherRefusal).toBe(1);
    expect(lines(result).some((line) => line.includes('sh -c id'))).toBe(false);
  });
});

describe('counts and grouping', () => {
  const before = policyWith(NIGHTLY + DISK);
  const after = policyWith(NIGHTLY);
  const at = (day: number, overrides: Partial<Request> = {}) =>
    requestFor('host1', 'df -h /srv', { now: new Date(Date.UTC(2026, 10, day)), ...overrides });

  it('one request seen three times, from two clients, is one change with its count, first and last', async () => {
    const records = [
      logged(before, at(12)),
      logged(before, at(10, { client: { address: '198.51.100.9', port: 2 } })),
      logged(before, at(14)),
      logged(before, requestFor('host1', PUSH)),
    ];
    const { changes, unchanged } = await replayUnder(after, records);
    expect(unchanged).toBe(1);
    expect(changes).toEqual([
      {
        id: 'host1',
        command: 'df -h /srv',
        before: { decision: 'allow', rule: 'disk' },
        after: { decision: 'deny', reason: 'no-rule-matched' },
        count: 3,
        first: '2026-11-10T00:00:00.000Z',
        last: '2026-11-14T00:00:00.000Z',
      },
    ]);
  });

  it('distinct commands, identities or verdicts are distinct changes, the most seen first', async () => {
    const both = policyFrom(`version: 1
identities:
  host1: { rules: [{ name: disk, exec: { command: "df ...", run: [/bin/df] } }] }
  host2: { rules: [{ name: disk, exec: { command: "df ...", run: [/bin/df] } }] }
`);
    const none = policyFrom('version: 1\nidentities:\n  host1: { rules: [] }\n');
    const records = [
      logged(both, requestFor('host1', 'df -h')),
      logged(both, requestFor('host1', 'df -i')),
      logged(both, requestFor('host1', 'df -i')),
      logged(both, requestFor('host2', 'df -i')),
    ];
    expect(lines(await replayUnder(none, records))).toEqual([
      'host1: df -i: disk -> no-rule-matched x2',
      'host1: df -h: disk -> no-rule-matched x1',
      'host2: df -i: disk -> unknown-identity x1',
    ]);
  });

  it('a session that sent no command is a change of its own (command null)', async () => {
    const receiving = policyWith('      - { name: tarball, receive: { dir: /srv/in, name: "t-{timestamp}.tar", accept-empty: true } }\n');
    const result = await replayUnder(policyWith(DISK), [logged(receiving, requestFor('host1', null))]);
    expect(result.changes.map((c) => [c.command, c.before, c.after])).toEqual([
      [null, { decision: 'allow', rule: 'tarball' }, { decision: 'deny', reason: 'no-command' }],
    ]);
  });

  it('first and last by time, whatever the spelling of the time', async () => {
    const record = logged(before, at(12));
    const spelled = (ts: string) => ({ ...record, ts }) as LoggedRecord;
    // 23:30 at -02:00 is 01:30 UTC the next day: the last, though its text sorts first.
    const result = await replayUnder(after, [
      spelled('2026-11-12T01:00:00.000Z'),
      spelled('2026-11-11T23:30:00.000-02:00'),
      spelled('2026-11-12T00:30:00.000Z'),
    ]);
    expect([result.changes[0]!.first, result.changes[0]!.last]).toEqual(['2026-11-12T00:30:00.000Z', '2026-11-11T23:30:00.000-02:00']);
  });

  it('records before the window are not read', async () => {
    const result = await replayUnder(after, [logged(before, at(1)), logged(before, at(20))], { since: new Date(Date.UTC(2026, 10, 15)) });
    expect([result.records, result.changes[0]?.count]).toEqual([1, 1]);
  });

  it('end and file records are not decisions: not counted', async () => {
    const end = readBack({
      ts: '2026-11-24T00:00:00.000Z',
      event: 'end',
      session: 's',
      id: 'host1',
      rule: 'disk',
      outcome: 'exited',
      exit: 0,
      duration_ms: 5,
    });
    expect((await replayUnder(after, [end])).records).toBe(0);
  });
});

describe('refusals the policy did not make, and records that cannot be replayed', () => {
  const policy = policyWith(DISK);
  const request = requestFor('host1', 'df -h /srv');
  const refused = (reason: Parameters<typeof deny>[0]) =>
    readBack(decisionRecord(`s${sessions++}`, request, deny(reason, `rule disk: ${reason}`)));

  it('against the record, a host or dispatcher refusal is counted by its code, not decided again; a rule refusal is', async () => {
    const records = [
      refused('max-sessions'),
      refused('max-sessions'),
      refused('sandbox-unavailable'),
      refused('rsync-symlink-escape'),
      refused('unsafe-environment'),
      refused('policy-unloadable'),
      refused('certificate-expired'),
      // The control: a refusal the rules made is decided again, and its change listed.
      refused('no-rule-matched'),
      readBack(learnRecord('l1', request, null)),
      { ...logged(policy, request), foreign: "in backup's log, identity host1 has no accounts: list" } as LoggedRecord,
      readBack({ ...decisionRecord('c1', { ...request, command: `df ${'x'.repeat(5000)}` }, decide(policy, request)) }),
    ];
    const result = await replayUnder(policy, records);
    expect(result.skipped).toEqual({
      'certificate-expired': 1,
      cut: 1,
      foreign: 1,
      learn: 1,
      'max-sessions': 2,
      'policy-unloadable': 1,
      'rsync-symlink-escape': 1,
      'sandbox-unavailable': 1,
      'unsafe-environment': 1,
    });
    expect([result.records, result.replayed]).toEqual([11, 1]);
    expect(lines(result)).toEqual(['host1: df -h /srv: no-rule-matched -> disk x1']);
  });

  it('with decideBefore (the applied policy), a host refusal is decided on both sides: unchanged here, listed when the edit changes it', async () => {
    const records = [refused('max-sessions'), refused('unsafe-environment')];
    const both = { decideBefore: (r: Request) => decide(policy, r) };
    expect(await replayUnder(policy, records, both)).toMatchObject({ replayed: 2, unchanged: 2, skipped: {}, changes: [] });
    expect(lines(await replayUnder(policyWith(NIGHTLY), records, both))).toEqual(['host1: df -h /srv: disk -> no-rule-matched x2']);
  });

  it('a decision that throws is refused (internal-error), as the forced path refuses it', async () => {
    const result = await replayUnder(policy, [logged(policy, request)], {
      decideAfter: () => {
        throw new Error('a bug');
      },
    });
    expect(lines(result)).toEqual(['host1: df -h /srv: disk -> internal-error x1']);
  });

  it("every refusal code has a row, and no code marked the host's or the dispatcher's is made by the pure decision", () => {
    const pure = ['decide/decide.ts', 'decide/admit.ts', 'decide/command.ts', 'request/tokenize.ts']
      .map((file) => readFileSync(new URL(`../../src/${file}`, import.meta.url), 'utf8'))
      .join('\n');
    const made = (code: string) => pure.includes(`'${code}'`);
    const notPolicy = Object.entries(REFUSED_BY).filter(([, by]) => by === 'host' || by === 'dispatcher');
    expect(notPolicy.filter(([code]) => made(code))).toEqual([]);
    // The control: the detector sees the codes decide/ does make.
    expect(['no-rule-matched', 'unknown-identity', 'tokenize-operator'].every(made)).toBe(true);
  });
});

describe('which lines replay parses', () => {
  it('none the dispatcher wrote for an end or a file; every decision, whatever its command holds', () => {
    const ts = '2026-11-24T00:00:00.000Z';
    const line = (record: object) => toLogLine(record).trimEnd();
    expect(
      lineMayBeDecision(line({ ts, event: 'end', session: 's', id: 'h', rule: 'r', outcome: 'exited', exit: 0, duration_ms: 1 })),
    ).toBe(false);
    expect(lineMayBeDecision(line({ ts, event: 'file', session: 's', id: 'h', rule: 'r', op: 'read', path: '/x' }))).toBe(false);
    // The control: decision records, one whose command spells an end record's start.
    const policy = policyWith(DISK);
    expect(
      lineMayBeDecision(line(decisionRecord('s', requestFor('host1', 'df -h /srv'), decide(policy, requestFor('host1', 'df -h /srv'))))),
    ).toBe(true);
    const sly = requestFor('host1', `echo '{"ts":"${ts}","event":"end"'`);
    expect(lineMayBeDecision(line(decisionRecord('s', sly, decide(policy, sly))))).toBe(true);
  });
});

describe('the cap', () => {
  const before = policyWith('      - { name: any, exec: { command: "echo ...", run: [/bin/echo] } }\n');
  const after = policyWith(DISK);
  const records = ['echo a', 'echo b', 'echo a', 'echo c', 'echo a'].map((command) => logged(before, requestFor('host1', command)));

  it('past maxChanges distinct changes, new ones are counted as cut; those kept go on counting', async () => {
    const result = await replayUnder(after, records, { maxChanges: 2 });
    expect(lines(result)).toEqual(['host1: echo a: any -> no-rule-matched x3', 'host1: echo b: any -> no-rule-matched x1']);
    expect(result.truncated).toBe(1);
    expect(
      formatReplay(result, { policy: '/p', since: new Date(0), window: '7 days', maxChanges: 2, before: 'the recorded decisions' }),
    ).toContain('Cut: 1 more record of changed requests not listed (more than 2 distinct requests');
  });

  it('and past maxCommandChars of commands', async () => {
    const result = await replayUnder(after, records, { maxCommandChars: 6 });
    expect([result.changes.length, result.truncated]).toEqual([1, 2]);
  });

  it('the Replay class is the same reduction, record by record', () => {
    const replay = new Replay({ decideAfter: (request) => decide(after, request), maxChanges: 2 });
    for (const record of records) replay.add(record);
    expect(replay.result().truncated).toBe(1);
  });
});

describe('the request rebuilt from its record', () => {
  it('the hostile corpus, decided by the record builder and replayed under the same policy, changes nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ssh-dispatch-replay-'));
    try {
      const policy = policyFrom(readFileSync(writeHostilePolicy(dir), 'utf8'));
      const records = [...rows, ...legitimate].map(([command]) => logged(policy, requestFor('h', command)));
      const result = await replayUnder(policy, records);
      expect(result.changes).toEqual([]);
      // The corpus's commands over 4096 characters are cut in their records: not replayed, counted.
      const long = records.filter((r) => r.event === 'decision' && r.command_sha256 !== undefined).length;
      expect(long).toBeGreaterThan(0);
      expect([result.replayed, result.skipped]).toEqual([records.length - long, { cut: long }]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keys, a certificate, rsync -s arguments, an IPv6 client and an expiry replay as they were decided', async () => {
    const policy = policyFrom(`version: 1
identities:
  keyed: { keys: ["${KEY}"], from: ["2001:db8::/32"], accounts: [backup], rules: [{ name: pull, rsync: { root: /srv/r, access: read } }] }
  certified: { principals: [backup-host1], rules: [{ name: disk, exec: { command: "df -h", program: /bin/df } }] }
  expiring: { expires: 2026-11-23, rules: [{ name: disk, exec: { command: "df -h", program: /bin/df } }] }
`);
    const certificate = { keyId: 'host1', serial: '7', principals: ['backup-host1'], validAfter: 0, validBefore: null, ca: 'SHA256:ca' };
    const v6 = { client: { address: '2001:db8::5', port: 2222 } };
    const requests = [
      requestFor('keyed', 'rsync --server --sender -s -logDtpre.iLsfxCIvu . x/', { ...v6, protectedArgs: ['rsync', '.', 'x/'] }),
      requestFor('keyed', 'rsync --server --sender -logDtpre.iLsfxCIvu . x/', v6),
      requestFor('keyed', 'rsync --server --sender -logDtpre.iLsfxCIvu . x/', { ...v6, keys: [KEY, 'SHA256:other'] }),
      requestFor('keyed', 'rsync --server --sender -logDtpre.iLsfxCIvu . x/', { ...v6, unreadableKeys: 1 }),
      requestFor('keyed', 'rsync --server --sender -logDtpre.iLsfxCIvu . x/'),
      requestFor('keyed', 'rsync --server --sender -logDtpre.iLsfxCIvu . x/', { ...v6, user: 'root' }),
      requestFor('certified', 'df -h', { certificates: [certificate] }),
      requestFor('certified', 'df -h', { certificates: [{ ...certificate, principals: ['other'] }] }),
      requestFor('certified', 'df -h'),
      requestFor('expiring', 'df -h', { now: new Date(2026, 10, 23, 23, 59) }),
      requestFor('expiring', 'df -h', { now: new Date(2026, 10, 24, 0, 1) }),
    ];
    const records = requests.map((request) => logged(policy, request));
    // The control: these are allowed and refused for as many reasons as there are checks.
    expect(new Set(records.map((r) => (r.event === 'decision' && r.decision === 'deny' ? r.reason : 'allow')))).toEqual(
      new Set([
        'allow',
        'key-not-allowed',
        'key-unknown',
        'from-not-allowed',
        'account-not-allowed',
        'certificate-principal-not-allowed',
        'certificate-missing',
        'identity-expired',
      ]),
    );
    const result = await replayUnder(policy, records);
    expect([result.changes, result.replayed]).toEqual([[], records.length]);
  });

  it.each([
    ['192.0.2.10:51234', { address: '192.0.2.10', port: 51234 }],
    ['[2001:db8::5]:22', { address: '2001:db8::5', port: 22 }],
    ['host.example:22', null],
    ['192.0.2.10', null],
  ])('the client %s reads back as %j', (text, expected) => {
    expect(parseClient(text)).toEqual(expected);
  });

  it('a record an older version wrote without user cannot be rebuilt: counted as incomplete', () => {
    const record = readBack({
      ts: '2026-11-24T00:00:00.000Z',
      event: 'decision',
      session: 's',
      id: 'h',
      decision: 'deny',
      reason: 'no-rule-matched',
      command: 'x',
    });
    expect(requestOf(record as Parameters<typeof requestOf>[0])).toEqual({ unrebuildable: 'incomplete' });
  });
});

describe('the text', () => {
  it('shows each change as a block, with what the client sent escaped, and the records not replayed with why', () => {
    // The tokenizer refuses a control character, so no such request is allowed; a log may hold one all the same.
    const result: ReplayResult = {
      records: 3,
      replayed: 1,
      unchanged: 0,
      otherRefusal: 0,
      truncated: 0,
      changes: [
        {
          id: 'host1',
          command: 'echo "\u001b[31mred"',
          before: { decision: 'allow', rule: 'any' },
          after: { decision: 'deny', reason: 'no-rule-matched' },
          count: 1,
          first: '2026-11-23T07:16:53.000Z',
          last: '2026-11-23T07:16:53.000Z',
        },
      ],
      skipped: { foreign: 1, 'max-sessions': 1 },
    };
    const text = formatReplay(result, {
      policy: '/etc/ssh-dispatch/policies',
      since: new Date(2026, 10, 17, 1, 2, 3),
      window: '7 days',
      maxChanges: 100_000,
      before: 'the served version 4',
    });
    expect(
      text,
    ).toBe(`Replayed under /etc/ssh-dispatch/policies: 3 decision records of the last 7 days (since 2026-11-17 01:02:03), 1 decided again; before is the served version 4.
1 request would be decided differently (1 record):

host1  echo "\\x1b[31mred"
  before  allow by rule any
  after   deny: no-rule-matched
  seen    1 time, first ${localTime('2026-11-23T07:16:53.000Z')}, last ${localTime('2026-11-23T07:16:53.000Z')}

Unchanged: 0; refused before and after, for another reason: 0.
Not replayed: 2 records:
  foreign             1  in an account's log, not counted (ssh-dispatch logs marks them)
  max-sessions        1  refused by this host after a rule allowed it
`);
  });

  it('--json, made a change at a time, is the result as one object', async () => {
    const before = policyWith('      - { name: any, exec: { command: "echo ...", run: [/bin/echo] } }\n');
    const records = ['echo a', 'echo "b"', 'echo c'].map((command) => logged(before, requestFor('host1', command)));
    for (const result of [await replayUnder(policyWith(DISK), records), await replayUnder(before, records)]) {
      const head = { policy: '/p', since: '2026-11-17T00:00:00.000Z' };
      expect(JSON.parse([...replayJson(result, head)].join(''))).toEqual({ ...head, ...result });
    }
  });

  it('says so when nothing changes', async () => {
    const policy = policyWith(DISK);
    const text = formatReplay(await replayUnder(policy, [logged(policy, requestFor('host1', 'df -h /srv'))]), {
      policy: '/p',
      since: new Date(0),
      window: '7 days',
      maxChanges: 1,
      before: 'the recorded decisions',
    });
    expect(text).toContain('\nNo recorded request would be decided differently.\n\nUnchanged: 1;');
  });
});
