/**
 * The monitoring verdict of `status`, the pure part (the design's "The owner sees every
 * failure"): each checked rule's history from the records that count, and one plugin line from
 * the histories. cli/status.ts chooses the rules and reads the logs.
 */
import { printable } from '../values/printable.js';
import { localTime } from './log-table.js';
import type { AuditRecord } from './review.js';
import { failed, SuccessTracker } from './success.js';

export interface StatusResult {
  code: 0 | 1 | 2 | 3;
  line: string;
}

/**
 * One (identity, rule) that `status` checks, and its thresholds: WARNING past warnMs, CRITICAL
 * past critMs; warnMs is also the period in which failures, sessions and small successes count.
 */
export interface StatusCheck {
  id: string;
  rule: string;
  warnMs: number;
  critMs: number;
  /** The rule's min-bytes: a success in the period below it (or of unknown size) is a WARNING; null: unchecked. */
  minBytes: number | null;
  /** More sessions than this in the period is a burst, a WARNING (status --burst). */
  burst: number;
}

/** The default for status --burst: sessions of one rule in one period before it is a burst. */
export const DEFAULT_BURST = 10;

/** What a success wrote: the end record's writes.bytes (audit/writes.ts), else its bytes (receive); null when it says neither. */
export function bytesOf(record: AuditRecord): number | null {
  if (record.event !== 'end') return null;
  // writes may be cut to {"cut": true} (audit/record.ts's boundRecord): then it says no bytes.
  const writes: { bytes?: number } | undefined = record.writes;
  if (typeof writes?.bytes === 'number') return writes.bytes;
  return record.bytes ?? null;
}

/** What the records say about one checked rule, from the records that count. */
export interface RuleHistory {
  /** ms since the epoch. */
  lastSuccess: number | null;
  lastFailure: { at: number; exit: unknown; outcome: unknown } | null;
  /** Within the period (warnMs back from now): */
  failures: number;
  successes: number;
  sessions: number;
  /** With min-bytes: the smallest success (one of unknown size, null bytes, is smaller than any). */
  smallest: { at: number; bytes: number | null } | null;
  /** Records naming the rule that did not count (foreign: audit/provenance.ts). */
  foreign: number;
}

export function emptyHistory(): RuleHistory {
  return { lastSuccess: null, lastFailure: null, failures: 0, successes: 0, sessions: 0, smallest: null, foreign: 0 };
}

/** Reduces records (any order, judged by audit/provenance.ts) into each check's history; memory grows with the checks only. */
export class StatusBuilder {
  private readonly histories = new Map<string, RuleHistory>();
  private readonly checks = new Map<string, StatusCheck>();
  private readonly successes = new SuccessTracker();
  /** The oldest record read: a rule with no success has none "since" then. */
  readSince: string | null = null;
  private readSinceMs: number | null = null;

  constructor(
    checks: readonly StatusCheck[],
    private readonly now: Date,
  ) {
    for (const check of checks) {
      this.checks.set(`${check.id}\0${check.rule}`, check);
      this.histories.set(`${check.id}\0${check.rule}`, emptyHistory());
    }
  }

  add(record: AuditRecord): void {
    const key = `${String(record.id)}\0${String(record.rule)}`;
    const history = this.histories.get(key);
    if (record.foreign !== undefined) {
      if (history) history.foreign++;
      return;
    }
    // A foreign record's time says nothing of how far back the log was read.
    const at = typeof record.ts === 'string' ? Date.parse(record.ts) : NaN;
    if (!Number.isNaN(at) && (this.readSinceMs === null || at < this.readSinceMs)) {
      this.readSinceMs = at;
      this.readSince = record.ts!;
    }
    // Every record goes through the tracker: a dry run's decision marks its session's end.
    const success = this.successes.isSuccess(record);
    const check = this.checks.get(key);
    if (!history || !check || Number.isNaN(at)) return;
    const inPeriod = at >= this.now.getTime() - check.warnMs;
    if (record.event === 'decision' && record.decision === 'allow' && inPeriod) history.sessions++;
    if (success) {
      if (history.lastSuccess === null || at > history.lastSuccess) history.lastSuccess = at;
      if (!inPeriod) return;
      history.successes++;
      const bytes = bytesOf(record);
      if (check.minBytes !== null && (history.smallest === null || (bytes ?? -1) < (history.smallest.bytes ?? -1)))
        history.smallest = { at, bytes };
    } else if (record.event === 'end' && failed(record)) {
      if (history.lastFailure === null || at > history.lastFailure.at)
        history.lastFailure = { at, exit: record.exit, outcome: record.outcome };
      if (inPeriod) history.failures++;
    }
  }

