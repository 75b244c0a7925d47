/**
 * The audit log for people: `logs`'s table rows, local times, and the padded columns that
 * `logs` and `summary` share. Control characters the client sent are escaped on the way out.
 */
import { printable } from '../values/printable.js';
import type { LoggedRecord as AuditRecord } from './record-types.js';

/** A column of `width`: a longer text is kept whole (its row shifts), since a cut name or command could name another. */
export function pad(text: string, width: number): string {
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
