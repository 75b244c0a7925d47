/**
 * install.sh into a temp prefix, as CI can: what it writes, that the installed command works,
 * that a second run changes no configuration, and that --uninstall removes exactly its files.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';

const repo = fileURLToPath(new URL('../../', import.meta.url));
let dir: string;
let prefix: string;
let etc: string;
let logs: string;
let logrotate: string;

function install(...args: string[]) {
  const result = spawnSync(
    'bash',
    [join(repo, 'install.sh'), '--prefix', prefix, '--etc', etc, '--log-dir', logs, '--logrotate-dir', logrotate, ...args],
    {
      encoding: 'utf8',
      timeout: 120_000,
      // The machine's own node is 20: the installer must fall back to the one npm installed.
      env: { PATH: '/usr/bin:/bin' },
    },
  );
  return { code: result.status, out: result.stdout + result.stderr };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ssh-dispatch-install-'));
  prefix = join(dir, 'usr');
  etc = join(dir, 'etc', 'ssh-dispatch');
  logs = join(dir, 'log', 'ssh-dispatch');
  logrotate = join(dir, 'etc', 'logrotate.d');
  mkdirSync(logrotate, { recursive: true });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('installs the program, a runtime, the examples, man pages, completion, the directories and a logrotate snippet', () => {
  const result = install();
  expect(result.code, result.out).toBe(0);
  for (const file of [
    'lib/ssh-dispatch/ssh-dispatch.cjs',
    'lib/ssh-dispatch/ssh-dispatch-core.cjs',
    'lib/ssh-dispatch/ssh-dispatch-serve.cjs',
    'bin/ssh-dispatch',
    'share/ssh-dispatch/examples/rsync-backup.yaml',
    'share/ssh-dispatch/schema/audit.schema.json',
    'share/man/man8/ssh-dispatch.8',
    'share/man/man5/ssh-dispatch-policy.5',
    'share/bash-completion/completions/ssh-dispatch',
  ]) {
    expect(existsSync(join(prefix, file)), file).toBe(true);
  }
  expect(statSync(join(etc, 'policies')).mode & 0o777).toBe(0o755);
  // Group adm and set-group-ID as root: the logs created in it are readable by a monitoring agent in adm.
  expect(statSync(logs).mode & 0o7777).toBe(process.getuid?.() === 0 ? 0o2750 : 0o750);
  expect(readFileSync(join(logrotate, 'ssh-dispatch'), 'utf8')).toContain(`${logs}/*.jsonl`);
  expect(result.out).toContain(`authorized-key --id ID --command ${prefix}/bin/ssh-dispatch --policy ${etc}/policies KEY.pub`);
});

it('the installed command works: help, check, explain', () => {
  const command = join(prefix, 'bin', 'ssh-dispatch');
  expect(spawnSync(command, ['--help'], { encoding: 'utf8' }).stdout).toContain('ssh-dispatch explain');
  const page = spawnSync('man', ['-l', join(prefix, 'share/man/man8/ssh-dispatch.8')], {
    encoding: 'utf8',
    env: { PATH: '/usr/bin:/bin', MANWIDTH: '100' },
  });
  expect(page.stdout).toContain('ssh-dispatch explain');
  writeFileSync(join(etc, 'policies', 'main.yaml'), readFileSync(join(prefix, 'share/ssh-dispatch/examples/commands.yaml'), 'utf8'), {
    mode: 0o644,
  });
  const check = spawnSync(command, ['check', '--policy', join(etc, 'policies')], { encoding: 'utf8' });
  expect(check.status, check.stdout).toBe(0);
  // The example's directories do not exist here: warnings, never UNSAFE; "ok" only when nothing was found.
  expect(check.stdout).toMatch(/^(ok|\d+ warning\(s\)): 1 identities/m);
  expect(check.stdout).not.toContain('UNSAFE');
  const explain = spawnSync(
    command,
    ['explain', '--policy', join(etc, 'policies'), '--id', 'monitoring', '--from', '192.0.2.10', '--', 'df -h /srv/backup'],
    { encoding: 'utf8' },
  );
  expect(explain.status, explain.stdout + explain.stderr).toBe(0);
});

it('a second run replaces the program and keeps the configuration', () => {
  const policy = join(etc, 'policies', 'main.yaml');
  const before = readFileSync(policy, 'utf8');
  writeFileSync(join(logrotate, 'ssh-dispatch'), '# edited by the admin\n');
  const result = install();
  expect(result.code, result.out).toBe(0);
  expect(readFileSync(policy, 'utf8')).toBe(before);
  expect(readFileSync(join(logrotate, 'ssh-dispatch'), 'utf8')).toBe('# edited by the admin\n');
  // The second manifest still lists the snippet the first run wrote, once, and the settings.
  const manifest = readFileSync(join(prefix, 'lib', 'ssh-dispatch', 'MANIFEST'), 'utf8').split('\n');
  expect(manifest.filter((line) => line === join(logrotate, 'ssh-dispatch'))).toHaveLength(1);
  expect(manifest).toEqual(expect.arrayContaining([`#etc=${etc}`, `#log-dir=${logs}`]));
  expect(new Set(manifest).size).toBe(manifest.length);
});

it('refuses to install below a directory others can write to', () => {
  const open = join(dir, 'open');
  mkdirSync(open);
  chmodSync(open, 0o777);
  const result = spawnSync('bash', [join(repo, 'install.sh'), '--prefix', join(open, 'usr'), '--etc', etc, '--log-dir', logs], {
    encoding: 'utf8',
    env: { PATH: '/usr/bin:/bin' },
  });
  expect(result.status).toBe(1);
  expect(result.stderr).toContain('is writable by group or others');
});

it('--uninstall removes what both runs installed, the logrotate snippet too, and keeps policies and logs', () => {
  // Only --prefix: where the configuration and logs went, the manifest says.
  const result = spawnSync('bash', [join(repo, 'install.sh'), '--uninstall', '--prefix', prefix], {
    encoding: 'utf8',
    env: { PATH: '/usr/bin:/bin' },
  });
  const out = result.stdout + result.stderr;
  expect(result.status, out).toBe(0);
  expect(existsSync(join(prefix, 'bin', 'ssh-dispatch'))).toBe(false);
  expect(existsSync(join(prefix, 'lib', 'ssh-dispatch'))).toBe(false);
  // Nothing left below PREFIX/share: pages, completion and their (then empty) directories.
  expect(existsSync(join(prefix, 'share'))).toBe(true);
  expect(readdirSync(join(prefix, 'share'))).toEqual([]);
  // Written by the first run only ("if missing"), yet listed by the second.
  expect(existsSync(join(logrotate, 'ssh-dispatch'))).toBe(false);
  expect(out).toContain(`removed ${join(logrotate, 'ssh-dispatch')}`);
  expect(existsSync(join(etc, 'policies', 'main.yaml'))).toBe(true);
  expect(existsSync(logs)).toBe(true);
  expect(out).toContain(`kept: ${etc} (policies) and ${logs} (audit logs)`);
  expect(out).not.toMatch(/ \/etc\/ssh-dispatch|\/var\/log/);
});

it('--help comes first and tells the truth', () => {
  const result = spawnSync('bash', [join(repo, 'install.sh'), '--help'], { encoding: 'utf8' });
  expect(result.status).toBe(0);
  expect(result.stdout).toMatch(/^install.sh — install ssh-dispatch/);
  expect(result.stdout).toContain('--uninstall');
});

it('--account gives a service account its own compile cache, which the installed command then uses', () => {
  const cache = join(prefix, 'lib', 'ssh-dispatch', '.compile-cache');
  if (process.getuid?.() !== 0) {
    const result = install('--account', 'nobody');
    expect(result.code).not.toBe(0);
    expect(result.out).toContain('--account needs root');
    return;
  }
  chmodSync(dir, 0o755);
  const result = install('--account', 'nobody');
  expect(result.code, result.out).toBe(0);
  const own = statSync(join(cache, '65534'));
  expect([own.uid, own.mode & 0o777]).toEqual([65534, 0o700]);
  const run = spawnSync(
    '/usr/bin/setpriv',
    ['--reuid=65534', '--regid=65534', '--clear-groups', join(prefix, 'bin', 'ssh-dispatch'), '--help'],
    {
      encoding: 'utf8',
      env: { PATH: '/usr/bin:/bin', NODE_DEBUG_NATIVE: 'COMPILE_CACHE' },
    },
  );
  expect(run.status, run.stderr).toBe(0);
  expect(run.stderr).toContain(`creating cache directory ${cache}/65534/`);
});
