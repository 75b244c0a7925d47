/**
 * min-free and idle-timeout in the file server, in process (docs/policy.md, "sftp"): the free-space
 * probe is a function the test controls, so the floor is reached without filling a disk (the
 * real one: test/e2e/sftp-limits), and the idle timeout is a few tens of milliseconds.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FileEvent } from '../../../src/act/files/events.js';
import { SpaceFloor, SPACE_STEP_MIN, type SessionOptions } from '../../../src/act/files/free-space.js';
import type { FilePolicy } from '../../../src/act/files/policy.js';
import { serveScp } from '../../../src/act/files/scp.js';
import { serveSftp } from '../../../src/act/files/sftp.js';
import { FX, FXP, PacketWriter } from '../../../src/act/files/sftp-wire.js';
import { packetClient } from './wire-client.js';

const KiB = 1024;
const FLOOR = 1024 * KiB;
let dir: string;
let root: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'files-limits-'));
  root = join(dir, 'root');
  mkdirSync(root);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const policyWith = (over: Partial<FilePolicy>): FilePolicy => ({
  root,
  access: 'read-write',
  delete: true,
  overwrite: true,
  umask: 0o022,
  minFreeBytes: FLOOR,
  idleTimeoutMs: 0,
  ...over,
});

/** Bytes in the files of root: what a disk of `room` bytes above the floor has used. */
function usedInRoot(): number {
  let used = 0;
  for (const name of ['big', 'small', 'other']) if (existsSync(join(root, name))) used += statSync(join(root, name)).size;
  return used;
}

/** A filesystem with `room` bytes above the floor when root is empty; `looks` counts the statfs calls. */
function disk(room: number) {
  const probe = { looks: 0, fail: false };
  const freeBytes = () => {
    probe.looks++;
    if (probe.fail) throw Object.assign(new Error('EIO'), { code: 'EIO' });
    return FLOOR + room - usedInRoot();
  };
  return { probe, freeBytes };
}

/** An SFTP session with a packet-level client. */
function sftpSession(policy: FilePolicy, options: SessionOptions = {}) {
  const input = new PassThrough();
  const output = new PassThrough();
  const events: FileEvent[] = [];
  const done = serveSftp(policy, input, output, (e) => events.push(e), options);
  const { next, request } = packetClient(input, output);
  /** A STATUS answer: its code and its message. */
  const status = async (type: number, build: (w: PacketWriter) => void) => {
    const { type: got, reader } = await request(type, build);
    expect(got).toBe(FXP.STATUS);
    reader.u32();
    return { code: reader.u32(), text: reader.text() };
  };
  const init = async () => {
    input.write(new PacketWriter(FXP.INIT, null).u32(3).done());
    expect((await next()).type).toBe(FXP.VERSION);
  };
  const open = async (path: string) => {
    const { type, reader } = await request(FXP.OPEN, (w) =>
      w
        .string(path)
        .u32(2 | 8 | 0x10)
        .u32(0),
    );
    expect(type).toBe(FXP.HANDLE);
    reader.u32();
    return reader.bytes();
  };
  const write = (handle: Buffer, offset: number, data: Buffer) => status(FXP.WRITE, (w) => w.string(handle).u64(offset).string(data));
  const close = (handle: Buffer) => status(FXP.CLOSE, (w) => w.string(handle));
  return { input, output, events, done, init, open, write, close, status };
}

const chunk = Buffer.alloc(32 * KiB, 7);

describe('SpaceFloor: one look grants a share of the headroom, never more than the headroom', () => {
  it('far from the floor it looks rarely; near it, at every write; it never admits past the floor', () => {
    let free = FLOOR + 100 * 1024 * KiB;
    let looks = 0;
    const floor = new SpaceFloor(FLOOR, () => (looks++, free));
    let admitted = 0;
    while (floor.admit(chunk.length)) {
      admitted += chunk.length;
      free -= chunk.length;
    }
    expect(free).toBeGreaterThanOrEqual(FLOOR);
    expect(free - FLOOR).toBeLessThan(chunk.length);
    expect(admitted).toBe(100 * 1024 * KiB);
    // 3200 writes of 32 KiB: a look per write would be 3201.
    expect(looks).toBeLessThan(400);
    expect(looks).toBeGreaterThan((100 * 1024 * KiB) / (64 * 1024 * KiB));
  });

  it('counts whole 4 KiB blocks: with ten blocks above the floor, ten 1-byte files are written and the eleventh is refused', () => {
    // A filesystem of 4 KiB blocks: each 1-byte file takes one.
    let free = FLOOR + 10 * 4 * KiB;
    const floor = new SpaceFloor(FLOOR, () => free);
    for (let i = 0; i < 10; i++) {
      expect(floor.admit(1)).toBe(true);
      free -= 4 * KiB;
    }
    expect(floor.admit(1)).toBe(false);
    expect(free).toBe(FLOOR);
    const fresh = new SpaceFloor(FLOOR, () => FLOOR + 10 * 4 * KiB);
    expect(fresh.fits(10 * 4 * KiB)).toBe(true);
    expect(fresh.fits(10 * 4 * KiB + 1)).toBe(false);
  });

  it('a statfs that fails admits nothing (fail closed); floor 0 never looks', () => {
    expect(
      new SpaceFloor(FLOOR, () => {
        throw new Error('EIO');
      }).admit(1),
    ).toBe(false);
    let looks = 0;
    const none = new SpaceFloor(0, () => (looks++, 0));
    expect(none.admit(SPACE_STEP_MIN * 10) && none.fits(2 ** 40)).toBe(true);
    expect(looks).toBe(0);
  });
});

