/**
 * A read rule never hands a backup a stand-in (docs/threat-model.md, "Silent stand-ins";
 * docs/policy.md, "The sandbox"): the host's real /etc pulled with the real rsync and rsnapshot through a real
 * sshd, under `root: /`, `paths: [/etc]` (the rsnapshot and BackupPC recipes). Withheld secrets
 * make the pull fail (exit 23, the end record's `withheld`), nothing arrives as a device node, and
 * a --delete into yesterday's copy keeps yesterday's keys; `secrets: serve` brings them whole.
 * The control is the same pull through the sandbox as it was (act/sandbox.ts's bwrap arguments for
 * a plan that names no request paths: /dev/null over each file, an empty tmpfs over each
 * directory): exit 0 with shadow a character device and ssh/ empty.
 */
import { spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientKey } from '../../src/lab/throwaway-sshd.js';
import { SSH } from '../../src/lab/throwaway-sshd.js';
import { bindsOf, bwrapArgs, hostLayout } from '../../src/act/sandbox.js';
import { BWRAP, ROOT_CAPS } from '../../src/rules/sandbox.js';
import { rsyncThrough, sshOptionsOf, startLab, type Lab } from './lab.js';

const asRoot = process.getuid?.() === 0;

let lab: Lab;
let keys: Record<'unsaid' | 'served' | 'today' | 'execve' | 'tar' | 'tarServed', ClientKey>;
/** The secrets this host has in /etc: what a pull of /etc/ is withheld. */
let present: string[];

beforeAll(async () => {
  lab = await startLab();
  present = hostLayout().secrets.map((secret) => secret.path);
  lab.writePolicy(`version: 1
audit:
  file: {{AUDIT}}
identities:
  unsaid:
    rules:
      - { name: system, rsync: { root: /, access: read, paths: [/etc] } }
  served:
    rules:
      - { name: system-served, rsync: { root: /, access: read, paths: [/etc], secrets: serve } }
  execve:
    rules:
      - { name: system-execve, rsync: { root: /, access: read, paths: [/etc], supervise: false } }
  tar:
    rules:
      - { name: tar-withheld, exec: { command: "tar -cf - /etc/ssh", program: /usr/bin/tar, sandbox: { read: [/etc] } } }
  tar-served:
    rules:
      - { name: tar-served, exec: { command: "tar -cf - /etc/ssh", program: /usr/bin/tar, sandbox: { read: [/etc], secrets: serve } } }
`);
  // The control: today's namespace for this pull, around the client's words (like the recipes'
  // `exec $SSH_ORIGINAL_COMMAND` control key, here inside the sandbox as it was).
  const today = bwrapArgs(
    {
      sandbox: { read: ['/etc'], write: [], rootCaps: [...ROOT_CAPS.read] },
      runtime: [],
      read: bindsOf(['/etc']),
      write: [],
      cwd: '/',
      statusFd: null,
      argv: [],
    },
    hostLayout(),
  );
  const script = join(lab.sshd.dir, 'today.sh');
  writeFileSync(
    script,
    `#!/bin/sh\nexec ${BWRAP} ${today
      .slice(0, -1)
      .map((a) => `'${a}'`)
      .join(' ')} -- /bin/sh -c "$SSH_ORIGINAL_COMMAND"\n`,
    { mode: 0o755 },
  );
  keys = {
    unsaid: await lab.sshd.newClientKey('unsaid'),
    served: await lab.sshd.newClientKey('served'),
    today: await lab.sshd.newClientKey('today'),
    execve: await lab.sshd.newClientKey('execve'),
    tar: await lab.sshd.newClientKey('tar'),
    tarServed: await lab.sshd.newClientKey('tarServed'),
  };
  lab.sshd.authorize([
    lab.dispatchLine(keys.unsaid, 'unsaid'),
    lab.dispatchLine(keys.served, 'served'),
    lab.dispatchLine(keys.execve, 'execve'),
    lab.dispatchLine(keys.tar, 'tar'),
    lab.dispatchLine(keys.tarServed, 'tar-served'),
    `restrict,command="${script}" ${keys.today.publicKey}`,
  ]);
});
afterAll(async () => lab?.stop());

const sshOptions = (key: ClientKey) => sshOptionsOf(lab.sshd, key);

function rsync(key: ClientKey, args: string[]): { code: number | null; out: string } {
  return rsyncThrough(lab.sshd, key, args, { timeoutMs: 60_000 });
}

/** Every device node or special file under `path`, as relative names. */
function devices(path: string): string[] {
  const found: string[] = [];
  const walk = (p: string, rel: string) => {
    for (const entry of readdirSync(p, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(p, entry.name), `${rel}${entry.name}/`);
      else if (!entry.isFile() && !entry.isSymbolicLink()) found.push(`${rel}${entry.name}`);
    }
  };
  walk(path, '');
  return found.sort();
}

