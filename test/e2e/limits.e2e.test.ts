/**
 * One identity cannot starve the rest (docs/policy.md, "Limits"), through a real sshd with stock
 * clients, each promise beside its control:
 * - max-sessions: the N+1th session of an identity is refused with its reason in the record while
 *   another identity still gets in; without max-sessions all N+1 run. Eight started at once
 *   under max-sessions: 3 give exactly three. A dispatcher killed with SIGKILL does not keep its slot.
 * - single-run: a second rsync push to a locked root is refused while the first runs; without the
 *   lock both run at once.
 * - an identity's min-free: its large upload stops at its floor and the other identity's upload
 *   still fits; without it the first upload takes the space and the second fails.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClientKey, type SshResult } from '../../src/lab/throwaway-sshd.js';
import { mountSmall, startLab, type Lab } from './lab.js';
import { waitFor } from './wait.js';

const MiB = 1024 * 1024;
let lab: Lab;
const keys: Record<string, ClientKey> = {};
let lockedRoot: string;
let openRoot: string;
let limitedFs: string;
let controlFs: string;
const mounted: string[] = [];
const started: ChildProcess[] = [];

beforeAll(async () => {
  lab = await startLab();
  lockedRoot = join(lab.sshd.dir, 'locked');
  openRoot = join(lab.sshd.dir, 'open');
  limitedFs = join(lab.sshd.dir, 'limited-fs');
  controlFs = join(lab.sshd.dir, 'control-fs');
  for (const fs of [limitedFs, controlFs]) {
    expect(mountSmall(fs, '100m'), `mount a tmpfs at ${fs} (needs root)`).toBe(true);
    mounted.push(fs);
    mkdirSync(join(fs, 'thief'), { mode: 0o700 });
    mkdirSync(join(fs, 'owner'), { mode: 0o700 });
  }
  mkdirSync(lockedRoot, { mode: 0o755 });
  mkdirSync(openRoot, { mode: 0o755 });
  const receive = (fs: string, who: string) =>
    `receive: { dir: ${join(fs, who)}, name: "{timestamp}.bin", client-name: "*.bin", max-bytes: 200MiB, min-free: 4MiB }`;
  lab.writePolicy(`version: 1
audit:
  file: {{AUDIT}}
identities:
  capped:
    max-sessions: 2
    rules:
      - { name: hold, exec: { command: "cat", program: /bin/cat } }
  uncapped:
    rules:
      - { name: hold, exec: { command: "cat", program: /bin/cat } }
  burst:
    max-sessions: 3
    rules:
      - { name: hold, exec: { command: "cat", program: /bin/cat } }
  other:
    rules:
      - { name: hold, exec: { command: "cat", program: /bin/cat } }
  locked:
    rules:
      - { name: push, rsync: { root: ${lockedRoot}, access: write, min-free: "0", single-run: true } }
  unlocked:
    rules:
      - { name: push, rsync: { root: ${openRoot}, access: write, min-free: "0" } }
  thief:
    min-free: 48MiB
    rules:
      - { name: up, ${receive(limitedFs, 'thief')} }
  owner:
    rules:
      - { name: up, ${receive(limitedFs, 'owner')} }
  thief-unbounded:
    rules:
      - { name: up, ${receive(controlFs, 'thief')} }
  owner-control:
    rules:
      - { name: up, ${receive(controlFs, 'owner')} }
`);
  const ids = ['capped', 'uncapped', 'burst', 'other', 'locked', 'unlocked', 'thief', 'owner', 'thief-unbounded', 'owner-control'];
  for (const id of ids) keys[id] = await lab.sshd.newClientKey(id);
  lab.sshd.authorize(ids.map((id) => lab.dispatchLine(keys[id]!, id)));
  writeFileSync(join(lab.sshd.dir, 'big.bin'), randomBytes(4 * MiB));
  writeFileSync(join(lab.sshd.dir, 'small.bin'), randomBytes(64 * 1024));
}, 60_000);

afterAll(async () => {
  for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await lab?.sshd.stop({ keepDir: true });
  for (const fs of mounted) spawnSync('/usr/bin/umount', [fs]);
  spawnSync('/usr/bin/rm', ['-rf', lab.sshd.dir]);
});

const decisions = (id: string) => lab.records().filter((r) => r.event === 'decision' && r.id === id);
const allowed = (id: string) => decisions(id).filter((r) => r.decision === 'allow');

/** An ssh session of `id` running `cat`, held open until its input is ended. */
function holdSession(id: string): { input: PassThrough; done: Promise<SshResult> } {
  const input = new PassThrough();
  return { input, done: lab.sshd.ssh(keys[id]!, 'cat', { input }) };
}

