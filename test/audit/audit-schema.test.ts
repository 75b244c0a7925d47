/**
 * The writer against the published schema (schema/audit.schema.json): every record the real
 * builders make (every event, every outcome, learn for each rule kind) validates, and every field
 * they write is one the schema names; the readers' hand-written check (audit/validate.ts) and the
 * schema give the same verdict on a corpus of good records and of records broken field by field.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { decide } from '../../src/decide/decide.js';
import { decisionRecord, endRecord, fileRecord, learnRecord, type EndFacts } from '../../src/audit/record.js';
import type { AuditRecord } from '../../src/audit/record-types.js';
import { asRecord, END_OUTCOMES, FILE_OPS } from '../../src/audit/validate.js';
import type { RsyncFeatures } from '../../src/rules/rsync/features.js';
import { policyFrom, requestFor } from '../helpers.js';

type Schema = { $defs: Record<string, { properties: Record<string, unknown>; required: string[] }> };
const schema = JSON.parse(readFileSync(fileURLToPath(new URL('../../schema/audit.schema.json', import.meta.url)), 'utf8')) as Schema;
const validate = new Ajv2020({ allErrors: true, strict: true, strictRequired: false }).compile(schema);

const policy = policyFrom(`
version: 1
identities:
  h:
    rules:
      - { name: du, exec: { command: du -sh /srv/backup/*, program: /usr/bin/du, cwd: /srv } }
      - { name: git, exec: { command: [git-upload-pack, "/srv/git/*.git"], program: /usr/bin/git-upload-pack, pass-env: [GIT_PROTOCOL], supervise: false } }
      - { name: boxed, exec: { command: tar -cf - /srv/data, program: /usr/bin/tar, sandbox: { read: [/srv/data], write: [] } } }
      - { name: push, rsync: { root: /srv/backup/h, access: write, nice: 19, ionice: idle } }
      - { name: upload, receive: { dir: /srv/up, name: "b-{timestamp}.tar", client-name: "*.tar" } }
      - { name: hop, relay: { to: ["target.internal:22"] } }
      - { name: drop, sftp: { root: /srv/drop, access: read-write, delete: true } }
`);
const facts = { rsync: new Map<string, RsyncFeatures>([['/usr/bin/rsync', { version: '3.5.0', confineRoot: true, dropD: true }]]) };
const certificate = {
  keyId: 'alice@laptop',
  serial: '18446744073709551615',
  principals: ['alice', 'ops'],
  validAfter: 0,
  validBefore: null,
  ca: 'SHA256:D1+Hce+LcosgSaKpw5UPpJuD58iiigsDBy289yBr6xk',
};

/** One command each rule kind allows, and the rule that must allow it. */
const ALLOWED: [string, string][] = [
  ['du', 'du -sh /srv/backup/x'],
  ['git', "git-upload-pack '/srv/git/a.git'"],
  ['boxed', 'tar -cf - /srv/data'],
  ['push', 'rsync --server -logDtpre.iLsfxCIvu . dst/'],
  ['upload', 'receive db.tar'],
  ['hop', 'nc target.internal 22'],
  ['drop', 'internal-sftp'],
  ['drop', 'scp -t /in/a.txt'],
];

const request = (command: string | null, extra = {}) => requestFor('h', command, { env: { GIT_PROTOCOL: 'version=2' }, ...extra });
const subject = { session: '0123456789abcdef', identity: 'h' };
const endFacts = (outcome: EndFacts['outcome'], more: Partial<EndFacts> = {}): EndFacts => ({
  rule: 'r',
  exit: outcome === 'exited' || outcome === 'stored' || outcome === 'closed' ? 0 : 1,
  signal: null,
  durationMs: 12,
  outcome,
  ...more,
});
const writes = {
  created: ['a'],
  replaced: [],
  removed: ['b'],
  created_count: 1,
  replaced_count: 0,
  removed_count: 1,
  bytes: 3,
  sha256: 'ab'.repeat(32),
};

