/**
 * History is read-only to a key (docs/policy.md, "sftp"; the table in
 * src/act/files/policy.ts): the server's decisions packet by packet, SFTP and legacy scp. What was
 * in the root before the session keeps its contents, attributes and names, unless the rule allows
 * replacing or deleting, and then only by a new inode: a file hard-linked from another snapshot
 * keeps its contents and mode under the other name. Each attack has its control in the clients'
 * tests beside OpenSSH's sftp-server (test/act/files/sftp-clients.test.ts, "history") and end to
 * end (test/e2e/sftp-history.e2e.test.ts).
 */
import {
  chmodSync,
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FileEvent } from '../../../src/act/files/events.js';
import type { FilePolicy } from '../../../src/act/files/policy.js';
import { serveScp } from '../../../src/act/files/scp.js';
import { serveSftp } from '../../../src/act/files/sftp.js';
import { addSpan } from '../../../src/act/files/sftp-lazy-copy.js';
import { FX, FXP, PacketWriter } from '../../../src/act/files/sftp-wire.js';
import { packetClient } from './wire-client.js';

let dir: string;
let root: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sftp-history-'));
  root = join(dir, 'root');
  // Two snapshots sharing one inode, as rsync --link-dest leaves them; and a stored invoice.
  mkdirSync(join(root, 'snap1'), { recursive: true });
  mkdirSync(join(root, 'snap2'));
  mkdirSync(join(root, 'old'));
  writeFileSync(join(root, 'snap1', 'f'), 'yesterday');
  chmodSync(join(root, 'snap1', 'f'), 0o640);
  linkSync(join(root, 'snap1', 'f'), join(root, 'snap2', 'f'));
  writeFileSync(join(root, 'invoice.txt'), 'invoice');
  chmodSync(join(root, 'invoice.txt'), 0o644);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const policyOf = (over: Partial<FilePolicy>): FilePolicy => ({
  root,
  access: 'read-write',
  delete: true,
  overwrite: true,
  umask: 0o022,
  minFreeBytes: 0,
  idleTimeoutMs: 0,
  ...over,
});
const [READ, WRITE, APPEND, CREAT, TRUNC] = [1, 2, 4, 8, 0x10];
const ATTR_SIZE = 1;
const ATTR_PERMISSIONS = 4;
const ATTR_TIMES = 8;

function session(over: Partial<FilePolicy>) {
  const input = new PassThrough();
  const output = new PassThrough();
  const events: FileEvent[] = [];
  const done = serveSftp(policyOf(over), input, output, (e) => events.push(e));
  const { next, request, status } = packetClient(input, output);
  const init = async () => {
    input.write(new PacketWriter(FXP.INIT, null).u32(3).done());
    expect((await next()).type).toBe(FXP.VERSION);
  };
  const open = async (path: string, flags: number) => {
    const { type, reader } = await request(FXP.OPEN, (w) => w.string(path).u32(flags).u32(0));
    reader.u32();
    return type === FXP.STATUS ? reader.u32() : reader.bytes();
  };
  const put = async (path: string, data: string, flags = WRITE | CREAT | TRUNC) => {
    const handle = await open(path, flags);
    if (!Buffer.isBuffer(handle)) return handle;
    const wrote = await status(FXP.WRITE, (w) => w.string(handle).u64(0).string(data));
    const closed = await status(FXP.CLOSE, (w) => w.string(handle));
    return wrote === FX.OK ? closed : wrote;
  };
  const chmod = (path: string, mode: number) => status(FXP.SETSTAT, (w) => w.string(path).u32(ATTR_PERMISSIONS).u32(mode));
  const truncate = (path: string) => status(FXP.SETSTAT, (w) => w.string(path).u32(ATTR_SIZE).u64(0));
  const touch = (path: string) => status(FXP.SETSTAT, (w) => w.string(path).u32(ATTR_TIMES).u32(1).u32(1));
  const rename = (from: string, to: string) => status(FXP.RENAME, (w) => w.string(from).string(to));
  const posixRename = (from: string, to: string) =>
    status(FXP.EXTENDED, (w) => w.string('posix-rename@openssh.com').string(from).string(to));
  const remove = (path: string) => status(FXP.REMOVE, (w) => w.string(path));
  const refusals = () => events.filter((e) => e.refused !== undefined).map((e) => [e.op, e.path, e.refused]);
  return { input, events, done, init, open, put, request, status, chmod, truncate, touch, rename, posixRename, remove, refusals };
}

