/**
 * rsync through the real sshd, as a nightly backup runs it: `rsync -e ssh` with a key whose
 * forced command is ssh-dispatch, logging in as root with PermitRootLogin forced-commands-only
 * when the tests run as root (CI does).
 */
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientKey } from '../../src/lab/throwaway-sshd.js';
import { rsyncThrough, startLab, type Lab } from './lab.js';

let lab: Lab;
let backupKey: ClientKey;
let restoreKey: ClientKey;
let mirrorKey: ClientKey;
let root: string;
let src: string;
const asRoot = process.getuid?.() === 0;

beforeAll(async () => {
  lab = await startLab();
  root = join(lab.sshd.dir, 'backup');
  src = join(lab.sshd.dir, 'src');
  mkdirSync(root, { mode: 0o700 });
  mkdirSync(join(src, 'etc'), { recursive: true });
  writeFileSync(join(src, 'etc', 'config'), 'secret=1\n', { mode: 0o640 });
  writeFileSync(join(src, 'setuid-tool'), '#!/bin/sh\n', { mode: 0o755 });
  writeFileSync(join(src, 'index.html'), '<html>\n');
  writeFileSync(join(src, 'notes.txt'), 'notes\n');
  if (asRoot) {
    chownSync(join(src, 'etc', 'config'), 4242, 4343);
    chmodSync(join(src, 'setuid-tool'), 0o4755);
  }
  lab.writePolicy(`version: 1
audit:
  file: {{AUDIT}}
identities:
  host1-backup:
    from: [127.0.0.1]
    rules:
      - name: nightly
        rsync: { root: ${root}, access: write }
  host1-restore:
    rules:
      - name: restore
        rsync: { root: ${root}, access: read }
  www-mirror:
    rules:
      - name: mirror
        rsync: { root: ${root}/www, access: write, delete: true }
`);
  mkdirSync(join(root, 'www'));
  backupKey = await lab.sshd.newClientKey('backup');
  restoreKey = await lab.sshd.newClientKey('restore');
  mirrorKey = await lab.sshd.newClientKey('mirror');
  lab.sshd.authorize([
    lab.dispatchLine(backupKey, 'host1-backup'),
    lab.dispatchLine(restoreKey, 'host1-restore'),
    lab.dispatchLine(mirrorKey, 'www-mirror'),
  ]);
});

afterAll(async () => {
  await lab?.stop();
});

function rsync(key: ClientKey, args: string[]): { code: number | null; out: string } {
  return rsyncThrough(lab.sshd, key, args, { cwd: lab.sshd.dir });
}

describe('rsync through sshd', () => {
  it('a backup push lands inside root, owners and modes kept', () => {
    const result = rsync(backupKey, ['-a', 'src/', 'HOST:2026-11-24/']);
    expect(result.code, result.out).toBe(0);
    const config = statSync(join(root, '2026-11-24', 'etc', 'config'));
    expect(config.mode & 0o7777).toBe(0o640);
    if (asRoot) {
      expect([config.uid, config.gid]).toEqual([4242, 4343]);
      expect(statSync(join(root, '2026-11-24', 'setuid-tool')).mode & 0o7777).toBe(0o4755);
    }
    expect(lab.lastDecision()).toMatchObject({ decision: 'allow', rule: 'nightly', user: lab.sshd.user });
    expect(lab.lastDecision().argv).toContain(`--confine-root=${root}`);
  });

  it("a plain write rule refuses --link-dest: the nightly incremental is a snapshot rule's (rsync-history.e2e)", () => {
    const result = rsync(backupKey, ['-a', '--link-dest=../2026-11-24', 'src/', 'HOST:2026-11-25/']);
    expect(result.code).not.toBe(0);
    expect(lab.lastDecision()).toMatchObject({
      decision: 'deny',
      reason: 'rsync-option-refused',
      detail: expect.stringContaining('snapshot: true'),
    });
    expect(existsSync(join(root, '2026-11-25'))).toBe(false);
  });

  it('a pull works under read', () => {
    const result = rsync(restoreKey, ['-a', 'HOST:2026-11-24/etc/', 'restored/']);
    expect(result.code, result.out).toBe(0);
    expect(readFileSync(join(lab.sshd.dir, 'restored', 'config'), 'utf8')).toBe('secret=1\n');
  });

  it('a pull is refused under write, and recorded', () => {
    const result = rsync(backupKey, ['-a', 'HOST:2026-11-24/', 'stolen/']);
    expect(result.code).not.toBe(0);
    expect(existsSync(join(lab.sshd.dir, 'stolen', 'etc'))).toBe(false);
    expect(lab.lastDecision()).toMatchObject({ decision: 'deny', reason: 'rsync-direction-refused', id: 'host1-backup' });
  });

  it('--delete is refused under delete: false, and the backup stays', () => {
    mkdirSync(join(lab.sshd.dir, 'empty'), { recursive: true });
    const result = rsync(backupKey, ['-a', '--delete', 'empty/', 'HOST:2026-11-24/']);
    expect(result.code).not.toBe(0);
    expect(existsSync(join(root, '2026-11-24', 'etc', 'config'))).toBe(true);
    expect(lab.lastDecision()).toMatchObject({ decision: 'deny', reason: 'rsync-option-refused' });
  });

  it('../ out of root is refused; an absolute path is confined under root', () => {
    expect(rsync(backupKey, ['-a', 'src/', 'HOST:../escaped/']).code).not.toBe(0);
    expect(existsSync(join(lab.sshd.dir, 'escaped'))).toBe(false);
    expect(lab.lastDecision()).toMatchObject({ reason: 'rsync-path-escapes-root' });
    const result = rsync(backupKey, ['-a', 'src/notes.txt', 'HOST:/tmp/']);
    expect(result.code, result.out).toBe(0);
    expect(existsSync(join(root, 'tmp', 'notes.txt'))).toBe(true);
  });

  it('a website mirror with --include/--exclude and --delete', () => {
    writeFileSync(join(root, 'www', 'stale.html'), 'old\n');
    const result = rsync(mirrorKey, ['-a', '--delete', '--include=*.html', '--exclude=*', 'src/', 'HOST:']);
    expect(result.code, result.out).toBe(0);
    expect(existsSync(join(root, 'www', 'index.html'))).toBe(true);
    expect(existsSync(join(root, 'www', 'notes.txt'))).toBe(false);
    expect(existsSync(join(root, 'www', 'stale.html'))).toBe(false);
  });
});
