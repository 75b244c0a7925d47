/**
 * The SFTP server in process, packet by packet: what restic's and rclone's backends send that
 * OpenSSH's sftp does not (posix-rename, exclusive create, statvfs, readlink), and what a hostile
 * client sends (oversized or truncated packets, no INIT, too many handles, a flood of refusals).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FileEvent } from '../../../src/act/files/events.js';
import type { FilePolicy } from '../../../src/act/files/policy.js';
import { serveSftp } from '../../../src/act/files/sftp.js';
import { MAX_HANDLES } from '../../../src/act/files/sftp-handles.js';
import { FX, FXP, MAX_PACKET, PacketWriter } from '../../../src/act/files/sftp-wire.js';
import { packetClient } from './wire-client.js';

let dir: string;
let root: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sftp-wire-'));
  root = join(dir, 'root');
  mkdirSync(join(root, 'data'), { recursive: true });
  writeFileSync(join(root, 'config'), 'config');
  writeFileSync(join(dir, 'secret'), 'secret');
  symlinkSync('data', join(root, 'link-in'));
  symlinkSync(join(dir, 'secret'), join(root, 'link-out'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A session with a packet-level client: send() a request, then take the answers in order. */
function session(over: Partial<FilePolicy> = {}) {
  const input = new PassThrough();
  const output = new PassThrough();
  const events: FileEvent[] = [];
  const done = serveSftp(
    { root, access: 'read-write', delete: true, overwrite: true, umask: 0o022, minFreeBytes: 0, idleTimeoutMs: 0, ...over },
    input,
    output,
    (e) => events.push(e),
  );
  const { next, request, status } = packetClient(input, output);
  const init = async () => {
    input.write(new PacketWriter(FXP.INIT, null).u32(3).done());
    const { type, reader } = await next();
    expect(type).toBe(FXP.VERSION);
    expect(reader.u32()).toBe(3);
    const extensions: string[] = [];
    try {
      for (;;) extensions.push(`${reader.text()}=${reader.text()}`);
    } catch {}
    return extensions;
  };
  const open = async (path: string, flags: number) => {
    const { type, reader } = await request(FXP.OPEN, (w) => w.string(path).u32(flags).u32(0));
    reader.u32();
    return type === FXP.STATUS ? reader.u32() : reader.bytes();
  };
  return { input, output, events, done, request, status, init, open, next, end: () => input.end() };
}

const [READ, WRITE, CREAT, TRUNC, EXCL] = [1, 2, 8, 0x10, 0x20];

it('advertises only what it implements', async () => {
  const s = session();
  expect(await s.init()).toEqual([
    'posix-rename@openssh.com=1',
    'statvfs@openssh.com=2',
    'fstatvfs@openssh.com=2',
    'limits@openssh.com=1',
    'expand-path@openssh.com=1',
    'fsync@openssh.com=1',
  ]);
  s.end();
  expect((await s.done).ended).toBe('eof');
});

describe('found in review', () => {
  it('a read-write handle that only reads is recorded as a read, not a write (exfiltration must not look like an upload)', async () => {
    const s = session();
    await s.init();
    const handle = (await s.open('/config', READ | WRITE)) as Buffer;
    expect((await s.request(FXP.READ, (w) => w.string(handle).u64(0).u32(100))).type).toBe(FXP.DATA);
    expect(await s.status(FXP.CLOSE, (w) => w.string(handle))).toBe(FX.OK);
    s.end();
    await s.done;
    expect(s.events).toEqual([{ op: 'read', path: '/config', bytes: 6 }]);
  });

  it('an empty file read to its end is a read of 0 bytes', async () => {
    writeFileSync(join(root, 'empty'), '');
    const s = session();
    await s.init();
    const handle = (await s.open('/empty', READ)) as Buffer;
    expect(await s.status(FXP.READ, (w) => w.string(handle).u64(0).u32(100))).toBe(FX.EOF);
    expect(await s.status(FXP.CLOSE, (w) => w.string(handle))).toBe(FX.OK);
    s.end();
    await s.done;
    expect(s.events).toEqual([{ op: 'read', path: '/empty', bytes: 0 }]);
  });

  it('overwrite: false — a file created here cannot lend its name to a stored one: renames that swap directories do not make a stored file truncatable', async () => {
    mkdirSync(join(root, 'backups'));
    writeFileSync(join(root, 'backups', '2024.tar'), 'precious');
    const s = session({ access: 'write', delete: false, overwrite: false });
    await s.init();
    const size0 = (path: string) => s.status(FXP.SETSTAT, (w) => w.string(path).u32(1).u64(0));
    expect(await size0('/backups/2024.tar')).toBe(FX.PERMISSION_DENIED);
    expect(await s.status(FXP.MKDIR, (w) => w.string('/t').u32(0))).toBe(FX.OK);
    const handle = (await s.open('/t/2024.tar', WRITE | CREAT | EXCL)) as Buffer;
    expect(await s.status(FXP.CLOSE, (w) => w.string(handle))).toBe(FX.OK);
    expect(await s.status(FXP.RENAME, (w) => w.string('/t').string('/t2'))).toBe(FX.OK);
    // A stored directory is history too: it cannot be renamed into the name the session's went by.
    expect(await s.status(FXP.RENAME, (w) => w.string('/backups').string('/t'))).toBe(FX.PERMISSION_DENIED);
    expect(await size0('/backups/2024.tar')).toBe(FX.PERMISSION_DENIED);
    expect(readFileSync(join(root, 'backups', '2024.tar'), 'utf8')).toBe('precious');
    // The file it did create stays its own to truncate, under whatever name.
    expect(await size0('/t2/2024.tar')).toBe(FX.OK);
    s.end();
    await s.done;
  });
});

