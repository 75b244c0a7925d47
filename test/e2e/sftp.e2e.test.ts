/**
 * sftp rules through the real sshd (docs/policy.md "sftp"): OpenSSH's sftp in batch mode, scp
 * (SFTP, the default since 9.0) and scp -O (legacy), both directions and -r, and restic's sftp
 * backend, served by our file server in the sandbox. Each refusal has its control: a key whose
 * forced command is OpenSSH's own sftp-server (what a sysadmin writes without us, and what an
 * exec rule running it did) shows the damage the rule stops.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorizedKeyLine, SSH, type ClientKey } from '../../src/lab/throwaway-sshd.js';
import { startLab, type Lab } from './lab.js';
import { fileClients } from './file-clients.js';

const SFTP_SERVER = '/usr/lib/openssh/sftp-server';
const SECRET = 'SECRET-9d2e';

let lab: Lab;
let base: string;
let local: string;
const keys = {} as Record<'rw' | 'strict' | 'ro' | 'restic' | 'bare', ClientKey>;
const rootOf = (name: string) => join(base, name);

beforeAll(async () => {
  // Debian's default: the subsystem arrives as the sftp-server path.
  lab = await startLab({ extraConfig: [`Subsystem sftp ${SFTP_SERVER}`] });
  base = join(lab.sshd.dir, 'srv');
  local = join(lab.sshd.dir, 'local');
  for (const name of ['rw', 'strict', 'ro', 'restic']) mkdirSync(rootOf(name), { recursive: true, mode: 0o755 });
  mkdirSync(local);
  writeFileSync(join(base, 'outside.txt'), `${SECRET}\n`);
  for (const name of ['rw', 'strict', 'ro']) {
    writeFileSync(join(rootOf(name), 'stored.txt'), 'stored\n');
    mkdirSync(join(rootOf(name), 'dir'));
    writeFileSync(join(rootOf(name), 'dir', 'inner.txt'), 'inner\n');
    symlinkSync(join(base, 'outside.txt'), join(rootOf(name), 'link-out'));
    symlinkSync('/etc/shadow', join(rootOf(name), 'shadow'));
  }
  lab.writePolicy(`version: 1
audit:
  file: {{AUDIT}}
identities:
  rw: { rules: [ { name: exchange, sftp: { root: ${rootOf('rw')}, access: read-write } } ] }
  strict: { rules: [ { name: drop, sftp: { root: ${rootOf('strict')}, access: write, delete: false, overwrite: false } } ] }
  ro: { rules: [ { name: shelf, sftp: { root: ${rootOf('ro')}, access: read } } ] }
  restic: { rules: [ { name: repo, sftp: { root: ${rootOf('restic')}, access: read-write, delete: true } } ] }
`);
  for (const name of ['rw', 'strict', 'ro', 'restic', 'bare'] as const) keys[name] = await lab.sshd.newClientKey(name);
  lab.sshd.authorize([
    ...(['rw', 'strict', 'ro', 'restic'] as const).map((id) => lab.dispatchLine(keys[id], id)),
    authorizedKeyLine('restrict', [SFTP_SERVER], keys.bare),
  ]);
  writeFileSync(join(local, 'up.txt'), 'uploaded\n');
  writeFileSync(join(local, 'stored.txt'), 'replacement\n');
  mkdirSync(join(local, 'tree', 'sub'), { recursive: true });
  writeFileSync(join(local, 'tree', 'a.txt'), 'a\n');
  writeFileSync(join(local, 'tree', 'sub', 'b.txt'), 'b\n');
});

afterAll(async () => {
  await lab?.stop();
  for (const path of ['/tmp/ssh-dispatch-sftp-escape', '/tmp/ssh-dispatch-scp-escape']) rmSync(path, { force: true });
});

/** sftp(1) and scp(1) take ssh's options, with -P for the port. */
const { clientOptions, sftp, scp } = fileClients(
  () => lab.sshd,
  () => local,
);

const read = (path: string) => readFileSync(path, 'utf8');
const fileRecords = (id: string) => lab.records().filter((r) => r.event === 'file' && r.id === id);
/** The refusal codes recorded in the last session: the attempt reached the server and was refused there. */
const lastRefusals = () =>
  lab
    .recordsOf(String(lab.lastDecision().session))
    .flatMap((r) => (r.event === 'file' && r.refused !== undefined ? [String(r.refused)] : []));

