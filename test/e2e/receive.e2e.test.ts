/**
 * Uploads through the real sshd into a receive rule: what the classic
 * `umask 077; f=backup$(date +%F-%H%M%S); cat > dir/$f` gets wrong, each checked here: same-second
 * uploads overwriting each other, cut uploads kept as if whole, modes left to umask, no limit,
 * no record, no retention.
 */
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SSH, type ClientKey } from '../../src/lab/throwaway-sshd.js';
import { startLab, type Lab } from './lab.js';
import { waitFor } from './wait.js';

let lab: Lab;
let key: ClientKey;
let emptyKey: ClientKey;
let up: string;
let kept: string;

beforeAll(async () => {
  lab = await startLab();
  up = join(lab.sshd.dir, 'uploads');
  kept = join(lab.sshd.dir, 'kept');
  mkdirSync(up, { mode: 0o700 });
  mkdirSync(kept, { mode: 0o700 });
  lab.writePolicy(`version: 1
audit:
  file: {{AUDIT}}
identities:
  uploader:
    rules:
      - name: tarball
        receive: { dir: ${up}, name: "backup-{timestamp}.tar", client-name: "*.tar", max-bytes: 64MiB, min-free: 1MiB }
  rotating:
    rules:
      - name: rotated
        receive: { dir: ${kept}, name: "db-{timestamp}.dump", keep: 3, accept-empty: true, mode: "0640" }
`);
  key = await lab.sshd.newClientKey('uploader');
  emptyKey = await lab.sshd.newClientKey('rotating');
  lab.sshd.authorize([lab.dispatchLine(key, 'uploader'), lab.dispatchLine(emptyKey, 'rotating')]);
});

afterAll(async () => {
  await lab?.stop();
});

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const finals = (dir: string) => readdirSync(dir).filter((n) => !n.startsWith('.'));
const temps = (dir: string) => readdirSync(dir).filter((n) => n.startsWith('.receive-'));