function built(): [string, AuditRecord][] {
  const records: [string, AuditRecord][] = [];
  for (const [rule, command] of ALLOWED) {
    const decision = decide(policy, request(command), facts);
    expect(decision.decision === 'allow' ? decision.rule.name : decision.reason, command).toBe(rule);
    records.push([`allow ${command}`, decisionRecord(subject.session, request(command), decision)]);
    records.push([`learn, would allow ${command}`, learnRecord(subject.session, request(command), decision)]);
  }
  const denied = decide(policy, request('rm -rf /'), facts);
  records.push(['deny', decisionRecord(subject.session, request('rm -rf /'), denied)]);
  records.push(['deny, no command', decisionRecord(subject.session, request(null), decide(policy, request(null), facts))]);
  records.push([
    'deny, certificate, two keys, a cut command',
    decisionRecord(
      subject.session,
      request(`ls ${'x'.repeat(5000)}`, { certificates: [certificate], keys: ['SHA256:a', 'SHA256:b'] }),
      decide(policy, request(`ls ${'x'.repeat(5000)}`), facts),
    ),
  ]);
  records.push([
    'allow, protected args',
    decisionRecord(
      subject.session,
      request('rsync --server -logDtpre.iLsfxCIvus . dst/', { protectedArgs: ['dst/'] }),
      decide(policy, request('rsync --server -logDtpre.iLsfxCIvu . dst/'), facts),
    ),
  ]);
  records.push(['learn, would deny', learnRecord(subject.session, request('rm -rf /'), denied)]);
  records.push(['learn, no policy', learnRecord(subject.session, request('rm -rf /', { certificates: [certificate] }), null)]);
  const until = new Date('2026-12-09T06:00:00Z');
  const ran = { argv: ['/usr/bin/rm', '-rf', '/'], sandbox: { read: ['/srv/in'], write: ['/srv/out'] } };
  records.push(['learn-run, ran', learnRecord(subject.session, request('rm -rf /'), denied, { until, ran })]);
  records.push(['learn-run, window ended', learnRecord(subject.session, request('rm -rf /'), null, { until })]);
  for (const outcome of END_OUTCOMES) records.push([`end ${outcome}`, endRecord(subject, new Date(0), endFacts(outcome))]);
  records.push([
    'end, every fact',
    endRecord(
      { ...subject, certificate },
      new Date(0),
      endFacts('exited', {
        error: 'x',
        file: 'f',
        bytes: 3,
        sha256: 'ab'.repeat(32),
        pruned: ['old'],
        withheld: ['/etc/shadow'],
        removed: ['.tmp'],
        kept: ['k'],
        files: { read: 1, refused: 2 },
        writes,
        setAside: '/srv/.aside',
        restored: ['d'],
        address: '10.0.0.5:22',
        bytesIn: 1,
        bytesOut: 2,
      }),
    ),
  ]);
  records.push(['end signaled', endRecord(subject, new Date(0), { ...endFacts('signaled'), signal: 'SIGKILL', exit: 137 })]);
  records.push([
    'end, cut',
    endRecord(
      subject,
      new Date(0),
      endFacts('stored', { pruned: Array.from({ length: 5000 }, (_, i) => `upload-${i}.tar`), error: 'x'.repeat(50_000) }),
    ),
  ]);
  for (const op of FILE_OPS) records.push([`file ${op}`, fileRecord(subject, 'drop', new Date(0), { op, path: '/in/a' })]);
  records.push([
    'file, every field',
    fileRecord({ ...subject, certificate }, 'drop', new Date(0), {
      op: 'rename',
      path: '/in/a',
      to: '/in/b',
      bytes: 3,
      refused: 'no-delete',
      created: true,
      replaced: true,
    }),
  ]);
  return records;
}

const CUT_MARK = /^(.+)_(bytes|count|sha256)$/;

