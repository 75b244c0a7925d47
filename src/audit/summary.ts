/**
 * `summary`'s reduction of the records, the pure part: per identity and rule what was allowed,
 * denied and failed, the most frequent refusals, and the clients first seen in the window.
 */
import { printable } from '../values/printable.js';
import { localTime, pad } from './log-table.js';
import type { LoggedRecord as AuditRecord } from './record-types.js';
import { failed, SuccessTracker } from './success.js';

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