const read = (path: string) => readFileSync(join(root, path), 'utf8');
const mode = (path: string) => statSync(join(root, path)).mode & 0o7777;
const DENIED = FX.PERMISSION_DENIED;

describe('delete: false, overwrite: false: stored names, contents and attributes stay as they were', () => {
  it('rename away then put under the old name is refused at the rename; chmod 000, times and truncate of a stored file are refused', async () => {
    const s = session({ delete: false, overwrite: false });
    await s.init();
    expect(await s.rename('/invoice.txt', '/old/invoice.txt')).toBe(DENIED);
    expect(await s.posixRename('/invoice.txt', '/old/invoice.txt')).toBe(DENIED);
    expect(await s.put('/invoice.txt', 'fake')).toBe(DENIED);
    expect(await s.chmod('/invoice.txt', 0)).toBe(DENIED);
    expect(await s.touch('/invoice.txt')).toBe(DENIED);
    expect(await s.truncate('/invoice.txt')).toBe(DENIED);
    // A stored directory is history too.
    expect(await s.rename('/snap1', '/gone')).toBe(DENIED);
    expect(await s.chmod('/snap1', 0)).toBe(DENIED);
    // Through a handle opened for reading.
    const handle = (await s.open('/invoice.txt', READ)) as Buffer;
    expect(await s.status(FXP.FSETSTAT, (w) => w.string(handle).u32(ATTR_PERMISSIONS).u32(0))).toBe(DENIED);
    s.input.end();
    await s.done;
    expect(read('invoice.txt')).toBe('invoice');
    expect(mode('invoice.txt')).toBe(0o644);
    expect(mode('snap1')).not.toBe(0);
    expect(existsSync(join(root, 'old', 'invoice.txt'))).toBe(false);
    expect(s.refusals()).toEqual([
      ['rename', '/invoice.txt', 'no-delete'],
      ['rename', '/invoice.txt', 'no-delete'],
      ['write', '/invoice.txt', 'no-overwrite'],
      ['setstat', '/invoice.txt', 'no-overwrite'],
      ['setstat', '/invoice.txt', 'no-overwrite'],
      ['setstat', '/invoice.txt', 'no-overwrite'],
      ['rename', '/snap1', 'no-delete'],
      ['setstat', '/snap1', 'no-overwrite'],
      ['setstat', '/invoice.txt', 'no-overwrite'],
    ]);
  });

  it('the session undoes its own work: what it created it may rewrite, chmod, rename, replace and remove (restic’s lock files)', async () => {
    const s = session({ delete: false, overwrite: false });
    await s.init();
    expect(await s.status(FXP.MKDIR, (w) => w.string('/locks').u32(0))).toBe(FX.OK);
    expect(await s.put('/locks/a', 'lock')).toBe(FX.OK);
    expect(await s.put('/locks/a', 'lock, refreshed')).toBe(FX.OK);
    expect(await s.chmod('/locks/a', 0o600)).toBe(FX.OK);
    expect(await s.put('/locks/b', 'b')).toBe(FX.OK);
    expect(await s.posixRename('/locks/b', '/locks/a')).toBe(FX.OK);
    expect(await s.rename('/locks/a', '/locks/c')).toBe(FX.OK);
    expect(await s.remove('/locks/c')).toBe(FX.OK);
    expect(await s.status(FXP.RMDIR, (w) => w.string('/locks'))).toBe(FX.OK);
    s.input.end();
    await s.done;
    expect(existsSync(join(root, 'locks'))).toBe(false);
    expect(s.refusals()).toEqual([]);
  });

  it('a name the session removed or renamed is free, but a stored inode swapped under a name it created is still history', async () => {
    const s = session({ delete: false, overwrite: false });
    await s.init();
    expect(await s.put('/mine', 'mine')).toBe(FX.OK);
    // Someone else (not this session) puts a stored file in its place: it is not the session's to cut.
    rmSync(join(root, 'mine'));
    linkSync(join(root, 'invoice.txt'), join(root, 'mine'));
    expect(await s.truncate('/mine')).toBe(DENIED);
    expect(await s.put('/mine', 'x')).toBe(DENIED);
    expect(await s.remove('/mine')).toBe(DENIED);
    s.input.end();
    await s.done;
    expect(read('invoice.txt')).toBe('invoice');
  });
});

