/**
 * Every audit record is bounded (issue 14: a 35-byte `many/*` pull wrote a 660 KB record): a cut
 * field keeps its head, the count or byte size of the whole and the whole's sha256.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decide, type Decision } from '../../src/decide/decide.js';
import { boundRecord, decisionRecord, endRecord, fileRecord, learnRecord, MAX_RECORD_BYTES } from '../../src/audit/record.js';
import { toLogLine } from '../../src/audit/escape.js';
import { execPlan, policyFrom, requestFor } from '../helpers.js';

const policy = policyFrom(`
version: 1
identities:
  h:
    rules:
      - { name: pull, rsync: { root: /srv/restore, access: read } }
      - { name: sizes, exec: { command: "du -sh /srv/backup/*", program: /usr/bin/du } }
`);

const sha = (text: string) => createHash('sha256').update(text).digest('hex');
const PULL = 'rsync --server --sender -logDtpre.iLsfxCIvu . many/*';

/** The allowed pull with its wildcard expanded to `n` names, as host-decision.ts hands it over. */
function expandedPull(n: number): { decision: Decision; argv: string[] } {
  const decision = decide(policy, requestFor('h', PULL, {}));
  const plan = execPlan(decision);
  const names = Array.from({ length: n }, (_, i) => `many/${'f'.repeat(50)}-${String(i).padStart(5, '0')}`);
  const argv = [...plan.argv.slice(0, -1), ...names];
  return { decision: { ...decision, plan: { ...plan, argv } } as Decision, argv };
}

describe('decision records are bounded', () => {
  it('keeps a small record as it is', () => {
    const record: Record<string, unknown> = decisionRecord(
      's',
      requestFor('h', 'du -sh /srv/backup/x', {}),
      decide(policy, requestFor('h', 'du -sh /srv/backup/x', {})),
    );
    expect(record.argv).toEqual(['/usr/bin/du', '-sh', '/srv/backup/x']);
    expect(record).not.toHaveProperty('argv_count');
  });

  it('cuts the argv of a pull of many/* to its head, its count and its digest', () => {
    const { decision, argv } = expandedPull(10_000);
    expect(toLogLine({ argv }).length).toBeGreaterThan(600_000);
    const record: Record<string, unknown> = decisionRecord('s', requestFor('h', PULL, {}), decision);
    expect(toLogLine(record).length).toBeLessThanOrEqual(MAX_RECORD_BYTES);
    const head = record.argv as string[];
    expect(head.slice(0, 3)).toEqual(argv.slice(0, 3));
    expect(head.length).toBeGreaterThan(3);
    expect(head.length).toBeLessThan(argv.length);
    expect(record.argv_count).toBe(argv.length);
    expect(record.argv_sha256).toBe(sha(JSON.stringify(argv)));
    expect(record.command).toBe(PULL);
  });

  it.each([
    ['a command of 4096 non-ASCII characters (6 bytes each in the log)', 'é'.repeat(4096)],
    ['a command of 4096 ESC characters', '\u001b'.repeat(4096)],
    ['a 64 KiB command', 'a'.repeat(65536)],
  ])('bounds %s', (_, command) => {
    const request = requestFor('h', command, {});
    const record = decisionRecord('s', request, decide(policy, request));
    expect(toLogLine(record).length).toBeLessThanOrEqual(MAX_RECORD_BYTES);
    expect(record.command_sha256).toBe(sha(command));
    expect(record.command_bytes).toBe(Buffer.byteLength(command));
    expect(command.startsWith(String(record.command))).toBe(true);
  });

  it('bounds a learn record, which keeps no argv', () => {
    const command = 'é'.repeat(4096);
    const record = learnRecord('s', requestFor('h', command, {}), null);
    expect(toLogLine(record).length).toBeLessThanOrEqual(MAX_RECORD_BYTES);
    expect(record).not.toHaveProperty('argv_count');
    expect(record.decision).toBe('learn');
  });

  it('bounds an end record with many pruned files and a long error', () => {
    const pruned = Array.from({ length: 5000 }, (_, i) => `upload-${i}.tar`);
    const record: Record<string, unknown> = endRecord({ session: 's', identity: 'h' }, new Date(0), {
      rule: 'r',
      exit: 0,
      signal: null,
      durationMs: 1,
      outcome: 'stored',
      pruned,
      error: 'x'.repeat(50_000),
    });
    expect(toLogLine(record).length).toBeLessThanOrEqual(MAX_RECORD_BYTES);
    expect(record.pruned_count).toBe(5000);
    expect(record.error_bytes).toBe(50_000);
  });

  it('never cuts a surrogate pair in half', () => {
    const record = boundRecord({ text: '😀'.repeat(20_000) });
    expect(String(record.text)).toMatch(/^(?:\ud83d\ude00)*$/);
    expect(toLogLine(record).length).toBeLessThanOrEqual(MAX_RECORD_BYTES);
  });
});

describe('a session that logged in with a certificate', () => {
  const certificate = {
    keyId: 'alice@laptop',
    serial: '18446744073709551615',
    principals: ['alice', 'ops'],
    validAfter: 0,
    validBefore: null,
    ca: 'SHA256:D1+Hce+LcosgSaKpw5UPpJuD58iiigsDBy289yBr6xk',
  };

  it('the decision record carries key id, serial, principals and CA', () => {
    const request = requestFor('h', 'du -sh /srv/backup/x', { certificates: [certificate] });
    expect(decisionRecord('s', request, decide(policy, request))).toMatchObject({
      decision: 'allow',
      cert_id: 'alice@laptop',
      cert_serial: '18446744073709551615',
      cert_principals: ['alice', 'ops'],
      cert_ca: certificate.ca,
    });
  });

  it('so do a denial and a learn record', () => {
    const request = requestFor('h', 'rm -rf /', { certificates: [certificate] });
    expect(decisionRecord('s', request, decide(policy, request))).toMatchObject({
      decision: 'deny',
      cert_id: 'alice@laptop',
      cert_serial: '18446744073709551615',
    });
    expect(learnRecord('s', request, null)).toMatchObject({ decision: 'learn', cert_id: 'alice@laptop' });
  });

  it('end and file records carry key id and serial', () => {
    const subject = { session: 's', identity: 'h', certificate };
    expect(endRecord(subject, new Date(0), { rule: 'r', exit: 0, signal: null, durationMs: 1, outcome: 'exited' })).toMatchObject({
      event: 'end',
      cert_id: 'alice@laptop',
      cert_serial: '18446744073709551615',
    });
    expect(fileRecord(subject, 'r', new Date(0), { op: 'read', path: '/x' })).toMatchObject({
      event: 'file',
      cert_id: 'alice@laptop',
      cert_serial: '18446744073709551615',
    });
  });

  it('a plain key adds no certificate fields', () => {
    const request = requestFor('h', 'du -sh /srv/backup/x');
    expect(Object.keys(decisionRecord('s', request, decide(policy, request))).filter((k) => k.startsWith('cert'))).toEqual([]);
    expect(
      Object.keys(
        endRecord({ session: 's', identity: 'h' }, new Date(0), { rule: 'r', exit: 0, signal: null, durationMs: 1, outcome: 'exited' }),
      ).filter((k) => k.startsWith('cert')),
    ).toEqual([]);
  });
});
