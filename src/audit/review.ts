/**
 * Reading the audit log back, the pure part: which records a reader asks for (time windows,
 * record filters, the sessions that wrote a path). What counts as a success is audit/success.ts,
 * the table audit/log-table.ts, the summary audit/summary.ts, the monitoring verdict
 * audit/health.ts. audit/read.ts streams the records; cli/logs, summary and status print.
 */
import { parseDuration } from '../values/units.js';
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
