/**
 * OpenSSH's scp against our server, both protocols: legacy (`scp -O`, the server is `scp -t` or
 * `scp -f`) and SFTP (scp's default since OpenSSH 9.0), through test/act/files/fake-ssh.ts.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makeFilesFixture, scp, type FilesFixture } from './clients.js';

let lab: FilesFixture;
let local: string;
beforeAll(async () => {
  lab = await makeFilesFixture();
});
afterAll(() => lab.cleanup());
beforeEach(() => {
  rmSync(lab.root, { recursive: true, force: true });
  mkdirSync(join(lab.root, 'tree', 'deeper'), { recursive: true });
  writeFileSync(join(lab.root, 'kept.txt'), 'original\n');
  writeFileSync(join(lab.root, 'tree', 'one.txt'), 'one\n');
  writeFileSync(join(lab.root, 'tree', 'deeper', 'two.txt'), 'two two\n');
  utimesSync(join(lab.root, 'tree', 'one.txt'), 1_000_000_000, 1_000_000_000);
  symlinkSync('/etc/passwd', join(lab.root, 'escape'));
  local = join(lab.dir, 'local');
  rmSync(local, { recursive: true, force: true });
  mkdirSync(join(local, 'up', 'sub'), { recursive: true });
  writeFileSync(join(local, 'new.txt'), 'new contents\n');
  writeFileSync(join(local, 'up', 'a.txt'), 'a\n');
  writeFileSync(join(local, 'up', 'sub', 'b.txt'), 'bb\n');
  utimesSync(join(local, 'up', 'a.txt'), 1_100_000_000, 1_100_000_000);
});

const read = (path: string) => readFileSync(path, 'utf8');
const mtime = (path: string) => Math.floor(statSync(path).mtimeMs / 1000);

describe.each([
  ['legacy (scp -O)', ['-O']],
  ['SFTP', []],
])('scp, %s', (_name, mode) => {
  it('puts and gets a file, with one event each', () => {
    const put = scp(lab, {}, [...mode, `${local}/new.txt`, 'x:new.txt']);
    expect(put.status, put.stderr).toBe(0);
    expect(read(join(lab.root, 'new.txt'))).toBe('new contents\n');
    expect(put.events).toEqual([{ op: 'write', path: '/new.txt', bytes: 13, created: true }]);
    const get = scp(lab, {}, [...mode, 'x:kept.txt', `${local}/got.txt`]);
    expect(get.status, get.stderr).toBe(0);
    expect(read(`${local}/got.txt`)).toBe('original\n');
    expect(get.events).toEqual([{ op: 'read', path: '/kept.txt', bytes: 9 }]);
  });

  it('copies a tree both ways with -r -p, times kept', () => {
    const get = scp(lab, {}, [...mode, '-r', '-p', 'x:/tree', `${local}/tree`]);
    expect(get.status, get.stderr).toBe(0);
    expect(read(`${local}/tree/deeper/two.txt`)).toBe('two two\n');
    expect(mtime(`${local}/tree/one.txt`)).toBe(1_000_000_000);
    const put = scp(lab, {}, [...mode, '-r', '-p', `${local}/up`, 'x:/tree/']);
    expect(put.status, put.stderr).toBe(0);
    expect(read(join(lab.root, 'tree', 'up', 'sub', 'b.txt'))).toBe('bb\n');
    expect(mtime(join(lab.root, 'tree', 'up', 'a.txt'))).toBe(1_100_000_000);
    expect(
      put.events
        .filter((event) => event.op === 'write')
        .map((event) => [event.path, event.bytes])
        .sort(),
    ).toEqual([
      ['/tree/up/a.txt', 2],
      ['/tree/up/sub/b.txt', 3],
    ]);
  });

  it('gets nothing outside the root', () => {
    for (const path of ['/etc/passwd', 'escape', '../../../etc/passwd']) {
      const run = scp(lab, {}, [...mode, `x:${path}`, `${local}/stolen`]);
      expect(run.status).not.toBe(0);
      expect(existsSync(`${local}/stolen`)).toBe(false);
    }
  });

  it('overwrite: false refuses a re-upload; the original is intact', () => {
    const run = scp(lab, { overwrite: false }, [...mode, `${local}/new.txt`, 'x:kept.txt']);
    expect(run.status).not.toBe(0);
    expect(read(join(lab.root, 'kept.txt'))).toBe('original\n');
    expect(run.events).toEqual([{ op: 'write', path: '/kept.txt', refused: 'no-overwrite' }]);
  });

  it('access: read refuses a put; access: write refuses a get', () => {
    const put = scp(lab, { access: 'read' }, [...mode, `${local}/new.txt`, 'x:new.txt']);
    expect(put.status).not.toBe(0);
    expect(existsSync(join(lab.root, 'new.txt'))).toBe(false);
    const get = scp(lab, { access: 'write' }, [...mode, 'x:kept.txt', `${local}/got.txt`]);
    expect(get.status).not.toBe(0);
    expect(existsSync(`${local}/got.txt`) && read(`${local}/got.txt`) !== '').toBe(false);
  });
});

describe('legacy scp only', () => {
  it('puts several files into a directory (-d), and refuses when the target is no directory', () => {
    const ok = scp(lab, {}, ['-O', `${local}/new.txt`, `${local}/up/a.txt`, 'x:tree']);
    expect(ok.status, ok.stderr).toBe(0);
    expect(read(join(lab.root, 'tree', 'a.txt'))).toBe('a\n');
    const bad = scp(lab, {}, ['-O', `${local}/new.txt`, `${local}/up/a.txt`, 'x:kept.txt']);
    expect(bad.status).not.toBe(0);
    expect(read(join(lab.root, 'kept.txt'))).toBe('original\n');
  });

  it('the error a refusal shows names the client path, never the host path', () => {
    const run = scp(lab, { overwrite: false }, ['-O', `${local}/new.txt`, 'x:kept.txt']);
    expect(run.stderr).toContain('/kept.txt: Permission denied (no-overwrite)');
    expect(run.stderr).not.toContain(lab.root);
  });

  it('a wildcard is taken literally (no shell here)', () => {
    const run = scp(lab, {}, ['-O', 'x:*.txt', `${local}/`]);
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain('/*.txt: No such file or directory');
  });
});