describe('overwrite: true: a stored file is replaced by a new inode, never changed', () => {
  it('put over a file hard-linked from another snapshot: the name gets the new contents, the other keeps its contents and mode', async () => {
    const s = session({ delete: false });
    await s.init();
    const before = statSync(join(root, 'snap2', 'f'));
    expect(await s.put('/snap2/f', 'today')).toBe(FX.OK);
    s.input.end();
    await s.done;
    expect(read('snap2/f')).toBe('today');
    expect(statSync(join(root, 'snap2', 'f')).ino).not.toBe(before.ino);
    expect(read('snap1/f')).toBe('yesterday');
    expect(mode('snap1/f')).toBe(0o640);
    expect(statSync(join(root, 'snap1', 'f')).nlink).toBe(1);
    // Nothing of the replacement is left beside it.
    expect(readdirSync(join(root, 'snap2'))).toEqual(['f']);
    expect(s.events).toEqual([{ op: 'write', path: '/snap2/f', bytes: 5, replaced: true }]);
  });

  it('without delete, a replaced name stays history’s: the session’s new file under it cannot then be removed or renamed away', async () => {
    const s = session({ delete: false });
    await s.init();
    expect(await s.put('/invoice.txt', 'new')).toBe(FX.OK);
    expect(await s.remove('/invoice.txt')).toBe(DENIED);
    expect(await s.rename('/invoice.txt', '/old/x')).toBe(DENIED);
    // Its contents and attributes are the session's own.
    expect(await s.chmod('/invoice.txt', 0o600)).toBe(FX.OK);
    expect(await s.put('/invoice.txt', 'newer')).toBe(FX.OK);
    s.input.end();
    await s.done;
    expect(read('invoice.txt')).toBe('newer');
    expect(s.refusals()).toEqual([
      ['remove', '/invoice.txt', 'no-delete'],
      ['rename', '/invoice.txt', 'no-delete'],
    ]);
  });

  it('until the handle is closed the name keeps what was stored; a session that ends without CLOSE leaves it so, and no temporary file', async () => {
    const s = session({});
    await s.init();
    const handle = (await s.open('/invoice.txt', WRITE | CREAT | TRUNC)) as Buffer;
    expect(await s.status(FXP.WRITE, (w) => w.string(handle).u64(0).string('fake'))).toBe(FX.OK);
    expect(read('invoice.txt')).toBe('invoice');
    s.input.end();
    await s.done;
    expect(read('invoice.txt')).toBe('invoice');
    expect(readdirSync(root).sort()).toEqual(['invoice.txt', 'old', 'snap1', 'snap2']);
  });

  it('a write without TRUNC (OpenSSH’s scp over SFTP, reput) works on a copy: the name gets the change, the other names keep the stored inode', async () => {
    linkSync(join(root, 'snap1', 'f'), join(root, 'old', 'f'));
    const s = session({});
    await s.init();
    // reput: APPEND.
    expect(await s.put('/snap2/f', '+more', WRITE | CREAT | APPEND)).toBe(FX.OK);
    expect(read('snap2/f')).toBe('yesterday+more');
    expect(read('snap1/f')).toBe('yesterday');
    // OpenSSH's scp (SFTP): WRITE|CREAT without TRUNC, the data, then FSETSTAT size at the end.
    const handle = (await s.open('/snap1/f', WRITE | CREAT)) as Buffer;
    expect(await s.status(FXP.WRITE, (w) => w.string(handle).u64(0).string('today'))).toBe(FX.OK);
    expect(read('snap1/f')).toBe('yesterday');
    expect(await s.status(FXP.FSETSTAT, (w) => w.string(handle).u32(ATTR_SIZE).u64(5))).toBe(FX.OK);
    expect(await s.status(FXP.CLOSE, (w) => w.string(handle))).toBe(FX.OK);
    expect(read('snap1/f')).toBe('today');
    expect(read('old/f')).toBe('yesterday');
    expect(mode('snap1/f')).toBe(0o640);
    expect(mode('old/f')).toBe(0o640);
    // A truncate of a stored file by path is refused: it is not a replacement.
    expect(await s.truncate('/old/f')).toBe(DENIED);
    // A read-write open that only reads changes nothing and copies nothing.
    const reader = (await s.open('/old/f', READ | WRITE)) as Buffer;
    expect((await s.request(FXP.READ, (w) => w.string(reader).u64(0).u32(100))).type).toBe(FXP.DATA);
    expect(await s.status(FXP.CLOSE, (w) => w.string(reader))).toBe(FX.OK);
    // A copy written but never closed is dropped with the session.
    const left = (await s.open('/old/f', WRITE)) as Buffer;
    expect(await s.status(FXP.WRITE, (w) => w.string(left).u64(0).string('X'))).toBe(FX.OK);
    s.input.end();
    await s.done;
    expect(read('old/f')).toBe('yesterday');
    expect(readdirSync(join(root, 'old')).sort()).toEqual(['f']);
    expect(readdirSync(join(root, 'snap1')).sort()).toEqual(['f']);
    expect(s.refusals()).toEqual([['setstat', '/old/f', 'history']]);
    expect(s.events.filter((e) => e.op === 'write')).toEqual([
      { op: 'write', path: '/snap2/f', bytes: 5, replaced: true },
      { op: 'write', path: '/snap1/f', bytes: 5, replaced: true },
    ]);
    expect(s.events.filter((e) => e.op === 'read')).toEqual([{ op: 'read', path: '/old/f', bytes: 9 }]);
  });

  it('a write-only copy takes from the stored file only what the client did not write, when it closes', async () => {
    writeFileSync(join(root, 'snap1', 'g'), '0123456789', { mode: 0o640 });
    linkSync(join(root, 'snap1', 'g'), join(root, 'old', 'g'));
    const s = session({});
    await s.init();
    // Two scattered writes, out of order: the gaps and the tail come from the stored file.
    const handle = (await s.open('/snap1/g', WRITE)) as Buffer;
    expect(await s.status(FXP.WRITE, (w) => w.string(handle).u64(6).string('xx'))).toBe(FX.OK);
    expect(await s.status(FXP.WRITE, (w) => w.string(handle).u64(1).string('ab'))).toBe(FX.OK);
    expect(read('snap1/g')).toBe('0123456789'); // nothing in place before CLOSE
    expect(await s.status(FXP.CLOSE, (w) => w.string(handle))).toBe(FX.OK);
    expect(read('snap1/g')).toBe('0ab345xx89');
    expect(read('old/g')).toBe('0123456789');
    // Written past a truncate: the stored bytes beyond the new size never come back.
    const cut = (await s.open('/snap1/g', WRITE)) as Buffer;
    expect(await s.status(FXP.FSETSTAT, (w) => w.string(cut).u32(ATTR_SIZE).u64(3))).toBe(FX.OK);
    expect(await s.status(FXP.WRITE, (w) => w.string(cut).u64(5).string('Z'))).toBe(FX.OK);
    expect(await s.status(FXP.CLOSE, (w) => w.string(cut))).toBe(FX.OK);
    expect(readFileSync(join(root, 'snap1', 'g'))).toEqual(Buffer.from('0ab\0\0Z'));
    expect(read('old/g')).toBe('0123456789');
    s.input.end();
    await s.done;
  });

  it('with delete too: chmod and times of a stored file other names share are refused (shared-inode), of one with a single name allowed', async () => {
    const s = session({});
    await s.init();
    expect(await s.chmod('/snap2/f', 0)).toBe(DENIED);
    expect(await s.touch('/snap1/f')).toBe(DENIED);
    expect(await s.chmod('/invoice.txt', 0o600)).toBe(FX.OK);
    s.input.end();
    await s.done;
    expect(mode('snap1/f')).toBe(0o640);
    expect(mode('invoice.txt')).toBe(0o600);
    expect(s.refusals()).toEqual([
      ['setstat', '/snap2/f', 'shared-inode'],
      ['setstat', '/snap1/f', 'shared-inode'],
    ]);
  });

  it('without delete: chmod of a stored file is refused (history), a rename away too (no-delete)', async () => {
    const s = session({ delete: false });
    await s.init();
    expect(await s.chmod('/invoice.txt', 0)).toBe(DENIED);
    expect(await s.rename('/invoice.txt', '/old/invoice.txt')).toBe(DENIED);
    s.input.end();
    await s.done;
    expect(s.refusals()).toEqual([
      ['setstat', '/invoice.txt', 'history'],
      ['rename', '/invoice.txt', 'no-delete'],
    ]);
  });
});