describe('SFTP WRITE below min-free', () => {
  it('is refused with FAILURE saying "No space"; the file keeps what was written; one refusal record per handle; a WRITE pipelined after it is refused too (no hole)', async () => {
    const { probe, freeBytes } = disk(100 * KiB);
    const s = sftpSession(policyWith({}), { freeBytes });
    await s.init();
    const handle = await s.open('/big');
    for (let i = 0; i < 3; i++) expect((await s.write(handle, i * chunk.length, chunk)).code).toBe(FX.OK);
    // 96 KiB written, 4 KiB left above the floor: the fourth 32 KiB would cross it.
    const refused = await s.write(handle, 3 * chunk.length, chunk);
    expect(refused).toEqual({ code: FX.FAILURE, text: expect.stringMatching(/^No space left on device/) });
    // A later, small WRITE on the same handle would fit, but would leave a hole at 96 KiB: refused.
    expect((await s.write(handle, 4 * chunk.length, Buffer.from('x'))).code).toBe(FX.FAILURE);
    expect((await s.close(handle)).code).toBe(FX.OK);
    expect(statSync(join(root, 'big')).size).toBe(3 * chunk.length);
    // Another file that fits in what is left is written: the floor is per write, not a ban.
    const small = await s.open('/small');
    expect((await s.write(small, 0, Buffer.alloc(4 * KiB, 1))).code).toBe(FX.OK);
    expect((await s.write(small, 4 * KiB, Buffer.alloc(1, 1))).code).toBe(FX.FAILURE);
    expect((await s.close(small)).code).toBe(FX.OK);
    s.input.end();
    const summary = await s.done;
    expect(s.events).toEqual([
      { op: 'write', path: '/big', refused: 'min-free' },
      { op: 'write', path: '/big', bytes: 3 * chunk.length, created: true },
      { op: 'write', path: '/small', refused: 'min-free' },
      { op: 'write', path: '/small', bytes: 4 * KiB, created: true },
    ]);
    expect(summary).toMatchObject({ refusals: 2, bytesWritten: 3 * chunk.length + 4 * KiB, ended: 'eof' });
    expect(freeBytes()).toBeGreaterThanOrEqual(FLOOR);
    expect(probe.looks).toBeGreaterThan(0);
  });

  it('control: with min-free 0 the same writes all land, and free space is never asked', async () => {
    const { probe, freeBytes } = disk(100 * KiB);
    const s = sftpSession(policyWith({ minFreeBytes: 0 }), { freeBytes });
    await s.init();
    const handle = await s.open('/big');
    for (let i = 0; i < 5; i++) expect((await s.write(handle, i * chunk.length, chunk)).code).toBe(FX.OK);
    await s.close(handle);
    s.input.end();
    await s.done;
    expect(statSync(join(root, 'big')).size).toBe(5 * chunk.length);
    expect(probe.looks).toBe(0);
  });

  it('when free space cannot be known, nothing is written (fail closed)', async () => {
    const { probe, freeBytes } = disk(100 * 1024 * KiB);
    probe.fail = true;
    const s = sftpSession(policyWith({}), { freeBytes });
    await s.init();
    const handle = await s.open('/big');
    expect((await s.write(handle, 0, chunk)).code).toBe(FX.FAILURE);
    await s.close(handle);
    s.input.end();
    await s.done;
    expect(s.events).toContainEqual({ op: 'write', path: '/big', refused: 'min-free' });
  });

  it("by default the floor is statfs on root: a floor above the disk's free space refuses, 1 byte does not", async () => {
    const s = sftpSession(policyWith({ minFreeBytes: 2 ** 52 }));
    await s.init();
    const handle = await s.open('/big');
    expect((await s.write(handle, 0, chunk)).code).toBe(FX.FAILURE);
    await s.close(handle);
    s.input.end();
    await s.done;
    const t = sftpSession(policyWith({ minFreeBytes: 1 }));
    await t.init();
    const other = await t.open('/other');
    expect((await t.write(other, 0, chunk)).code).toBe(FX.OK);
    await t.close(other);
    t.input.end();
    await t.done;
  });
});

/** A legacy `scp -t /` session: the client's side spoken by hand. */
function scpSink(policy: FilePolicy, options: SessionOptions) {
  const input = new PassThrough();
  const output = new PassThrough();
  const events: FileEvent[] = [];
  let received = '';
  output.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
  const done = serveScp(
    policy,
    { direction: 'to-server', recursive: false, preserveTimes: false, targetMustBeDir: true, path: '/' },
    input,
    output,
    (e) => events.push(e),
    options,
  );
  const heard = async (what: RegExp) => {
    for (let i = 0; i < 200 && !what.test(received); i++) await new Promise((r) => setImmediate(r));
    expect(received).toMatch(what);
  };
  return { input, events, done, heard, received: () => received };
}