describe('receive through sshd', () => {
  it('tar c dir | ssh host receive NAME stores it byte-identical, mode 0600, with a receipt that matches', async () => {
    const src = join(lab.sshd.dir, 'to-archive');
    mkdirSync(src);
    writeFileSync(join(src, 'data.bin'), randomBytes(3 * 1024 * 1024));
    const tarball = execFileSync('/usr/bin/tar', ['-c', '-C', src, '.'], { maxBuffer: 64 * 1024 * 1024 });
    const result = await lab.sshd.ssh(key, 'receive site.tar', { input: tarball });
    expect(result.code, result.stderr).toBe(0);
    const [name, bytes, digest] = result.stdout.toString().trim().split(' ');
    expect(name).toBe('site.tar');
    expect(Number(bytes)).toBe(tarball.length);
    expect(digest).toBe(sha256(tarball));
    expect(readFileSync(join(up, 'site.tar')).equals(tarball)).toBe(true);
    expect(statSync(join(up, 'site.tar')).mode & 0o777).toBe(0o600);
    const end = lab.recordsOf(String(lab.lastDecision().session)).find((r) => r.event === 'end');
    expect(end).toMatchObject({ outcome: 'stored', file: 'site.tar', bytes: tarball.length, sha256: digest, exit: 0 });
  });

  it('never overwrites: the same chosen name again is refused, not suffixed (test/e2e/receive-history.e2e.test.ts)', async () => {
    const first = readFileSync(join(up, 'site.tar'));
    const result = await lab.sshd.ssh(key, 'receive site.tar', { input: Buffer.from('second') });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('site.tar is taken');
    expect(readFileSync(join(up, 'site.tar')).equals(first)).toBe(true);
    expect(finals(up)).not.toContain('site-1.tar');
  });

  it('20 uploads started together give 20 distinct files, none lost', async () => {
    const before = new Set(finals(up));
    const payloads = Array.from({ length: 20 }, (_, i) => Buffer.from(`upload ${i} ${'x'.repeat(1000 * i)}`));
    const results = await Promise.all(payloads.map((input) => lab.sshd.ssh(key, 'receive', { input })));
    expect(results.map((r) => r.code)).toEqual(Array(20).fill(0));
    const names = results.map((r) => r.stdout.toString().split(' ')[0]!);
    expect(new Set(names).size).toBe(20);
    const added = finals(up).filter((n) => !before.has(n));
    expect(added.sort()).toEqual([...names].sort());
    const stored = new Set(added.map((n) => readFileSync(join(up, n), 'utf8')));
    expect(stored).toEqual(new Set(payloads.map((p) => p.toString())));
    expect(temps(up)).toEqual([]);
  }, 60_000);

  it('a client killed mid-stream leaves no file under a final name and no temp file (20 times)', async () => {
    const before = finals(up).sort();
    const chunk = randomBytes(256 * 1024);
    const sessions: string[] = [];
    for (let i = 0; i < 20; i++) {
      const known = new Set(temps(up));
      const client = spawn(SSH, [...lab.sshd.sshArgs(key), 'receive', `cut-${i}.tar`], { stdio: ['pipe', 'ignore', 'ignore'] });
      const closed = new Promise((r) => client.once('close', r));
      client.stdin.on('error', () => {});
      // Keeps about 1 MiB queued for ssh, however slow the machine.
      const pump = setInterval(() => client.stdin.writableLength < 1024 * 1024 && client.stdin.write(chunk), 2);
      try {
        // Killed once this upload's receiver has stored some data (the first byte, or up to
        // 2 MiB): mid-stream by construction, not by a guess at how long ssh takes to get there.
        const atLeast = 1 + (i % 5) * 512 * 1024;
        const temp = await waitFor(`upload ${i} to store ${atLeast} bytes`, () =>
          temps(up).find((name) => {
            if (known.has(name)) return false;
            try {
              return statSync(join(up, name)).size >= atLeast;
            } catch {
              return false;
            }
          }),
        );
        sessions.push(/^\.receive-[0-9]+-([0-9a-f]+)\.part$/.exec(temp)![1]!);
      } finally {
        client.kill('SIGKILL');
        clearInterval(pump);
        await closed;
      }
    }
    // Each receiver sees the end of its input when sshd drops the connection, and records how
    // its upload ended: waited for, session by session.
    const ends = await waitFor('the end records of the 20 cut uploads', () => {
      const found = sessions.map((session) => lab.recordsOf(session).find((r) => r.event === 'end'));
      return found.every(Boolean) && found;
    });
    for (const end of ends)
      expect(end).toMatchObject({ rule: 'tarball', outcome: 'aborted', error: expect.stringContaining('the client went away') });
    expect(finals(up).sort()).toEqual(before);
    expect(temps(up)).toEqual([]);
  }, 120_000);

  it('an upload over max-bytes is refused and cleaned up, with one clear error line', async () => {
    const result = await lab.sshd.ssh(key, 'receive big.tar', { input: Buffer.alloc(65 * 1024 * 1024), timeoutMs: 60_000 });
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe('ssh-dispatch: upload not stored: larger than max-bytes (67108864 bytes)');
    expect(finals(up)).not.toContain('big.tar');
    expect(temps(up)).toEqual([]);
    const end = lab.recordsOf(String(lab.lastDecision().session)).find((r) => r.event === 'end');
    expect(end).toMatchObject({ outcome: 'too-large', exit: 1 });
  }, 60_000);

  it('an announced sha256 that does not match: nothing stored', async () => {
    const result = await lab.sshd.ssh(key, `receive checked.tar --sha256 ${'0'.repeat(64)}`, { input: Buffer.from('data') });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('sha256 differs');
    expect(finals(up)).not.toContain('checked.tar');
    const good = await lab.sshd.ssh(key, `receive checked.tar --size 4 --sha256 ${sha256(Buffer.from('data'))}`, {
      input: Buffer.from('data'),
    });
    expect(good.code).toBe(0);
  });

  it('a name the rule does not allow is refused before anything is read', async () => {
    const result = await lab.sshd.ssh(key, 'receive ../escape.tar', { input: Buffer.from('x') });
    expect(result.code).toBe(126);
    expect(lab.lastDecision()).toMatchObject({ decision: 'deny', reason: 'receive-refused' });
  });

  it('a session with no command is served by accept-empty, in the rule mode, and retention keeps exactly 3', async () => {
    // Three older dumps and an unrelated file.
    for (let d = 1; d <= 3; d++) {
      const old = join(kept, `db-2026-11-0${d}-010000.dump`);
      writeFileSync(old, 'old');
      utimesSync(old, new Date(2026, 10, d), new Date(2026, 10, d));
    }
    writeFileSync(join(kept, 'README'), 'not ours');
    for (let i = 0; i < 2; i++) {
      const result = await lab.sshd.ssh(emptyKey, null, { input: Buffer.from(`dump ${i}`) });
      expect(result.code, result.stderr).toBe(0);
    }
    const dumps = finals(kept)
      .filter((n) => n.endsWith('.dump'))
      .sort();
    expect(dumps).toHaveLength(3);
    expect(dumps[0]).toBe('db-2026-11-03-010000.dump');
    expect(finals(kept)).toContain('README');
    const newest = dumps.filter((n) => !n.startsWith('db-2026-11-0'));
    expect(newest.map((n) => statSync(join(kept, n)).mode & 0o777)).toEqual([0o640, 0o640]);
    const end = lab.recordsOf(String(lab.lastDecision().session)).find((r) => r.event === 'end');
    expect(end!.pruned).toEqual(['db-2026-11-02-010000.dump']);
  });
});

describe('the audit log', () => {
  it('every record written validates against schema/audit.schema.json', () => {
    const checked = lab.checkRecords();
    expect(checked.invalid).toEqual([]);
    expect(checked.records).toBeGreaterThan(10);
  });
});