describe('sftp, scp and scp -O are served, confined to root, with a record per file', () => {
  it('sftp: the client starts in root, which is its "/"; put, get, mkdir, rename, ls', () => {
    const result = sftp(keys.rw, [
      'pwd',
      'mkdir in',
      'put up.txt in/up.txt',
      'rename in/up.txt in/renamed.txt',
      'get stored.txt got.txt',
      'ls -1 /',
    ]);
    expect(result.code, result.out).toBe(0);
    expect(result.out).toContain('Remote working directory: /');
    expect(read(join(rootOf('rw'), 'in', 'renamed.txt'))).toBe('uploaded\n');
    expect(read(join(local, 'got.txt'))).toBe('stored\n');
    expect(lab.lastDecision()).toMatchObject({
      decision: 'allow',
      rule: 'exchange',
      command: SFTP_SERVER,
      files: { protocol: 'sftp', root: rootOf('rw') },
    });
    const session = String(lab.lastDecision().session);
    const ops = lab
      .recordsOf(session)
      .filter((r) => r.event === 'file')
      .map((r) => [r.op, r.path, r.to ?? null, r.bytes ?? null]);
    expect(ops).toEqual(
      expect.arrayContaining([
        ['mkdir', '/in', null, null],
        ['write', '/in/up.txt', null, 9],
        ['rename', '/in/up.txt', '/in/renamed.txt', null],
        ['read', '/stored.txt', null, 7],
      ]),
    );
    expect(lab.recordsOf(session).find((r) => r.event === 'end')).toMatchObject({
      outcome: 'exited',
      exit: 0,
      files: { mkdir: 1, write: 1, rename: 1, read: 1 },
    });
  });

  it.each([
    ['scp (SFTP)', [] as string[]],
    ['scp -O (legacy)', ['-O']],
  ])('%s: a file and a tree up and down, -p times kept', (_name, mode) => {
    const tag = mode.length > 0 ? 'legacy' : 'sftp';
    expect(scp(keys.rw, [...mode, 'up.txt', `HOST:/${tag}-up.txt`]).code).toBe(0);
    expect(read(join(rootOf('rw'), `${tag}-up.txt`))).toBe('uploaded\n');
    const tree = scp(keys.rw, [...mode, '-r', '-p', 'tree', `HOST:${tag}-tree`]);
    expect(tree.code, tree.out).toBe(0);
    expect(read(join(rootOf('rw'), `${tag}-tree`, 'sub', 'b.txt'))).toBe('b\n');
    const down = scp(keys.rw, [...mode, '-r', 'HOST:/dir', join(local, `${tag}-down`)]);
    expect(down.code, down.out).toBe(0);
    expect(read(join(local, `${tag}-down`, 'inner.txt'))).toBe('inner\n');
    if (mode.length > 0)
      expect(lab.lastDecision()).toMatchObject({ command: 'scp -r -f /dir', files: { protocol: 'scp', scp: 'from-server' } });
    expect(fileRecords('rw').some((r) => r.op === 'write' && r.path === `/${tag}-tree/sub/b.txt` && r.bytes === 2)).toBe(true);
  });

  it('restic: init, backup and snapshots through its sftp backend', () => {
    const { options, host } = clientOptions(keys.restic);
    const ssh = [SSH, ...options.map((a) => (a === '-P' ? '-p' : a)), host, '-s', 'sftp'].join(' ');
    const restic = (...args: string[]) =>
      spawnSync('/usr/bin/restic', ['-r', 'sftp:ignored:/repo', '-o', `sftp.command=${ssh}`, '--no-cache', ...args], {
        cwd: local,
        encoding: 'utf8',
        timeout: 60_000,
        env: { PATH: '/usr/bin:/bin', RESTIC_PASSWORD: 'correct horse', HOME: local },
      });
    const init = restic('init');
    expect(init.status, init.stderr).toBe(0);
    const backup = restic('backup', join(local, 'tree'));
    expect(backup.status, backup.stderr).toBe(0);
    const snapshots = restic('snapshots', '--json');
    expect(snapshots.status, snapshots.stderr).toBe(0);
    expect(JSON.parse(snapshots.stdout)).toHaveLength(1);
    expect(readdirSync(join(rootOf('restic'), 'repo')).sort()).toEqual(
      expect.arrayContaining(['config', 'data', 'index', 'keys', 'snapshots']),
    );
    expect(fileRecords('restic').filter((r) => r.op === 'write').length).toBeGreaterThan(3);
  }, 120_000);
});

