/**
 * The rule's root, looked at on disk just before rsync would run (act/confine-check.ts): one
 * that is missing, not a directory or writable by others is refused as rsync-root-unusable,
 * and a connection to it gets that decision (the decision explain and the forced command share).
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkConfinement } from '../../src/host/confine-check.js';
import { decideOnHost } from '../../src/host/decide-on-host.js';
import { loadPolicy } from '../../src/policy/load.js';

const dir = mkdtempSync(join(tmpdir(), 'ssh-dispatch-confine-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function root(name: string, mode = 0o700): string {
  const path = join(dir, name);
  mkdirSync(path);
  chmodSync(path, mode);
  return path;
}

describe('checkConfinement: the root itself', () => {
  it('a directory of our own, mode 0700 or 0755: no problem (the control)', () => {
    expect(checkConfinement(root('good'), [join(dir, 'good', 'x')])).toBeNull();
    expect(checkConfinement(root('good-755', 0o755), [])).toBeNull();
  });

  it.each([
    ['missing', () => join(dir, 'no-such-root'), /ENOENT/],
    ['a file', () => (writeFileSync(join(dir, 'a-file'), ''), join(dir, 'a-file')), /is not a directory/],
    ['writable by others', () => root('world', 0o777), /is writable by others/],
    ['writable by others, sticky (as /tmp)', () => root('sticky', 0o1777), /is writable by others/],
    [
      'a symlink to a world-writable directory',
      () => (symlinkSync(root('world-target', 0o777), join(dir, 'link')), join(dir, 'link')),
      /is writable by others/,
    ],
  ])('%s: rsync-root-unusable', (_what, make, detail) => {
    const problem = checkConfinement(make(), []);
    expect(problem).toMatchObject({ reason: 'rsync-root-unusable', detail: expect.stringMatching(detail) });
  });
});

describe('a push to a root that became unusable', () => {
  it('is denied with rsync-root-unusable, after the same push to a good root is allowed', async () => {
    const backups = root('backups');
    const policyFile = join(dir, 'policy.yaml');
    writeFileSync(
      policyFile,
      `version: 1\naudit: { file: ${join(dir, 'audit.jsonl')} }\nidentities:\n  h:\n    rules:\n      - { name: push, rsync: { root: ${backups}, access: write } }\n`,
      { mode: 0o600 },
    );
    const loaded = await loadPolicy(policyFile);
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
    const account = userInfo();
    const request = {
      identity: 'h',
      command: 'rsync --server -logDtpre.iLsfxCIvu . d/',
      client: null,
      keys: null,
      user: account.username,
      home: account.homedir,
      sshConnection: null,
      now: new Date(),
    };
    expect(decideOnHost(loaded.policy, request)).toMatchObject({ decision: 'allow', rule: { name: 'push' } });
    chmodSync(backups, 0o777);
    expect(decideOnHost(loaded.policy, request)).toMatchObject({
      decision: 'deny',
      reason: 'rsync-root-unusable',
      detail: `rule push: ${backups} is writable by others`,
    });
  });
});
