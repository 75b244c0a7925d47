/**
 * Parsing sftp rules (rules/sftp/parse.ts): root, access, delete, umask, the free-space floor and
 * the idle timeout. Each invalid rule gives an error naming line, key and what was expected
 * (test/policy/parse.test.ts: the policy around the rules).
 */
import { describe, expect, it } from 'vitest';
import { parsePolicyText } from '../../../src/policy/parse.js';
import { policyErrors } from '../../helpers.js';

const header = 'version: 1\nidentities:\n  a:\n    rules:\n';

const invalid: [string, string, string][] = [
  [
    'an sftp rule without access',
    `${header}      - name: x\n        sftp: { root: /srv }\n`,
    'identities.a.rules[0].sftp: missing required key "access"',
  ],
  [
    'an sftp rule rooted at /',
    `${header}      - name: x\n        sftp: { root: /, access: read }\n`,
    'sftp.root: the whole filesystem cannot be an sftp root',
  ],
  [
    'an sftp read rule that says it may delete',
    `${header}      - name: x\n        sftp: { root: /srv, access: read, delete: true }\n`,
    'sftp.delete: means nothing with access: read',
  ],
  ['an sftp umask unquoted', `${header}      - name: x\n        sftp: { root: /srv, access: write, umask: 77 }\n`, 'sftp.umask'],
  [
    'a bad sftp min-free',
    `${header}      - name: x\n        sftp: { root: /srv, access: write, min-free: lots }\n`,
    'sftp.min-free: expected a size such as 1GiB, 512MiB, or "0" for no floor, got "lots"',
  ],
  [
    'an sftp min-free as a YAML number',
    `${header}      - name: x\n        sftp: { root: /srv, access: write, min-free: 0 }\n`,
    'sftp.min-free: expected a size such as 1GiB, 512MiB, or "0" for no floor, got number 0',
  ],
  [
    'a negative sftp min-free',
    `${header}      - name: x\n        sftp: { root: /srv, access: write, min-free: -1GiB }\n`,
    'sftp.min-free: expected a size',
  ],
  [
    'an sftp idle-timeout without a unit',
    `${header}      - name: x\n        sftp: { root: /srv, access: write, idle-timeout: "90" }\n`,
    'sftp.idle-timeout: expected a duration such as 90s, 10m, or "0" for none, got "90"',
  ],
  [
    'an sftp idle-timeout past 366 days',
    `${header}      - name: x\n        sftp: { root: /srv, access: write, idle-timeout: 367d }\n`,
    'sftp.idle-timeout: expected a duration',
  ],
  [
    'an sftp idle-timeout of 0s',
    `${header}      - name: x\n        sftp: { root: /srv, access: write, idle-timeout: 0s }\n`,
    'sftp.idle-timeout: expected a duration such as 90s, 10m, or "0" for none, got "0s"',
  ],
];

describe('parsing sftp rules', () => {
  it.each(invalid)('reports %s', (_name, yaml, expected) => {
    expect(policyErrors(yaml).join('\n')).toContain(expected);
  });

  it.each([
    ['access: write', 2 ** 30, 600_000],
    ['access: write, min-free: 4MiB, idle-timeout: 2s', 4 * 2 ** 20, 2000],
    ['access: read-write, min-free: 1.5GB, idle-timeout: 1h', 1.5e9, 3_600_000],
    ['access: write, min-free: "0", idle-timeout: "0"', 0, 0],
  ])('an sftp rule with %s keeps a floor of %d bytes and ends idle sessions after %d ms (0: neither)', (keys, bytes, ms) => {
    const parsed = parsePolicyText('p.yaml', `${header}      - name: x\n        sftp: { root: /srv, ${keys} }\n`);
    expect(parsed.ok && parsed.fragment.identities[0]!.rules[0]).toMatchObject({ kind: 'sftp', minFreeBytes: bytes, idleTimeoutMs: ms });
  });
});
