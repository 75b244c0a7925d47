/**
 * OpenSSH's sftp against our server (sftp -D, no sshd): what works under read-write, and what
 * each rule stops. A refusal test has a control beside it where one makes sense: the same
 * client action against OpenSSH's sftp-server (-d ROOT) does the damage the rule prevents.
 */
import { lstatSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makeFilesFixture, sftp, type FilesFixture } from './clients.js';

let lab: FilesFixture;
let local: string;
beforeAll(async () => {
  lab = await makeFilesFixture();
});
afterAll(() => lab.cleanup());
beforeEach(() => {
  rmSync(lab.root, { recursive: true, force: true });
  mkdirSync(join(lab.root, 'sub'), { recursive: true });
  writeFileSync(join(lab.root, 'kept.txt'), 'original\n');
  writeFileSync(join(lab.root, 'sub', 'inner.txt'), 'inner\n');
  // Beside the root, not in it: what a link out of the root points at.
  writeFileSync(join(lab.dir, 'secret'), 'secret\n');
  symlinkSync(join(lab.dir, 'secret'), join(lab.root, 'escape'));
  symlinkSync('/etc', join(lab.root, 'etc-link'));
  symlinkSync('sub/inner.txt', join(lab.root, 'inside-link'));
  local = join(lab.dir, 'local');
  rmSync(local, { recursive: true, force: true });
  mkdirSync(local);
  writeFileSync(join(local, 'new.txt'), 'new contents\n');
});

const read = (path: string) => readFileSync(path, 'utf8');

describe('read-write', () => {
  it('put, get, ls, mkdir, rename, chmod, rm, rmdir, with one event each', () => {
    const run = sftp(lab, {}, [
      'pwd',
      'ls -l',
      `put ${local}/new.txt up.txt`,
      `get kept.txt ${local}/got.txt`,
      'mkdir d',
      'rename up.txt d/moved.txt',
      'chmod 4755 d/moved.txt',
      'ls -l d',
      'get inside-link ' + `${local}/via-link.txt`,
      'rm d/moved.txt',
      'rmdir d',
    ]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('Remote working directory: /\n');
    expect(run.stdout).toMatch(/-rwxr-xr-x +1 +\d+ +\d+ +13 .* moved\.txt/);
    expect(read(`${local}/got.txt`)).toBe('original\n');
    expect(read(`${local}/via-link.txt`)).toBe('inner\n');
    expect(existsSync(join(lab.root, 'd'))).toBe(false);
    expect(run.events).toEqual([
      { op: 'write', path: '/up.txt', bytes: 13, created: true },
      { op: 'read', path: '/kept.txt', bytes: 9 },
      { op: 'mkdir', path: '/d' },
      { op: 'rename', path: '/up.txt', to: '/d/moved.txt' },
      { op: 'setstat', path: '/d/moved.txt' },
      { op: 'read', path: '/sub/inner.txt', bytes: 6 },
      { op: 'remove', path: '/d/moved.txt' },
      { op: 'rmdir', path: '/d' },
    ]);
    expect(run.summary).toMatchObject({ ended: 'eof', bytesRead: 15, bytesWritten: 13, refusals: 0 });
  });

  it('new files and directories get the umask; chmod never sets setuid', () => {
    const run = sftp(lab, { umask: 0o027 }, [`put ${local}/new.txt a.txt`, 'mkdir d', 'chmod 6777 a.txt']);
    expect(run.status, run.stderr).toBe(0);
    expect(statSync(join(lab.root, 'a.txt')).mode & 0o7777).toBe(0o750);
    expect(statSync(join(lab.root, 'd')).mode & 0o7777).toBe(0o750);
  });

  it('chown and chgrp are refused', () => {
    const run = sftp(lab, {}, ['chown 1234 kept.txt']);
    expect(run.status).not.toBe(0);
    expect(run.events).toEqual([{ op: 'setstat', path: '/kept.txt', refused: 'chown' }]);
  });

  it('symlink is refused', () => {
    const run = sftp(lab, {}, ['symlink /etc/shadow s']);
    expect(run.status).not.toBe(0);
    expect(existsSync(join(lab.root, 's'))).toBe(false);
    expect(run.events).toEqual([{ op: 'write', path: '/etc/shadow', refused: 'links' }]);
  });

  it('put -p and get -p keep times; df works (statvfs)', () => {
    const run = sftp(lab, {}, [`put -p ${local}/new.txt p.txt`, 'df']);
    expect(run.status, run.stderr).toBe(0);
    expect(Math.floor(statSync(join(lab.root, 'p.txt')).mtimeMs / 1000)).toBe(Math.floor(statSync(join(local, 'new.txt')).mtimeMs / 1000));
    expect(run.stdout).toMatch(/Size +Used +Avail/);
  });
});

describe('nothing outside the root exists', () => {
  it('/etc/passwd, a link out of the root, and .. all stay in the root', () => {
    const run = sftp(lab, {}, [
      `-get /etc/passwd ${local}/p`,
      `-get escape ${local}/e`,
      `-get etc-link/passwd ${local}/e2`,
      'cd ..',
      'pwd',
      `-get ../secret ${local}/s`,
      'cd /sub/../..',
      'pwd',
      '-cd /etc',
    ]);
    expect(run.status, run.stderr).toBe(0);
    expect(existsSync(`${local}/p`) || existsSync(`${local}/e`) || existsSync(`${local}/e2`) || existsSync(`${local}/s`)).toBe(false);
    expect(run.stdout.match(/Remote working directory: (.*)/g)).toEqual(['Remote working directory: /', 'Remote working directory: /']);
    expect(run.events.every((event) => event.refused === 'outside-root')).toBe(true);
    expect(run.events.length).toBeGreaterThan(0);
  });

  it('control: OpenSSH sftp-server -d ROOT hands out what the link points at', () => {
    const run = sftp(lab, 'openssh', [`get escape ${local}/e`, `get /etc/passwd ${local}/p`]);
    expect(run.status).toBe(0);
    expect(read(`${local}/e`)).toBe('secret\n');
    expect(read(`${local}/p`)).toContain('root:');
  });

  it('a put through a link out of the root creates nothing outside', () => {
    const run = sftp(lab, {}, [`put ${local}/new.txt escape`]);
    expect(run.status).not.toBe(0);
    expect(read(join(lab.dir, 'secret'))).toBe('secret\n');
  });

  it('ls -l shows a link out of the root as a link, and no host path', () => {
    const run = sftp(lab, {}, ['ls -l', 'ls -l escape']);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^l.* escape$/m);
    expect(run.stdout).not.toContain(lab.dir);
  });

  it('rm of a link removes the link, not what it points at', () => {
    const run = sftp(lab, {}, ['rm inside-link']);
    expect(run.status, run.stderr).toBe(0);
    expect(existsSync(join(lab.root, 'inside-link'))).toBe(false);
    expect(read(join(lab.root, 'sub', 'inner.txt'))).toBe('inner\n');
  });
});

