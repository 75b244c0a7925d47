/**
 * installed.conf (src/installed.ts): what install.sh writes is read back exactly, anything else
 * is an error (the launcher then runs nothing), and the hand-over sets the defaults.
 */
import { afterEach, expect, it, vi } from 'vitest';
import { handOver, installedSettings, parseInstalled } from '../src/installed.js';

const KEY = Symbol.for('ssh-dispatch.installed');
afterEach(() => {
  delete (globalThis as Record<symbol, unknown>)[KEY];
  vi.resetModules();
});

it('reads what install.sh writes: a comment, etc= and log-dir=', () => {
  expect(parseInstalled('# Written by install.sh\netc=/opt/sd/etc\nlog-dir=/srv/log/sd/\n')).toEqual({
    etc: '/opt/sd/etc',
    logDir: '/srv/log/sd',
  });
});

it.each([
  ['an unknown key', 'etc=/a\nlog-dir=/b\npolicy=/tmp\n', 'unexpected line "policy=/tmp"'],
  ['a relative path', 'etc=a\nlog-dir=/b\n', 'unexpected line "etc=a"'],
  ['a key given twice', 'etc=/a\netc=/c\nlog-dir=/b\n', 'etc is given twice'],
  ['a missing key', 'etc=/a\n', 'both etc= and log-dir='],
  ['a space before the key', ' etc=/a\nlog-dir=/b\n', 'unexpected line'],
])('refuses %s', (_, text, message) => {
  expect(parseInstalled(text)).toEqual(expect.stringContaining(message));
});

it('the defaults follow what the launcher handed over, and are the built-in ones without it', async () => {
  // Control: nothing handed over (tests, a build run from dist/).
  expect(installedSettings()).toBeUndefined();
  const plain = await import('../src/policy/schema.js');
  expect([plain.DEFAULT_POLICY_PATH, plain.DEFAULT_AUDIT_FILE]).toEqual([
    '/etc/ssh-dispatch/policies',
    '/var/log/ssh-dispatch/audit.jsonl',
  ]);
  vi.resetModules();
  handOver({ etc: '/opt/sd/etc', logDir: '/srv/log/sd' });
  const fresh = await import('../src/policy/schema.js');
  expect([fresh.DEFAULT_POLICY_PATH, fresh.DEFAULT_AUDIT_FILE]).toEqual(['/opt/sd/etc/policies', '/srv/log/sd/audit.jsonl']);
  const { parseForcedArgs } = await import('../src/serve/command-line.js');
  expect(parseForcedArgs(['--id', 'backup'])).toEqual(expect.objectContaining({ policyPath: '/opt/sd/etc/policies' }));
});
