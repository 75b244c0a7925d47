/**
 * Parsing relay rules (rules/relay/parse.ts): the destinations. Each invalid rule gives an error
 * naming line, key and what was expected (test/policy/parse.test.ts: the policy around the rules).
 */
import { describe, expect, it } from 'vitest';
import { policyErrors } from '../../helpers.js';

const header = 'version: 1\nidentities:\n  a:\n    rules:\n';

const invalid: [string, string, string][] = [
  [
    'a relay destination in a non-canonical form',
    `${header}      - name: x\n        relay: { to: ["127.1:22"] }\n`,
    'relay.to[0]: expected HOST:PORT',
  ],
  ['a relay without destinations', `${header}      - name: x\n        relay: { to: [] }\n`, 'relay.to: expected at least one destination'],
];

describe('parsing relay rules', () => {
  it.each(invalid)('reports %s', (_name, yaml, expected) => {
    expect(policyErrors(yaml).join('\n')).toContain(expected);
  });
});