describe('access: read', () => {
  it('put, mkdir, rm, rename are refused and nothing changes; get and ls work', () => {
    const run = sftp(lab, { access: 'read' }, [
      `-put ${local}/new.txt up.txt`,
      '-mkdir d',
      '-rm kept.txt',
      '-rename kept.txt k2',
      '-chmod 777 kept.txt',
      'ls',
      `get kept.txt ${local}/got.txt`,
    ]);
    expect(run.status, run.stderr).toBe(0);
    expect(existsSync(join(lab.root, 'up.txt')) || existsSync(join(lab.root, 'd')) || existsSync(join(lab.root, 'k2'))).toBe(false);
    expect(read(join(lab.root, 'kept.txt'))).toBe('original\n');
    expect(read(`${local}/got.txt`)).toBe('original\n');
    expect(run.events.filter((event) => event.refused).map((event) => [event.op, event.refused])).toEqual([
      ['write', 'read-only'],
      ['mkdir', 'read-only'],
      ['remove', 'read-only'],
      ['rename', 'read-only'],
      ['setstat', 'read-only'],
    ]);
  });

  it('control: OpenSSH sftp-server creates the file', () => {
    expect(sftp(lab, 'openssh', [`put ${local}/new.txt up.txt`]).status).toBe(0);
    expect(existsSync(join(lab.root, 'up.txt'))).toBe(true);
  });
});

describe('access: write', () => {
  it('get is refused while ls and put work', () => {
    const run = sftp(lab, { access: 'write' }, [`-get kept.txt ${local}/got.txt`, 'ls -l', `put ${local}/new.txt up.txt`]);
    expect(run.status, run.stderr).toBe(0);
    expect(existsSync(`${local}/got.txt`) && read(`${local}/got.txt`) !== '').toBe(false);
    expect(run.stdout).toContain('kept.txt');
    expect(read(join(lab.root, 'up.txt'))).toBe('new contents\n');
    expect(run.events).toEqual([
      { op: 'read', path: '/kept.txt', refused: 'write-only' },
      { op: 'write', path: '/up.txt', bytes: 13, created: true },
    ]);
  });
});

describe('delete: false', () => {
  it('rm, rmdir and rename over an existing name are refused; files intact; a rename to a new name works', () => {
    const run = sftp(lab, { delete: false }, [
      '-rm kept.txt',
      '-rmdir sub',
      '-rename sub/inner.txt kept.txt',
      `put ${local}/new.txt tmp-upload`,
      'rename tmp-upload final',
    ]);
    expect(run.status, run.stderr).toBe(0);
    expect(read(join(lab.root, 'kept.txt'))).toBe('original\n');
    expect(read(join(lab.root, 'sub', 'inner.txt'))).toBe('inner\n');
    expect(read(join(lab.root, 'final'))).toBe('new contents\n');
    expect(run.events).toEqual([
      { op: 'remove', path: '/kept.txt', refused: 'no-delete' },
      { op: 'rmdir', path: '/sub', refused: 'no-delete' },
      { op: 'rename', path: '/sub/inner.txt', to: '/kept.txt', refused: 'no-delete' },
      { op: 'write', path: '/tmp-upload', bytes: 13, created: true },
      { op: 'rename', path: '/tmp-upload', to: '/final' },
    ]);
  });

  it('control: OpenSSH sftp-server removes and replaces', () => {
    const run = sftp(lab, 'openssh', ['rename sub/inner.txt kept.txt', 'rm kept.txt']);
    expect(run.status).toBe(0);
    expect(existsSync(join(lab.root, 'kept.txt'))).toBe(false);
  });
});

