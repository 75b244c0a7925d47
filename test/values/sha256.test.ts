/** The plain-JavaScript SHA-256 against node:crypto's, byte for byte. */
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { H0, K, sha256 } from '../../src/values/sha256.js';

const reference = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');
const ours = (data: Uint8Array) => Buffer.from(sha256(data)).toString('hex');

describe('sha256', () => {
  it("its constants are FIPS 180-4's: fractional parts of the cube roots of the first 64 primes, the square roots of the first 8", () => {
    const primes: number[] = [];
    for (let n = 2; primes.length < 64; n++) if (primes.every((p) => n % p !== 0)) primes.push(n);
    const fraction32 = (x: number) => Math.floor((x - Math.floor(x)) * 2 ** 32) >>> 0;
    expect([...K]).toEqual(primes.map((p) => fraction32(Math.cbrt(p))));
    expect([...H0]).toEqual(primes.slice(0, 8).map((p) => fraction32(Math.sqrt(p))));
  });

  it('the FIPS 180-4 examples', () => {
    expect(ours(Buffer.from(''))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(ours(Buffer.from('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(ours(Buffer.from('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'))).toBe(
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    );
  });

  it('every length up to 300 bytes (each padding boundary, one and two blocks past it)', () => {
    const data = randomBytes(300);
    for (let length = 0; length <= 300; length++)
      expect(ours(data.subarray(0, length)), `length ${length}`).toBe(reference(data.subarray(0, length)));
  });

  it('random inputs, and one of 1 MiB', () => {
    for (let i = 0; i < 200; i++) {
      const data = randomBytes(Math.floor(Math.random() * 5000));
      expect(ours(data)).toBe(reference(data));
    }
    const large = randomBytes(1024 * 1024);
    expect(ours(large)).toBe(reference(large));
  });
});