describe('every record the builders write validates against schema/audit.schema.json', () => {
  it.each(built())('%s', (_what, record) => {
    const line = JSON.parse(JSON.stringify(record)) as Record<string, unknown>;
    expect(validate(line), JSON.stringify(validate.errors)).toBe(true);
    expect(asRecord(line)).not.toBeNull();
    // Closed as written: every field is one the schema names, or a cut field's length, count or digest.
    const named = schema.$defs[String(line.event)]!.properties;
    for (const key of Object.keys(line)) expect(key in named || (CUT_MARK.test(key) && CUT_MARK.exec(key)![1]! in line), key).toBe(true);
  });

  it('covers every event and outcome the schema names', () => {
    const records = built().map(([, r]) => r as Record<string, unknown>);
    expect(new Set(records.map((r) => r.event))).toEqual(new Set(Object.keys(schema.$defs).filter((d) => d !== 'cut')));
    expect(new Set(records.map((r) => r.outcome).filter(Boolean))).toEqual(
      new Set((schema.$defs.end!.properties.outcome as { enum: string[] }).enum),
    );
  });

  it('a learn record holds the request and the verdict, no plan of any kind', () => {
    const request = [
      'ts',
      'event',
      'session',
      'id',
      'user',
      'client',
      'key',
      'keys',
      'cert_id',
      'cert_serial',
      'cert_principals',
      'cert_ca',
      'command',
      'command_bytes',
      'command_sha256',
      'protected_args',
    ];
    for (const [what, record] of built().filter(([what]) => what.startsWith('learn,'))) {
      expect(
        Object.keys(record).filter((key) => !request.includes(key)),
        what,
      ).toEqual(['decision', 'would']);
    }
    // --learn-run: its window, and, where the command ran, what ran and what it saw (serve/learn-run.ts).
    const [ranRecord, ended] = built()
      .filter(([what]) => what.startsWith('learn-run'))
      .map(([, record]) => Object.keys(record).filter((key) => !request.includes(key)));
    expect(ranRecord).toEqual(['decision', 'would', 'learn_until', 'ran', 'argv', 'sandbox']);
    expect(ended).toEqual(['decision', 'would', 'learn_until']);
  });
});

/** Values of every JSON type, one of which is wrong for any field. */
const WRONG: unknown[] = [null, 7, -1, 1.5, 'text', '', true, [], ['a'], [1], {}, { cut: true }, { a: 'b' }, { a: -1 }];

describe("the readers' check and the schema agree", () => {
  const good = built().map(([, r]) => JSON.parse(JSON.stringify(r)) as Record<string, unknown>);
  // Old logs: the shapes of records written by earlier versions (and the tests' fixtures).
  good.push(
    { ts: '2026-01-01T00:00:00Z', event: 'decision', session: 'old2', id: 'host1', decision: 'deny', reason: 'no-command', command: null },
    {
      ts: '2026-01-01T00:00:00.000Z',
      event: 'decision',
      session: 's',
      id: 'h',
      rule: 'r',
      decision: 'allow',
      client: '192.0.2.10:40000',
      command: 'x',
      handoff: 'spawn',
    },
    {
      ts: '2026-01-01T00:00:00.000Z',
      event: 'decision',
      session: 's',
      id: 'h',
      user: 'root',
      decision: 'learn',
      command: 'ls',
      cwd: '/srv',
      sandbox: { read: [], write: ['/srv'] },
    },
    { ts: '2026-01-01T00:00:00.000Z', event: 'end', session: 's', id: 'h', rule: 'r', exit: 0, outcome: 'exited' },
  );
  const corpus: Record<string, unknown>[] = [...good];
  for (const record of good) {
    for (const key of Object.keys(record)) {
      const { [key]: _dropped, ...without } = record;
      corpus.push(without);
      for (const value of WRONG) corpus.push({ ...record, [key]: value });
      const nested = record[key];
      if (nested !== null && typeof nested === 'object' && !Array.isArray(nested)) {
        for (const inner of Object.keys(nested))
          for (const value of WRONG) corpus.push({ ...record, [key]: { ...nested, [inner]: value } });
      }
    }
    corpus.push({ ...record, event: 'login' }, { ...record, unknown_field: 1 }, { ...record, ts: '2026-01-01 00:00:00' });
  }
  corpus.push(
    {},
    { event: 'decision' },
    { event: 'end', ts: '2026-01-01T00:00:00Z', session: 's', id: 'h', rule: 'r', exit: 0, outcome: 'finished' },
  );

  it(`on ${corpus.length} records, good and broken`, () => {
    const disagreements = corpus
      .filter((record) => validate(record) !== (asRecord(record) !== null))
      .map((record) => JSON.stringify(record).slice(0, 300));
    expect(disagreements).toEqual([]);
    // The corpus holds both verdicts in number: agreement on all-good or all-bad would prove nothing.
    const refused = corpus.filter((record) => asRecord(record) === null).length;
    expect(refused).toBeGreaterThan(corpus.length / 4);
    expect(corpus.length - refused).toBeGreaterThan(corpus.length / 10);
  });

  it('arrays and non-objects are no records', () => {
    for (const value of [null, 1, 'x', [], [{ event: 'end' }]]) {
      expect(validate(value)).toBe(false);
      expect(asRecord(value)).toBeNull();
    }
  });
});