describe('overwrite: false', () => {
  it('a re-upload, a resume (reput) and a truncate are refused; the original is intact; a new name works', () => {
    const run = sftp(lab, { overwrite: false }, [
      `-put ${local}/new.txt kept.txt`,
      `-reput ${local}/new.txt kept.txt`,
      `put ${local}/new.txt fresh.txt`,
    ]);
    expect(run.status, run.stderr).toBe(0);
    expect(read(join(lab.root, 'kept.txt'))).toBe('original\n');
    expect(read(join(lab.root, 'fresh.txt'))).toBe('new contents\n');
    expect(run.events.filter((event) => event.refused).map((event) => event.refused)).toEqual(['no-overwrite', 'no-overwrite']);
  });

  it('control: OpenSSH sftp-server overwrites', () => {
    expect(sftp(lab, 'openssh', [`put ${local}/new.txt kept.txt`]).status).toBe(0);
    expect(read(join(lab.root, 'kept.txt'))).toBe('new contents\n');
  });
});

describe('history: what was stored keeps its names, contents and attributes', () => {
  const attack = ['rename kept.txt sub/moved.txt', 'put LOCAL/new.txt kept.txt', 'chmod 000 sub/inner.txt'];
  const batch = (ignore: boolean) => attack.map((line) => `${ignore ? '-' : ''}${line.replace('LOCAL', local)}`);

  it('control: OpenSSH sftp-server renames the stored file away, puts another in its place and chmods 000', () => {
    const run = sftp(lab, 'openssh', batch(false));
    expect(run.status, run.stderr).toBe(0);
    expect(read(join(lab.root, 'kept.txt'))).toBe('new contents\n');
    expect(statSync(join(lab.root, 'sub', 'inner.txt')).mode & 0o777).toBe(0);
  });

  it('delete: false, overwrite: false: each step is refused; the file is as stored', () => {
    const run = sftp(lab, { delete: false, overwrite: false }, batch(true));
    expect(run.status, run.stderr).toBe(0);
    expect(read(join(lab.root, 'kept.txt'))).toBe('original\n');
    expect(statSync(join(lab.root, 'sub', 'inner.txt')).mode & 0o777).not.toBe(0);
    expect(run.events.map((event) => [event.op, event.refused])).toEqual([
      ['rename', 'no-delete'],
      ['write', 'no-overwrite'],
      ['setstat', 'no-overwrite'],
    ]);
  });
});

it('a failed command ends the batch; the session still ends cleanly', () => {
  const run = sftp(lab, {}, ['get nothing-here']);
  expect(run.status).not.toBe(0);
  expect(run.summary?.ended).toBe('eof');
  expect(lstatSync(lab.root).isDirectory()).toBe(true);
});

describe('the launch contract', () => {
  const launch = (root: string) =>
    JSON.stringify({
      protocol: 'sftp',
      policy: { root, access: 'read', delete: false, overwrite: false, umask: 0o022, minFreeBytes: 0, idleTimeoutMs: 0 },
    });

  it('fails closed, exit 2 and nothing served, without fd 3 or with a bad argument or root', () => {
    const withoutFd3 = spawnSync(process.execPath, [lab.server, launch(lab.root)], {
      input: '',
      stdio: ['pipe', 'pipe', 'pipe'],
      encoding: 'utf8',
      timeout: 10_000,
    });
    expect([withoutFd3.status, withoutFd3.stderr]).toEqual([2, 'ssh-dispatch-files: fd 3 (the event pipe) is not open\n']);
    for (const args of [
      [launch(join(lab.dir, 'no-such-root'))],
      [launch(join(lab.root, 'kept.txt'))],
      ['{}'],
      [launch(lab.root), 'extra'],
    ]) {
      const run = spawnSync(process.execPath, [lab.server, ...args], {
        input: '',
        stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
        encoding: 'utf8',
        timeout: 10_000,
      });
      expect([run.status, run.stdout]).toEqual([2, '']);
    }
  });

  it('says why it refused a launch description (readLaunch), and serves nothing', () => {
    const run = spawnSync(process.execPath, [lab.server, JSON.stringify({ protocol: 'sftp', policy: { root: 'relative' } })], {
      input: '',
      stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
      encoding: 'utf8',
      timeout: 10_000,
    });
    expect([run.status, run.stdout, run.stderr]).toEqual([2, '', 'ssh-dispatch-files: launch refused: policy has no access\n']);
  });

  it('ends with a summary line on fd 3, exit 0', () => {
    const run = spawnSync(process.execPath, [lab.server, launch(lab.root)], {
      input: '',
      stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
      encoding: 'utf8',
      timeout: 10_000,
    });
    expect(run.status).toBe(0);
    expect(JSON.parse(String(run.output[3])).summary.ended).toBe('eof');
  });
});
