import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { authorizedKeysFindings, keyLineOptions } from '../../src/cli/check-keys.js';
import { policyFrom } from '../helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'ssh-dispatch-check-keys-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIC1aH2xXcAt0iZtZ6dWxJZ4pSY3sJ2C1Ar5TQfk4PDbT host1';
const policy = policyFrom('version: 1\nidentities:\n  host1-backup:\n    rules:\n      - { name: t, exec: { command: "true", program: /bin/true } }\n');
const uid = process.getuid!();

function findings(lines: string[], shell = '/bin/sh'): string[] {
  const file = join(dir, 'authorized_keys');
  const passwd = join(dir, 'passwd');
  writeFileSync(file, `${lines.join('\n')}\n`);
  writeFileSync(passwd, `backup:x:${uid}:${uid}::/home/backup:${shell}\n`);
  return authorizedKeysFindings(file, policy, passwd).map((f) => f.replace(`${file}`, 'FILE'));
}

describe('keyLineOptions', () => {
  it.each([
    [KEY, null],
    [`restrict,command="/usr/local/bin/ssh-dispatch --id a" ${KEY}`, ['restrict', 'command="/usr/local/bin/ssh-dispatch --id a"']],
    [`from="10.0.0.1,10.0.0.2",command="x, y" ${KEY}`, ['from="10.0.0.1,10.0.0.2"', 'command="x, y"']],
    [`command="say \\"hi\\"",no-pty ${KEY}`, ['command="say \\"hi\\""', 'no-pty']],
  ])('%s', (line, expected) => expect(keyLineOptions(line)).toEqual(expected));
});

describe('check --authorized-keys', () => {
  const dispatch = (options: string, id = 'host1-backup') => `${options}${options ? ',' : ''}command="/usr/local/bin/ssh-dispatch --id ${id}" ${KEY}`;

  it('a restricted line for a known identity, in an account with /bin/sh: nothing to say', () => {
    expect(findings([dispatch('restrict')])).toEqual([]);
  });

  it('restrict spelled out in full is as good', () => {
    expect(findings([dispatch('no-port-forwarding,no-agent-forwarding,no-X11-forwarding,no-pty,no-user-rc')])).toEqual([]);
  });

  it.each([
    ['no restrict', [dispatch('')], 'FILE:1: warning: runs ssh-dispatch without restrict'],
    ['restrict half spelled out', [dispatch('no-pty,no-port-forwarding')], 'FILE:1: warning: runs ssh-dispatch without restrict'],
    ['environment=', [dispatch('restrict,environment="NODE_OPTIONS=--inspect"')], 'FILE:1: warning: environment= sets variables'],
    ['an identity the policy lacks', [dispatch('restrict', 'host9')], 'FILE:1: warning: --id host9 is not an identity of the policy'],
    ['a key without command= beside it', [dispatch('restrict'), KEY], 'FILE:2: warning: a key with no command= in the same file'],
    ['no ssh-dispatch line at all', [KEY], 'FILE: warning: no line runs ssh-dispatch'],
  ])('%s', (_name, lines, expected) => {
    expect(findings(lines).join('\n')).toContain(expected);
  });

  it('an account whose login shell is bash', () => {
    expect(findings([dispatch('restrict')], '/bin/bash')).toEqual([expect.stringContaining("FILE: warning: backup's login shell is /bin/bash")]);
  });

  it('a file that cannot be read says so', () => {
    expect(authorizedKeysFindings(join(dir, 'missing'), policy)[0]).toContain('could not be read (ENOENT)');
  });
});
