/**
 * Faults, end to end: a disk that fills during an upload, a policy replaced while sessions
 * start, rsync clients killed mid-transfer, 200 connections at once through the real sshd.
 * Nothing half-written may be left, every session must be decided and recorded.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientKey } from '../../src/lab/throwaway-sshd.js';
import { applyPolicy, BUNDLE, mountSmall, NODE, startLab, type Lab } from './lab.js';
import { waitFor } from './wait.js';

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

/** Pids of rsync servers working in `dir` (their cwd at or under it), from /proc. */
function rsyncServersIn(dir: string): string[] {
  return readdirSync('/proc').filter((pid) => {
    if (!/^[0-9]+$/.test(pid)) return false;
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      const cwd = readlinkSync(`/proc/${pid}/cwd`);
      return argv.includes('--server') && (cwd === dir || cwd.startsWith(`${dir}/`));
    } catch {
      return false; // gone, or not ours to look at
    }
  });
}

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

  it('versions applied while sessions start: each sees the old or the new one, never half', async () => {
    const file = join(lab.policyDir, 'main.yaml');
    const text = readFileSync(file, 'utf8');
    const versions = [text, text.replace('name: ping', 'name: ping-v2')];
    let stop = false;
    const applyAsync = () =>
      new Promise<number | null>((resolve) =>
        spawn(NODE, [BUNDLE, 'apply', '--policy', lab.policyDir], { stdio: 'ignore' }).once('close', resolve),
      );
    const swapper = (async () => {
      for (let i = 1; !stop; i++) {
        writeFileSync(file, versions[i % 2]!, { mode: 0o600 });
        expect(await applyAsync()).toBe(0);
      }
    })();
    const runs = Array.from(
      { length: 60 },
      () =>
        new Promise<number | null>((resolve) => {
          const child = spawn(NODE, [BUNDLE, '--id', 'faults', '--policy', lab.policyDir], {
            env: { PATH: '/usr/bin:/bin', SSH_ORIGINAL_COMMAND: 'true' },
            stdio: 'ignore',
          });
          child.once('close', resolve);
        }),
    );
    const codes = await Promise.all(runs);
    stop = true;
    await swapper;
    writeFileSync(file, text, { mode: 0o600 });
    applyPolicy(lab.policyDir);
    expect(codes.every((c) => c === 0)).toBe(true);
    const rules = lab
      .records()
      .filter((r) => r.event === 'decision')
      .slice(-60)
      .map((r) => r.rule);
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
    const sizeOf = (path: string) => {
      try {
        return statSync(path).size;
      } catch {
        return -1;
      }
    };
    for (let i = 0; i < 20; i++) {
      const dest = join(backups, `cut-${i}`);
      const client = spawn('/usr/bin/rsync', ['-e', shell, '-a', '--whole-file', `${src}/`, `${host}:${dest.slice(backups.length + 1)}/`], {
        stdio: 'ignore',
      });
      const closed = new Promise((r) => client.once('close', r));
      try {
        // Killed mid-transfer by construction: once rsync's temp file for large.bin holds at
        // least 1 byte (or up to 16 MiB of its 40), at a different point each time.
        const atLeast = 1 + (i % 5) * 4 * 1024 * 1024;
        await waitFor(
          `transfer ${i} to write ${atLeast} bytes of large.bin`,
          () => {
            if (client.exitCode !== null) throw new Error(`rsync ${i} ended (${client.exitCode}) before it could be cut`);
            return existsSync(dest) && readdirSync(dest).some((n) => n.startsWith('.large.bin.') && sizeOf(join(dest, n)) >= atLeast);
          },
          { intervalMs: 5 },
        );
      } finally {
        client.kill('SIGKILL');
        await closed;
      }
    }
    // The server side sees the end of its input and cleans up: wait for every session's end
    // record and for the last rsync server process in the backups (its forked receiver may
    // outlive the process the dispatcher waits for) to be gone.
    await waitFor('the end records of the 20 cut transfers', () =>
      Array.from({ length: 20 }, (_, i) => {
        const decision = lab.records().find((r) => r.event === 'decision' && String(r.command).endsWith(` cut-${i}/`));
        return decision !== undefined && lab.recordsOf(String(decision.session)).some((r) => r.event === 'end');
      }).every(Boolean),
    );
    await waitFor('the rsync servers in the backups to exit', () => rsyncServersIn(backups).length === 0);
    expect(readdirSync(backups).filter((n) => n.startsWith('cut-'))).toHaveLength(20);
    for (let i = 0; i < 20; i++) {
      const dir = join(backups, `cut-${i}`);
      expect(leftovers(dir), dir).toEqual([]);
      expect(readdirSync(dir).every((n) => n === 'small.txt' || n === 'large.bin')).toBe(true);
    }
    expect(readFileSync(join(backups, 'kept', 'small.txt'), 'utf8')).toBe('kept\n');
  }, 120_000);

  it('200 connections at once through sshd: each decided and recorded', async () => {
    const before = lab.records().filter((r) => r.event === 'decision').length;
    const results = await Promise.all(Array.from({ length: 200 }, () => lab.sshd.ssh(key, 'true', { timeoutMs: 120_000 })));
    expect(results.map((r) => r.code).filter((c) => c !== 0)).toEqual([]);
    const decisions = lab
      .records()
      .filter((r) => r.event === 'decision')
      .slice(before);
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
    // In a directory of its own: apply refuses a write rule beside its policy.
    mkdirSync(join(lab.sshd.dir, 'small-receive'), { mode: 0o700 });
    const policy = join(lab.sshd.dir, 'small-receive', 'policy.yaml');
    mkdirSync(join(small, 'up'), { mode: 0o700 });
    writeFileSync(
      policy,
      `version: 1\naudit:\n  file: ${lab.auditFile}\nidentities:\n  s:\n    rules:\n      - { name: small, receive: { dir: ${join(small, 'up')}, name: "u-{timestamp}.bin", min-free: 4KiB } }\n`,
      { mode: 0o600 },
    );
    applyPolicy(policy);
    const result = spawnSync(NODE, [BUNDLE, '--id', 's', '--policy', policy], {
      env: { PATH: '/usr/bin:/bin', SSH_ORIGINAL_COMMAND: 'receive' },
      input: randomBytes(1024 * 1024),
      encoding: 'utf8',
    });
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
    // In a directory of its own: apply refuses a write rule beside its policy.
    mkdirSync(join(lab.sshd.dir, 'small-audit'), { mode: 0o700 });
    const policy = join(lab.sshd.dir, 'small-audit', 'policy.yaml');
    writeFileSync(
      policy,
      `version: 1\naudit:\n  file: ${join(logDir, 'audit.jsonl')}\nidentities:\n  s:\n    rules:\n      - { name: touch, exec: { command: ["/usr/bin/touch", "${marker}"] } }\n`,
      { mode: 0o600 },
    );
    applyPolicy(policy);
    const run = () =>
      spawnSync(NODE, [BUNDLE, '--id', 's', '--policy', policy], {
        env: { PATH: '/usr/bin:/bin', SSH_ORIGINAL_COMMAND: `/usr/bin/touch ${marker}` },
        encoding: 'utf8',
      });
    expect(run().status).toBe(0); // the control: room on the disk, the program runs
    rmSync(marker);
    // A fresh log, so that the first record needs a new block (tmpfs would append the next
    // record into the slack of the block the control's record is in: that record is stored).
    rmSync(join(logDir, 'audit.jsonl'));
    fill(small);
    const result = run();
    expect(result.status).toBe(126);
    expect(result.stderr).toMatch(/^ssh-dispatch: refused by the server's policy \(session [0-9a-f]{8}\); ask its administrator\n$/);
    expect(existsSync(marker)).toBe(false);
  });
});
