/**
 * The file server's report to the dispatcher, one JSON line each on fd 3: a FileEvent for each
 * thing done or refused, then, last, `{"summary": FileSummary}`. Written by serialiseReport (the
 * server, src/serve-files.ts), read by readReport (the dispatcher, act/files-session.ts).
 *
 * The server parses the client's bytes, so it is less trusted than the dispatcher: every line is
 * read like input, each field checked against what the server can send for that op, and a
 * malformed one is refused with why (the dispatcher counts it as `malformed`). An event is built
 * from the fields checked, so nothing else a line carries reaches the audit log.
 */
import { FILE_OPS, SESSION_ENDS, type FileEvent, type FileSummary } from './events.js';
import { isCount, isOneOf, objectWith, parseJson } from './json-fields.js';
import { REFUSALS } from './policy.js';

export type ServerReport = { kind: 'event'; event: FileEvent } | { kind: 'summary'; summary: FileSummary };

export type ReadReport = { ok: true; report: ServerReport } | { ok: false; error: string };

const MAX_PATH = 4096;

const isPath = (value: unknown): value is string => typeof value === 'string' && value.startsWith('/');
/** A path as long as a client likes (a refusal comes before any look at the disk): its head, marked as cut. */
const bounded = (path: string) => (path.length <= MAX_PATH ? path : `${path.slice(0, MAX_PATH)}...(${path.length} characters)`);

/** One line of the report, without its newline. */
export function serialiseReport(report: ServerReport): string {
  if (report.kind === 'summary') {
    const { counts, bytesRead, bytesWritten, refusals, refusalsUnreported, ended, detail } = report.summary;
    const { read, write, remove, rename, mkdir, rmdir, setstat } = counts;
    const summary: FileSummary = {
      counts: { read, write, remove, rename, mkdir, rmdir, setstat },
      bytesRead,
      bytesWritten,
      refusals,
      refusalsUnreported,
      ended,
      ...(detail !== undefined ? { detail } : {}),
    };
    return JSON.stringify({ summary });
  }
  return JSON.stringify(eventOf(report.event));
}

/** One line of the report, every field checked; else why it is refused. */
export function readReport(line: string): ReadReport {
  const value = parseJson(line);
  if (value === undefined) return { ok: false, error: 'not JSON' };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, error: 'not a JSON object' };
  if ('summary' in value) {
    const summary = readSummary(value);
    return typeof summary === 'string' ? { ok: false, error: summary } : { ok: true, report: { kind: 'summary', summary } };
  }
  const event = readEvent(value as Record<string, unknown>);
  return typeof event === 'string' ? { ok: false, error: event } : { ok: true, report: { kind: 'event', event } };
}

/**
 * An event from its fields, each where the server puts it: `to` on a rename, `bytes` on a read or
 * write done, `created` on a write done, `replaced` on a write or rename done. Keys the reader does
 * not know are left behind, not refused.
 */
function readEvent(value: Record<string, unknown>): FileEvent | string {
  const { op, path, to, bytes, refused, created, replaced } = value;
  if (!isOneOf(op, FILE_OPS)) return `op must be one of ${FILE_OPS.join(', ')}`;
  if (!isPath(path)) return 'path must be an absolute path';
  if (refused !== undefined && !isOneOf(refused, REFUSALS)) return 'refused must be a refusal code';
  const done = refused === undefined;
  if (to !== undefined && (op !== 'rename' || !isPath(to))) return 'to must be an absolute path, on a rename';
  if (op === 'rename' && done && to === undefined) return 'a rename done must say to';
  if (bytes !== undefined && (!done || (op !== 'read' && op !== 'write') || !isCount(bytes)))
    return 'bytes must be a whole number, on a read or write done';
  if (created !== undefined && (created !== true || !done || op !== 'write')) return 'created must be true, on a write done';
  if (replaced !== undefined && (replaced !== true || !done || (op !== 'write' && op !== 'rename')))
    return 'replaced must be true, on a write or rename done';
  if (created === true && replaced === true) return 'a write either created or replaced its file';
  return eventOf({
    op,
    path: bounded(path),
    ...(to !== undefined ? { to: bounded(to) } : {}),
    ...(bytes !== undefined ? { bytes } : {}),
    ...(refused !== undefined ? { refused } : {}),
    ...(created === true ? { created } : {}),
    ...(replaced === true ? { replaced } : {}),
  });
}

/** An event's fields, in one order, and only those. */
function eventOf(event: FileEvent): FileEvent {
  const { op, path, to, bytes, refused, created, replaced } = event;
  return {
    op,
    path,
    ...(to !== undefined ? { to } : {}),
    ...(bytes !== undefined ? { bytes } : {}),
    ...(refused !== undefined ? { refused } : {}),
    ...(created === true ? { created } : {}),
    ...(replaced === true ? { replaced } : {}),
  };
}

function readSummary(value: object): FileSummary | string {
  const line = objectWith(value, 'the summary line', ['summary']);
  if (typeof line === 'string') return line;
  const summary = objectWith(
    line.summary,
    'summary',
    ['counts', 'bytesRead', 'bytesWritten', 'refusals', 'refusalsUnreported', 'ended'],
    ['detail'],
  );
  if (typeof summary === 'string') return summary;
  const counts = countsOf(summary.counts);
  if (typeof counts === 'string') return counts;
  const { bytesRead, bytesWritten, refusals, refusalsUnreported, ended, detail } = summary;
  if (!isCount(bytesRead) || !isCount(bytesWritten)) return 'summary.bytesRead and summary.bytesWritten must be whole numbers';
  if (!isCount(refusals) || !isCount(refusalsUnreported)) return 'summary.refusals and summary.refusalsUnreported must be whole numbers';
  if (!isOneOf(ended, SESSION_ENDS)) return `summary.ended must be one of ${SESSION_ENDS.join(', ')}`;
  // The detail may quote the client (a protocol error's file name): text, of any length a line holds.
  if (detail !== undefined && typeof detail !== 'string') return 'summary.detail must be text';
  return { counts, bytesRead, bytesWritten, refusals, refusalsUnreported, ended, ...(detail !== undefined ? { detail } : {}) };
}

function countsOf(value: unknown): FileSummary['counts'] | string {
  const counts = objectWith(value, 'summary.counts', FILE_OPS);
  if (typeof counts === 'string') return counts;
  const checked: Partial<FileSummary['counts']> = {};
  for (const op of FILE_OPS) {
    const count = counts[op];
    if (!isCount(count)) return `summary.counts.${op} must be a whole number`;
    checked[op] = count;
  }
  return checked as FileSummary['counts'];
}
