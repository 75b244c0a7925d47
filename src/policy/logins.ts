/**
 * Who may log in, as sshd asks it of the policy when the policy is the only list of keys
 * (docs/fleet.md): AuthorizedKeysCommand (`%u %t %k`: may this key log into this account?) and
 * AuthorizedPrincipalsCommand (`%u`: which certificate principals may log into this account?).
 *
 * An identity is served to an account only when it lists that account (`accounts:`) and admits
 * some address (not `from: []`): a policy
 * written for authorized_keys lines, with no accounts, opens no door through these commands.
 * An identity with `principals:` is served only to certificates, never to its plain keys, since
 * a connection to it is denied without a certificate. An identity past its `expires` date is not
 * served at all: sshd refuses the key before a session begins.
 *
 * The index is what the compiled policy cache keeps for these commands (cache.ts), so that
 * each key a client offers costs one small file read, not a YAML parse.
 */
import { identityHops } from '../rules/hops.js';
import { networkText } from '../values/address.js';
import { localDate } from '../values/units.js';
import type { Policy } from './schema.js';

/** One identity as the login commands need it. */
export interface Login {
  identity: string;
  /** from= entries (network addresses, sshd's form), or null for any address. */
  from: string[] | null;
  expires: string | null;
  /** Fingerprints; null for any key (only an identity that lists keys is served by key). */
  keys: string[] | null;
  principals: string[] | null;
  /** What sshd may open for the key itself (`ssh -W`, ProxyJump): its relay rules' permitopen values (rules/hops.ts). */
  open: string[];
}

/** account → the identities that may log into it, in policy order. */
export type LoginIndex = Record<string, Login[]>;

export function loginIndex(policy: Policy): LoginIndex {
  const index: LoginIndex = Object.create(null) as LoginIndex;
  for (const identity of policy.identities.values()) {
    // from: [] admits no address; sshd would read from="" as a malformed list anyway.
    if (identity.accounts === null || identity.from?.length === 0) continue;
    const login: Login = {
      identity: identity.name,
      from: identity.from === null ? null : identity.from.map(networkText),
      expires: identity.expires,
      keys: identity.keys,
      principals: identity.principals,
      open: identityHops(identity.rules).open,
    };
    for (const account of new Set(identity.accounts)) (index[account] ??= []).push(login);
  }
  return index;
}

function current(login: Login, now: Date): boolean {
  return login.expires === null || localDate(now) <= login.expires;
}

/** The identities a plain key with this fingerprint may log into `account` as. */
export function loginsByKey(index: LoginIndex, account: string, fingerprint: string, now: Date): Login[] {
  const logins = Object.hasOwn(index, account) ? index[account]! : [];
  return logins.filter(
    (login) => login.principals === null && login.keys !== null && login.keys.includes(fingerprint) && current(login, now),
  );
}

/** The identities a user certificate may log into `account` as, each with its principals. */
export function loginsByPrincipal(index: LoginIndex, account: string, now: Date): Login[] {
  const logins = Object.hasOwn(index, account) ? index[account]! : [];
  return logins.filter((login) => login.principals !== null && current(login, now));
}
