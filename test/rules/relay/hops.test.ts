/**
 * What sshd may open for a relay identity's key (rules/relay/hops.ts, rules/hops.ts): its
 * destinations as permitopen values, spelled as sshd compares them (a plain string), ranges left
 * out (permitopen cannot say them, and `*` would open everything); and the key line's options
 * (keyline.ts hopOptions): nothing at all for an empty list, since `port-forwarding` without
 * permitopen forwards anywhere.
 */
import { describe, expect, it } from 'vitest';
import { hopOptions, NO_LISTENER } from '../../../src/keyline.js';
import { loginIndex } from '../../../src/policy/logins.js';
import { identityHops } from '../../../src/rules/hops.js';
import { compressIPv6, parseIPv6 } from '../../../src/values/address.js';
import { policyFrom } from '../../helpers.js';

const policy = policyFrom(`
version: 1
identities:
  hop:
    keys: ["SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s"]
    accounts: [gw]
    rules:
      - name: inner
        relay:
          to: ["db.internal:22", "10.0.0.5:22", "10.0.0.0/24:22", "10.0.0.9/32:2222", "[2001:db8:0:0::1]:22", "[2001:db8::/64]:22", "[::ffff:192.0.2.1]:443"]
      - name: again
        relay:
          to: ["db.internal:22", "db.internal:5432"]
      - name: list
        exec: { command: "/bin/ls" }
  plain:
    keys: ["SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s"]
    accounts: [gw]
    rules:
      - name: list
        exec: { command: "/bin/ls" }
`);

describe('an identity hops', () => {
  it('each expressible destination once, in policy order, with addresses as clients write them', () => {
    expect(identityHops(policy.identities.get('hop')!.rules)).toEqual({
      open: ['db.internal:22', '10.0.0.5:22', '10.0.0.9:2222', '[2001:db8::1]:22', '192.0.2.1:443', 'db.internal:5432'],
      unexpressed: ['10.0.0.0/24:22', '[2001:db8::/64]:22'],
    });
  });

  it('an identity without relay rules opens nothing', () => {
    expect(identityHops(policy.identities.get('plain')!.rules)).toEqual({ open: [], unexpressed: [] });
  });

  it.each([
    ['2001:db8::1', '2001:db8::1'],
    ['2001:DB8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['::', '::'],
    ['::1', '::1'],
    ['fe80::', 'fe80::'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2:3:4:5:6'],
    ['2001:0:1:2:3:4:5:6', '2001:0:1:2:3:4:5:6'],
  ])('IPv6 %s is written %s (RFC 5952)', (text, expected) => {
    expect(compressIPv6(parseIPv6(text)!)).toBe(expected);
  });
});

describe('the options a key line gets', () => {
  it('port-forwarding, one permitopen each, and a permitlisten no listener matches', () => {
    expect(hopOptions(['db.internal:22', '[2001:db8::1]:22'])).toEqual([
      'port-forwarding',
      'permitopen="db.internal:22"',
      'permitopen="[2001:db8::1]:22"',
      'permitlisten="NONE:1"',
    ]);
  });

  it('the listener pattern holds a capital: sshd lowercases the host asked for, so nothing matches it', () => {
    expect(NO_LISTENER).toMatch(/^permitlisten="[^"]*[A-Z][^"]*:[0-9]+"$/);
  });

  it('nothing for an empty list: port-forwarding without permitopen would open every host', () => {
    expect(hopOptions([])).toEqual([]);
  });

  it('the login index carries them for the keys command', () => {
    expect(loginIndex(policy).gw!.map((login) => [login.identity, login.open.length])).toEqual([
      ['hop', 6],
      ['plain', 0],
    ]);
  });
});
