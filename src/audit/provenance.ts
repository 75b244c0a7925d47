/**
 * Whose records count (the design's "The owner sees every failure"). Root's log is written by root
 * alone. An account's own log (audit.ACCOUNT.jsonl, install.sh --account) is appended to by the
 * dispatcher running as that account, so anything of that account can append anything to it:
 * two forged lines once turned a root job's CRITICAL into an OK. A record there counts only
 *
 * - for an identity whose `accounts:` lists that account: the sessions the account could have
 *   had anyway. An identity without `accounts:` counts in root's log only (it might be root's
 *   own, and the policy cannot say it is not: fail closed);
 * - with that account as `user` (the decision record says who logged in);
 * - and, for the records after the decision (end, file), within a session whose decision record
 *   counted in the same log, with the same identity.
 *
 * Anything else is foreign: `logs` shows it marked, `status` and `summary` never count it.
 * What this cannot tell apart: an identity that may log into root and into an account has its
 * account sessions in the account's log, where the account can fake them (give root's jobs
 * identities of their own). A session whose decision was rotated into a file not read is foreign
 * too: failing closed, the price is a warning.
 */
import type { Policy } from '../policy/schema.js';
import type { AuditRecord } from './review.js';

/** The accounts each identity of the policy may log into, by name; null: the identity has no `accounts:`. */
export type AccountsOf = ReadonlyMap<string, readonly string[] | null>;

export function accountsOf(policy: Policy | null): AccountsOf | null {
  return policy === null ? null : new Map([...policy.identities.values()].map((identity) => [identity.name, identity.accounts]));
}

export class Provenance {
  /** `account\0session` → identity, for the sessions whose decision counted in an account's log. */
  private readonly sessions = new Map<string, string>();
  /** Sessions whose end never comes (a killed dispatcher) must not grow this without end. */
  private static readonly MAX_SESSIONS = 10_000;

  /** `accountsOf` null: no policy to say who may log in where, so no account's record counts. */
  constructor(private readonly accountsOf: AccountsOf | null) {}

  /** Why a record read from `account`'s log (null: root's) must not count, or null when it counts. Read each log in order. */
  foreign(record: AuditRecord, account: string | null): string | null {
    if (account === null) return null;
    const id = record.id;
    const key = `${account}\0${record.session}`;
    if (record.event !== 'decision') {
      const known = this.sessions.get(key);
      if (record.event === 'end') this.sessions.delete(key);
      if (known === undefined) return `in ${account}'s log, no decision of this session that counts`;
      return known === id ? null : `in ${account}'s log, session of ${known}, record of ${id}`;
    }
    const why =
      this.identityMayNot(id, account) ??
      (record.user === account ? null : `in ${account}'s log with user ${JSON.stringify(record.user ?? null)}`);
    // Only an allowed decision has records after it: a flood of refusals must not push it out.
    if (why === null && record.decision === 'allow') {
      this.sessions.set(key, id);
      if (this.sessions.size > Provenance.MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value!);
    }
    return why;
  }

  private identityMayNot(id: string, account: string): string | null {
    if (this.accountsOf === null) return `in ${account}'s log, and no policy loaded to say who may log into ${account}`;
    if (!this.accountsOf.has(id)) return `in ${account}'s log, identity ${id} is not in the policy`;
    const accounts = this.accountsOf.get(id);
    if (accounts === null || accounts === undefined)
      return `in ${account}'s log, identity ${id} has no accounts: list (it counts in root's log only)`;
    return accounts.includes(account) ? null : `in ${account}'s log, identity ${id} may not log into ${account}`;
  }
}

/**
 * The records of one log, each judged: a foreign one gets `foreign` (why), and a `foreign` field
 * the writer put there itself is dropped, so the field always means this judgement.
 */
export function judged(records: AsyncIterable<AuditRecord>, account: string | null, provenance: Provenance): AsyncIterable<AuditRecord> {
  // Root's log counts whole, and only root writes it: no layer per record for the bulk of the reading.
  return account === null ? records : judgedOfAccount(records, account, provenance);
}

async function* judgedOfAccount(records: AsyncIterable<AuditRecord>, account: string, provenance: Provenance): AsyncGenerator<AuditRecord> {
  for await (const record of records) yield judge(record, account, provenance);
}

/** One record judged, as `judged` does (for logs --follow, which is handed records one by one). */
export function judge(record: AuditRecord, account: string | null, provenance: Provenance): AuditRecord {
  delete record.foreign;
  const why = provenance.foreign(record, account);
  if (why !== null) record.foreign = why;
  return record;
}