describe('max-sessions', () => {
  it('the third concurrent session of an identity with max-sessions: 2 is refused and recorded; another identity still gets in; a slot comes back when a session ends', async () => {
    const held = [holdSession('capped'), holdSession('capped')];
    await waitFor('two capped sessions allowed', () => allowed('capped').length === 2);
    const third = await lab.sshd.ssh(keys.capped!, 'cat');
    expect(third.code).toBe(126);
    expect(decisions('capped').at(-1)).toMatchObject({
      decision: 'deny',
      reason: 'max-sessions',
      detail: 'identity capped has 2 session(s) running (max-sessions: 2)',
    });
    const other = await lab.sshd.ssh(keys.other!, 'cat', { input: Buffer.from('still served\n') });
    expect([other.code, other.stdout.toString()]).toEqual([0, 'still served\n']);

    held[0]!.input.end('one\n');
    expect((await held[0]!.done).code).toBe(0);
    const again = await lab.sshd.ssh(keys.capped!, 'cat', { input: Buffer.from('again\n') });
    expect([again.code, again.stdout.toString()]).toEqual([0, 'again\n']);
    held[1]!.input.end();
    await held[1]!.done;
  });

  it('control: without max-sessions all three run at once', async () => {
    const held = [holdSession('uncapped'), holdSession('uncapped'), holdSession('uncapped')];
    await waitFor('three uncapped sessions allowed', () => allowed('uncapped').length === 3);
    expect(decisions('uncapped').every((r) => r.decision === 'allow')).toBe(true);
    for (const { input } of held) input.end('x\n');
    expect((await Promise.all(held.map((h) => h.done))).map((r) => r.code)).toEqual([0, 0, 0]);
  });

  it('eight sessions started at once with max-sessions: 3: exactly three run, five are refused', async () => {
    const held = Array.from({ length: 8 }, () => holdSession('burst'));
    await waitFor('eight burst decisions', () => decisions('burst').length === 8);
    expect(
      decisions('burst')
        .map((r) => r.reason ?? r.decision)
        .sort(),
    ).toEqual(['allow', 'allow', 'allow', 'max-sessions', 'max-sessions', 'max-sessions', 'max-sessions', 'max-sessions']);
    for (const { input } of held) input.end();
    const codes = (await Promise.all(held.map((h) => h.done))).map((r) => r.code).sort();
    expect(codes).toEqual([0, 0, 0, 126, 126, 126, 126, 126]);
  });

  it('a dispatcher killed with SIGKILL does not keep its slot (control: while it lives, the slot is held)', async () => {
    const before = allowed('capped').length;
    const held = [holdSession('capped'), holdSession('capped')];
    await waitFor('two more capped sessions allowed', () => allowed('capped').length === before + 2);
    const sessions = join(lab.sshd.dir, 'log', 'sessions');
    const slot = readdirSync(sessions).find((name) => name.startsWith('id-capped.'))!;
    const pid = Number(readlinkSync(join(sessions, slot)).split('-')[0]);
    expect((await lab.sshd.ssh(keys.capped!, 'cat')).code).toBe(126);
    process.kill(pid, 'SIGKILL');
    await waitFor('the killed dispatcher gone', () => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    });
    const after = await lab.sshd.ssh(keys.capped!, 'cat', { input: Buffer.from('in\n') });
    expect(after.code).toBe(0);
    for (const { input } of held) input.end();
    await Promise.all(held.map((h) => h.done));
  });
});