describe('the other spellings of the subsystem', () => {
  it('with `Subsystem sftp internal-sftp` the request arrives as internal-sftp and is served the same', async () => {
    const other = await startLab({ extraConfig: ['Subsystem sftp internal-sftp'] });
    try {
      other.writePolicy(
        `version: 1\naudit:\n  file: {{AUDIT}}\nidentities:\n  rw: { rules: [ { name: exchange, sftp: { root: ${rootOf('rw')}, access: read-write } } ] }\n`,
      );
      const key = await other.sshd.newClientKey('rw2');
      other.sshd.authorize([other.dispatchLine(key, 'rw')]);
      const args = other.sshd.sshArgs(key);
      const host = args.pop()!;
      const result = spawnSync(
        '/usr/bin/scp',
        [...args.map((a) => (a === '-p' ? '-P' : a)), `${host}:/stored.txt`, join(local, 'internal.txt')],
        { encoding: 'utf8', timeout: 30_000 },
      );
      expect(result.status, result.stderr).toBe(0);
      expect(read(join(local, 'internal.txt'))).toBe('stored\n');
      expect(other.lastDecision()).toMatchObject({ decision: 'allow', command: 'internal-sftp', rule: 'exchange' });
    } finally {
      await other.stop();
    }
  });
});

describe('nothing outside root exists for the client', () => {
  it('control: OpenSSH’s sftp-server as the forced command reads /etc/passwd, a symlink to /etc/shadow and files above its start, and writes into /tmp', () => {
    const result = sftp(keys.bare, [
      `cd ${rootOf('rw')}`,
      'get /etc/passwd bare-passwd',
      'get shadow bare-shadow',
      'get ../outside.txt bare-outside',
      'put up.txt /tmp/ssh-dispatch-sftp-escape',
    ]);
    expect(result.code, result.out).toBe(0);
    expect(read(join(local, 'bare-passwd'))).toMatch(/^root:/);
    expect(read(join(local, 'bare-shadow'))).toMatch(/^root:/);
    expect(read(join(local, 'bare-outside'))).toBe(`${SECRET}\n`);
    expect(existsSync('/tmp/ssh-dispatch-sftp-escape')).toBe(true);
    rmSync('/tmp/ssh-dispatch-sftp-escape');
  });

  it('the rule: /etc/passwd, the symlink to /etc/shadow, a link out of root and ../ lead nowhere; a write "outside" fails and lands nowhere', () => {
    const result = sftp(keys.rw, [
      '-get /etc/passwd r-passwd',
      '-get shadow r-shadow',
      '-get link-out r-link',
      '-get ../outside.txt r-outside',
      '-get ../../../../etc/hostname r-hostname',
      'cd ..',
      'pwd',
      '-put up.txt /../../../../tmp/ssh-dispatch-sftp-escape',
    ]);
    expect(result.code, result.out).toBe(0);
    expect(result.out).toContain('Remote working directory: /');
    for (const name of ['r-passwd', 'r-shadow', 'r-link', 'r-outside', 'r-hostname'])
      expect(existsSync(join(local, name)), name).toBe(false);
    expect(existsSync('/tmp/ssh-dispatch-sftp-escape')).toBe(false);
    // "/../../../../tmp/x" is /tmp/x under root, and root has no tmp/: refused, nothing made.
    expect(existsSync(join(rootOf('rw'), 'tmp'))).toBe(false);
  });

  it('scp -O cannot reach out either, by path or through a link', () => {
    expect(scp(keys.rw, ['-O', 'HOST:/etc/passwd', join(local, 'o-passwd')]).code).not.toBe(0);
    expect(scp(keys.rw, ['-O', 'HOST:shadow', join(local, 'o-shadow')]).code).not.toBe(0);
    expect(scp(keys.rw, ['-O', 'up.txt', 'HOST:../../../../tmp/ssh-dispatch-scp-escape']).code).not.toBe(0);
    for (const path of [join(local, 'o-passwd'), join(local, 'o-shadow'), '/tmp/ssh-dispatch-scp-escape'])
      expect(existsSync(path), path).toBe(false);
  });
});

