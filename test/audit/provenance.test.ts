/**
 * Whose records count (audit/provenance.ts): an account's own log is the account's to write, so
 * a record there counts only for an identity that may log into that account, with that account
 * as user, and the records after a decision only within a session whose decision counted.
 */
import { describe, expect, it } from 'vitest';
import { judged, Provenance, type AccountsOf } from '../../src/audit/provenance.js';
import type { AuditRecord } from '../../src/audit/review.js';

const accounts: AccountsOf = new Map<string, readonly string[] | null>([
  ['root-job', ['root']],
  ['backup-job', ['backup']],
  ['both', ['root', 'backup']],
  ['unlisted', null],
]);
const decision = (id: string, user: unknown, session = `${id}-1`): AuditRecord =>
  ({ ts: '2026-11-24T02:00:00Z', event: 'decision', session, id, user, decision: 'allow', rule: 'nightly' }) as AuditRecord;
const end = (id: string, session = `${id}-1`): AuditRecord =>
  ({ ts: '2026-11-24T02:10:00Z', event: 'end', session, id, rule: 'nightly', exit: 0, outcome: 'exited' }) as AuditRecord;

/** What the judge says of each record of one log, in order: null where it counts. */
function judge(records: AuditRecord[], account: string | null, policy: AccountsOf | null = accounts): (string | null)[] {
  const provenance = new Provenance(policy);
  return records.map((record) => provenance.foreign(record, account));
}

describe('Provenance', () => {
  it.each([
    // [case, log (null: root's), records, verdicts (null: counts; else a part of why)]
    [
      'root’s log: everything counts, whoever it names',
      null,
      [decision('unlisted', 'root'), end('unlisted'), end('nobody-such', 'x')],
      [null, null, null],
    ],
    [
      'backup’s log: an identity that lists backup, user backup, and its end',
      'backup',
      [decision('backup-job', 'backup'), end('backup-job')],
      [null, null],
    ],
    ['an identity that lists root and backup, user backup', 'backup', [decision('both', 'backup'), end('both')], [null, null]],
    [
      'forged: root’s identity in backup’s log, user root',
      'backup',
      [decision('root-job', 'root'), end('root-job')],
      ['identity root-job may not log into backup', 'no decision of this session that counts'],
    ],
    [
      'forged: root’s identity with user backup',
      'backup',
      [decision('root-job', 'backup'), end('root-job')],
      ['identity root-job may not log into backup', 'no decision of this session that counts'],
    ],
    [
      'forged: an identity without accounts: counts in root’s log only',
      'backup',
      [decision('unlisted', 'backup'), end('unlisted')],
      ["identity unlisted has no accounts: list (it counts in root's log only)", 'no decision of this session that counts'],
    ],
    [
      'another user, for an identity that may log into backup',
      'backup',
      [decision('both', 'root'), end('both')],
      ['with user "root"', 'no decision of this session that counts'],
    ],
    ['no user at all', 'backup', [decision('backup-job', undefined)], ['with user null']],
    [
      'an end record alone (forged, or its decision rotated away unread)',
      'backup',
      [end('backup-job')],
      ['no decision of this session that counts'],
    ],
    [
      'an end record of another identity in a session that counted',
      'backup',
      [decision('backup-job', 'backup', 's1'), end('root-job', 's1')],
      [null, 'session of backup-job, record of root-job'],
    ],
    [
      'a session’s records count once: a second end record after the end',
      'backup',
      [decision('backup-job', 'backup', 's1'), end('backup-job', 's1'), end('backup-job', 's1')],
      [null, null, 'no decision of this session that counts'],
    ],
    ['an identity the policy does not have', 'backup', [decision('gone', 'backup')], ['identity gone is not in the policy']],
    ['another account’s session does not open this one’s', 'web', [decision('both', 'web')], ['identity both may not log into web']],
  ] as const)('%s', (_case, log, records, verdicts) => {
    const got = judge(records as unknown as AuditRecord[], log);
    expect(got.map((why) => why === null)).toEqual(verdicts.map((v) => v === null));
    got.forEach((why, i) => verdicts[i] !== null && expect(why).toContain(verdicts[i]));
  });

  it('sessions are per log: a decision that counted in backup’s log opens nothing in web’s', () => {
    const provenance = new Provenance(new Map([['j', ['backup', 'web']]]));
    expect(provenance.foreign(decision('j', 'backup', 's1'), 'backup')).toBeNull();
    expect(provenance.foreign(end('j', 's1'), 'web')).toContain('no decision of this session');
  });

  it('a flood of refusals does not push a session’s decision out before its end comes', () => {
    const provenance = new Provenance(accounts);
    expect(provenance.foreign(decision('backup-job', 'backup', 'long'), 'backup')).toBeNull();
    for (let i = 0; i < 20_000; i++)
      expect(
        provenance.foreign(
          { ...decision('backup-job', 'backup', `d${i}`), decision: 'deny', reason: 'no-rule-matched' } as AuditRecord,
          'backup',
        ),
      ).toBeNull();
    expect(provenance.foreign(end('backup-job', 'long'), 'backup')).toBeNull();
  });

  it('without a policy that loads, no account’s record counts (root’s still do)', () => {
    expect(judge([decision('backup-job', 'backup')], 'backup', null)[0]).toContain('no policy loaded');
    expect(judge([decision('backup-job', 'backup')], null, null)[0]).toBeNull();
  });

  it('the sessions it remembers are bounded (decisions whose end never came)', () => {
    const provenance = new Provenance(accounts);
    for (let i = 0; i < 10_001; i++) provenance.foreign(decision('backup-job', 'backup', `s${i}`), 'backup');
    expect(provenance.foreign(end('backup-job', 's0'), 'backup')).not.toBeNull();
    expect(provenance.foreign(end('backup-job', 's10000'), 'backup')).toBeNull();
  });
});

describe('judged', () => {
  it('marks foreign records with why, and drops a foreign field the writer put on one that counts', async () => {
    async function* of(...records: AuditRecord[]) {
      yield* records;
    }
    const out: AuditRecord[] = [];
    const records = of({ ...decision('backup-job', 'backup'), foreign: 'planted' }, decision('root-job', 'root', 'r1'));
    for await (const record of judged(records, 'backup', new Provenance(accounts))) out.push(record);
    expect(out[0]!.foreign).toBeUndefined();
    expect(out[1]!.foreign).toBe("in backup's log, identity root-job may not log into backup");
  });
});
