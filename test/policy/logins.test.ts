/**
 * Who the login commands serve (policy/logins.ts): a key or principal reaches an account only
 * through an identity that lists both, a certificate identity is never served by plain key,
 * an expired identity by nothing; and from= is written as sshd's addrmatch.c reads it.
 */
import { describe, expect, it } from 'vitest';
import { loginIndex, loginsByKey, loginsByPrincipal } from '../../src/policy/logins.js';
import { networkText, parseAddressRange } from '../../src/values/address.js';
import { policyFrom } from '../helpers.js';

const KEY_A = 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s';
const KEY_B = 'SHA256:AAAAztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s';

const index = loginIndex(
  policyFrom(`
version: 1
identities:
  no-accounts:
    keys: ["${KEY_A}"]
    rules: []
  backup:
    keys: ["${KEY_A}"]
    accounts: [backup]
    from: [192.0.2.7/24, 198.51.100.1]
    rules: []
  backup-too:
    keys: ["${KEY_A}", "${KEY_B}"]
    accounts: [backup, root, backup]
    rules: []
  any-key:
    accounts: [backup]
    rules: []
  no-address:
    keys: ["${KEY_A}"]
    accounts: [backup]
    from: []
    rules: []
  certified:
    keys: ["${KEY_A}"]
    principals: [alice, ops]
    accounts: [backup]
    rules: []
  expired:
    keys: ["${KEY_B}"]
    principals: [old]
    accounts: [root]
    expires: 2026-11-27
    rules: []
  expired-key:
    keys: ["${KEY_B}"]
    accounts: [archive]
    expires: 2026-11-27
    rules: []
  proto:
    principals: [p]
    accounts: [__proto__]
    rules: []
`),
);
const NOW = new Date(2026, 10, 28, 12);
const names = (logins: { identity: string }[]) => logins.map((l) => l.identity);

describe('loginsByKey', () => {
  it.each([
    [
      'a key two identities list for the account, in policy order (from: [] admits nobody: not served)',
      'backup',
      KEY_A,
      ['backup', 'backup-too'],
    ],
    ['the same key into another account', 'root', KEY_A, ['backup-too']],
    ['an account no identity lists', 'www-data', KEY_A, []],
    ['a key no identity lists', 'backup', 'SHA256:zzzzztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s', []],
    ['an identity without keys: is not served by key (any key would do)', 'backup', KEY_B, ['backup-too']],
    ['an identity with principals is never served by plain key', 'root', KEY_B, ['backup-too']],
    ['an identity past its expires date', 'archive', KEY_B, []],
    ['an account named __proto__ is just a name', '__proto__', KEY_A, []],
    ['constructor', 'constructor', KEY_A, []],
  ])('%s', (_name, account, key, expected) => {
    expect(names(loginsByKey(index, account, key, NOW))).toEqual(expected);
  });

  it('the expires day itself is still served', () => {
    expect(names(loginsByKey(index, 'archive', KEY_B, new Date(2026, 10, 27, 23, 59)))).toEqual(['expired-key']);
  });

  it('from= is the network, each entry once', () => {
    expect(loginsByKey(index, 'backup', KEY_A, NOW)[0]!.from).toEqual(['192.0.2.0/24', '198.51.100.1']);
  });

  it('an account listed twice serves the identity once', () => {
    expect(names(loginsByKey(index, 'backup', KEY_B, NOW))).toEqual(['backup-too']);
  });
});

describe('loginsByPrincipal', () => {
  it.each([
    ['the certificate identities of the account', 'backup', ['certified']],
    ['an expired one is not served', 'root', []],
    ['nor an account nobody lists', 'www-data', []],
    ['__proto__ is an account like any other', '__proto__', ['proto']],
  ])('%s', (_name, account, expected) => {
    expect(names(loginsByPrincipal(index, account, NOW))).toEqual(expected);
  });
});

describe('networkText (from= as sshd reads it)', () => {
  it.each([
    ['192.0.2.10', '192.0.2.10'],
    ['192.0.2.7/24', '192.0.2.0/24'],
    ['10.1.2.3/8', '10.0.0.0/8'],
    ['0.0.0.0/0', '0.0.0.0/0'],
    ['198.51.100.255/31', '198.51.100.254/31'],
    ['2001:db8::5/64', '2001:db8:0:0:0:0:0:0/64'],
    ['2001:db8::5', '2001:db8:0:0:0:0:0:5'],
    ['::ffff:10.9.8.7/104', '10.0.0.0/8'],
  ])('%s → %s', (text, expected) => {
    expect(networkText(parseAddressRange(text)!)).toBe(expected);
  });
});
