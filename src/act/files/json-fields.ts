/**
 * The checks both of the file server's boundaries (its launch argument, its report on fd 3) make
 * on JSON that crossed a process: the writer is ours, but the reader takes nothing on trust.
 */

/** The value of a JSON text, or undefined when it is not JSON. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * `value` as an object that has every key of `required`, and no key outside `required` and
 * `optional`; else what is wrong with it, naming it as `what`.
 */
export function objectWith(
  value: unknown,
  what: string,
  required: readonly string[],
  optional: readonly string[] = [],
): Record<string, unknown> | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return `${what} must be an object`;
  const keys = Object.keys(value);
  const extra = keys.find((key) => !required.includes(key) && !optional.includes(key));
  if (extra !== undefined) return `${what} has unknown key ${JSON.stringify(extra)}`;
  const missing = required.find((key) => !keys.includes(key));
  if (missing !== undefined) return `${what} has no ${missing}`;
  return value as Record<string, unknown>;
}

/** A whole number, 0 or more, that a double holds exactly. */
export function isCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

export function isOneOf<T extends string>(value: unknown, allowed: readonly T[]): value is T {
  return typeof value === 'string' && (allowed as readonly string[]).includes(value);
}
