/**
 * Reading JSON back into a typed value, checked: what the program wrote earlier (the compiled
 * policy cache) is read through a decoder, never cast, so a file of the wrong shape is a value
 * saying why, not a typed lie that fails later on the security path.
 *
 * A decoder of an object names a decoder for every key of its type (`object<T>`: a key the type
 * has and the decoder forgets does not compile), and the value read must have exactly those
 * keys: one missing, or one more, and it is refused.
 */

export type Decoded<T> = { ok: true; value: T } | { ok: false; why: string };
/** `at` names where the value sits (`rules[2].root`), for the refusal. */
export type Decoder<T> = (value: unknown, at: string) => Decoded<T>;

const valid = <T>(value: T): Decoded<T> => ({ ok: true, value });
const invalid = (at: string, expected: string, value: unknown): Decoded<never> => ({
  ok: false,
  why:
    value === undefined
      ? `${at || 'the value'}: missing (expected ${expected})`
      : `${at || 'the value'}: expected ${expected}, found ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`,
});

export const string: Decoder<string> = (value, at) => (typeof value === 'string' ? valid(value) : invalid(at, 'a string', value));
export const boolean: Decoder<boolean> = (value, at) => (typeof value === 'boolean' ? valid(value) : invalid(at, 'true or false', value));
/** A finite number (JSON writes Infinity and NaN as null: those never come back as numbers). */
export const number: Decoder<number> = (value, at) =>
  typeof value === 'number' && Number.isFinite(value) ? valid(value) : invalid(at, 'a number', value);
export const integer: Decoder<number> = (value, at) =>
  Number.isSafeInteger(value) ? valid(value as number) : invalid(at, 'an integer', value);

/** One of the values listed, as they are (`'read' | 'write'`, `true`). */
export function literal<const L extends readonly (string | number | boolean)[]>(...values: L): Decoder<L[number]> {
  return (value, at) =>
    (values as readonly unknown[]).includes(value)
      ? valid(value as L[number])
      : invalid(at, values.map((v) => JSON.stringify(v)).join(' or '), value);
}

export function nullable<T>(decoder: Decoder<T>): Decoder<T | null> {
  return (value, at) => (value === null ? valid(null) : decoder(value, at));
}

export function array<T>(decoder: Decoder<T>): Decoder<T[]> {
  return (value, at) => {
    if (!Array.isArray(value)) return invalid(at, 'an array', value);
    const out: T[] = [];
    for (let i = 0; i < value.length; i++) {
      const item = decoder(value[i], `${at}[${i}]`);
      if (!item.ok) return item;
      out.push(item.value);
    }
    return valid(out);
  };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * A map of names to values (`env`). `__proto__` is refused: JSON.parse makes it an own key, and
 * an assignment of it would change the object's prototype instead.
 */
export function record<T>(decoder: Decoder<T>): Decoder<Record<string, T>> {
  return (value, at) => {
    if (!isPlainObject(value)) return invalid(at, 'an object', value);
    const out: Record<string, T> = {};
    for (const [key, item] of Object.entries(value)) {
      if (key === '__proto__') return { ok: false, why: `${at}: the key __proto__ is refused` };
      const decoded = decoder(item, `${at}.${key}`);
      if (!decoded.ok) return decoded;
      out[key] = decoded.value;
    }
    return valid(out);
  };
}

/** A decoder for every key of T, none optional (the type's own `?` keys must be decoded too). */
export type Fields<T> = { [K in keyof T]-?: Decoder<T[K]> };

/** An object with exactly the keys of `fields`, each decoded by its own. */
export function object<T>(fields: Fields<T>): Decoder<T> {
  const keys = Object.keys(fields) as (keyof T & string)[];
  return (value, at) => {
    if (!isPlainObject(value)) return invalid(at, 'an object', value);
    const extra = Object.keys(value).find((key) => !Object.hasOwn(fields, key));
    if (extra !== undefined) return { ok: false, why: `${at || 'the value'}: unexpected key ${JSON.stringify(extra)}` };
    const out = {} as T;
    for (const key of keys) {
      // A missing key is decoded as undefined, which only absentAs accepts.
      const decoded = fields[key](Object.hasOwn(value, key) ? value[key] : undefined, at ? `${at}.${key}` : key);
      if (!decoded.ok) return decoded;
      out[key] = decoded.value;
    }
    return valid(out);
  };
}

/** The first of `decoders` that accepts the value (a small union: `{ class: 'idle' } | { class: 'best-effort', ... }`). */
export function oneOf<T>(expected: string, ...decoders: Decoder<T>[]): Decoder<T> {
  return (value, at) => {
    for (const decoder of decoders) {
      const decoded = decoder(value, at);
      if (decoded.ok) return decoded;
    }
    return invalid(at, expected, value);
  };
}

/**
 * A union told apart by one key (`kind`): the decoder its value names in `table`; an unknown
 * value of that key is refused, never guessed at.
 */
export function tagged<T>(key: string, table: Readonly<Record<string, Decoder<T>>>): Decoder<T> {
  return (value, at) => {
    if (!isPlainObject(value)) return invalid(at, 'an object', value);
    const tag = value[key];
    if (typeof tag !== 'string' || !Object.hasOwn(table, tag))
      return { ok: false, why: `${at || 'the value'}: unknown ${key} ${JSON.stringify(tag)}` };
    return table[tag]!(value, at);
  };
}

/** A key that may be absent, read as `fallback` (a field added after older files were written). */
export function absentAs<T>(decoder: Decoder<T>, fallback: T): Decoder<T> {
  return (value, at) => (value === undefined ? valid(fallback) : decoder(value, at));
}

/**
 * Bytes (address ranges) in JSON, which has none: written as `{ "$bytes": [192, 0, 2, 0] }` by
 * bytesReplacer, read back by `bytes` (each a whole number 0..255, or the value is refused).
 */
export const BYTES = '$bytes';

export function bytesReplacer(_key: string, value: unknown): unknown {
  return value instanceof Uint8Array ? { [BYTES]: Array.from(value) } : value;
}

const byteList = array<number>((value, at) =>
  Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 255
    ? valid(value as number)
    : invalid(at, 'a byte (0..255)', value),
);
const bytesObject = object<{ [BYTES]: number[] }>({ [BYTES]: byteList });

export const bytes: Decoder<Uint8Array> = (value, at) => {
  const decoded = bytesObject(value, at);
  return decoded.ok ? valid(Uint8Array.from(decoded.value[BYTES])) : decoded;
};
