/**
 * Reading the audit log back, the pure part: time windows, record filters, the summary and the
 * monitoring status. audit/read.ts streams the records; cli/logs, summary and status print.
 */
import { parseDuration } from '../values/units.js';
import { printable } from '../values/printable.js';
import { writesName, type WritesFacts } from './writes.js';

export type AuditRecord = Record<string, unknown> & { ts?: string; event?: string; session?: string; id?: string; rule?: string };


/** `24h`, `7d`, `2w` before `now`; or a date `2026-11-24` (local midnight); or an ISO time. */
export function parseWhen(text: string, now: Date): Date | null {
  const span = parseDuration(text);
  if (span !== null) return new Date(now.getTime() - span);
  const day = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/.exec(text);
  if (day) return new Date(Number(day[1]), Number(day[2]) - 1, Number(day[3]));
  const parsed = Date.parse(text);
  return /^[0-9]{4}-[0-9]{2}-[0-9]{2}T/.test(text) && !Number.isNaN(parsed) ? new Date(parsed) : null;
}

export interface RecordFilter {
  since?: Date;
  until?: Date;
  id?: string;
  rule?: string;
  decision?: string;
  client?: string;
  session?: string;
  /** A certificate's serial, or its key id: the records of the sessions it opened (every record carries both). */
  cert?: string;
  /** The records of these sessions only (logs --path: the sessions that wrote a path). */
  sessions?: ReadonlySet<string>;
}

/**
 * Whether a record passes the filter. End records carry id, rule and session but no decision
 * or client: a filter on those keeps decision records only.
 */
export function matches(record: AuditRecord, filter: RecordFilter): boolean {
  const ts = typeof record.ts === 'string' ? Date.parse(record.ts) : NaN;
  if (filter.since && !(ts >= filter.since.getTime())) return false;
  if (filter.until && !(ts < filter.until.getTime())) return false;
  if (filter.id !== undefined && record.id !== filter.id) return false;
  if (filter.rule !== undefined && record.rule !== filter.rule) return false;
  if (filter.session !== undefined && !String(record.session ?? '').startsWith(filter.session)) return false;
  if (filter.sessions !== undefined && !filter.sessions.has(String(record.session ?? ''))) return false;
  if (filter.decision !== undefined && (record.event !== 'decision' || record.decision !== filter.decision)) return false;
  if (filter.cert !== undefined && record.cert_serial !== filter.cert && record.cert_id !== filter.cert) return false;
  if (filter.client !== undefined && (record.event !== 'decision' || !String(record.client ?? '').replace(/^\[|\](?=:)/g, '').startsWith(filter.client))) return false;
  return true;
}

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

