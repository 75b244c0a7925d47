/**
 * The rsync rule's promises through the real sshd (the full route matrix runs through a remote
 * shell in rsync-promises.e2e.test.ts). The control is what sysadmins write without us: a key
 * whose forced command is `cd ROOT && exec $SSH_ORIGINAL_COMMAND` through the login shell.
 *
 * - a write-only key reads a stored file back through -B1 block checksums: the control leaks it
 *   byte for byte, the rule sends nothing;
 * - --force replaces a stored snapshot directory with an empty file: the control loses the tree,
 *   the rule refuses;
 * - min-free on a real small filesystem (tmpfs; needs root): a few KB of `-z` on the wire become
 *   hundreds of MB on disk; the control fills the filesystem and --partial keeps the junk, the
 *   rule stops at the floor and removes what was being written; five concurrent uploads into a
 *   receive rule keep its floor too.
 */
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, ftruncateSync, mkdirSync, openSync, readdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientKey } from '../../src/lab/throwaway-sshd.js';
import { bytesFromBlockSums, mountSmall, rsyncThrough, startLab, type Lab } from './lab.js';

let lab: Lab;
let root: string;
let small: string;
let thief: ClientKey;
let bare: ClientKey;
let uploader: ClientKey;
let filler: ClientKey;
let shadow: Buffer;
const MiB = 1024 * 1024;

const free = (path: string) => {
  const stats = statfsSync(path);
  return stats.bavail * stats.bsize;
};

let mounted = false;

beforeAll(async () => {
  lab = await startLab();
  root = join(lab.sshd.dir, 'backup');
  small = join(lab.sshd.dir, 'small');
  mkdirSync(join(root, 'snap', '2026-11-23', 'etc'), { recursive: true, mode: 0o755 });
  shadow = randomBytes(3000);
  writeFileSync(join(root, 'snap', '2026-11-23', 'etc', 'shadow'), shadow, { mode: 0o600 });
  mounted = mountSmall(small, '300m', '0755');
  if (mounted) {
    mkdirSync(join(small, 'push'));
    mkdirSync(join(small, 'up'));
  }
  lab.writePolicy(`version: 1
audit:
  file: {{AUDIT}}
identities:
  thief:
    rules:
      - name: nightly
        rsync: { root: ${root}, access: write }
  filler:
    rules:
      - name: small-push
        rsync: { root: ${small}/push, access: write, min-free: 200MiB }
  uploader:
    rules:
      - name: tar
        receive: { dir: ${small}/up, name: "up-{timestamp}.tar", min-free: 200MiB }
`);
  thief = await lab.sshd.newClientKey('thief');
  bare = await lab.sshd.newClientKey('bare');
  uploader = await lab.sshd.newClientKey('uploader');
  filler = await lab.sshd.newClientKey('filler');
  lab.sshd.authorize([
    lab.dispatchLine(thief, 'thief'),
    lab.dispatchLine(uploader, 'uploader'),
    lab.dispatchLine(filler, 'filler'),
    // Written by hand: ssh-dispatch's own key-line writer refuses shell syntax in command=.
    `restrict,command="cd ${root} && exec $SSH_ORIGINAL_COMMAND" ${bare.publicKey}`,
  ]);
});

afterAll(async () => {
  if (mounted) spawnSync('/usr/bin/umount', [small]);
  await lab?.stop();
});

function rsync(key: ClientKey, args: string[]): { code: number | null; out: string } {
  return rsyncThrough(lab.sshd, key, args, { cwd: lab.sshd.dir, timeoutMs: 120_000 });
}

