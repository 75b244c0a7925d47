/**
 * Parsing receive rules (rules/receive/parse.ts): the file name, its placeholders, mode, size and
 * how many to keep. Each invalid rule gives an error naming line, key and what was expected
 * (test/policy/parse.test.ts: the policy around the rules).
 */
import { describe, expect, it } from 'vitest';
import { policyErrors } from '../../helpers.js';

const header = 'version: 1\nidentities:\n  a:\n    rules:\n';

const invalid: [string, string, string][] = [
  [
    'a receive rule without a name',
    `${header}      - name: x\n        receive: { dir: /srv }\n`,
    'identities.a.rules[0].receive: missing required key "name"',
  ],
  [
    'a receive name with a slash',
    `${header}      - name: x\n        receive: { dir: /srv, name: "a/b-{date}" }\n`,
    'receive.name: expected a file name',
  ],
  [
    'a receive name starting with a dot',
    `${header}      - name: x\n        receive: { dir: /srv, name: ".ssh" }\n`,
    'receive.name: expected a file name',
  ],
  [
    'an unknown placeholder',
    `${header}      - name: x\n        receive: { dir: /srv, name: "b-{host}" }\n`,
    'receive.name: expected a file name',
  ],
  [
    'a client-name with a slash',
    `${header}      - name: x\n        receive: { dir: /srv, name: b, client-name: "*/x" }\n`,
    'receive.client-name: expected a file name glob',
  ],
  [
    'an unquoted mode',
    `${header}      - name: x\n        receive: { dir: /srv, name: b, mode: 0600 }\n`,
    'YAML reads an unquoted 600 as a decimal number',
  ],
  [
    'a bad size',
    `${header}      - name: x\n        receive: { dir: /srv, name: b, max-bytes: lots }\n`,
    'receive.max-bytes: expected a size',
  ],
  [
    'keep 0',
    `${header}      - name: x\n        receive: { dir: /srv, name: b, keep: 0 }\n`,
    'receive.keep: expected a whole number of files, 1 or more',
  ],
];

describe('parsing receive rules', () => {
  it.each(invalid)('reports %s', (_name, yaml, expected) => {
    expect(policyErrors(yaml).join('\n')).toContain(expected);
  });
});
