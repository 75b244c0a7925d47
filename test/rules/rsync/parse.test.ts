/**
 * Parsing rsync rules (rules/rsync/parse.ts): root, access, paths, secrets, delete and the free-
 * space floor. Each invalid rule gives an error naming line, key and what was expected
 * (test/policy/parse.test.ts: the policy around the rules).
 */
import { describe, expect, it } from 'vitest';
import { parsePolicyText } from '../../../src/policy/parse.js';
import { policyErrors } from '../../helpers.js';

const header = 'version: 1\nidentities:\n  a:\n    rules:\n';

const invalid: [string, string, string][] = [
  [
    'rsync paths: with the sandbox off (found in review: -L followed a symlink in a path out of it)',
    `${header}      - name: x\n        rsync: { root: /, access: read, paths: [/etc], sandbox: false }\n`,
    'rsync.sandbox: paths: needs the sandbox',
  ],
  [
    'rsync paths: outside root',
    `${header}      - name: x\n        rsync: { root: /srv, access: read, paths: [/etc] }\n`,
    'rsync.paths: /etc is not under root /srv',
  ],
  [
    'rsync paths: one inside another',
    `${header}      - name: x\n        rsync: { root: /, access: read, paths: [/etc, /etc/ssh] }\n`,
    'rsync.paths: /etc/ssh is listed twice or lies in another',
  ],
  [
    'an rsync secrets value unknown',
    `${header}      - name: x\n        rsync: { root: /, paths: [/etc], access: read, secrets: yes }\n`,
    'rsync.secrets: expected one of serve, withhold',
  ],
  [
    'rsync secrets without the sandbox',
    `${header}      - name: x\n        rsync: { root: /srv, access: read, sandbox: false, secrets: serve }\n`,
    'rsync.secrets: needs the sandbox',
  ],
  [
    'rsync secrets on a write-only rule',
    `${header}      - name: x\n        rsync: { root: /srv, access: write, secrets: withhold }\n`,
    'rsync.secrets: a write-only rule reads nothing back',
  ],
  [
    'an rsync rule without access',
    `${header}      - name: x\n        rsync: { root: /srv }\n`,
    'identities.a.rules[0].rsync: missing required key "access"',
  ],
  [
    'an rsync rule with a bad access',
    `${header}      - name: x\n        rsync: { root: /srv, access: all }\n`,
    'rsync.access: expected one of read, write, read-write, got "all"',
  ],
  [
    'an rsync rule with a relative root',
    `${header}      - name: x\n        rsync: { root: srv, access: read }\n`,
    'rsync.root: expected an absolute path',
  ],
  [
    'max-delete without delete',
    `${header}      - name: x\n        rsync: { root: /srv, access: write, max-delete: 10 }\n`,
    'rsync.max-delete: needs delete: true',
  ],
  [
    'a negative max-delete',
    `${header}      - name: x\n        rsync: { root: /srv, access: write, delete: true, max-delete: -1 }\n`,
    'rsync.max-delete: expected a whole number of files',
  ],
  [
    'a bad rsync min-free',
    `${header}      - name: x\n        rsync: { root: /srv, access: write, min-free: lots }\n`,
    'rsync.min-free: expected a size such as 1GiB, 512MiB, or 0 for no floor, got "lots"',
  ],
  [
    'a push floor that nothing would keep',
    `${header}      - name: x\n        rsync: { root: /srv, access: write, supervise: false }\n`,
    'rsync.supervise: supervise: false cannot keep min-free for pushes; set min-free: 0',
  ],
  [
    'an unknown rsync key',
    `${header}      - name: x\n        rsync: { root: /srv, access: write, delete-ok: true }\n`,
    'rsync.delete-ok: unknown key',
  ],
];

describe('parsing rsync rules', () => {
  it.each(invalid)('reports %s', (_name, yaml, expected) => {
    expect(policyErrors(yaml).join('\n')).toContain(expected);
  });

  it.each([
    ['access: write', 2 ** 30],
    ['access: write, min-free: 200MiB', 200 * 2 ** 20],
    ['access: write, min-free: "0", supervise: false', 0],
    ['access: read, supervise: false', 2 ** 30], // a pull writes nothing under root: no floor to keep
  ])('an rsync rule with %s keeps a floor of %d bytes', (keys, bytes) => {
    const parsed = parsePolicyText('p.yaml', `${header}      - name: x\n        rsync: { root: /srv, ${keys} }\n`);
    expect(parsed.ok && parsed.fragment.identities[0]!.rules[0]).toMatchObject({ kind: 'rsync', minFreeBytes: bytes });
  });
});
