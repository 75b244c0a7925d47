/**
 * Real rsync client, real rsync server, ssh-dispatch between them: every argument shape a
 * backup tool sends must deliver what it names, and the refused ones must move nothing.
 *
 * The remote shell is a two-line script that does what sshd does for a forced command: put the
 * client's words in SSH_ORIGINAL_COMMAND and start ssh-dispatch (rrsync's test suite uses the
 * same trick). The product path through a real sshd is covered by rsync.e2e.test.ts.
 */
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
  readlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { applyPolicy, writeDispatchRsh } from './lab.js';

let dir: string;
let root: string;
let src: string;
let local: string;
let audit: string;
let rsh: string;

function writePolicy(): void {
  writeFileSync(
    join(dir, 'etc', 'policy.yaml'),
    `version: 1
audit:
  file: ${audit}
identities:
  push:   { rules: [ { name: push, rsync: { root: ${root}, access: write } } ] }
  mirror: { rules: [ { name: mirror, rsync: { root: ${root}, access: write, delete: true } } ] }
  both:   { rules: [ { name: both, rsync: { root: ${root}, access: read-write } } ] }
  pull:   { rules: [ { name: pull, rsync: { root: ${root}, access: read } } ] }
  keep:   { rules: [ { name: keep, rsync: { root: ${root}, access: write, overwrite: false } } ] }
  snap:   { rules: [ { name: nightly, rsync: { root: ${root}, access: write, snapshot: true } } ] }
`,
    { mode: 0o600 },
  );
  applyPolicy(join(dir, 'etc', 'policy.yaml'));
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ssh-dispatch-rsync-shapes-'));
  // The policy and the log in directories of their own, as on a real install: apply refuses
  // write rules whose directory holds or lies beside them (UNSAFE).
  audit = join(dir, 'log', 'audit.jsonl');
  mkdirSync(join(dir, 'etc'), { recursive: true, mode: 0o755 });
  mkdirSync(join(dir, 'log'), { recursive: true, mode: 0o755 });
  rsh = join(dir, 'fake-sshd');
  writeDispatchRsh(rsh, join(dir, 'etc', 'policy.yaml'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeEach(() => {
  for (const d of ['root', 'src', 'local']) rmSync(join(dir, d), { recursive: true, force: true });
  root = join(dir, 'root');
  src = join(dir, 'src');
  local = join(dir, 'local');
  mkdirSync(root, { mode: 0o755 });
  mkdirSync(join(src, 'sub'), { recursive: true });
  mkdirSync(local);
  writeFileSync(join(src, 'a.txt'), 'alpha\n');
  writeFileSync(join(src, 'sub', 'b c.txt'), 'bravo\n');
  writeFileSync(join(src, 'index.html'), '<html>\n');
  writeFileSync(join(src, 'style.css'), 'body{}\n');
  writePolicy();
});

function rsync(id: string, args: string[]): { code: number | null; out: string } {
  const result = spawnSync('/usr/bin/rsync', ['-e', rsh, ...args.map((a) => a.replace('HOST:', `${id}:`))], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: result.status, out: result.stdout + result.stderr };
}

function lastDecision(): Record<string, unknown> {
  const lines = readFileSync(audit, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return lines.filter((r) => r.event === 'decision').pop()!;
}

describe('pushes that deliver what they name', () => {
  it.each([
    ['a plain push', ['-a', 'src/', 'HOST:dst/'], 'dst/a.txt'],
    ['with compression', ['-az', 'src/', 'HOST:dst/'], 'dst/a.txt'],
    ['with checksums, which compare with stored contents (read-write)', ['-azc', 'src/', 'HOST:dst/'], 'dst/a.txt', 'both'],
    ['into a name with a space', ['-a', 'src/', 'HOST:dst 5/'], 'dst 5/a.txt'],
    ['into root itself (host:)', ['-a', 'src/', 'HOST:'], 'a.txt'],
    ['into root itself (host:/)', ['-a', 'src/', 'HOST:/'], 'a.txt'],
    ['with -P (partial, progress)', ['-aP', 'src/', 'HOST:dst/'], 'dst/a.txt'],
    [
      'with --partial-dir and --delay-updates, which consume what they find (delete: true)',
      ['-a', '--partial-dir=.partial', '--delay-updates', 'src/', 'HOST:dst/'],
      'dst/a.txt',
      'mirror',
    ],
    ['with --mkpath into a new path', ['-a', '--mkpath', 'src/', 'HOST:new/deeper/'], 'new/deeper/a.txt'],
    ['with a mirror filter (travels in the protocol)', ['-a', '--include=*.html', '--exclude=*', 'src/', 'HOST:www/'], 'www/index.html'],
    ['a dry run', ['-an', 'src/', 'HOST:dry/'], null],
  ])('%s', (_name, args, expected, id = 'push') => {
    process.chdir(dir);
    const result = rsync(id as string, args as string[]);
    expect(result.code, result.out).toBe(0);
    if (expected) expect(readFileSync(join(root, expected as string), 'utf8')).toMatch(/alpha|html/);
    else expect(existsSync(join(root, 'dry'))).toBe(false);
  });

  it('the mirror filter sends only what it includes', () => {
    process.chdir(dir);
    expect(rsync('push', ['-a', '--include=*.html', '--exclude=*', 'src/', 'HOST:www/']).code).toBe(0);
    expect(existsSync(join(root, 'www', 'index.html'))).toBe(true);
    expect(existsSync(join(root, 'www', 'style.css'))).toBe(false);
  });

  it('--link-dest=../previous keeps an incremental backup incremental (unchanged files are hard links)', () => {
    process.chdir(dir);
    expect(rsync('snap', ['-a', 'src/', 'HOST:2026-11-23/']).code).toBe(0);
    writeFileSync(join(src, 'new.txt'), 'new\n');
    const second = rsync('snap', ['-a', '--link-dest=../2026-11-23', 'src/', 'HOST:2026-11-24/']);
    expect(second.code, second.out).toBe(0);
    expect(statSync(join(root, '2026-11-24', 'a.txt')).ino).toBe(statSync(join(root, '2026-11-23', 'a.txt')).ino);
    expect(statSync(join(root, '2026-11-24', 'a.txt')).nlink).toBe(2);
    expect(existsSync(join(root, '2026-11-24', 'new.txt'))).toBe(true);
  });

  it('--link-dest=/snapshot (root-anchored, as backup tools send it) also links', () => {
    process.chdir(dir);
    expect(rsync('snap', ['-a', 'src/', 'HOST:snap/']).code).toBe(0);
    expect(rsync('snap', ['-a', '--link-dest=/snap', 'src/', 'HOST:next/']).code).toBe(0);
    expect(statSync(join(root, 'next', 'a.txt')).ino).toBe(statSync(join(root, 'snap', 'a.txt')).ino);
  });

  it('symlinks the client stores are munged: they cannot be followed on the server', () => {
    symlinkSync('/etc', join(src, 'up'));
    process.chdir(dir);
    expect(rsync('push', ['-a', 'src/', 'HOST:dst/']).code).toBe(0);
    expect(lstatSync(join(root, 'dst', 'up')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(root, 'dst', 'up'))).toBe('/rsyncd-munged//etc');
  });

  it('and a pull gives them back unmunged (a restore gets real symlinks)', () => {
    symlinkSync('/etc', join(src, 'up'));
    process.chdir(dir);
    expect(rsync('push', ['-a', 'src/', 'HOST:dst/']).code).toBe(0);
    const pulled = rsync('pull', ['-a', 'HOST:dst/', 'local/']);
    expect(pulled.code, pulled.out).toBe(0);
    expect(readlinkSync(join(local, 'up'))).toBe('/etc');
  });
});

describe('pulls', () => {
  beforeEach(() => {
    mkdirSync(join(root, 'logs'));
    writeFileSync(join(root, 'logs', 'app.log'), 'log\n');
    writeFileSync(join(root, 'logs', 'db.log'), 'db\n');
  });

  it.each([
    ['a directory', ['-a', 'HOST:logs/', 'local/'], 'app.log'],
    ['two sources', ['-a', 'HOST:logs/app.log', 'HOST:logs/db.log', 'local/'], 'db.log'],
    ['root itself', ['-a', 'HOST:/', 'local/'], 'logs/app.log'],
    ['with --relative and /./', ['-aR', 'HOST:/./logs/app.log', 'local/'], 'logs/app.log'],
    ['a wildcard (the client sends it unescaped)', ['-a', 'HOST:logs/*.log', 'local/'], 'db.log'],
    ['a wildcard that matches nothing fails as with a shell', ['-a', 'HOST:logs/*.zip', 'local/'], null],
  ])('%s', (_name, args, expected) => {
    process.chdir(dir);
    const result = rsync('pull', args as string[]);
    if (expected === null) {
      expect(result.out).toContain('logs/*.zip');
      expect(result.code).toBe(23); // rsync: "some files could not be transferred"
      return;
    }
    expect(result.code, result.out).toBe(0);
    expect(existsSync(join(local, expected as string))).toBe(true);
  });

  it('a wildcard is expanded inside root; the decision record shows what it became', () => {
    process.chdir(dir);
    expect(rsync('pull', ['-a', 'HOST:logs/*.log', 'local/']).code).toBe(0);
    const decision = lastDecision();
    expect((decision.argv as string[]).slice(-2)).toEqual(['app.log', 'db.log']);
    expect(decision.cwd).toBe(join(root, 'logs'));
  });

  it('a wildcard that matches a symlink out of root is refused', () => {
    symlinkSync('/etc', join(root, 'logs', 'etc.log'));
    process.chdir(dir);
    expect(rsync('pull', ['-a', 'HOST:logs/*.log/', 'local/']).code).not.toBe(0);
    expect(lastDecision()).toMatchObject({ decision: 'deny', reason: 'rsync-symlink-escape' });
    expect(existsSync(join(local, 'passwd'))).toBe(false);
  });

  it('--files-from a list inside root', () => {
    writeFileSync(join(root, 'list.txt'), 'logs/app.log\n');
    process.chdir(dir);
    const result = rsync('pull', ['-a', '--files-from=HOST:list.txt', 'HOST:/', 'local/']);
    expect(result.code, result.out).toBe(0);
    expect(existsSync(join(local, 'logs', 'app.log'))).toBe(true);
    expect(existsSync(join(local, 'logs', 'db.log'))).toBe(false);
  });
});

describe('refused, and nothing moves', () => {
  it('--delete under delete: false: the files stay', () => {
    process.chdir(dir);
    expect(rsync('push', ['-a', 'src/', 'HOST:dst/']).code).toBe(0);
    mkdirSync(join(dir, 'empty'));
    const result = rsync('push', ['-a', '--delete', 'empty/', 'HOST:dst/']);
    expect(result.code).not.toBe(0);
    expect(existsSync(join(root, 'dst', 'a.txt'))).toBe(true);
    expect(lastDecision()).toMatchObject({ decision: 'deny', reason: 'rsync-option-refused' });
    expect(String(lastDecision().detail)).toContain('--delete');
  });

  it('--delete under delete: true mirrors', () => {
    process.chdir(dir);
    expect(rsync('mirror', ['-a', 'src/', 'HOST:dst/']).code).toBe(0);
    rmSync(join(src, 'a.txt'));
    expect(rsync('mirror', ['-a', '--delete', 'src/', 'HOST:dst/']).code).toBe(0);
    expect(existsSync(join(root, 'dst', 'a.txt'))).toBe(false);
  });

  it('a pull from a write-only rule', () => {
    process.chdir(dir);
    const result = rsync('push', ['-a', 'HOST:/', 'local/']);
    expect(result.code).not.toBe(0);
    expect(lastDecision()).toMatchObject({ reason: 'rsync-direction-refused' });
  });

  it('a push to a read-only rule', () => {
    process.chdir(dir);
    expect(rsync('pull', ['-a', 'src/', 'HOST:dst/']).code).not.toBe(0);
    expect(existsSync(join(root, 'dst'))).toBe(false);
  });

  it('../ out of root', () => {
    process.chdir(dir);
    expect(rsync('push', ['-a', 'src/', 'HOST:../outside/']).code).not.toBe(0);
    expect(existsSync(join(dir, 'outside'))).toBe(false);
    expect(lastDecision()).toMatchObject({ reason: 'rsync-path-escapes-root' });
  });

  it('an absolute path lands inside root, never at the absolute place', () => {
    process.chdir(dir);
    const target = join(dir, 'absolute-target');
    // Its parents do not exist under root: rsync needs --mkpath to create them.
    expect(rsync('push', ['-a', '--mkpath', 'src/', `HOST:${target}/`]).code).toBe(0);
    expect(existsSync(target)).toBe(false);
    expect(existsSync(join(root, target, 'a.txt'))).toBe(true);
  });

  it('-s / --secluded-args with --delete inside the arguments it sends on the connection (issue 17: read and vetted, no longer refused as a whole)', () => {
    process.chdir(dir);
    expect(rsync('push', ['-as', '--delete', 'src/', 'HOST:dst/']).code).not.toBe(0);
    expect(lastDecision()).toMatchObject({ reason: 'rsync-option-refused', protected_args: expect.arrayContaining(['--delete']) });
  });

  it('a symlink inside root that leads out (planted by someone else) is refused before rsync runs', () => {
    const outside = join(dir, 'outside-dir');
    mkdirSync(outside);
    symlinkSync(outside, join(root, 'trap'));
    process.chdir(dir);
    const result = rsync('push', ['-a', 'src/', 'HOST:trap/']);
    expect(result.code).not.toBe(0);
    expect(existsSync(join(outside, 'a.txt'))).toBe(false);
    expect(lastDecision()).toMatchObject({ decision: 'deny', reason: 'rsync-symlink-escape' });
  });

  it('overwrite: false never replaces an existing file', () => {
    process.chdir(dir);
    expect(rsync('keep', ['-a', 'src/', 'HOST:dst/']).code).toBe(0);
    writeFileSync(join(src, 'a.txt'), 'changed\n');
    expect(rsync('keep', ['-a', 'src/', 'HOST:dst/']).code).toBe(0);
    expect(readFileSync(join(root, 'dst', 'a.txt'), 'utf8')).toBe('alpha\n');
  });
});
