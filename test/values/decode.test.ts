/**
 * The decoders the compiled policy cache is read through (src/values/decode.ts): a value of any
 * other shape is refused with where and why, never passed on as the type it claims.
 */
import { describe, expect, it } from 'vitest';
import {
  absentAs,
  array,
  bytes,
  bytesReplacer,
  integer,
  literal,
  nullable,
  number,
  object,
  record,
  string,
  tagged,
  type Decoder,
} from '../../src/values/decode.js';

const point = object<{ x: number; label: string | null }>({ x: integer, label: nullable(string) });
const shape = tagged<{ kind: 'dot'; at: number } | { kind: 'line'; from: number; to: number }>('kind', {
  dot: object({ kind: literal('dot'), at: number }),
  line: object({ kind: literal('line'), from: number, to: number }),
});

const refused = <T>(decoder: Decoder<T>, value: unknown) => {
  const decoded = decoder(value, 'v');
  return decoded.ok ? `accepted ${JSON.stringify(decoded.value)}` : decoded.why;
};

describe('decoders', () => {
  it('give back a value of the right shape as it is', () => {
    expect(point({ x: 1, label: null }, '')).toEqual({ ok: true, value: { x: 1, label: null } });
    expect(shape({ kind: 'line', from: 1, to: 2 }, '')).toEqual({ ok: true, value: { kind: 'line', from: 1, to: 2 } });
  });

  it.each<[string, Decoder<unknown>, unknown, string]>([
    ['a missing key', point, { x: 1 }, 'v.label: missing'],
    ['a key added', point, { x: 1, label: 'a', run: 'sh' }, 'v: unexpected key "run"'],
    ['a value of the wrong type', point, { x: '1', label: null }, 'v.x: expected an integer, found string'],
    ['a fraction for an integer', point, { x: 1.5, label: null }, 'v.x: expected an integer'],
    ['an array for an object', point, [1, null], 'v: expected an object, found an array'],
    ['an unknown tag', shape, { kind: 'shell', at: 1 }, 'v: unknown kind "shell"'],
    ['a tag that is no string', shape, { kind: 1 }, 'v: unknown kind 1'],
    ['a tag whose fields are wrong', shape, { kind: 'dot', from: 1 }, 'v: unexpected key "from"'],
    ['a tag that is a key of Object.prototype', shape, { kind: 'toString' }, 'v: unknown kind "toString"'],
    ['an item of a list', array(integer), [1, 'two'], 'v[1]: expected an integer, found string'],
    ['__proto__ in a record', record(string), JSON.parse('{"__proto__": "x"}'), 'v: the key __proto__ is refused'],
    ['a value not listed', literal('read', 'write'), 'everything', 'v: expected "read" or "write"'],
    ['Infinity written as null', number, null, 'v: expected a number, found null'],
    ['a byte over 255', bytes, { $bytes: [192, 999] }, 'v.$bytes[1]: expected a byte (0..255)'],
    ['bytes as a plain list', bytes, [192, 0, 2, 1], 'v: expected an object, found an array'],
  ])('refuse %s', (_what, decoder, value, why) => {
    expect(refused(decoder, value)).toContain(why);
  });

  it('read a key written later as its default only where told (absentAs)', () => {
    const withTls = object<{ tls: string | null }>({ tls: absentAs(nullable(string), null) });
    expect(withTls({}, '')).toEqual({ ok: true, value: { tls: null } });
    expect(refused(withTls, { tls: 1 })).toContain('v.tls: expected a string');
  });

  it('bring bytes back as a Uint8Array', () => {
    const decoded = bytes(JSON.parse(JSON.stringify(Uint8Array.from([10, 0, 0, 1]), bytesReplacer)), '');
    expect(decoded.ok && decoded.value).toEqual(Uint8Array.from([10, 0, 0, 1]));
    expect(decoded.ok && decoded.value).toBeInstanceOf(Uint8Array);
  });
});
