/** `ssh-dispatch summary`: per identity and rule, what happened in a window. */
import { accountLogs, auditFiles, readRecords, unreadableLog } from '../audit/read.js';
import { formatSummary, parseWhen, SummaryBuilder } from '../audit/review.js';
import { parseFlags, UsageError } from './args.js';
import { auditLogPath } from './log-args.js';

export const SUMMARY_HELP = `Usage: ssh-dispatch summary [--since WHEN] [--json] [--rotated] [--log FILE | --policy PATH]

Per identity and rule: requests allowed, denied, failed (programs that exited non-zero, uploads
not stored, relays that could not connect), bytes moved, files (sftp rules: files read, written,
removed or renamed, and file requests refused), and the last success; then the most
frequent refused commands with their reasons, and the client addresses first seen in the window.

  --since WHEN   a span back from now (24h, 7d, 2w), a date or an ISO time (default 7d)
  --rotated      also read the rotated logs
  --json         one JSON object

Exit status: 0; 1 when the log cannot be read (missing, not a file, or no permission: one line
on stderr says which and why); 2 on a usage error.`;

export async function runSummary(args: string[]): Promise<number> {
  const { values } = parseFlags(args, { since: { type: 'string' }, json: { type: 'boolean' }, rotated: { type: 'boolean' }, log: { type: 'string' }, policy: { type: 'string' }, help: { type: 'boolean', short: 'h' } });
  if (values.help) {
    console.log(SUMMARY_HELP);
    return 0;
  }
  const window = values.since ?? '7d';
  const since = parseWhen(window, new Date());
  if (!since) throw new UsageError(`--since ${window}: expected a span (24h, 7d), a date or an ISO time`);
  const { path } = await auditLogPath(values.log, values.policy);
  const files = auditFiles(path, values.rotated ?? false);
  // Root's log and each account's (install.sh --account): root's may not exist yet when only accounts connected.
  const accounts = values.log === undefined ? accountLogs(path).flatMap((log) => auditFiles(log, values.rotated ?? false)) : [];
  const unreadable = unreadableLog(files, accounts.length > 0);
  if (unreadable !== null) {
    process.stderr.write(`ssh-dispatch: ${unreadable}\n`);
    return 1;
  }
  const builder = new SummaryBuilder(since);
  const stats = { skipped: 0 };
  for await (const record of readRecords([...files, ...accounts], stats)) builder.add(record);
  const summary = builder.result();
  process.stdout.write(values.json ? `${JSON.stringify({ since: since.toISOString(), ...summary })}\n` : formatSummary(summary, window));
  if (stats.skipped > 0) process.stderr.write(`ssh-dispatch: ${stats.skipped} line(s) were not JSON records and were skipped\n`);
  return 0;
}