describe("restic's backend: exclusive create, write, fsync, close, rename into place", () => {
  it('works under delete: false and overwrite: false, and a second save of the same name is refused', async () => {
    const s = session({ delete: false, overwrite: false });
    await s.init();
    const handle = await s.open('/data/tmp-123', WRITE | CREAT | EXCL);
    expect(Buffer.isBuffer(handle)).toBe(true);
    expect(
      await s.status(FXP.WRITE, (w) =>
        w
          .string(handle as Buffer)
          .u64(0)
          .string('blob'),
      ),
    ).toBe(FX.OK);
    expect(await s.status(FXP.EXTENDED, (w) => w.string('fsync@openssh.com').string(handle as Buffer))).toBe(FX.OK);
    expect(await s.status(FXP.CLOSE, (w) => w.string(handle as Buffer))).toBe(FX.OK);
    expect(await s.status(FXP.EXTENDED, (w) => w.string('posix-rename@openssh.com').string('/data/tmp-123').string('/data/abc'))).toBe(
      FX.OK,
    );
    expect(readFileSync(join(root, 'data', 'abc'), 'utf8')).toBe('blob');
    writeFileSync(join(root, 'data', 'tmp-456'), 'other');
    writeFileSync(join(root, 'data', 'stored'), 'stored');
    expect(await s.status(FXP.EXTENDED, (w) => w.string('posix-rename@openssh.com').string('/data/tmp-456').string('/data/abc'))).toBe(
      FX.PERMISSION_DENIED,
    );
    expect(await s.open('/data/stored', WRITE | CREAT | TRUNC)).toBe(FX.PERMISSION_DENIED);
    expect(readFileSync(join(root, 'data', 'abc'), 'utf8')).toBe('blob');
    expect(readFileSync(join(root, 'data', 'stored'), 'utf8')).toBe('stored');
    s.end();
    await s.done;
    expect(s.events).toEqual([
      { op: 'write', path: '/data/tmp-123', bytes: 4, created: true },
      { op: 'rename', path: '/data/tmp-123', to: '/data/abc' },
      { op: 'rename', path: '/data/tmp-456', to: '/data/abc', refused: 'no-delete' },
      { op: 'write', path: '/data/stored', refused: 'no-overwrite' },
    ]);
  });

  it('v3 RENAME never replaces (FAILURE, as OpenSSH); posix-rename does under read-write', async () => {
    const s = session();
    await s.init();
    writeFileSync(join(root, 'a'), 'a');
    expect(await s.status(FXP.RENAME, (w) => w.string('/a').string('/config'))).toBe(FX.FAILURE);
    expect(readFileSync(join(root, 'config'), 'utf8')).toBe('config');
    expect(await s.status(FXP.EXTENDED, (w) => w.string('posix-rename@openssh.com').string('/a').string('/config'))).toBe(FX.OK);
    expect(readFileSync(join(root, 'config'), 'utf8')).toBe('a');
    s.end();
    await s.done;
  });
});