describe('delete: false, overwrite: false, access: read and write hold for every client', () => {
  it('control: the bare server removes, renames over and overwrites stored files', () => {
    writeFileSync(join(base, 'victim-a'), 'a\n');
    writeFileSync(join(base, 'victim-b'), 'b\n');
    const result = sftp(keys.bare, [
      `cd ${base}`,
      'rm victim-a',
      'rename victim-b outside.copy',
      `put stored.txt ${join(base, 'victim-c')}`,
      `put stored.txt ${join(base, 'victim-c')}`,
    ]);
    expect(result.code, result.out).toBe(0);
    expect(existsSync(join(base, 'victim-a'))).toBe(false);
    expect(read(join(base, 'victim-c'))).toBe('replacement\n');
  });

  it('delete: false — rm, rmdir and a rename over an existing name are refused, and recorded as refused', () => {
    const result = sftp(keys.strict, [
      '-rm stored.txt',
      '-rmdir dir',
      '-rename dir/inner.txt stored.txt',
      'put up.txt new.txt',
      'rename new.txt renamed.txt',
    ]);
    expect(result.code, result.out).toBe(0);
    expect(read(join(rootOf('strict'), 'stored.txt'))).toBe('stored\n');
    expect(read(join(rootOf('strict'), 'dir', 'inner.txt'))).toBe('inner\n');
    // A rename to a new name stays: clients upload to a temporary name and rename it.
    expect(read(join(rootOf('strict'), 'renamed.txt'))).toBe('uploaded\n');
    const refused = fileRecords('strict')
      .filter((r) => r.refused !== undefined)
      .map((r) => [r.op, r.path, r.refused]);
    expect(refused).toEqual(
      expect.arrayContaining([
        ['remove', '/stored.txt', 'no-delete'],
        ['rmdir', '/dir', 'no-delete'],
      ]),
    );
  });

  it.each([
    ['sftp put', () => sftp(keys.strict, ['-put stored.txt stored.txt']).out],
    ['sftp reput (append)', () => sftp(keys.strict, ['-reput stored.txt stored.txt']).out],
    ['scp (SFTP)', () => scp(keys.strict, ['stored.txt', 'HOST:stored.txt']).out],
    ['scp -O', () => scp(keys.strict, ['-O', 'stored.txt', 'HOST:stored.txt']).out],
  ])('overwrite: false — %s of an existing name leaves it as it was', (_name, upload) => {
    upload();
    expect(read(join(rootOf('strict'), 'stored.txt'))).toBe('stored\n');
    expect(lastRefusals()).toContain('no-overwrite');
  });

  it.each([
    ['sftp put', () => sftp(keys.ro, ['-put up.txt up.txt', '-mkdir made', '-rm stored.txt', '-chmod 777 stored.txt'])],
    ['scp (SFTP)', () => scp(keys.ro, ['up.txt', 'HOST:up.txt'])],
  ])('access: read — %s writes nothing', (_name, upload) => {
    upload();
    expect(lastRefusals()).toContain('read-only');
    expect(readdirSync(rootOf('ro')).sort()).toEqual(['dir', 'link-out', 'shadow', 'stored.txt']);
    expect(read(join(rootOf('ro'), 'stored.txt'))).toBe('stored\n');
  });

  it('access: read — scp -O upload is refused before anything starts (sftp-refused)', () => {
    expect(scp(keys.ro, ['-O', 'up.txt', 'HOST:up.txt']).code).not.toBe(0);
    expect(lab.lastDecision()).toMatchObject({ decision: 'deny', reason: 'sftp-refused' });
    expect(existsSync(join(rootOf('ro'), 'up.txt'))).toBe(false);
  });

  it('access: write — stored contents are not read back (listing stays), by sftp or scp', () => {
    const result = sftp(keys.strict, ['ls -1', '-get stored.txt w-stored.txt']);
    expect(result.out).toContain('stored.txt');
    expect(existsSync(join(local, 'w-stored.txt'))).toBe(false);
    expect(scp(keys.strict, ['HOST:stored.txt', join(local, 'w-scp.txt')]).code).not.toBe(0);
    expect(existsSync(join(local, 'w-scp.txt'))).toBe(false);
    expect(fileRecords('strict').some((r) => r.op === 'read' && r.refused === 'write-only')).toBe(true);
  });
});

describe('the audit log', () => {
  it('every record written validates against schema/audit.schema.json', () => {
    const checked = lab.checkRecords();
    expect(checked.invalid).toEqual([]);
    expect(checked.records).toBeGreaterThan(10);
  });
});
