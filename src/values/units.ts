/** Parsers for the policy's unit-bearing strings. Each returns null on anything unexpected. */

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * `500ms`, `90s`, `5m`, `2h`, `7d`, `2w`: the one grammar of durations, for policies
 * (timeouts) and for the command line (`logs --since`, `status --stale`).
 */
export function parseDuration(text: string): number | null {
  const match = /^(0|[1-9][0-9]{0,8})(ms|s|m|h|d|w)$/.exec(text);
  return match ? Number(match[1]) * DURATION_UNITS[match[2]!]! : null;
}

/** A duration a policy may set: at least 1 ms, at most 366 days. */
export function parsePolicyDuration(text: string): number | null {
  const ms = parseDuration(text);
  return ms !== null && ms >= 1 && ms <= 366 * DURATION_UNITS.d! ? ms : null;
}

/** `0077`, `077`: an octal permission mask, written as a string so YAML cannot read it as decimal. */
export function parseOctalMask(text: string): number | null {
  if (!/^0?[0-7]{3}$/.test(text)) return null;
  return parseInt(text, 8);
}

/** `2027-06-30`, a real calendar date. */
export function parseDate(text: string): string | null {
  const match = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/.exec(text);
  if (!match) return null;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return null;
  return text;
}

/** The local calendar date of `now` as YYYY-MM-DD, comparable as a string with parseDate's. */
export function localDate(now: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  B: 1,
  k: 1e3,
  K: 1e3,
  KB: 1e3,
  M: 1e6,
  MB: 1e6,
  G: 1e9,
  GB: 1e9,
  T: 1e12,
  TB: 1e12,
  KiB: 2 ** 10,
  MiB: 2 ** 20,
  GiB: 2 ** 30,
  TiB: 2 ** 40,
};

/** `100GiB`, `1.5GB`, `512MiB`, `4096`: bytes; null on anything else or beyond 2^53. */
export function parseSize(text: string): number | null {
  const match = /^([0-9]{1,15})(\.[0-9]{1,6})?\s?([A-Za-z]{0,3})$/.exec(text);
  if (!match) return null;
  const unit = SIZE_UNITS[match[3]!];
  if (unit === undefined) return null;
  const bytes = Math.floor(Number(match[1]! + (match[2] ?? '')) * unit);
  return Number.isSafeInteger(bytes) ? bytes : null;
}
