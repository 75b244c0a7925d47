/**
 * What a receive rule's retention comes to (docs/policy.md, "Retention"): `keep: N`
 * removes uploads past the newest N, but never one younger than the window (`keep-within`), and
 * past `max-uploads` stored within the window an upload is refused, so a flood is bounded and
 * shows as failed sessions instead of rotating the owner's uploads out. Pure.
 *
 * The defaults read `keep: N` as N uploads at the rule's pace: one per `expect-every`, or one a
 * day when the rule has none (the nightly upload the docs show). The window is then N paces, the
 * span the owner meant to keep, and the cap twice the uploads that pace puts in the window (room
 * for retries and a manual run).
 */
const DAY = 86_400_000;

export interface Retention {
  /** Keep at least the newest N; null: the rule removes nothing. */
  keep: number | null;
  /** Uploads younger than this are never removed because of other uploads; 0: no window. */
  windowMs: number;
  /** At most this many uploads stored within the window; null: no cap. */
  maxUploads: number | null;
  /** The pace the defaults assumed (ms), and whether it was assumed (no expect-every). */
  paceMs: number;
  paceAssumed: boolean;
}

export function retentionOf(rule: {
  keep: number | null;
  keepWithinMs: number | null;
  maxUploads: number | null;
  expectEvery: number | null;
}): Retention {
  const paceMs = rule.expectEvery ?? DAY;
  const paceAssumed = rule.expectEvery === null;
  if (rule.keep === null) return { keep: null, windowMs: 0, maxUploads: null, paceMs, paceAssumed };
  const windowMs = rule.keepWithinMs ?? rule.keep * paceMs;
  const maxUploads = windowMs === 0 ? null : (rule.maxUploads ?? 2 * Math.max(rule.keep, uploadsIn(windowMs, paceMs)));
  return { keep: rule.keep, windowMs, maxUploads, paceMs, paceAssumed };
}

/** Uploads one every `paceMs` puts into a window of `windowMs` (a partial pace counts). */
export function uploadsIn(windowMs: number, paceMs: number): number {
  return Math.ceil(windowMs / paceMs);
}

/** 90061000 -> "1d1h1m1s": durations as a policy writes them. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0';
  const parts: string[] = [];
  let rest = ms;
  for (const [unit, size] of [
    ['d', DAY],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  if (rest > 0) parts.push(`${rest}ms`);
  return parts.join('');
}

/**
 * What `check` says about a rule's retention: each message is for a policy in which the window, N
 * and the cap cannot all hold at the rule's pace.
 */
export function retentionWarnings(rule: {
  keep: number | null;
  keepWithinMs: number | null;
  maxUploads: number | null;
  expectEvery: number | null;
}): string[] {
  const r = retentionOf(rule);
  if (r.keep === null) return [];
  const pace = r.paceAssumed ? 'one upload a day (no expect-every)' : `one upload every ${formatDuration(r.paceMs)} (expect-every)`;
  if (r.windowMs === 0) {
    return [
      `keep-within: 0 keeps only a count: ${r.keep + 1} uploads of a stolen key remove every earlier upload, however young; give a window (keep-within: ${formatDuration(r.keep * r.paceMs)} is ${r.keep} uploads at ${pace})`,
    ];
  }
  const warnings: string[] = [];
  const inWindow = uploadsIn(r.windowMs, r.paceMs);
  if (rule.keepWithinMs === null && r.paceAssumed) {
    warnings.push(
      `keep: ${r.keep} without keep-within or expect-every assumes ${pace}: uploads younger than ${formatDuration(r.windowMs)} are never removed, and past ${r.maxUploads} within it an upload is refused; set expect-every (or keep-within and max-uploads) to the rule's real pace`,
    );
  }
  if (rule.keepWithinMs !== null && r.windowMs < r.keep * r.paceMs) {
    warnings.push(
      `keep: ${r.keep} at ${pace} spans ${formatDuration(r.keep * r.paceMs)}, but keep-within: ${formatDuration(r.windowMs)} guards only the last ${formatDuration(r.windowMs)}: ${r.keep + 1} uploads of a stolen key remove the older ones; keep-within: ${formatDuration(r.keep * r.paceMs)} holds both`,
    );
  }
  if (r.maxUploads !== null && r.maxUploads < inWindow) {
    warnings.push(
      `max-uploads: ${r.maxUploads} within keep-within: ${formatDuration(r.windowMs)} is fewer than the ${inWindow} uploads ${pace} puts there: the rule's own uploads will be refused (outcome "flood"); raise max-uploads to at least ${inWindow}`,
    );
  }
  return warnings;
}