describe("rclone's calls", () => {
  it('statvfs, setstat of times, expand-path, limits', async () => {
    const s = session();
    await s.init();
    const statvfs = await s.request(FXP.EXTENDED, (w) => w.string('statvfs@openssh.com').string('/'));
    expect(statvfs.type).toBe(FXP.EXTENDED_REPLY);
    expect(await s.status(FXP.SETSTAT, (w) => w.string('/config').u32(8).u32(1_000_000).u32(1_000_000))).toBe(FX.OK);
    const expanded = await s.request(FXP.EXTENDED, (w) => w.string('expand-path@openssh.com').string('~/data/../link-in'));
    expanded.reader.u32();
    expanded.reader.u32();
    expect(expanded.reader.text()).toBe('/data');
    const limits = await s.request(FXP.EXTENDED, (w) => w.string('limits@openssh.com'));
    limits.reader.u32();
    expect(limits.reader.u64()).toBe(MAX_PACKET);
    s.end();
    await s.done;
  });
});

describe('links', () => {
  it('READLINK shows a target inside the root in the client view, and nothing for one outside', async () => {
    const s = session();
    await s.init();
    const inside = await s.request(FXP.READLINK, (w) => w.string('/link-in'));
    expect(inside.type).toBe(FXP.NAME);
    inside.reader.u32();
    inside.reader.u32();
    expect(inside.reader.text()).toBe('/data');
    expect(await s.status(FXP.READLINK, (w) => w.string('/link-out'))).toBe(FX.NO_SUCH_FILE);
    expect(await s.status(FXP.EXTENDED, (w) => w.string('hardlink@openssh.com').string('/config').string('/h'))).toBe(FX.PERMISSION_DENIED);
    expect(await s.status(FXP.OPEN, (w) => w.string('/link-out').u32(READ).u32(0))).toBe(FX.NO_SUCH_FILE);
    s.end();
    await s.done;
  });
});

describe('hostile clients', () => {
  it('a packet longer than the cap ends the session before anything is allocated for it', async () => {
    const s = session();
    await s.init();
    const header = Buffer.alloc(5);
    header.writeUInt32BE(0xffffffff, 0);
    s.input.write(header);
    const summary = await s.done;
    expect(summary.ended).toBe('protocol-error');
  });

  it('a string that runs past its packet ends the session', async () => {
    const s = session();
    await s.init();
    const bad = new PacketWriter(FXP.OPEN, 1).u32(1000).done();
    s.input.write(bad);
    expect((await s.done).ended).toBe('protocol-error');
  });

  it('a request before INIT ends the session', async () => {
    const s = session();
    s.input.write(new PacketWriter(FXP.STAT, 1).string('/').done());
    expect((await s.done).ended).toBe('protocol-error');
  });

  it('handles are capped', async () => {
    const s = session();
    await s.init();
    for (let i = 0; i < MAX_HANDLES; i++) expect(Buffer.isBuffer(await s.open('/config', READ))).toBe(true);
    expect(await s.open('/config', READ)).toBe(FX.FAILURE);
    s.end();
    const summary = await s.done;
    // Handles left open are reported at the end; one that read nothing is no read (a flood of
    // empty opens writes no records).
    expect(summary.counts.read).toBe(0);
    expect(s.events).toEqual([{ op: 'read', path: '/config', refused: 'too-many-handles' }]);
  });

  it('a handle left open after reading is reported at the end, with its bytes', async () => {
    const s = session();
    await s.init();
    const handle = (await s.open('/config', READ)) as Buffer;
    expect((await s.request(FXP.READ, (w) => w.string(handle).u64(0).u32(100))).type).toBe(FXP.DATA);
    s.end();
    await s.done;
    expect(s.events).toEqual([{ op: 'read', path: '/config', bytes: 6 }]);
  });

  it('refusals past 100 are counted, not reported', async () => {
    const s = session({ access: 'read' });
    await s.init();
    for (let i = 0; i < 150; i++) expect(await s.status(FXP.MKDIR, (w) => w.string(`/d${i}`).u32(0))).toBe(FX.PERMISSION_DENIED);
    s.end();
    const summary = await s.done;
    expect(s.events.length).toBe(100);
    expect([summary.refusals, summary.refusalsUnreported]).toEqual([150, 50]);
    expect(existsSync(join(root, 'd0'))).toBe(false);
  });

  it('unknown requests and extensions are OP_UNSUPPORTED', async () => {
    const s = session();
    await s.init();
    expect(await s.status(99, () => {})).toBe(FX.OP_UNSUPPORTED);
    expect(await s.status(FXP.EXTENDED, (w) => w.string('copy-data'))).toBe(FX.OP_UNSUPPORTED);
    s.end();
    await s.done;
  });
});
