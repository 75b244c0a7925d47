/**
 * docs/recipes.md, the rsync recipes, with the real clients through a real sshd: rsnapshot
 * pulling a host's directories (`root: /` with `paths:`), and two rsync roots for one key. Each
 * recipe also runs a thief's attempts with the same key; the control shows what a key whose
 * forced command is `exec $SSH_ORIGINAL_COMMAND` (the login shell runs the client's words, as for
 * a key without command=) would have given.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientKey } from '../../src/lab/throwaway-sshd.js';
import { SSH } from '../../src/lab/throwaway-sshd.js';
import { rsyncThrough, sshOptionsOf, startLab, type Lab } from './lab.js';

let lab: Lab;
let host: string;
let keys: Record<'snap' | 'two' | 'plain', ClientKey>;

beforeAll(async () => {
  lab = await startLab();
  // "The host": its /etc and /home stand in these directories; /root holds what no backup takes.
  host = join(lab.sshd.dir, 'host');
  for (const dir of ['etc/cron.d', 'home/alice', 'root/.ssh']) mkdirSync(join(host, dir), { recursive: true, mode: 0o755 });
  writeFileSync(join(host, 'etc', 'hostname'), 'host1\n');
  writeFileSync(join(host, 'etc', 'cron.d', 'job'), '* * * * * root true\n');
  writeFileSync(join(host, 'home', 'alice', 'notes.txt'), 'notes\n');
  writeFileSync(join(host, 'root', '.ssh', 'id_ed25519'), 'PRIVATE KEY\n');
  for (const dir of ['srv/etc', 'srv/home']) mkdirSync(join(lab.sshd.dir, dir), { recursive: true, mode: 0o755 });
  lab.writePolicy(`version: 1
audit:
  file: {{AUDIT}}
identities:
  snap:
    rules:
      - { name: system, rsync: { root: /, access: read, paths: [${host}/etc, ${host}/home] } }
  two:
    rules:
      - { name: etc, rsync: { root: {{DIR}}/srv/etc, access: write, absolute-paths: true } }
      - { name: home, rsync: { root: {{DIR}}/srv/home, access: write, absolute-paths: true } }
`);
  keys = {
    snap: await lab.sshd.newClientKey('snap'),
    two: await lab.sshd.newClientKey('two'),
    plain: await lab.sshd.newClientKey('plain'),
  };
  lab.sshd.authorize([
    lab.dispatchLine(keys.snap, 'snap'),
    lab.dispatchLine(keys.two, 'two'),
    `restrict,command="exec $SSH_ORIGINAL_COMMAND" ${keys.plain.publicKey}`,
  ]);
});
afterAll(async () => lab?.stop());

const sshOptions = (key: ClientKey) => sshOptionsOf(lab.sshd, key);

function rsync(key: ClientKey, args: string[]): { code: number | null; out: string } {
  return rsyncThrough(lab.sshd, key, args, { timeoutMs: 30_000 });
}

function tree(path: string): string[] {
  const out: string[] = [];
  const walk = (p: string, rel: string) => {
    for (const name of readdirSync(p, { withFileTypes: true })) {
      if (name.isDirectory()) walk(join(p, name.name), `${rel}${name.name}/`);
      else out.push(`${rel}${name.name}`);
    }
  };
  if (existsSync(path)) walk(path, '');
  return out.sort();
}

describe('rsnapshot pulls the host’s directories: root: / with paths', () => {
  it('rsnapshot alpha: /etc/ and /home/ arrive under their full names, and a second run rotates', () => {
    const snapshots = join(lab.sshd.dir, 'snapshots');
    const { args, target } = sshOptions(keys.snap);
    const user = target.split('@')[0];
    const conf = join(lab.sshd.dir, 'rsnapshot.conf');
    // rsnapshot's format: tabs between fields.
    writeFileSync(
      conf,
      [
        'config_version\t1.2',
        `snapshot_root\t${snapshots}/`,
        'cmd_rsync\t/usr/bin/rsync',
        `cmd_ssh\t${SSH}`,
        `ssh_args\t${args.filter((a) => a !== user).join(' ')}`,
        'retain\talpha\t3',
        `lockfile\t${join(lab.sshd.dir, 'rsnapshot.pid')}`,
        `backup\t${target}:${host}/etc/\thost1/`,
        `backup\t${target}:${host}/home/\thost1/`,
        '',
      ].join('\n'),
    );
    for (let run = 0; run < 2; run++) {
      const result = spawnSync('/usr/bin/rsnapshot', ['-c', conf, 'alpha'], { encoding: 'utf8', timeout: 60_000 });
      expect(result.status, result.stdout + result.stderr).toBe(0);
    }
    const got = tree(join(snapshots, 'alpha.0', 'host1'));
    expect(got).toEqual([`${host.slice(1)}/etc/cron.d/job`, `${host.slice(1)}/etc/hostname`, `${host.slice(1)}/home/alice/notes.txt`]);
    expect(existsSync(join(snapshots, 'alpha.1'))).toBe(true);
    expect(lab.lastDecision()).toMatchObject({ decision: 'allow', rule: 'system', sandbox: { read: [`${host}/etc`, `${host}/home`] } });
  });

  it('control: a plain key pulls /root/.ssh too', () => {
    const local = join(lab.sshd.dir, 'plain-root');
    expect(rsync(keys.plain, ['-a', '--relative', `HOST:${host}/root/`, `${local}/`]).code).toBe(0);
    expect(tree(local)).toContain(`${host.slice(1)}/root/.ssh/id_ed25519`);
  });

  it('the thief with the rsnapshot key: /root/, the host’s root and a push are refused, nothing arrives', () => {
    const local = join(lab.sshd.dir, 'thief');
    for (const source of [`${host}/root/`, '/', `${host}/`, '/etc/shadow']) {
      expect(rsync(keys.snap, ['-a', '--relative', `HOST:${source}`, `${local}/`]).code, source).not.toBe(0);
      expect(lab.lastDecision()).toMatchObject({ decision: 'deny', reason: 'rsync-path-outside-rule' });
    }
    writeFileSync(join(lab.sshd.dir, 'evil'), 'evil\n');
    expect(rsync(keys.snap, [join(lab.sshd.dir, 'evil'), `HOST:${host}/etc/`]).code).not.toBe(0);
    expect(lab.lastDecision()).toMatchObject({ decision: 'deny', reason: 'rsync-direction-refused' });
    expect(tree(local)).toEqual([]);
    expect(existsSync(join(host, 'etc', 'evil'))).toBe(false);
  });
});

describe('two rsync roots for one key (absolute-paths on both)', () => {
  it('each path lands in its own rule, under its real name; a third is refused, not re-rooted', () => {
    const src = join(lab.sshd.dir, 'src');
    mkdirSync(src, { recursive: true });
    writeFileSync(join(src, 'f'), 'f\n');
    expect(rsync(keys.two, ['-a', `${src}/`, `HOST:${lab.sshd.dir}/srv/etc/`]).code).toBe(0);
    expect(lab.lastDecision()).toMatchObject({ rule: 'etc' });
    expect(rsync(keys.two, ['-a', `${src}/`, `HOST:${lab.sshd.dir}/srv/home/alice/`]).code).toBe(0);
    expect(lab.lastDecision()).toMatchObject({ rule: 'home' });
    expect(readFileSync(join(lab.sshd.dir, 'srv', 'home', 'alice', 'f'), 'utf8')).toBe('f\n');
    expect(rsync(keys.two, ['-a', `${src}/`, `HOST:${lab.sshd.dir}/srv/other/`]).code).not.toBe(0);
    expect(lab.lastDecision()).toMatchObject({ decision: 'deny', reason: 'rsync-path-outside-rule' });
    expect(existsSync(join(lab.sshd.dir, 'srv', 'etc', lab.sshd.dir.slice(1)))).toBe(false);
  });
});

describe('rsync -s (--protect-args, BackupPC’s default): the arguments sent on the connection are vetted like a command line', () => {
  it('a pull and a push of names with spaces work; the record shows the arguments read', () => {
    const share = join(host, 'home', 'alice', 'My Documents');
    mkdirSync(share, { recursive: true });
    writeFileSync(join(share, 'a file.txt'), 'spaces\n');
    const local = join(lab.sshd.dir, 'bpc');
    const pull = rsync(keys.snap, ['-a', '-s', `HOST:${share}/`, `${local}/`]);
    expect(pull.code, pull.out).toBe(0);
    expect(readFileSync(join(local, 'a file.txt'), 'utf8')).toBe('spaces\n');
    const decision = lab.lastDecision();
    expect(decision).toMatchObject({ decision: 'allow', rule: 'system' });
    expect(decision.protected_args).toEqual(expect.arrayContaining(['rsync', '.', `${share}/`]));
    expect((decision.argv as string[]).some((word) => word === '-s' || /^-s/.test(word))).toBe(false);
    const push = rsync(keys.two, ['-a', '-s', `${local}/`, `HOST:${lab.sshd.dir}/srv/home/with space/`]);
    expect(push.code, push.out).toBe(0);
    expect(readFileSync(join(lab.sshd.dir, 'srv', 'home', 'with space', 'a file.txt'), 'utf8')).toBe('spaces\n');
  });

  it('control: the login shell runs rsync -s with whatever the connection says, --delete included', () => {
    const victim = join(lab.sshd.dir, 'victim');
    mkdirSync(join(victim, 'keep'), { recursive: true });
    writeFileSync(join(victim, 'keep', 'stored'), 'stored\n');
    const empty = join(lab.sshd.dir, 'empty');
    mkdirSync(empty, { recursive: true });
    expect(rsync(keys.plain, ['-r', '-s', '--delete', `${empty}/`, `HOST:${victim}/`]).code).toBe(0);
    expect(tree(victim)).toEqual([]);
  });

  it('the thief: --delete and a path out of root inside the protected arguments are refused before rsync starts; nothing changes', () => {
    const target = join(lab.sshd.dir, 'srv', 'home', 'alice');
    const before = tree(target);
    const empty = join(lab.sshd.dir, 'empty2');
    mkdirSync(empty, { recursive: true });
    expect(rsync(keys.two, ['-r', '-s', '--delete', `${empty}/`, `HOST:${target}/`]).code).not.toBe(0);
    expect(lab.lastDecision()).toMatchObject({ decision: 'deny', reason: 'rsync-option-refused' });
    expect(rsync(keys.two, ['-r', '-s', `${empty}/`, `HOST:${lab.sshd.dir}/srv/home/../etc/`]).code).not.toBe(0);
    expect(lab.lastDecision()).toMatchObject({ decision: 'deny', reason: 'rsync-path-escapes-root' });
    expect(tree(target)).toEqual(before);
  });
});

describe('BackupPC 4: rsync_bpc pulls a share, with --protect-args as BackupPC runs it', () => {
  it('the share with spaces in its names arrives in the pool; the arguments it sent on the connection are in the record', () => {
    const share = join(host, 'home', 'alice');
    mkdirSync(join(share, 'My Documents'), { recursive: true });
    writeFileSync(join(share, 'My Documents', 'report 2026.txt'), 'report\n');
    const top = join(lab.sshd.dir, 'backuppc');
    for (const dir of ['cpool', 'pool', 'pc/host1/0/refCnt']) mkdirSync(join(top, dir), { recursive: true });
    const { args, target } = sshOptions(keys.snap);
    // The arguments BackupPC 4's default $Conf{RsyncArgs} and $Conf{RsyncSshArgs} give rsync_bpc.
    const result = spawnSync(
      '/usr/libexec/backuppc-rsync/rsync_bpc',
      [
        `--bpc-top-dir=${top}`,
        '--bpc-host-name=host1',
        `--bpc-share-name=${share}`,
        '--bpc-bkup-num=0',
        '--bpc-bkup-comp=3',
        '--bpc-bkup-prevnum=-1',
        '--bpc-bkup-prevcomp=-1',
        '--bpc-bkup-inode0=2',
        '--bpc-attrib-new',
        '--bpc-log-level=1',
        '-e',
        [SSH, ...args].join(' '),
        '--rsync-path=/usr/bin/rsync',
        '--super',
        '--recursive',
        '--protect-args',
        '--numeric-ids',
        '--perms',
        '--owner',
        '--group',
        '-D',
        '--times',
        '--links',
        '--hard-links',
        '--delete',
        '--delete-excluded',
        '--partial',
        '--log-format=log: %o %i %B %8U,%8G %9l %f%L',
        '--stats',
        `${target}:${share}/`,
        '/',
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(result.status, result.stdout + result.stderr).toBe(0);
    expect(result.stdout + result.stderr).toMatch(/DoneGen: 0 errors, .* [2-9]\d* filesTotal/);
    const decision = lab.lastDecision();
    expect(decision).toMatchObject({ decision: 'allow', rule: 'system' });
    expect(decision.protected_args).toEqual(expect.arrayContaining([`${share}/`]));
  });

  it('the thief with the BackupPC key, as rsync_bpc would send it: /root/.ssh is refused', () => {
    const local = join(lab.sshd.dir, 'bpc-thief');
    expect(rsync(keys.snap, ['-a', '-s', `HOST:${host}/root/.ssh/`, `${local}/`]).code).not.toBe(0);
    expect(lab.lastDecision()).toMatchObject({ decision: 'deny', reason: 'rsync-path-outside-rule' });
    expect(tree(local)).toEqual([]);
  });
});
