/**
 * Reading the audit log back, the pure part: time windows, record filters, what counts as a
 * success and a failure, and the summary (the monitoring verdict is audit/health.ts).
 * audit/read.ts streams the records; cli/logs, summary and status print.
 */
import { parseDuration } from '../values/units.js';
import { printable } from '../values/printable.js';
import { writesName, type WritesFacts } from './writes.js';

/** A record as the readers get it: validated by audit/read.ts, judged by audit/provenance.ts. */
export type { LoggedRecord as AuditRecord } from './record-types.js';
import type { LoggedRecord as AuditRecord } from './record-types.js';

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
  /**
   * The records of these sessions only (logs --path: the sessions that wrote a path), kept apart
   * by whether the records that named them counted: a forged record that reuses a real session's
   * id brings back the forged records of that id, not the real session's.
   */
  sessions?: { counted: ReadonlySet<string>; foreign: ReadonlySet<string> };
}

/**
 * Whether a record passes the filter. End records carry id, rule and session but no decision
 * or client: a filter on those keeps decision records only.
 */
export function matches(record: AuditRecord, filter: RecordFilter): boolean {
  const ts = Date.parse(record.ts);
  if (filter.since && !(ts >= filter.since.getTime())) return false;
  if (filter.until && !(ts < filter.until.getTime())) return false;
  if (filter.id !== undefined && record.id !== filter.id) return false;
  if (filter.rule !== undefined && record.rule !== filter.rule) return false;
  if (filter.session !== undefined && !record.session.startsWith(filter.session)) return false;
  if (
    filter.sessions !== undefined &&
    !(record.foreign === undefined ? filter.sessions.counted : filter.sessions.foreign).has(record.session)
  )
    return false;
  if (filter.decision !== undefined && (record.event !== 'decision' || record.decision !== filter.decision)) return false;
  if (filter.cert !== undefined && record.cert_serial !== filter.cert && record.cert_id !== filter.cert) return false;
  if (
    filter.client !== undefined &&
    (record.event !== 'decision' || !(record.client ?? '').replace(/^\[|\](?=:)/g, '').startsWith(filter.client))
  )
    return false;
  return true;
}

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

