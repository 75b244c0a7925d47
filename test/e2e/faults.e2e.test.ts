/**
 * Faults, end to end: a disk that fills during an upload, a policy replaced while sessions
 * start, rsync clients killed mid-transfer, 200 connections at once through the real sshd.
 * Nothing half-written may be left, every session must be decided and recorded.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientKey } from '../../src/lab/throwaway-sshd.js';
import { BUNDLE, mountSmall, NODE, startLab, type Lab } from './lab.js';

let lab: Lab;
let key: ClientKey;
let up: string;
let backups: string;

beforeAll(async () => {
  lab = await startLab();
  up = join(lab.sshd.dir, 'up');
  backups = join(lab.sshd.dir, 'backups');
  mkdirSync(up, { mode: 0o700 });
  mkdirSync(backups, { mode: 0o700 });
  lab.writePolicy(`version: 1
audit:
  file: {{AUDIT}}
identities:
  faults:
    rules:
      - { name: ping, exec: { command: "true", program: /bin/true, supervise: false } }
      - { name: upload, receive: { dir: ${up}, name: "u-{timestamp}.bin", min-free: 1MiB } }
      - { name: backup, rsync: { root: ${backups}, access: write } }
`);
  key = await lab.sshd.newClientKey('faults');
  lab.sshd.authorize([lab.dispatchLine(key, 'faults')]);
}, 60_000);
afterAll(async () => {
  await lab?.stop();
});

const leftovers = (dir: string) => readdirSync(dir).filter((n) => n.startsWith('.'));

describe('faults', () => {
  it('a disk that fills during an upload: nothing published, temp removed, a clear error, a record', () => {
    // A file-size limit stands in for a full disk: writes past it fail with EFBIG.
    const policy = lab.policyDir;
    const result = spawnSync('/usr/bin/prlimit', ['--fsize=1048576', NODE, BUNDLE, '--id', 'faults', '--policy', policy], {
      env: { PATH: '/usr/bin:/bin', SSH_ORIGINAL_COMMAND: 'receive' },
      input: randomBytes(5 * 1024 * 1024),
      encoding: 'utf8',
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toBe('ssh-dispatch: upload not stored: the disk is full (EFBIG)\n');
    expect(readdirSync(up)).toEqual([]);
    const end = lab.recordsOf(String(lab.lastDecision().session)).find((r) => r.event === 'end');
    expect(end).toMatchObject({ outcome: 'no-space', exit: 1 });
  });

  it('a policy replaced (atomic rename) while sessions start: each sees the old or the new one, never half', async () => {
    const file = join(lab.policyDir, 'main.yaml');
    const text = readFileSync(file, 'utf8');
    const versions = [text, text.replace('name: ping', 'name: ping-v2')];
    let stop = false;
    const swapper = (async () => {
      for (let i = 0; !stop; i++) {
        writeFileSync(`${file}.new`, versions[i % 2]!, { mode: 0o600 });
        renameSync(`${file}.new`, file);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const runs = Array.from(
      { length: 60 },
      () =>
        new Promise<number | null>((resolve) => {
          const child = spawn(NODE, [BUNDLE, '--id', 'faults', '--policy', lab.policyDir], { env: { PATH: '/usr/bin:/bin', SSH_ORIGINAL_COMMAND: 'true' }, stdio: 'ignore' });
          child.once('close', resolve);
        }),
    );
    const codes = await Promise.all(runs);
    stop = true;
    await swapper;
    writeFileSync(file, text, { mode: 0o600 });
    expect(codes.every((c) => c === 0)).toBe(true);
    const rules = lab.records().filter((r) => r.event === 'decision').slice(-60).map((r) => r.rule);
    expect(rules.every((r) => r === 'ping' || r === 'ping-v2')).toBe(true);
  }, 60_000);

  it('rsync clients killed mid-transfer, 20 times: no temp files, earlier backups intact', async () => {
    const src = join(lab.sshd.dir, 'big');
    mkdirSync(src, { recursive: true });
    writeFileSync(join(src, 'small.txt'), 'kept\n');
    writeFileSync(join(src, 'large.bin'), randomBytes(40 * 1024 * 1024));
    const { shell, host } = lab.sshd.rsyncRemoteShell(key);
    const first = spawnSync('/usr/bin/rsync', ['-e', shell, '-a', join(src, 'small.txt'), `${host}:kept/`], { encoding: 'utf8' });
    expect(first.status, first.stderr).toBe(0);
    for (let i = 0; i < 20; i++) {
      const client = spawn('/usr/bin/rsync', ['-e', shell, '-a', '--whole-file', `${src}/`, `${host}:cut-${i}/`], { stdio: 'ignore' });
      const closed = new Promise((r) => client.once('close', r));
      // Killed once the transfer is under way (its destination exists), at varying points in it.
      for (let wait = 0; wait < 200 && !existsSync(join(backups, `cut-${i}`)); wait++) await new Promise((r) => setTimeout(r, 25));
      await new Promise((r) => setTimeout(r, (i % 5) * 40));
      client.kill('SIGKILL');
      await closed;
    }
    // The server side sees the end of its input and cleans up; give it a moment.
    await new Promise((r) => setTimeout(r, 1500));
    // Not vacuous: every transfer got far enough to create its destination before it was killed.
    expect(readdirSync(backups).filter((n) => n.startsWith('cut-'))).toHaveLength(20);
    for (let i = 0; i < 20; i++) {
      const dir = join(backups, `cut-${i}`);
      let names: string[] = [];
      try {
        names = readdirSync(dir);
      } catch {
        continue;
      }
      expect(leftovers(dir), dir).toEqual([]);
      expect(names.every((n) => n === 'small.txt' || n === 'large.bin')).toBe(true);
    }
    expect(readFileSync(join(backups, 'kept', 'small.txt'), 'utf8')).toBe('kept\n');
  }, 120_000);

  it('200 connections at once through sshd: each decided and recorded', async () => {
    const before = lab.records().filter((r) => r.event === 'decision').length;
    const results = await Promise.all(Array.from({ length: 200 }, () => lab.sshd.ssh(key, 'true', { timeoutMs: 120_000 })));
    expect(results.map((r) => r.code).filter((c) => c !== 0)).toEqual([]);
    const decisions = lab.records().filter((r) => r.event === 'decision').slice(before);
    expect(decisions).toHaveLength(200);
    expect(new Set(decisions.map((d) => d.session)).size).toBe(200);
    expect(decisions.every((d) => d.decision === 'allow' && d.rule === 'ping')).toBe(true);
  }, 180_000);
});

function fill(path: string): void {
  const chunk = Buffer.alloc(4096, 1);
  const fd = openSync(join(path, 'filler'), 'w');
  try {
    for (;;) writeSync(fd, chunk);
  } catch (error) {
    expect((error as NodeJS.ErrnoException).code).toBe('ENOSPC');
  } finally {
    closeSync(fd);
  }
}

const probe = join(tmpdir(), `ssh-dispatch-mount-probe-${process.pid}`);
const canMount = mountSmall(probe, '64k') && spawnSync('/usr/bin/umount', [probe]).status === 0;
rmSync(probe, { recursive: true, force: true });

describe.runIf(canMount)('faults on a filesystem that is really full (a small tmpfs)', () => {
  let small: string;
  beforeAll(() => {
    small = join(lab.sshd.dir, 'small');
    expect(mountSmall(small, '256k')).toBe(true);
  });
  afterAll(() => {
    spawnSync('/usr/bin/umount', [small]);
  });

  it('an upload larger than the disk: ENOSPC, nothing published, no temp file, a record', () => {
    const policy = join(lab.sshd.dir, 'small-receive.yaml');
    mkdirSync(join(small, 'up'), { mode: 0o700 });
    writeFileSync(policy, `version: 1\naudit:\n  file: ${lab.auditFile}\nidentities:\n  s:\n    rules:\n      - { name: small, receive: { dir: ${join(small, 'up')}, name: "u-{timestamp}.bin", min-free: 4KiB } }\n`, { mode: 0o600 });
    const result = spawnSync(NODE, [BUNDLE, '--id', 's', '--policy', policy], { env: { PATH: '/usr/bin:/bin', SSH_ORIGINAL_COMMAND: 'receive' }, input: randomBytes(1024 * 1024), encoding: 'utf8' });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^ssh-dispatch: upload not stored: .*(ENOSPC|min-free|free)/);
    expect(readdirSync(join(small, 'up'))).toEqual([]);
    const end = lab.recordsOf(String(lab.lastDecision().session)).find((r) => r.event === 'end');
    expect(end).toMatchObject({ outcome: 'no-space', exit: 1 });
  });

  it('an audit log on a full disk: denied, and nothing runs', () => {
    const logDir = join(small, 'log');
    mkdirSync(logDir, { mode: 0o700 });
    const marker = join(lab.sshd.dir, 'ran-on-full-disk');
    const policy = join(lab.sshd.dir, 'small-audit.yaml');
    writeFileSync(policy, `version: 1\naudit:\n  file: ${join(logDir, 'audit.jsonl')}\nidentities:\n  s:\n    rules:\n      - { name: touch, exec: { command: ["/usr/bin/touch", "${marker}"] } }\n`, { mode: 0o600 });
    const run = () => spawnSync(NODE, [BUNDLE, '--id', 's', '--policy', policy], { env: { PATH: '/usr/bin:/bin', SSH_ORIGINAL_COMMAND: `/usr/bin/touch ${marker}` }, encoding: 'utf8' });
    expect(run().status).toBe(0); // the control: room on the disk, the program runs
    rmSync(marker);
    // A fresh log, so that the first record needs a new block (tmpfs would append the next
    // record into the slack of the block the control's record is in: that record is stored).
    rmSync(join(logDir, 'audit.jsonl'));
    fill(small);
    const result = run();
    expect(result.status).toBe(126);
    expect(result.stderr).toBe('ssh-dispatch: request denied\n');
    expect(existsSync(marker)).toBe(false);
  });
});