describe('legacy scp data below min-free', () => {
  it('a file announced larger than the room above the floor is refused before it is opened: nothing is made, the client hears why', async () => {
    const { freeBytes } = disk(100 * KiB);
    const s = scpSink(policyWith({}), { freeBytes });
    await s.heard(/^\0$/);
    s.input.write(`C0644 ${200 * KiB} big\n`);
    await s.heard(/\x01scp: \/big: No space left on device[^\n]*\n$/);
    // The client then skips the file and sends the next one: this one fits.
    s.input.write('C0644 5 small\n');
    await s.heard(/\n\0$/);
    s.input.write('hello\0');
    await s.heard(/\n\0\0$/);
    s.input.end();
    const summary = await s.done;
    expect(existsSync(join(root, 'big'))).toBe(false);
    expect(readFileSync(join(root, 'small'), 'utf8')).toBe('hello');
    expect(s.events).toEqual([
      { op: 'write', path: '/big', refused: 'min-free' },
      { op: 'write', path: '/small', bytes: 5, created: true },
    ]);
    expect(summary).toMatchObject({ refusals: 1, ended: 'eof' });
  });

  it('a file that fitted when announced but not as it comes (another writer took the room): written up to the floor, the rest read and dropped, then an error', async () => {
    const { freeBytes } = disk(600 * KiB);
    // The first look grants SPACE_STEP_MIN (256 KiB); at the next, another session's 300 KiB has landed.
    let other = false;
    const s = scpSink(policyWith({}), {
      freeBytes: () => {
        const free = freeBytes();
        if (!other && usedInRoot() > 0) {
          other = true;
          writeFileSync(join(root, 'other'), Buffer.alloc(300 * KiB));
          return freeBytes();
        }
        return free;
      },
    });
    await s.heard(/^\0$/);
    s.input.write(`C0644 ${500 * KiB} big\n`);
    await s.heard(/^\0\0$/);
    // In 4 KiB pieces, each taken by the server before the next (a pipe from sshd comes in pieces too).
    for (let i = 0; i < 125; i++) {
      s.input.write(Buffer.alloc(4 * KiB, 2));
      await new Promise((r) => setImmediate(r));
    }
    s.input.write('\0');
    await s.heard(/\x01scp: \/big: No space left on device[^\n]*\n$/);
    s.input.end();
    await s.done;
    const kept = statSync(join(root, 'big')).size;
    expect(other).toBe(true);
    expect(kept).toBeGreaterThanOrEqual(SPACE_STEP_MIN);
    expect(kept).toBeLessThan(500 * KiB);
    expect(freeBytes()).toBeGreaterThanOrEqual(FLOOR);
    expect(s.events).toEqual([
      { op: 'write', path: '/big', bytes: kept, created: true },
      { op: 'write', path: '/big', refused: 'min-free' },
    ]);
  });
});

describe('idle-timeout', () => {
  it('an SFTP session with nothing from the client ends on its own, as idle-timeout; one that keeps asking does not', async () => {
    const s = sftpSession(policyWith({ idleTimeoutMs: 400 }));
    await s.init();
    const started = performance.now();
    // A request every 50 ms for 600 ms: longer than the timeout, never quiet for 400 ms.
    for (let i = 0; i < 12; i++) {
      await new Promise((r) => setTimeout(r, 50));
      expect((await s.status(FXP.MKDIR, (w) => w.string(`/d${i}`).u32(0))).code).toBe(FX.OK);
    }
    expect(performance.now() - started).toBeGreaterThan(600);
    const summary = await s.done;
    expect(summary).toMatchObject({ ended: 'idle-timeout', detail: 'nothing from the client for 0.4 s', counts: { mkdir: 12 } });
    expect(performance.now() - started).toBeLessThan(600 + 5_000);
    expect(s.output.writableEnded).toBe(true);
  });

  it('a legacy scp upload that stops sending ends as idle-timeout; what it wrote is kept and recorded', async () => {
    const s = scpSink(policyWith({ minFreeBytes: 0, idleTimeoutMs: 100 }), {});
    await s.heard(/^\0$/);
    s.input.write('C0644 1000 stalled\n');
    await s.heard(/^\0\0$/);
    s.input.write(Buffer.alloc(10, 1));
    const summary = await s.done;
    expect(summary).toMatchObject({ ended: 'idle-timeout', detail: 'nothing from the client for 0.1 s' });
    expect(s.events).toEqual([{ op: 'write', path: '/stalled', bytes: 10, created: true }]);
  });

  it('idle-timeout 0: a quiet session stays until its input ends', async () => {
    const s = sftpSession(policyWith({ idleTimeoutMs: 0 }));
    await s.init();
    let ended = false;
    void s.done.then(() => (ended = true));
    await new Promise((r) => setTimeout(r, 200));
    expect(ended).toBe(false);
    s.input.end();
    expect((await s.done).ended).toBe('eof');
  });
});