/** A record's time as local time, for people; question marks when it is none. */
export function localTime(ts: unknown): string {
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
  const session = record.session.slice(0, 8);
  const id = record.id;
  if (record.event === 'end') {
    const what = [record.outcome, `exit ${record.exit}`, `${record.duration_ms ?? ''} ms`];
    if (record.file !== undefined) what.push(`${record.file} ${record.bytes ?? ''} bytes`);
    if (record.address !== undefined) what.push(`${record.address} in ${record.bytes_in ?? 0} out ${record.bytes_out ?? 0}`);
    if (record.error !== undefined) what.push(record.error);
    return printable(
      `${localTime(record.ts)}  ${pad(session, 8)}  ${pad(id, 16)}  ${pad('', 21)}  ${pad('end', 5)}  ${pad(record.rule, 24)}  ${what.join(', ')}`,
    );
  }
  if (record.event === 'file') {
    const what = [`${record.op} ${record.path}`];
    if (record.to !== undefined) what.push(`to ${record.to}`);
    if (record.bytes !== undefined) what.push(`${record.bytes} bytes`);
    if (record.refused !== undefined) what.push(`refused: ${record.refused}`);
    return printable(
      `${localTime(record.ts)}  ${pad(session, 8)}  ${pad(id, 16)}  ${pad('', 21)}  ${pad('file', 5)}  ${pad(record.rule, 24)}  ${what.join(', ')}`,
    );
  }
  const decision = record.decision;
  const why = (decision === 'allow' ? record.rule : decision === 'learn' ? record.would : record.reason) ?? '';
  const command = record.command === null ? '(no command)' : (record.command ?? '');
  return printable(
    `${localTime(record.ts)}  ${pad(session, 8)}  ${pad(id, 16)}  ${pad(record.client ?? '-', 21)}  ${pad(decision, 5)}  ${pad(why, 24)}  ${command.length > 100 ? `${command.slice(0, 100)}...` : command}`,
  );
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

/** A run that failed: an end record that is no success, whatever its outcome (any non-zero exit). */
export function failed(record: AuditRecord): boolean {
  return record.event === 'end' && !succeeded(record);
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
        if (record.handoff !== 'execve') this.notePending(record.session);
        return false;
      }
      return record.handoff === 'execve';
    }
    if (record.event === 'end' && this.dryRunSessions.delete(record.session)) return false;
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
    if (!entry)
      this.stats.set(
        key,
        (entry = {
          id,
          rule,
          allowed: 0,
          denied: 0,
          failed: 0,
          lastSuccess: null,
          lastFailure: null,
          lastFailureHow: null,
          bytes: 0,
          files: 0,
          filesRefused: 0,
        }),
      );
    return entry;
  }

  add(record: AuditRecord): void {
    const ts = record.ts;
    if (record.foreign !== undefined) {
      if (!this.since || Date.parse(ts) >= this.since.getTime()) this.foreign++;
      return;
    }
    // Clients are tracked over the whole log, so that "first seen in the window" is true.
    if (record.event === 'decision' && typeof record.client === 'string') {
      const address = record.client.replace(/:[0-9]+$/, '').replace(/^\[|\]$/g, '');
      if (!this.clients.has(address)) this.clients.set(address, { id: record.id, first: ts });
    }
    // Read before the window test: a dry run's decision may fall before the window, its end inside.
    const success = this.successes.isSuccess(record);
    if (this.since && !(Date.parse(ts) >= this.since.getTime())) return;
    this.records++;
    const id = record.id;
    if (record.event === 'decision') {
      if (record.decision === 'allow') {
        const stats = this.statsFor(id, record.rule);
        stats.allowed++;
        // With execve there is no end record: the allowed decision is the last word.
        if (success && (stats.lastSuccess === null || ts > stats.lastSuccess)) stats.lastSuccess = ts;
      } else if (record.decision === 'deny') {
        this.statsFor(id, '(denied)').denied++;
        const command = record.command === null ? '(no command)' : (record.command ?? '');
        const entry = this.refused.get(command) ?? { count: 0, reasons: new Set<string>() };
        entry.count++;
        entry.reasons.add(record.reason);
        this.refused.set(command, entry);
        if (this.refused.size > SummaryBuilder.MAX_REFUSED) this.pruneRefused();
      }
    } else if (record.event === 'end') {
      const stats = this.statsFor(id, record.rule);
      if (success) {
        if (stats.lastSuccess === null || ts > stats.lastSuccess) stats.lastSuccess = ts;
      } else if (failed(record)) {
        stats.failed++;
        if (stats.lastFailure === null || ts > stats.lastFailure) {
          stats.lastFailure = ts;
          stats.lastFailureHow = `exit ${record.exit}${record.outcome !== 'exited' ? ` ${record.outcome}` : ''}`;
        }
      }
      stats.bytes += (record.bytes ?? 0) + (record.bytes_in ?? 0) + (record.bytes_out ?? 0);
    } else if (record.event === 'file') {
      const stats = this.statsFor(id, record.rule);
      if (record.refused !== undefined) stats.filesRefused++;
      else {
        stats.files++;
        stats.bytes += record.bytes ?? 0;
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
      newClients: [...this.clients.entries()]
        .filter(([, seen]) => Date.parse(seen.first) >= since)
        .map(([client, seen]) => ({ client, ...seen })),
      records: this.records,
      foreign: this.foreign,
    };
  }
}

export function formatSummary(summary: Summary, window: string): string {
  const foreign =
    summary.foreign > 0 ? ` ${summary.foreign} foreign record(s) in account logs not counted (ssh-dispatch logs marks them).` : '';
  const lines = [
    `Since ${window}: ${summary.records} records.${foreign}`,
    '',
    `${pad('identity', 18)}  ${pad('rule', 22)}  ${pad('allowed', 7)}  ${pad('denied', 6)}  ${pad('failed', 6)}  ${pad('bytes', 12)}  ${pad('files', 13)}  ${pad('last success', 19)}  last failure`,
  ];
  for (const s of summary.rules) {
    // files: sftp rules' file records, with the refused file requests after a slash.
    const files = s.files + s.filesRefused > 0 ? `${s.files}${s.filesRefused > 0 ? ` /${s.filesRefused} refused` : ''}` : '-';
    const failure = s.lastFailure ? `${localTime(s.lastFailure)} (${s.lastFailureHow})` : '-';
    lines.push(
      `${pad(s.id, 18)}  ${pad(s.rule, 22)}  ${pad(String(s.allowed), 7)}  ${pad(String(s.denied), 6)}  ${pad(String(s.failed), 6)}  ${pad(String(s.bytes), 12)}  ${pad(files, 13)}  ${pad(s.lastSuccess ? localTime(s.lastSuccess) : '-', 19)}  ${failure}`,
    );
  }
  lines.push('', 'Most frequent refused commands:');
  if (summary.refused.length === 0) lines.push('  (none)');
  for (const r of summary.refused)
    lines.push(
      `  ${String(r.count).padStart(6)}  ${pad(r.reasons.join(','), 24)}  ${r.command.length > 100 ? `${r.command.slice(0, 100)}...` : r.command}`,
    );
  lines.push('', 'Client addresses first seen in this window:');
  if (summary.newClients.length === 0) lines.push('  (none)');
  for (const c of summary.newClients) lines.push(`  ${pad(c.client, 40)}  ${pad(c.id, 18)}  ${localTime(c.first)}`);
  return `${lines.map(printable).join('\n')}\n`;
}
