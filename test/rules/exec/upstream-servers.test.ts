/**
 * check's findings about backup tools whose own "restricted" server is no boundary
 * (docs/threat-model.md, "Upstream restricted servers"): rdiff-backup's server runs what the
 * client pickles; git-receive-pack rewrites and deletes refs unless the repository says
 * otherwise. What the tools do is shown end to end in
 * test/e2e/recipes-hostile.e2e.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { lintPolicy } from '../../../src/policy/lint.js';
import { missingGitDenies, receivePackRepository } from '../../../src/rules/exec/upstream-servers.js';
import type { ExecRule } from '../../../src/rules/exec/rule.js';
import { policyFrom } from '../../helpers.js';

const now = new Date(2026, 10, 24);
const rules = (body: string) => `version: 1\nidentities:\n  a:\n    rules:\n      - ${body}\n`;
const findings = (rule: string) =>
  lintPolicy(policyFrom(rules(rule)), now)
    .filter((f) => f.message.includes('unpickles'))
    .map((f) => f.level);
const execRule = (rule: string) => policyFrom(rules(rule)).identities.get('a')!.rules[0] as ExecRule;

describe('an exec rule that runs rdiff-backup server', () => {
  const run = 'run: [/usr/bin/rdiff-backup, server, --restrict-path, /srv/rdiff/host1, --restrict-mode, update-only]';
  it.each([
    ['with run, no sandbox (the recipe as it was)', `{ name: r, exec: { command: [rdiff-backup, "..."], ${run} } }`, ['unsafe']],
    [
      'the client’s own words, no sandbox',
      '{ name: r, exec: { command: "rdiff-backup --server", program: /usr/bin/rdiff-backup } }',
      ['unsafe'],
    ],
    [
      'in a sandbox with writable paths',
      `{ name: r, exec: { command: [rdiff-backup, "..."], ${run}, sandbox: { write: [/srv/rdiff/host1] } } }`,
      ['warning'],
    ],
    [
      'in a read-only sandbox (the restore recipe)',
      '{ name: r, exec: { command: [rdiff-backup, "..."], run: [/usr/bin/rdiff-backup, server, --restrict-path, /srv/rdiff/host1], sandbox: { read: [/srv/rdiff/host1] } } }',
      [],
    ],
    [
      'rdiff-backup run as something else than a server',
      '{ name: r, exec: { command: "rdiff-backup --version", program: /usr/bin/rdiff-backup } }',
      [],
    ],
  ])('%s', (_name, rule, levels) => {
    expect(findings(rule)).toEqual(levels);
  });
});

describe('an exec rule that runs borg serve for one repository', () => {
  const warnings = (rule: string) =>
    lintPolicy(policyFrom(rules(rule)), now)
      .filter((f) => f.message.includes('borg key import'))
      .map((f) => f.level);
  const run = 'run: [/usr/bin/borg, serve, --restrict-to-repository, /srv/borg/host1, --append-only]';
  it.each([
    ['no sandbox (the recipe as it was)', `{ name: b, exec: { command: [borg, serve, "..."], ${run} } }`, ['warning']],
    [
      'a sandbox without config read-only',
      `{ name: b, exec: { command: [borg, serve, "..."], ${run}, sandbox: { write: [/srv/borg/host1] } } }`,
      ['warning'],
    ],
    [
      'the recipe: config read-only inside the repository',
      `{ name: b, exec: { command: [borg, serve, "..."], ${run}, sandbox: { write: [/srv/borg/host1], read: [/srv/borg/host1/config] } } }`,
      [],
    ],
    [
      'spelt with =',
      '{ name: b, exec: { command: [borg, serve, "..."], run: [/usr/bin/borg, serve, "--restrict-to-repository=/srv/borg/host1/", --append-only] } }',
      ['warning'],
    ],
    [
      'borg serve without one repository (other findings may apply)',
      '{ name: b, exec: { command: [borg, serve, "..."], run: [/usr/bin/borg, serve, --append-only] } }',
      [],
    ],
  ])('%s', (_name, rule, levels) => {
    expect(warnings(rule)).toEqual(levels);
  });
});

describe('receivePackRepository', () => {
  it.each([
    [
      'the recipe: the literal path',
      '{ name: p, exec: { command: [git-receive-pack, /srv/git/project.git], program: /usr/bin/git-receive-pack } }',
      '/srv/git/project.git',
    ],
    [
      'through run',
      '{ name: p, exec: { command: [git-receive-pack, "..."], run: [/usr/bin/git-receive-pack, /srv/git/p.git] } }',
      '/srv/git/p.git',
    ],
    ['a glob: not read', '{ name: p, exec: { command: [git-receive-pack, "/srv/git/*.git"], program: /usr/bin/git-receive-pack } }', null],
    [
      'upload-pack: no pushes',
      '{ name: p, exec: { command: [git-upload-pack, /srv/git/project.git], program: /usr/bin/git-upload-pack } }',
      null,
    ],
  ])('%s', (_name, rule, repository) => {
    const parsed = execRule(rule);
    expect(receivePackRepository(parsed, parsed.program)).toBe(repository);
  });
});

describe('missingGitDenies', () => {
  const both = ['receive.denyNonFastForwards', 'receive.denyDeletes'];
  it.each([
    ['git init --bare', '[core]\n\trepositoryformatversion = 0\n\tbare = true\n', both],
    ['the recipe’s settings', '[core]\n\tbare = true\n[receive]\n\tdenyNonFastForwards = true\n\tdenyDeletes = true\n', []],
    ['spelt otherwise: case, yes/on/1, a bare key, comments', '[Receive]\n  DENYNONFASTFORWARDS = yes ; set by admin\n  denydeletes\n', []],
    ['one of them', '[receive]\n\tdenyDeletes = true\n', ['receive.denyNonFastForwards']],
    [
      'set, then unset: the last value wins',
      '[receive]\n\tdenyNonFastForwards = true\n\tdenyDeletes = true\n[receive]\n\tdenyNonFastForwards = false\n',
      ['receive.denyNonFastForwards'],
    ],
    ['in a subsection, which git-receive-pack does not read', '[receive "x"]\n\tdenyNonFastForwards = true\n\tdenyDeletes = true\n', both],
    ['0 is false', '[receive]\n\tdenyNonFastForwards = 0\n\tdenyDeletes = 2\n', ['receive.denyNonFastForwards']],
  ])('%s', (_name, config, missing) => {
    expect(missingGitDenies(config)).toEqual(missing);
  });

  it('says nothing about a config that includes others (not followed here)', () => {
    expect(missingGitDenies('[include]\n\tpath = /etc/git/receive.conf\n')).toBeNull();
    expect(missingGitDenies('[includeIf "gitdir:/srv/"]\n\tpath = x\n')).toBeNull();
  });
});
