/**
 * An sftp rule's min-free and idle-timeout through the real sshd (docs/policy.md, "sftp"), on a
 * real small filesystem (a 16 MiB tmpfs): OpenSSH's sftp and `scp -O` uploads larger than the
 * room above the floor are refused with the client told, free space stays above the floor, and
 * the refusal is in the records; the control, OpenSSH's sftp-server as the forced command on the
 * same tmpfs, fills it to 0 bytes free. An sftp session that sends nothing ends on its own.
 *
 * The file server runs in the sandbox, where root is a bind mount: statfs there is the tmpfs's.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statfsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorizedKeyLine, type ClientKey } from '../../src/lab/throwaway-sshd.js';
import { mountSmall, startLab, type Lab } from './lab.js';
import { waitFor } from './wait.js';
import { fileClients } from './file-clients.js';

const SFTP_SERVER = '/usr/lib/openssh/sftp-server';
const MiB = 1024 * 1024;
const FLOOR = 8 * MiB;

let lab: Lab;
let small: string;
let local: string;
let mounted = false;
const keys = {} as Record<'drop' | 'idle' | 'bare', ClientKey>;

const free = (path: string) => {
  const stats = statfsSync(path);
  return stats.bavail * stats.bsize;
};

beforeAll(async () => {
  lab = await startLab({ extraConfig: [`Subsystem sftp ${SFTP_SERVER}`] });
  small = join(lab.sshd.dir, 'small');
  local = join(lab.sshd.dir, 'local');
  mkdirSync(local);
  mkdirSync(join(lab.sshd.dir, 'idle-root'), { mode: 0o755 });
  mounted = mountSmall(small, '16m', '0755');
  if (mounted) {
    mkdirSync(join(small, 'drop'), { mode: 0o755 });
    mkdirSync(join(small, 'bare'), { mode: 0o755 });
  }
  lab.writePolicy(`version: 1
audit:
  file: {{AUDIT}}
identities:
  drop: { rules: [ { name: drop, sftp: { root: ${small}/drop, access: write, min-free: 8MiB } } ] }
  idle: { rules: [ { name: quiet, sftp: { root: {{DIR}}/idle-root, access: read-write, idle-timeout: 2s } } ] }
`);
  for (const name of ['drop', 'idle', 'bare'] as const) keys[name] = await lab.sshd.newClientKey(name);
  lab.sshd.authorize([
    lab.dispatchLine(keys.drop, 'drop'),
    lab.dispatchLine(keys.idle, 'idle'),
    authorizedKeyLine('restrict', [SFTP_SERVER, '-d', join(small, 'bare')], keys.bare),
  ]);
  // Larger than the whole tmpfs, so larger than the room above the floor too.
  writeFileSync(join(local, 'big.bin'), Buffer.alloc(20 * MiB, 0x5a));
});

afterAll(async () => {
  // Unmounted first: the lab removes its directory, the mount point in it.
  if (mounted) spawnSync('/usr/bin/umount', [small]);
  await lab?.stop();
});

const { clientOptions, sftp, scp } = fileClients(
  () => lab.sshd,
  () => local,
);

const lastSession = () => lab.recordsOf(String(lab.lastDecision().session));

describe('min-free on a real small filesystem', () => {
  // Where mount(2) is not allowed this fails, rather than skip what the file exists to show.
  it('the 16 MiB tmpfs is mounted', () => {
    expect(mounted).toBe(true);
    expect(free(small)).toBeGreaterThan(FLOOR + 4 * MiB);
    expect(free(small)).toBeLessThan(20 * MiB);
  });

  it('sftp put of a file larger than the room above min-free: refused, the client sees "Failure", free space stays above the floor, the refusal is recorded; the part written stays', () => {
    const result = sftp(keys.drop, ['put big.bin big.bin']);
    expect(result.code, result.out).not.toBe(0);
    // OpenSSH's sftp prints the status code's text (SSH_FX_FAILURE): "Failure".
    expect(result.out).toMatch(/big\.bin.*Failure/);
    expect(free(small)).toBeGreaterThanOrEqual(FLOOR);
    const kept = statSync(join(small, 'drop', 'big.bin')).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(16 * MiB - FLOOR);
    const records = lastSession();
    expect(lab.lastDecision()).toMatchObject({ decision: 'allow', rule: 'drop', files: { protocol: 'sftp' } });
    const files = records.filter((r) => r.event === 'file').map((r) => [r.op, r.path, r.refused ?? null, r.bytes ?? null]);
    expect(files).toEqual(
      expect.arrayContaining([
        ['write', '/big.bin', 'min-free', null],
        ['write', '/big.bin', null, kept],
      ]),
    );
    expect(records.find((r) => r.event === 'end')).toMatchObject({ outcome: 'exited', files: { refused: 1, write: 1 } });
    rmSync(join(small, 'drop', 'big.bin'));
  });

  it('scp -O of the same file: refused before anything is written (the C line says its size), the client sees why', () => {
    const before = free(small);
    const result = scp(keys.drop, ['-O', 'big.bin', 'HOST:/legacy.bin']);
    expect(result.code, result.out).not.toBe(0);
    expect(result.out).toMatch(/\/legacy\.bin: No space left on device/);
    expect(existsSync(join(small, 'drop', 'legacy.bin'))).toBe(false);
    expect(free(small)).toBe(before);
    expect(lab.lastDecision()).toMatchObject({
      decision: 'allow',
      command: 'scp -t /legacy.bin',
      files: { protocol: 'scp', scp: 'to-server' },
    });
    const records = lastSession();
    expect(records.filter((r) => r.event === 'file').map((r) => [r.op, r.path, r.refused])).toEqual([['write', '/legacy.bin', 'min-free']]);
    expect(records.find((r) => r.event === 'end')).toMatchObject({ files: { refused: 1 } });
  });

  it('a file that fits above the floor is stored whole', () => {
    writeFileSync(join(local, 'fits.bin'), Buffer.alloc(2 * MiB, 1));
    expect(sftp(keys.drop, ['put fits.bin fits.bin']).code).toBe(0);
    expect(statSync(join(small, 'drop', 'fits.bin')).size).toBe(2 * MiB);
    rmSync(join(small, 'drop', 'fits.bin'));
  });

  it('control: OpenSSH’s sftp-server as the forced command fills the same tmpfs to 0 bytes free', () => {
    const result = sftp(keys.bare, ['put big.bin big.bin']);
    expect(result.code, result.out).not.toBe(0);
    expect(free(small)).toBe(0);
    rmSync(join(small, 'bare', 'big.bin'));
    expect(free(small)).toBeGreaterThan(FLOOR);
  });
});

describe('idle-timeout', () => {
  it('an sftp session that sends nothing (its commands from a pipe held open) is ended after 2 s, with outcome idle-timeout', async () => {
    const { options, host } = clientOptions(keys.idle);
    const started = Date.now();
    // sftp connects (INIT, REALPATH of ".") and then waits for a command line that never comes.
    // Not -b, which makes sftp quiet: interactive, it tells when its ssh goes away.
    const client = spawn('/usr/bin/sftp', [...options, host], { cwd: local, stdio: ['pipe', 'pipe', 'pipe'] });
    let err = '';
    client.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    let exit: number | null | undefined;
    client.on('exit', (code) => (exit = code));
    try {
      // The server ends the session: sshd closes the connection, sftp's ssh exits and sftp says
      // so, still waiting for its next command (it reads stdin before it looks at the connection).
      await waitFor('sftp to report the connection closed', () => /Connection closed/.test(err) || exit !== undefined, {
        timeoutMs: 20_000,
      });
      expect(err).toMatch(/Connection closed/);
      expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
      client.stdin.end();
      await waitFor('sftp to exit', () => exit !== undefined, { timeoutMs: 20_000 });
    } finally {
      client.kill();
    }
    expect(lab.lastDecision()).toMatchObject({ decision: 'allow', rule: 'quiet' });
    const end = await waitFor('the end record', () => lastSession().find((r) => r.event === 'end'));
    expect(end).toMatchObject({ outcome: 'idle-timeout', exit: 1, error: 'no request for 2 s' });
    expect(Number(end.duration_ms)).toBeGreaterThanOrEqual(2000);
    expect(Number(end.duration_ms)).toBeLessThan(10_000);
  });
});
