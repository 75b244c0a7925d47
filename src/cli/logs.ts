/** `ssh-dispatch logs`: the audit log, filtered, as a table or JSON lines, optionally followed. */
import { accountLogs, auditFiles, followRecords, mergeByTime, readRecords, unreadableLog } from '../audit/read.js';
import { matches, parseWhen, TABLE_HEADER, tableRow, type AuditRecord, type RecordFilter } from '../audit/review.js';
import { toLogLine } from '../audit/escape.js';
import { parseFlags, UsageError } from './args.js';
import { auditLogPath } from './log-args.js';

export const LOGS_HELP = `Usage: ssh-dispatch logs [--since WHEN] [--until WHEN] [--id ID] [--rule RULE]
                        [--decision allow|deny|learn] [--client ADDR] [--session ID] [--cert SERIAL|ID]
                        [--json] [--follow] [--rotated] [--log FILE | --policy PATH]

Prints the audit log, oldest first: decision and end records, as a table (control characters
escaped), or with --json as JSON lines for jq.

  --since, --until WHEN   a span back from now (30m, 24h, 7d, 2w), a date (2026-11-24),
                          or an ISO time
  --id, --rule            one identity, one rule
  --decision              allow, deny or learn (decision records only)
  --client ADDR           client address prefix (decision records only)
  --session ID            one connection (a prefix of its session id is enough)
  --cert SERIAL|ID        the sessions of one OpenSSH user certificate, by its serial or its
                          key id (docs/fleet.md): what a certificate did before it was revoked
  --rotated               also read the rotated logs (audit.jsonl.1, audit.jsonl.2.gz, ...)
  --follow                then keep printing what is appended; survives logrotate (rename or
                          copytruncate); stop with Ctrl-C
  --log FILE              the log to read (default: the policy's audit.file, else
                          /var/log/ssh-dispatch/audit.jsonl)

Lines that are not JSON are skipped and counted on stderr. Output to a pipe that closes early
(ssh-dispatch logs | head) ends quietly with 0.
Exit status: 0; 1 when the log cannot be read (missing, not a file, or no permission: one line
on stderr says which and why; with --follow a missing log is waited for); 2 on a usage error.`;

export async function runLogs(args: string[]): Promise<number> {
  const { values } = parseFlags(args, {
    since: { type: 'string' },
    until: { type: 'string' },
    id: { type: 'string' },
    rule: { type: 'string' },
    decision: { type: 'string' },
    client: { type: 'string' },
    session: { type: 'string' },
    cert: { type: 'string' },
    json: { type: 'boolean' },
    follow: { type: 'boolean' },
    rotated: { type: 'boolean' },
    log: { type: 'string' },
    policy: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    console.log(LOGS_HELP);
    return 0;
  }
  const now = new Date();
  const when = (name: string, text: string | undefined) => {
    if (text === undefined) return undefined;
    const date = parseWhen(text, now);
    if (!date) throw new UsageError(`--${name} ${text}: expected a span (24h, 7d), a date (2026-11-24) or an ISO time`);
    return date;
  };
  if (values.decision !== undefined && !['allow', 'deny', 'learn'].includes(values.decision)) throw new UsageError('--decision: allow, deny or learn');
  const filter: RecordFilter = {
    since: when('since', values.since),
    until: when('until', values.until),
    id: values.id,
    rule: values.rule,
    decision: values.decision,
    client: values.client,
    session: values.session,
    cert: values.cert,
  };
  const { path } = await auditLogPath(values.log, values.policy);
  const files = auditFiles(path, values.rotated ?? false);
  // Root's log and each account's (install.sh --account): root's may not exist yet when only accounts connected.
  const accounts = values.log === undefined ? accountLogs(path) : [];
  const unreadable = unreadableLog(files, (values.follow ?? false) || accounts.length > 0);
  if (unreadable !== null) {
    process.stderr.write(`ssh-dispatch: ${unreadable}\n`);
    return 1;
  }
  const print = (record: AuditRecord) => {
    if (!matches(record, filter)) return;
    process.stdout.write(values.json ? toLogLine(record) : `${tableRow(record)}\n`);
  };
  const stats = { skipped: 0 };
  if (!values.json) process.stdout.write(`${TABLE_HEADER}\n`);
  // Merged by time.
  const sources = [readRecords(files, stats), ...accounts.map((log) => readRecords(auditFiles(log, values.rotated ?? false), stats))];
  for await (const record of sources.length === 1 ? sources[0]! : mergeByTime(sources)) print(record);
  if (stats.skipped > 0) process.stderr.write(`ssh-dispatch: ${stats.skipped} line(s) were not JSON records and were skipped\n`);
  if (values.follow) await followRecords(path, print, stats);
  return 0;
}