/** `rsync` pushing `file` as `id`; `slow`: paced, so that it is still running when the next one starts. */
function push(id: string, file: string, slow: boolean): { child: ChildProcess; done: Promise<number | null> } {
  const { shell, host } = lab.sshd.rsyncRemoteShell(keys[id]!);
  const child = spawn(
    '/usr/bin/rsync',
    ['-e', shell, ...(slow ? ['--bwlimit=512'] : []), file, `${host}:${file.split('/').pop()!.replace('.bin', `-${started.length}.bin`)}`],
    { cwd: lab.sshd.dir, stdio: 'ignore' },
  );
  started.push(child);
  return { child, done: new Promise((resolve) => child.once('close', (code) => resolve(code))) };
}

describe('single-run (rrsync lock)', () => {
  it('a second push to a single-run root is refused while the first runs, recorded as rsync-single-run; the lock comes back when it ends', async () => {
    const first = push('locked', join(lab.sshd.dir, 'big.bin'), true);
    await waitFor('the first push allowed', () => allowed('locked').length === 1);
    const second = push('locked', join(lab.sshd.dir, 'small.bin'), false);
    expect(await second.done).not.toBe(0);
    expect(decisions('locked').at(-1)).toMatchObject({
      decision: 'deny',
      reason: 'rsync-single-run',
      detail: `rule push: another rsync of ${lockedRoot} is running (single-run: true)`,
    });
    expect(first.child.exitCode).toBeNull();
    first.child.kill('SIGTERM');
    await first.done;
    const firstSession = allowed('locked')[0]!.session;
    await waitFor('the first push ended', () => lab.recordsOf(String(firstSession)).some((r) => r.event === 'end'));
    expect(await push('locked', join(lab.sshd.dir, 'small.bin'), false).done).toBe(0);
  }, 60_000);

  it('control: without single-run two pushes run at once', async () => {
    const first = push('unlocked', join(lab.sshd.dir, 'big.bin'), true);
    await waitFor('the first push allowed', () => allowed('unlocked').length === 1);
    const second = push('unlocked', join(lab.sshd.dir, 'small.bin'), false);
    expect(await second.done).toBe(0);
    expect(first.child.exitCode).toBeNull();
    expect(decisions('unlocked').map((r) => r.decision)).toEqual(['allow', 'allow']);
    first.child.kill('SIGTERM');
    await first.done;
  }, 60_000);
});

describe("an identity's min-free", () => {
  const upload = (id: string, bytes: number) =>
    lab.sshd.ssh(keys[id]!, `receive ${id}.bin`, { input: Buffer.alloc(bytes, 7), timeoutMs: 120_000 });
  const endOf = (id: string) => {
    const session = decisions(id).at(-1)!.session;
    return lab.recordsOf(String(session)).find((r) => r.event === 'end');
  };

  it('stops a large upload at the identity floor, and the other identity still stores its upload', async () => {
    const thief = await upload('thief', 80 * MiB);
    expect(thief.code).not.toBe(0);
    expect(endOf('thief')).toMatchObject({ outcome: 'no-space' });
    const owner = await upload('owner', 30 * MiB);
    expect(owner.code, owner.stderr).toBe(0);
    expect(endOf('owner')).toMatchObject({ outcome: 'stored', bytes: 30 * MiB });
  }, 120_000);

  it('control: without it the first upload takes the space and the second fails', async () => {
    const thief = await upload('thief-unbounded', 80 * MiB);
    expect(thief.code, thief.stderr).toBe(0);
    expect(endOf('thief-unbounded')).toMatchObject({ outcome: 'stored', bytes: 80 * MiB });
    const owner = await upload('owner-control', 30 * MiB);
    expect(owner.code).not.toBe(0);
    expect(endOf('owner-control')).toMatchObject({ outcome: 'no-space' });
  }, 120_000);
});