function endRecord(): Record<string, unknown> {
  const ends = lab.records().filter((r) => r.event === 'end');
  return ends[ends.length - 1]!;
}

const fresh = (name: string) => {
  const dir = join(lab.sshd.dir, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  return dir;
};

describe.runIf(asRoot)('a pull of /etc/ under root: /, paths: [/etc]', () => {
  it('control: today’s sandbox hands the backup stand-ins with exit 0: shadow and gshadow as character devices 1,3, ssh/ empty', () => {
    const copy = fresh('today');
    const result = rsync(keys.today, ['-a', 'HOST:/etc/', `${copy}/`]);
    expect(result.code, result.out).toBe(0);
    const shadow = lstatSync(join(copy, 'shadow'));
    expect(shadow.isCharacterDevice()).toBe(true);
    expect([shadow.rdev >> 8, shadow.rdev & 0xff]).toEqual([1, 3]);
    expect(devices(copy)).toContain('gshadow');
    expect(readdirSync(join(copy, 'ssh'))).toEqual([]);
  });

  it('withheld (the rule does not say secrets:): exit 23 naming each, the end record lists them, nothing arrives as a device and shadow not at all', () => {
    const copy = fresh('withheld');
    const result = rsync(keys.unsaid, ['-a', 'HOST:/etc/', `${copy}/`]);
    expect(result.code, result.out).toBe(23);
    expect(result.out).toContain('send_files failed to open "/etc/shadow": Permission denied (13)');
    expect(result.out).toContain('opendir "/etc/ssh" failed: Permission denied (13)');
    expect(result.out).toContain('ssh-dispatch: the policy withholds /etc/shadow');
    expect(endRecord()).toMatchObject({ rule: 'system', outcome: 'exited', exit: 23, withheld: present });
    expect(present).toEqual(expect.arrayContaining(['/etc/shadow', '/etc/gshadow', '/etc/ssh']));
    expect(devices(copy)).toEqual([]);
    expect(() => lstatSync(join(copy, 'shadow'))).toThrow(/ENOENT/);
    expect(() => lstatSync(join(copy, 'gshadow'))).toThrow(/ENOENT/);
    // A withheld directory's entry arrives, empty and mode 0000, with the failure (rsync lists a
    // directory before it opens it).
    expect(readdirSync(join(copy, 'ssh'))).toEqual([]);
    expect(lstatSync(join(copy, 'ssh')).mode & 0o7777).toBe(0);
    // What does not hold secrets still arrives whole.
    expect(readFileSync(join(copy, 'hostname'), 'utf8')).toBe(readFileSync('/etc/hostname', 'utf8'));
  });

  it('secrets: serve: shadow arrives as a regular file identical to the host’s, with the host keys, exit 0 and nothing withheld', () => {
    const copy = fresh('served');
    const result = rsync(keys.served, ['-a', 'HOST:/etc/', `${copy}/`]);
    expect(result.code, result.out).toBe(0);
    expect(lstatSync(join(copy, 'shadow')).isFile()).toBe(true);
    expect(readFileSync(join(copy, 'shadow'))).toEqual(readFileSync('/etc/shadow'));
    const hostKeys = readdirSync('/etc/ssh').filter((name) => name.startsWith('ssh_host_'));
    expect(hostKeys.length).toBeGreaterThan(0);
    for (const name of hostKeys) expect(readFileSync(join(copy, 'ssh', name)), name).toEqual(readFileSync(join('/etc/ssh', name)));
    expect(devices(copy)).toEqual([]);
    expect(endRecord()).toMatchObject({ rule: 'system-served', exit: 0 });
    expect(endRecord()).not.toHaveProperty('withheld');
  });

  it('a --delete pull into yesterday’s complete copy fails and keeps yesterday’s shadow and host keys (control: today’s stand-ins replace them with exit 0)', () => {
    const copy = fresh('yesterday');
    expect(rsync(keys.served, ['-a', 'HOST:/etc/', `${copy}/`]).code).toBe(0);
    const withheld = rsync(keys.unsaid, ['-a', '--delete', 'HOST:/etc/', `${copy}/`]);
    expect(withheld.code, withheld.out).toBe(23);
    expect(withheld.out).toContain('IO error encountered -- skipping file deletion');
    expect(readFileSync(join(copy, 'shadow'))).toEqual(readFileSync('/etc/shadow'));
    for (const name of readdirSync('/etc/ssh')) expect(readdirSync(join(copy, 'ssh'))).toContain(name);
    expect(devices(copy)).toEqual([]);

    const control = rsync(keys.today, ['-a', '--delete', 'HOST:/etc/', `${copy}/`]);
    expect(control.code, control.out).toBe(0);
    expect(lstatSync(join(copy, 'shadow')).isCharacterDevice()).toBe(true);
    expect(readdirSync(join(copy, 'ssh'))).toEqual([]);
  });

  it('control: a pull beside the secrets costs nothing: exit 0, whole, no withheld field', () => {
    const copy = fresh('beside');
    const result = rsync(keys.unsaid, ['-a', 'HOST:/etc/hostname', 'HOST:/etc/cron.d', `${copy}/`]);
    expect(result.code, result.out).toBe(0);
    expect(readFileSync(join(copy, 'hostname'), 'utf8')).toBe(readFileSync('/etc/hostname', 'utf8'));
    expect(endRecord()).toMatchObject({ rule: 'system', exit: 0 });
    expect(endRecord()).not.toHaveProperty('withheld');
  });

  it('under supervise: false too: the run that withholds stays supervised, exits 23 and its end record lists them (control: a pull beside them is handed over by execve, no end record)', () => {
    const before = lab.records().filter((r) => r.event === 'end').length;
    const beside = rsync(keys.execve, ['-a', 'HOST:/etc/hostname', `${fresh('execve-beside')}/`]);
    expect(beside.code, beside.out).toBe(0);
    expect(lab.records().filter((r) => r.event === 'end')).toHaveLength(before);
    const result = rsync(keys.execve, ['-a', 'HOST:/etc/', `${fresh('execve')}/`]);
    expect(result.code, result.out).toBe(23);
    expect(endRecord()).toMatchObject({ rule: 'system-execve', exit: 23, withheld: present });
  });

  it('an exec rule’s sandbox: tar of /etc/ssh fails on the withheld directory (exit 2), and with secrets: serve archives the host keys', async () => {
    const withheld = await lab.sshd.ssh(keys.tar, 'tar -cf - /etc/ssh');
    expect(withheld.code, withheld.stderr).toBe(2);
    expect(withheld.stderr).toContain('Permission denied');
    expect(withheld.stdout.includes(Buffer.from('ssh_host_'))).toBe(false);
    // What the program may read is its sandbox paths: every secret in /etc is withheld from it.
    expect(endRecord()).toMatchObject({ rule: 'tar-withheld', exit: 2, withheld: present });
    const served = await lab.sshd.ssh(keys.tarServed, 'tar -cf - /etc/ssh');
    expect(served.code, served.stderr).toBe(0);
    expect(served.stdout.includes(Buffer.from('etc/ssh/ssh_host_'))).toBe(true);
  });

  it('rsnapshot (its recipe: backup HOST:/etc/): reports the failure where today it succeeded with stand-ins', () => {
    const runSnapshot = (key: ClientKey, name: string) => {
      const snapshots = fresh(`${name}-snapshots`);
      const { args, target } = sshOptions(key);
      const user = target.split('@')[0];
      const conf = join(lab.sshd.dir, `${name}.conf`);
      writeFileSync(
        conf,
        [
          'config_version\t1.2',
          `snapshot_root\t${snapshots}/`,
          'cmd_rsync\t/usr/bin/rsync',
          `cmd_ssh\t${SSH}`,
          `ssh_args\t${args.filter((a) => a !== user).join(' ')}`,
          'retain\talpha\t3',
          `lockfile\t${join(lab.sshd.dir, `${name}.pid`)}`,
          `backup\t${target}:/etc/\thost1/`,
          '',
        ].join('\n'),
      );
      const result = spawnSync('/usr/bin/rsnapshot', ['-c', conf, 'alpha'], { encoding: 'utf8', timeout: 120_000 });
      return { code: result.status, out: result.stdout + result.stderr, etc: join(snapshots, 'alpha.0', 'host1', 'etc') };
    };
    const control = runSnapshot(keys.today, 'rsnapshot-today');
    expect(control.code, control.out).toBe(0);
    expect(lstatSync(join(control.etc, 'shadow')).isCharacterDevice()).toBe(true);

    const now = runSnapshot(keys.unsaid, 'rsnapshot-withheld');
    // rsnapshot's exit 2 is its "completed, but with some warnings" (rsync's 23 is one).
    expect(now.code, now.out).toBe(2);
    expect(now.out).toContain('WARNING: Some files and/or directories in');
    expect(now.out).toContain('only transferred partially');
    expect(devices(now.etc)).toEqual([]);
    expect(endRecord()).toMatchObject({ rule: 'system', exit: 23, withheld: present });
  });
});
