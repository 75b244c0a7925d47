/**
 * The serve bundle's code cache file (src/code-cache.ts) holds V8's data twice: V8 checks no
 * checksum of a code cache in release builds, and a damaged one was a fatal error of every later
 * start. These are the pure checks; test/e2e/launcher.e2e.test.ts damages a real one.
 */
import { describe, expect, it } from 'vitest';
import { intact } from '../src/code-cache.js';

/** Bytes with no period (a real cache's halves differ too). */
let seed = 1;
const data = Buffer.from(Array.from({ length: 4096 }, () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) >> 23));

describe('intact: V8’s data from a cache file, or null when it is damaged', () => {
  it('two equal copies give the first (the control)', () => expect(intact(Buffer.concat([data, data]))?.equals(data)).toBe(true));

  it.each([
    ['one byte changed in the first copy', (file: Buffer) => void (file[100]! ^= 1)],
    ['one byte changed in the second copy', (file: Buffer) => void (file[file.length - 1]! ^= 0x80)],
    ['the second copy zeroed (a write cut short)', (file: Buffer) => void file.fill(0, file.length / 2)],
  ])('%s: null', (_name, damage) => {
    const file = Buffer.concat([data, data]);
    damage(file);
    expect(intact(file)).toBeNull();
  });

  it.each([
    ['empty', Buffer.alloc(0)],
    ['of odd length', Buffer.concat([data, data, Buffer.from([0])])],
    ['one copy only (a cache of the format before)', data],
  ])('a file %s: null', (_name, file) => expect(intact(file)).toBeNull());
});