function localTime(ts: unknown): string {
  const date = new Date(String(ts));
  if (Number.isNaN(date.getTime())) return '????-??-?? ??:??:??';
  const p = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${p(date.getMonth() + 1)}-${p(date.getDate())} ${p(date.getHours())}:${p(date.getMinutes())}:${p(date.getSeconds())}`;
}

export const TABLE_HEADER = `${pad('time', 19)}  ${pad('session', 8)}  ${pad('id', 16)}  ${pad('client', 21)}  ${pad('event', 5)}  ${pad('rule / reason', 24)}  command / result`;

/** One row of the `logs` table; control characters in anything the client sent are escaped; a foreign record (audit/provenance.ts) is marked at its end. */
export function tableRow(record: AuditRecord): string {
  const row = plainRow(record);
  return record.foreign === undefined ? row : `${row}  ${printable(`[FOREIGN: ${String(record.foreign)}, not counted]`)}`;
}

function plainRow(record: AuditRecord): string {
  const session = String(record.session ?? '').slice(0, 8);
  const id = String(record.id ?? '');
  if (record.event === 'end') {
    const what = [`${String(record.outcome ?? '')}`, `exit ${String(record.exit ?? '')}`, `${String(record.duration_ms ?? '')} ms`];
    if (record.file !== undefined) what.push(`${String(record.file)} ${String(record.bytes ?? '')} bytes`);
    if (record.address !== undefined) what.push(`${String(record.address)} in ${String(record.bytes_in ?? 0)} out ${String(record.bytes_out ?? 0)}`);
    if (record.error !== undefined) what.push(String(record.error));
    return printable(`${localTime(record.ts)}  ${pad(session, 8)}  ${pad(id, 16)}  ${pad('', 21)}  ${pad('end', 5)}  ${pad(String(record.rule ?? ''), 24)}  ${what.join(', ')}`);
  }
  if (record.event === 'file') {
    const what = [`${String(record.op ?? '')} ${String(record.path ?? '')}`];
    if (record.to !== undefined) what.push(`to ${String(record.to)}`);
    if (record.bytes !== undefined) what.push(`${String(record.bytes)} bytes`);
    if (record.refused !== undefined) what.push(`refused: ${String(record.refused)}`);
    return printable(`${localTime(record.ts)}  ${pad(session, 8)}  ${pad(id, 16)}  ${pad('', 21)}  ${pad('file', 5)}  ${pad(String(record.rule ?? ''), 24)}  ${what.join(', ')}`);
  }
  const decision = String(record.decision ?? record.event ?? '?');
  const why = decision === 'allow' ? String(record.rule ?? '') : decision === 'learn' ? String(record.would ?? '') : String(record.reason ?? '');
  const command = record.command === null ? '(no command)' : String(record.command ?? '');
  return printable(`${localTime(record.ts)}  ${pad(session, 8)}  ${pad(id, 16)}  ${pad(String(record.client ?? '-'), 21)}  ${pad(decision, 5)}  ${pad(why, 24)}  ${command.length > 100 ? `${command.slice(0, 100)}...` : command}`);
}

/**
 * Whether a record says its session wrote `path` (or under it, a directory): an end record whose
 * `writes` lists name it (created, replaced, removed), or an sftp/scp `file` record of a write
 * (anything but a read, and not refused) with it as `path` or `to`. Names are as the records
 * have them, the rule's view; a leading `/` is optional, as clients differ.
 */
export function wrotePath(record: AuditRecord, path: string): boolean {
  const spellings = path.startsWith('/') ? [path, path.slice(1)] : [path, `/${path}`];
  if (record.event === 'end') {
    const writes = record.writes;
    if (writes === null || typeof writes !== 'object' || Array.isArray(writes)) return false;
    return spellings.some((p) => p !== '' && writesName(writes as Partial<WritesFacts>, p));
  }
  if (record.event !== 'file' || record.op === 'read' || record.refused !== undefined) return false;
  return spellings.some((p) => p !== '' && writesName({ created: [record.path, record.to] as string[] }, p));
}

/** An end record that means the job did what it was for. */
export function succeeded(record: AuditRecord): boolean {
  return record.event === 'end' && record.exit === 0 && ['exited', 'stored', 'closed'].includes(String(record.outcome));
}

/**
 * A rule's successes, over records read in log order: an end record that succeeded, or the
 * allowed decision of an execve rule (which writes no end record), but never a dry run: a stolen
 * key's `rsync -n` exits 0 and transfers nothing, and must not keep a backup check green.
 * The end record does not say it was a dry run; its session's decision record does.
 */
export class SuccessTracker {
  private readonly dryRunSessions = new Set<string>();
  /** Sessions whose end never came (killed dispatcher) must not grow this without end. */
  private static readonly MAX_PENDING = 10_000;

  isSuccess(record: AuditRecord): boolean {
    if (record.event === 'decision') {
      if (record.decision !== 'allow') return false;
      if (record.dry_run === true) {
        if (record.handoff !== 'execve') this.notePending(String(record.session));
        return false;
      }
      return record.handoff === 'execve';
    }
    if (record.event === 'end' && this.dryRunSessions.delete(String(record.session))) return false;
    return succeeded(record);
  }

  private notePending(session: string): void {
    this.dryRunSessions.add(session);
    if (this.dryRunSessions.size > SuccessTracker.MAX_PENDING) this.dryRunSessions.delete(this.dryRunSessions.values().next().value!);
  }
}

export interface RuleStats {
  id: string;
  rule: string;
  allowed: number;
  denied: number;
  failed: number;
  lastSuccess: string | null;
  /** The last run that failed, and how: `exit 23`, `exit 1 too-large`. */
  lastFailure: string | null;
  lastFailureHow: string | null;
  bytes: number;
  /** sftp rules: files read, written, removed or renamed, and the file requests refused. */
  files: number;
  filesRefused: number;
}

export interface Summary {
  rules: RuleStats[];
  refused: { command: string; count: number; reasons: string[] }[];
  newClients: { client: string; id: string; first: string }[];
  records: number;
  /** Records in account logs that do not count (audit/provenance.ts), in the window: `logs` shows them marked. */
  foreign: number;
}

/** Reduces records (oldest first) into a summary; memory grows with identities, rules, distinct refusals and clients, not with records. */
export class SummaryBuilder {
  private readonly stats = new Map<string, RuleStats>();
  private readonly refused = new Map<string, { count: number; reasons: Set<string> }>();
  private readonly clients = new Map<string, { id: string; first: string }>();
  private readonly successes = new SuccessTracker();
  private records = 0;
  private foreign = 0;
  /** Bound on distinct refused commands kept (the least frequent are dropped past it). */
  private static readonly MAX_REFUSED = 50_000;

  constructor(private readonly since: Date | null) {}

  private statsFor(id: string, rule: string): RuleStats {
    const key = `${id}\0${rule}`;
    let entry = this.stats.get(key);
    if (!entry) this.stats.set(key, (entry = { id, rule, allowed: 0, denied: 0, failed: 0, lastSuccess: null, lastFailure: null, lastFailureHow: null, bytes: 0, files: 0, filesRefused: 0 }));
    return entry;
  }

  add(record: AuditRecord): void {
    const ts = String(record.ts ?? '');
    if (record.foreign !== undefined) {
      if (!this.since || Date.parse(ts) >= this.since.getTime()) this.foreign++;
      return;
    }
    // Clients are tracked over the whole log, so that "first seen in the window" is true.
    if (record.event === 'decision' && typeof record.client === 'string') {
      const address = record.client.replace(/:[0-9]+$/, '').replace(/^\[|\]$/g, '');
      if (!this.clients.has(address)) this.clients.set(address, { id: String(record.id ?? ''), first: ts });
    }
    // Read before the window test: a dry run's decision may fall before the window, its end inside.
    const success = this.successes.isSuccess(record);
    if (this.since && !(Date.parse(ts) >= this.since.getTime())) return;
    this.records++;
    const id = String(record.id ?? '?');
    if (record.event === 'decision') {
      if (record.decision === 'allow') {
        const stats = this.statsFor(id, String(record.rule ?? '?'));
        stats.allowed++;
        // With execve there is no end record: the allowed decision is the last word.
        if (success && (stats.lastSuccess === null || ts > stats.lastSuccess)) stats.lastSuccess = ts;
      } else if (record.decision === 'deny') {
        this.statsFor(id, '(denied)').denied++;
        const command = record.command === null ? '(no command)' : String(record.command ?? '');
        const entry = this.refused.get(command) ?? { count: 0, reasons: new Set<string>() };
        entry.count++;
        entry.reasons.add(String(record.reason ?? ''));
        this.refused.set(command, entry);
        if (this.refused.size > SummaryBuilder.MAX_REFUSED) this.pruneRefused();
      }
    } else if (record.event === 'end') {
      const stats = this.statsFor(id, String(record.rule ?? '?'));
      if (success) {
        if (stats.lastSuccess === null || ts > stats.lastSuccess) stats.lastSuccess = ts;
      } else if (failed(record)) {
        stats.failed++;
        if (stats.lastFailure === null || ts > stats.lastFailure) {
          stats.lastFailure = ts;
          stats.lastFailureHow = `exit ${String(record.exit)}${record.outcome !== undefined && record.outcome !== 'exited' ? ` ${String(record.outcome)}` : ''}`;
        }
      }
      stats.bytes += Number(record.bytes ?? 0) + Number(record.bytes_in ?? 0) + Number(record.bytes_out ?? 0) || 0;
    } else if (record.event === 'file') {
      const stats = this.statsFor(id, String(record.rule ?? '?'));
      if (record.refused !== undefined) stats.filesRefused++;
      else {
        stats.files++;
        stats.bytes += Number(record.bytes ?? 0) || 0;
      }
    }
  }

  private pruneRefused(): void {
    const sorted = [...this.refused.entries()].sort((a, b) => b[1].count - a[1].count);
    this.refused.clear();
    for (const [command, entry] of sorted.slice(0, SummaryBuilder.MAX_REFUSED / 2)) this.refused.set(command, entry);
  }

  result(top = 10): Summary {
    const since = this.since?.getTime() ?? -Infinity;
    return {
      rules: [...this.stats.values()].sort((a, b) => a.id.localeCompare(b.id) || a.rule.localeCompare(b.rule)),
      refused: [...this.refused.entries()]
        .sort((a, b) => b[1].count - a[1].count || a[0].localeCompare(b[0]))
        .slice(0, top)
        .map(([command, entry]) => ({ command, count: entry.count, reasons: [...entry.reasons].sort() })),
      newClients: [...this.clients.entries()].filter(([, seen]) => Date.parse(seen.first) >= since).map(([client, seen]) => ({ client, ...seen })),
      records: this.records,
      foreign: this.foreign,
    };
  }
}

export function formatSummary(summary: Summary, window: string): string {
  const foreign = summary.foreign > 0 ? ` ${summary.foreign} foreign record(s) in account logs not counted (ssh-dispatch logs marks them).` : '';
  const lines = [`Since ${window}: ${summary.records} records.${foreign}`, '', `${pad('identity', 18)}  ${pad('rule', 22)}  ${pad('allowed', 7)}  ${pad('denied', 6)}  ${pad('failed', 6)}  ${pad('bytes', 12)}  ${pad('files', 13)}  ${pad('last success', 19)}  last failure`];
  for (const s of summary.rules) {
    // files: sftp rules' file records, with the refused file requests after a slash.
    const files = s.files + s.filesRefused > 0 ? `${s.files}${s.filesRefused > 0 ? ` /${s.filesRefused} refused` : ''}` : '-';
    const failure = s.lastFailure ? `${localTime(s.lastFailure)} (${s.lastFailureHow})` : '-';
    lines.push(`${pad(s.id, 18)}  ${pad(s.rule, 22)}  ${pad(String(s.allowed), 7)}  ${pad(String(s.denied), 6)}  ${pad(String(s.failed), 6)}  ${pad(String(s.bytes), 12)}  ${pad(files, 13)}  ${pad(s.lastSuccess ? localTime(s.lastSuccess) : '-', 19)}  ${failure}`);
  }
  lines.push('', 'Most frequent refused commands:');
  if (summary.refused.length === 0) lines.push('  (none)');
  for (const r of summary.refused) lines.push(`  ${String(r.count).padStart(6)}  ${pad(r.reasons.join(','), 24)}  ${r.command.length > 100 ? `${r.command.slice(0, 100)}...` : r.command}`);
  lines.push('', 'Client addresses first seen in this window:');
  if (summary.newClients.length === 0) lines.push('  (none)');
  for (const c of summary.newClients) lines.push(`  ${pad(c.client, 40)}  ${pad(c.id, 18)}  ${localTime(c.first)}`);
  return `${lines.map(printable).join('\n')}\n`;
}

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

/** A run that failed: an end record that is no success, whatever its outcome (any non-zero exit). */
export function failed(record: AuditRecord): boolean {
  return record.event === 'end' && !succeeded(record);
}

/** What a success wrote: the end record's writes.bytes (audit/writes.ts), else its bytes (receive); null when it says neither. */
export function bytesOf(record: AuditRecord): number | null {
  const writes = record.writes as { bytes?: unknown } | undefined;
  if (writes !== null && typeof writes === 'object' && typeof writes.bytes === 'number' && Number.isFinite(writes.bytes)) return writes.bytes;
  return typeof record.bytes === 'number' && Number.isFinite(record.bytes) ? record.bytes : null;
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

  constructor(checks: readonly StatusCheck[], private readonly now: Date) {
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
      if (check.minBytes !== null && (history.smallest === null || (bytes ?? -1) < (history.smallest.bytes ?? -1))) history.smallest = { at, bytes };
    } else if (failed(record)) {
      if (history.lastFailure === null || at > history.lastFailure.at) history.lastFailure = { at, exit: record.exit, outcome: record.outcome };
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
export function perfdatum(label: string, value: number | null, uom: string, warn?: number | string, crit?: number | string, min?: number, max?: number): string {
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
export function evaluateStatus(checks: readonly StatusCheck[], histories: ReadonlyMap<string, RuleHistory>, now: Date, readSince: string | null = null): StatusResult {
  if (checks.length === 0) return { code: 3, line: 'SSH-DISPATCH UNKNOWN - no rules to check' };
  const warnings: string[] = [];
  const criticals: string[] = [];
  const perf: string[] = [];
  let oldest: { name: string; age: number } | null = null;
  for (const check of checks) {
    const name = `${check.id}/${check.rule}`;
    const history = histories.get(`${check.id}\0${check.rule}`) ?? emptyHistory();
    const period = formatSpan(check.warnMs);
    // A time stamped in the future (a clock set back) is as recent as can be, not negative.
    const ageOf = (at: number) => Math.max(0, now.getTime() - at);
    const age = history.lastSuccess === null ? null : ageOf(history.lastSuccess);
    perf.push(perfdatum(name, age === null ? null : Math.floor(age / 1000), 's', Math.floor(check.warnMs / 1000), Math.floor(check.critMs / 1000), 0));
    perf.push(perfdatum(`${name} failed`, history.failures, '', 0, undefined, 0));
    perf.push(perfdatum(`${name} sessions`, history.sessions, '', check.burst, undefined, 0));
    if (check.minBytes !== null) perf.push(perfdatum(`${name} smallest`, history.smallest?.bytes ?? null, 'B', `${check.minBytes}:`, undefined, 0));
    const critical: string[] = [];
    const warning: string[] = [];
    const failure = history.lastFailure;
    const failureText = failure === null ? '' : `exit ${String(failure.exit)}${failure.outcome !== undefined && failure.outcome !== 'exited' ? ` ${String(failure.outcome)}` : ''}`;
    if (age === null) critical.push(`no success logged${readSince ? ` since ${localTime(readSince).slice(0, 16)}` : ''}`);
    else if (age > check.critMs) critical.push(`last success ${formatSpan(age)} ago (critical past ${formatSpan(check.critMs)})`);
    else if (age > check.warnMs) warning.push(`last success ${formatSpan(age)} ago (expected every ${period})`);
    if (history.failures > 0 && failure !== null) {
      const text = `${history.failures === 1 ? 'a run' : `${history.failures} runs`} failed within ${period}, the last ${formatSpan(ageOf(failure.at))} ago (${failureText})`;
      if (history.successes === 0) critical.push(`${text}, none succeeded`);
      else warning.push(`${text}${history.lastSuccess !== null && history.lastSuccess > failure.at ? ', though a later run succeeded' : ''}`);
    }
    if (history.sessions > check.burst) warning.push(`${history.sessions} sessions within ${period} (a burst: more than ${check.burst})`);
    const small = history.smallest;
    if (check.minBytes !== null && small !== null && (small.bytes === null || small.bytes < check.minBytes)) {
      warning.push(`a success ${formatSpan(ageOf(small.at))} ago ${small.bytes === null ? 'did not say how many bytes it wrote' : `wrote ${small.bytes} bytes`} (min-bytes ${check.minBytes})`);
    }
    if (history.foreign > 0) warning.push(`${history.foreign} foreign record${history.foreign === 1 ? '' : 's'} in account logs not counted (ssh-dispatch logs --rule ${check.rule} marks them)`);
    if (critical.length > 0) criticals.push(`${name} ${[...critical, ...warning].join(', ')}`);
    else if (warning.length > 0) warnings.push(`${name} ${warning.join(', ')}`);
    else if (age !== null && (oldest === null || age > oldest.age)) oldest = { name, age };
  }
  const ok = checks.length - warnings.length - criticals.length;
  const counts = [perfdatum('ok', ok, '', undefined, undefined, 0, checks.length), perfdatum('warning', warnings.length, '', undefined, undefined, 0, checks.length), perfdatum('critical', criticals.length, '', undefined, undefined, 0, checks.length)];
  const tail = ` | ${[...counts, ...perf].join(' ')}`;
  const okText = `${ok} of ${checks.length} rule${checks.length === 1 ? '' : 's'} OK`;
  const line = (text: string) => printable(text) + tail;
  if (criticals.length > 0) return { code: 2, line: line(`SSH-DISPATCH CRITICAL - ${criticals.join('; ')}${warnings.length ? `; WARNING: ${warnings.join('; ')}` : ''}; ${okText}`) };
  if (warnings.length > 0) return { code: 1, line: line(`SSH-DISPATCH WARNING - ${warnings.join('; ')}; ${okText}`) };
  return { code: 0, line: line(`SSH-DISPATCH OK - ${checks.length === 1 ? 'the rule' : `all ${checks.length} rules`} succeeded in time${oldest ? `; oldest success ${oldest.name} ${formatSpan(oldest.age)} ago` : ''}`) };
}