  result(): Map<string, RuleHistory> {
    return this.histories;
  }
}

/** A span for people, in its two largest units, rounded down: `52s`, `14m`, `8h26m`, `2d4h`. */
export function formatSpan(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  const [d, h, m] = [Math.floor(s / 86_400), Math.floor((s % 86_400) / 3600), Math.floor((s % 3600) / 60)];
  if (d === 0) return m === 0 ? `${h}h` : `${h}h${m}m`;
  return h === 0 ? `${d}d` : `${d}d${h}h`;
}

/**
 * One performance data item, in the plugin guidelines' form `'label'=value[UOM];warn;crit;min;max`:
 * the label quoted (without ' and =, which it may not hold), a value that cannot be known as `U`,
 * thresholds as numbers (alert above) or ranges (`1048576:`, alert below).
 */
export function perfdatum(
  label: string,
  value: number | null,
  uom: string,
  warn?: number | string,
  crit?: number | string,
  min?: number,
  max?: number,
): string {
  const fields = [value === null ? 'U' : `${value}${uom}`, warn, crit, min, max].map((f) => (f === undefined ? '' : String(f)));
  while (fields.length > 1 && fields[fields.length - 1] === '') fields.pop();
  return `'${label.replace(/['=]/g, '_')}'=${fields.join(';')}`;
}

/**
 * The plugin verdict for `status`, each check against its history (by `id\0rule`):
 *
 * - CRITICAL: no success logged; the last success older than critMs; runs in the period and
 *   every one of them failed.
 * - WARNING: the last success older than warnMs; a run failed in the period, even if a later one
 *   succeeded (the later one may be a stolen key's); more sessions in the period than `burst`; a
 *   success in the period below min-bytes, or of unknown size; records in an account's log that
 *   claim the rule and do not count (someone wrote them).
 *
 * One line: the state, what is wrong with which rules, and after `|` the counts and, per rule,
 * its age in seconds, its failures and sessions in the period, and its smallest success when it
 * has min-bytes, each with its thresholds (`U` for a value the records do not give).
 * `readSince` is the time of the oldest record read, if any: a rule with no success in them has
 * "no success logged since" then, which is all the log can say.
 */
export function evaluateStatus(
  checks: readonly StatusCheck[],
  histories: ReadonlyMap<string, RuleHistory>,
  now: Date,
  readSince: string | null = null,
): StatusResult {
  if (checks.length === 0) return { code: 3, line: 'SSH-DISPATCH UNKNOWN - no rules to check' };
  const warnings: string[] = [];
  const criticals: string[] = [];
  const perf: string[] = [];
  let oldest: { name: string; age: number } | null = null;
  for (const check of checks) {
    const name = `${check.id}/${check.rule}`;
    const history = histories.get(`${check.id}\0${check.rule}`) ?? emptyHistory();
    const age = history.lastSuccess === null ? null : ageAt(now, history.lastSuccess);
    perf.push(...rulePerfdata(name, check, history, age));
    const { critical, warning } = ruleProblems(check, history, age, now, readSince);
    if (critical.length > 0) criticals.push(`${name} ${[...critical, ...warning].join(', ')}`);
    else if (warning.length > 0) warnings.push(`${name} ${warning.join(', ')}`);
    else if (age !== null && (oldest === null || age > oldest.age)) oldest = { name, age };
  }
  return statusLine(checks.length, { criticals, warnings, oldest }, perf);
}

/** How long ago `at` was: a time stamped in the future (a clock set back) is as recent as can be, not negative. */
function ageAt(now: Date, at: number): number {
  return Math.max(0, now.getTime() - at);
}

