/**
 * Reading rsync's protected arguments off the connection (host/protected-args.ts): exactly up to
 * the empty argument that ends them, not a byte further (rsync, started next on the same
 * descriptor, must find the protocol's first byte), and what arrived of a cut list, for the record.
 */
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readProtectedArgs } from '../../src/host/protected-args.js';

const dir = mkdtempSync(join(tmpdir(), 'ssh-dispatch-protected-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fdOf(bytes: Buffer | string): number {
  const path = join(dir, `in-${Math.random().toString(36).slice(2)}`);
  writeFileSync(path, bytes);
  return openSync(path, 'r');
}

describe('readProtectedArgs', () => {
  it('reads up to the empty argument and leaves the protocol that follows where it was', async () => {
    const fd = fdOf(
      Buffer.concat([Buffer.from('rsync\0--numeric-ids\0.\0My Documents/\0\0'), Buffer.from([0x1f, 0, 0, 0]), Buffer.from('PROTOCOL')]),
    );
    try {
      expect(await readProtectedArgs(fd)).toEqual({ ok: true, args: ['rsync', '--numeric-ids', '.', 'My Documents/'] });
      const next = Buffer.alloc(12);
      expect(readSync(fd, next, 0, 12, null)).toBe(12);
      expect(next.toString('latin1')).toBe('\x1f\0\0\0PROTOCOL');
    } finally {
      closeSync(fd);
    }
  });

  it('a list cut by the end of the connection: refused, with the whole arguments that came, for the record (found in review: the record had none)', async () => {
    const fd = fdOf('rsync\0--delete\0.\0part');
    try {
      expect(await readProtectedArgs(fd)).toEqual({
        ok: false,
        detail: 'the connection ended inside the protected arguments',
        partial: ['rsync', '--delete', '.'],
      });
    } finally {
      closeSync(fd);
    }
  });

  it('more than 64 KiB: refused', async () => {
    const fd = fdOf(Buffer.alloc(70 * 1024, 0x61));
    try {
      expect(await readProtectedArgs(fd)).toMatchObject({ ok: false, detail: 'the protected arguments are longer than 64 KiB' });
    } finally {
      closeSync(fd);
    }
  });
});
