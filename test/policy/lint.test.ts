/**
 * check's lint of the policy as a whole: rules that can never match, expired identities, one
 * finding of each kind's own (test/rules/exec/lint.test.ts: exec rules that give away more than
 * they seem).
 */
import { describe, expect, it } from 'vitest';
import { lintPolicy, overlaps } from '../../src/policy/lint.js';
import { policyFrom } from '../helpers.js';

const now = new Date(2026, 10, 24);
const messages = (yaml: string) => lintPolicy(policyFrom(yaml), now).map((f) => `${f.where.line}: ${f.message}`);
const rules = (body: string) => `version: 1\nidentities:\n  a:\n    rules:\n${body}`;

describe('lintPolicy', () => {
  it.each([
    [
      'an identical exec rule',
      rules(
        '      - { name: x, exec: { command: "/bin/ls -l /srv", program: /bin/ls } }\n      - { name: y, exec: { command: "/bin/ls -l /srv", program: /bin/ls } }\n',
      ),
      'rule "y" can never match: rule "x" (line 5)',
    ],
    [
      'an exec rule covered by a glob',
      rules(
        '      - { name: x, exec: { command: "du -sh /srv/*", program: /usr/bin/du } }\n      - { name: y, exec: { command: "du -sh /srv/a", program: /usr/bin/du } }\n',
      ),
      'rule "y" can never match',
    ],
    [
      'an rsync rule after a read-write one on the same root',
      rules('      - { name: x, rsync: { root: /srv, access: read-write } }\n      - { name: y, rsync: { root: /srv, access: read } }\n'),
      'rule "y" can never match',
    ],
    [
      'an rsync rule on another root behind one that takes every path (found in the issue: /srv/home/ was re-rooted under /srv/etc)',
      rules(
        '      - { name: x, rsync: { root: /srv/etc, access: write } }\n      - { name: y, rsync: { root: /srv/home, access: write } }\n',
      ),
      'give both rules absolute-paths: true or paths:',
    ],
    [
      'a second receive rule without client-name',
      rules('      - { name: x, receive: { dir: /srv/a, name: a } }\n      - { name: y, receive: { dir: /srv/b, name: b } }\n'),
      'rule "y" can never match',
    ],
    [
      'a relay rule with the same destinations',
      rules('      - { name: x, relay: { to: ["h.example:22"] } }\n      - { name: y, relay: { to: ["h.example:22"] } }\n'),
      'rule "y" can never match',
    ],
    [
      'a shell as program',
      rules('      - { name: x, exec: { command: ["/bin/sh", "-c", "true"] } }\n'),
      'runs /bin/sh, which can run other programs',
    ],
    ['tar as program', rules('      - { name: x, exec: { command: "tar -cf - *", program: /bin/tar } }\n'), 'runs /bin/tar'],
    [
      'a bare * word',
      rules('      - { name: x, exec: { command: "du -sh *", program: /usr/bin/du } }\n'),
      'has the word "*", which matches any name in the working directory',
    ],
    [
      'a relay to a whole network',
      rules('      - { name: x, relay: { to: ["0.0.0.0/0:22"] } }\n'),
      'relays to 0.0.0.0/0:22, a range of 4294967296 addresses',
    ],
    [
      'an expired identity',
      'version: 1\nidentities:\n  a:\n    expires: 2026-01-01\n    rules: []\n',
      'identity "a" expired after 2026-01-01',
    ],
  ])('reports %s', (_name, yaml, expected) => {
    expect(messages(yaml).join('\n')).toContain(expected);
  });

  it.each([
    [
      'different words',
      rules(
        '      - { name: x, exec: { command: "du -sh /srv/a", program: /usr/bin/du } }\n      - { name: y, exec: { command: "du -sh /srv/b", program: /usr/bin/du } }\n',
      ),
    ],
    [
      'an option a glob does not cover',
      rules(
        '      - { name: x, exec: { command: "du -sh *", program: /usr/bin/du } }\n      - { name: y, exec: { command: "du -sh -x", program: /usr/bin/du } }\n',
      ),
    ],
    [
      'rsync rules on different roots, each taking only its own (absolute-paths)',
      rules(
        '      - { name: x, rsync: { root: /srv/a, access: write, absolute-paths: true } }\n      - { name: y, rsync: { root: /srv/b, access: write, absolute-paths: true } }\n',
      ),
    ],
    [
      'rsync rules on different roots, with paths',
      rules(
        '      - { name: x, rsync: { root: /, access: read, paths: [/srv/a] } }\n      - { name: y, rsync: { root: /, access: read, paths: [/srv/b] } }\n',
      ),
    ],
    [
      'a read rule, then a write rule',
      rules('      - { name: x, rsync: { root: /srv, access: read } }\n      - { name: y, rsync: { root: /srv, access: write } }\n'),
    ],
    [
      'receive rules that differ by client-name',
      rules(
        '      - { name: x, receive: { dir: /srv/a, name: a, client-name: "*.a" } }\n      - { name: y, receive: { dir: /srv/b, name: b, client-name: "*.b" } }\n',
      ),
    ],
  ])('is quiet about %s', (_name, yaml) => {
    expect(messages(yaml).filter((m) => m.includes('never match'))).toEqual([]);
  });
});

describe('overlaps', () => {
  it.each([
    ['/root', '/root', 'same'],
    ['/root/.ssh', '/root', 'inside'],
    ['/', '/root/.ssh', 'contains'],
    ['/home', '/home/backup', 'contains'],
    ['/home/backup2', '/home/backup', null],
    ['/srv/backup', '/root', null],
  ] as const)('%s against %s: %s', (a, b, expected) => expect(overlaps(a, b)).toBe(expected));
});