describe('legacy scp (scp -t)', () => {
  const push = async (over: Partial<FilePolicy>, path: string, data: string) => {
    const input = new PassThrough();
    const output = new PassThrough();
    output.resume();
    const events: FileEvent[] = [];
    const done = serveScp(
      policyOf(over),
      { direction: 'to-server', recursive: false, preserveTimes: false, targetMustBeDir: false, path },
      input,
      output,
      (e) => events.push(e),
    );
    input.end(`C0666 ${data.length} x\n${data}\0`);
    await done;
    return events;
  };

  it('overwrite: true replaces a hard-linked stored file by a new inode: the other name keeps its contents and mode', async () => {
    const events = await push({ delete: false }, '/snap2/f', 'today');
    expect(read('snap2/f')).toBe('today');
    expect(read('snap1/f')).toBe('yesterday');
    expect(mode('snap1/f')).toBe(0o640);
    expect(readdirSync(join(root, 'snap2'))).toEqual(['f']);
    expect(events).toEqual([{ op: 'write', path: '/snap2/f', bytes: 5, replaced: true }]);
  });

  it('-r -p into a stored directory does not set its times under delete: false (recorded); with delete and overwrite it does', async () => {
    const enter = async (over: Partial<FilePolicy>) => {
      const input = new PassThrough();
      const output = new PassThrough();
      output.resume();
      const events: FileEvent[] = [];
      const done = serveScp(
        policyOf(over),
        { direction: 'to-server', recursive: true, preserveTimes: true, targetMustBeDir: false, path: '/' },
        input,
        output,
        (e) => events.push(e),
      );
      input.end('T1 0 1 0\nD0755 0 snap1\nE\n');
      await done;
      return events;
    };
    const before = statSync(join(root, 'snap1')).mtimeMs;
    expect(await enter({ delete: false })).toEqual([{ op: 'setstat', path: '/snap1', refused: 'history' }]);
    expect(statSync(join(root, 'snap1')).mtimeMs).toBe(before);
    expect(await enter({})).toEqual([{ op: 'setstat', path: '/snap1' }]);
    expect(statSync(join(root, 'snap1')).mtimeMs).toBe(1000);
  });

  it('overwrite: false refuses it; a file cut short by the client leaves the stored one as it was (overwrite: true)', async () => {
    expect(await push({ overwrite: false }, '/invoice.txt', 'fake')).toEqual([
      { op: 'write', path: '/invoice.txt', refused: 'no-overwrite' },
    ]);
    const input = new PassThrough();
    const output = new PassThrough();
    output.resume();
    const done = serveScp(
      policyOf({}),
      { direction: 'to-server', recursive: false, preserveTimes: false, targetMustBeDir: false, path: '/invoice.txt' },
      input,
      output,
      () => {},
    );
    input.end('C0644 100 x\nonly part');
    await done;
    expect(read('invoice.txt')).toBe('invoice');
    expect(readdirSync(root).sort()).toEqual(['invoice.txt', 'old', 'snap1', 'snap2']);
  });
});

describe('addSpan: the ranges a lazy copy has been written', () => {
  it.each([
    [[], [0, 5], [[0, 5]]],
    [[[0, 5]], [5, 9], [[0, 9]]], // in order, touching: one range
    [
      [[0, 5]],
      [7, 9],
      [
        [0, 5],
        [7, 9],
      ],
    ],
    [
      [[7, 9]],
      [0, 5],
      [
        [0, 5],
        [7, 9],
      ],
    ], // out of order
    [
      [
        [0, 2],
        [4, 6],
        [8, 9],
      ],
      [1, 8],
      [[0, 9]],
    ], // bridging several
    [[[0, 9]], [2, 3], [[0, 9]]], // inside one
  ] as [[number, number][], [number, number], [number, number][]][])('%j + %j = %j', (spans, [start, end], merged) => {
    const copy = spans.map((span) => [...span] as [number, number]);
    expect(addSpan(copy, start, end)).toBe(merged.length);
    expect(copy).toEqual(merged);
  });
});