describe('rsync promises through sshd', () => {
  it('a write-only key cannot read a stored file back through -B1 block checksums', () => {
    mkdirSync(join(lab.sshd.dir, 'decoy', 'etc'), { recursive: true });
    writeFileSync(join(lab.sshd.dir, 'decoy', 'etc', 'shadow'), 'x\n');
    const attack = ['-r', '-B1', '--debug=DELTASUM3', '--compare-dest=../snap/2026-11-23', 'decoy/'];
    const control = rsync(bare, [...attack, 'HOST:fresh-bare/']);
    expect(control.code, control.out).toBe(0);
    expect(bytesFromBlockSums(control.out).equals(shadow)).toBe(true);

    const result = rsync(thief, [...attack, 'HOST:fresh/']);
    expect(result.code, result.out).toBe(0);
    expect(bytesFromBlockSums(result.out)).toHaveLength(0);
    expect(lab.lastDecision()).toMatchObject({ decision: 'allow', rule: 'nightly' });
    expect(lab.lastDecision().argv).toContain('--whole-file');
  });

  it('delete: false: --force does not replace a stored snapshot directory with a file', () => {
    const snapshot = (name: string) => {
      mkdirSync(join(root, name), { recursive: true });
      for (let i = 0; i < 10; i++) writeFileSync(join(root, name, `f${i}`), `${i}\n`);
    };
    snapshot('2026-11-20');
    snapshot('2026-11-21');
    mkdirSync(join(lab.sshd.dir, 'f'));
    writeFileSync(join(lab.sshd.dir, 'f', '2026-11-20'), '');
    writeFileSync(join(lab.sshd.dir, 'f', '2026-11-21'), '');
    const control = rsync(bare, ['-r', '--force', 'f/2026-11-20', 'HOST:']);
    expect(control.code, control.out).toBe(0);
    expect(existsSync(join(root, '2026-11-20', 'f0'))).toBe(false);

    expect(rsync(thief, ['-r', '--force', 'f/2026-11-21', 'HOST:/']).code).not.toBe(0);
    expect(readdirSync(join(root, '2026-11-21'))).toHaveLength(10);
    expect(lab.lastDecision()).toMatchObject({ decision: 'deny', reason: 'rsync-option-refused' });
  });
});

describe.runIf(process.getuid?.() === 0)('min-free on a real small filesystem (300 MiB tmpfs, floor 200 MiB)', () => {
  it('the filesystem could be mounted', () => {
    expect(mounted).toBe(true);
  });

  it('a compressed push of 400 MB of zeros stops at the floor, and what it was writing is removed', () => {
    const zeros = join(lab.sshd.dir, 'zeros.img');
    const fd = openSync(zeros, 'w');
    ftruncateSync(fd, 400 * MiB);
    closeSync(fd);

    // The control: the shell-wrapper key, straight into the small filesystem.
    const control = spawnSync(
      '/usr/bin/rsync',
      [
        '-e',
        lab.sshd.rsyncRemoteShell(bare).shell,
        '-z',
        '--partial',
        'zeros.img',
        `${lab.sshd.rsyncRemoteShell(bare).host}:${small}/push/junk.img`,
      ],
      { cwd: lab.sshd.dir, encoding: 'utf8', timeout: 120_000 },
    );
    expect(control.status).not.toBe(0);
    expect(free(small)).toBeLessThan(MiB); // full
    expect(existsSync(join(small, 'push', 'junk.img'))).toBe(true); // and --partial kept the junk
    rmSync(join(small, 'push', 'junk.img'));

    const before = free(small);
    expect(before).toBeGreaterThan(250 * MiB);
    const result = rsync(filler, ['-z', '--partial', 'zeros.img', 'HOST:junk.img']);
    expect(result.code).not.toBe(0);
    expect(result.out).toMatch(/free-space floor/);
    expect(readdirSync(join(small, 'push'))).toEqual([]); // neither junk.img nor rsync's .junk.img.XXXXXX
    expect(free(small)).toBeGreaterThan(190 * MiB);
    const end = lab
      .records()
      .filter((r) => r.event === 'end')
      .pop()!;
    expect(end).toMatchObject({ rule: 'small-push', outcome: 'no-space' });
    expect(end.removed).toEqual([expect.stringMatching(/\/\.junk\.img\.[A-Za-z0-9]{6}$/)]);
  });

  it('five concurrent receive uploads of 59 MiB keep the floor: what fits is stored, the rest is refused and removed', async () => {
    const payload = Buffer.alloc(59 * MiB, 7);
    const results = await Promise.all([0, 1, 2, 3, 4].map(() => lab.sshd.ssh(uploader, 'receive', { input: payload, timeoutMs: 120_000 })));
    const stored = readdirSync(join(small, 'up'));
    expect(stored.filter((name) => name.startsWith('.'))).toEqual([]); // no temp file left behind
    expect(stored.length).toBeLessThanOrEqual(1); // 100 MiB above the floor holds one
    expect(results.filter((r) => r.code === 0)).toHaveLength(stored.length);
    expect(free(small)).toBeGreaterThan(195 * MiB);
  });
});