/** One rule's performance data: its age in seconds, its failures and sessions in the period, and its smallest success when it has min-bytes. */
function rulePerfdata(name: string, check: StatusCheck, history: RuleHistory, age: number | null): string[] {
  const perf = [
    perfdatum(name, age === null ? null : Math.floor(age / 1000), 's', Math.floor(check.warnMs / 1000), Math.floor(check.critMs / 1000), 0),
    perfdatum(`${name} failed`, history.failures, '', 0, undefined, 0),
    perfdatum(`${name} sessions`, history.sessions, '', check.burst, undefined, 0),
  ];
  if (check.minBytes !== null)
    perf.push(perfdatum(`${name} smallest`, history.smallest?.bytes ?? null, 'B', `${check.minBytes}:`, undefined, 0));
  return perf;
}

/** What is wrong with one rule, CRITICAL and WARNING apart, each in the order the line gives them (evaluateStatus says when). */
function ruleProblems(
  check: StatusCheck,
  history: RuleHistory,
  age: number | null,
  now: Date,
  readSince: string | null,
): { critical: string[]; warning: string[] } {
  const period = formatSpan(check.warnMs);
  const critical: string[] = [];
  const warning: string[] = [];
  const failure = history.lastFailure;
  const failureText =
    failure === null
      ? ''
      : `exit ${String(failure.exit)}${failure.outcome !== undefined && failure.outcome !== 'exited' ? ` ${String(failure.outcome)}` : ''}`;
  if (age === null) critical.push(`no success logged${readSince ? ` since ${localTime(readSince).slice(0, 16)}` : ''}`);
  else if (age > check.critMs) critical.push(`last success ${formatSpan(age)} ago (critical past ${formatSpan(check.critMs)})`);
  else if (age > check.warnMs) warning.push(`last success ${formatSpan(age)} ago (expected every ${period})`);
  if (history.failures > 0 && failure !== null) {
    const text = `${history.failures === 1 ? 'a run' : `${history.failures} runs`} failed within ${period}, the last ${formatSpan(ageAt(now, failure.at))} ago (${failureText})`;
    if (history.successes === 0) critical.push(`${text}, none succeeded`);
    else warning.push(`${text}${history.lastSuccess !== null && history.lastSuccess > failure.at ? ', though a later run succeeded' : ''}`);
  }
  if (history.sessions > check.burst) warning.push(`${history.sessions} sessions within ${period} (a burst: more than ${check.burst})`);
  const small = history.smallest;
  if (check.minBytes !== null && small !== null && (small.bytes === null || small.bytes < check.minBytes)) {
    warning.push(
      `a success ${formatSpan(ageAt(now, small.at))} ago ${small.bytes === null ? 'did not say how many bytes it wrote' : `wrote ${small.bytes} bytes`} (min-bytes ${check.minBytes})`,
    );
  }
  if (history.foreign > 0)
    warning.push(
      `${history.foreign} foreign record${history.foreign === 1 ? '' : 's'} in account logs not counted (ssh-dispatch logs --rule ${check.rule} marks them)`,
    );
  return { critical, warning };
}

/** The one line and its exit code: the worst state first, the counts and every rule's perfdata after `|`. */
function statusLine(
  total: number,
  found: { criticals: string[]; warnings: string[]; oldest: { name: string; age: number } | null },
  perf: string[],
): StatusResult {
  const { criticals, warnings, oldest } = found;
  const ok = total - warnings.length - criticals.length;
  const counts = [
    perfdatum('ok', ok, '', undefined, undefined, 0, total),
    perfdatum('warning', warnings.length, '', undefined, undefined, 0, total),
    perfdatum('critical', criticals.length, '', undefined, undefined, 0, total),
  ];
  const tail = ` | ${[...counts, ...perf].join(' ')}`;
  const okText = `${ok} of ${total} rule${total === 1 ? '' : 's'} OK`;
  const line = (text: string) => printable(text) + tail;
  if (criticals.length > 0)
    return {
      code: 2,
      line: line(`SSH-DISPATCH CRITICAL - ${criticals.join('; ')}${warnings.length ? `; WARNING: ${warnings.join('; ')}` : ''}; ${okText}`),
    };
  if (warnings.length > 0) return { code: 1, line: line(`SSH-DISPATCH WARNING - ${warnings.join('; ')}; ${okText}`) };
  return {
    code: 0,
    line: line(
      `SSH-DISPATCH OK - ${total === 1 ? 'the rule' : `all ${total} rules`} succeeded in time${oldest ? `; oldest success ${oldest.name} ${formatSpan(oldest.age)} ago` : ''}`,
    ),
  };
}
