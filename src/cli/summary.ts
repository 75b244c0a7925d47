/** `ssh-dispatch summary`: per identity and rule, what happened in a window. */
import { readRecords } from '../audit/read.js';
import { accountsOf, judged, Provenance } from '../audit/provenance.js';
import { parseWhen } from '../audit/review.js';
import { formatSummary, SummaryBuilder } from '../audit/summary.js';
import { parseFlags, UsageError } from '../args.js';
import { logSources } from './log-args.js';

export const SUMMARY_HELP = `Usage: ssh-dispatch summary [--since WHEN] [--json] [--rotated] [--log FILE | --policy PATH]

Per identity and rule: requests allowed, denied, failed (programs that exited non-zero, uploads
not stored, relays that could not connect), bytes moved, files (sftp rules: files read, written,
removed or renamed, and file requests refused), the last success and, beside it, the last
failure with its exit status and outcome; then the most frequent refused commands with their
reasons, and the client addresses first seen in the window.

Root's log counts whole. A record in an account's own log (audit.ACCOUNT.jsonl) counts only for
an identity whose accounts: lists that account, with that account as user; the others are
foreign: counted apart, never in the table (ssh-dispatch logs marks them).

  --since WHEN   a span back from now (24h, 7d, 2w), a date or an ISO time (default 7d)
  --rotated      read all the rotated logs (audit.jsonl.1, audit.jsonl.2.gz, ...); without it,
                 those the --since window reaches into (by their time of last write)
  --json         one JSON object
  --log FILE     the log to read, alone (default: the policy's audit.file, and the accounts'
                 logs beside it)
  --policy PATH  the policy whose audit.file is read (default /etc/ssh-dispatch/policies)

Exit status: 0; 1 when the log cannot be read (missing, not a file, or no permission: one line
on stderr says which and why), or when the policy does not load and so names no log (give
--log FILE to read one anyway); 2 on a usage error.`;

export async function runSummary(args: string[]): Promise<number> {
  const { values } = parseFlags(args, {
    since: { type: 'string' },
    json: { type: 'boolean' },
    rotated: { type: 'boolean' },
    log: { type: 'string' },
    policy: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    console.log(SUMMARY_HELP);
    return 0;
  }
  const window = values.since ?? '7d';
  const since = parseWhen(window, new Date());
  if (!since) throw new UsageError(`--since ${window}: expected a span (24h, 7d), a date or an ISO time`);
  const found = await logSources(values, since, false);
  if ('error' in found) {
    process.stderr.write(`ssh-dispatch: ${found.error}\n`);
    return 1;
  }
  const { policy, sources } = found;
  const builder = new SummaryBuilder(since);
  const stats = { skipped: 0 };
  // An account's records count as audit/provenance.ts says; --log naming an account's log reads it as the account's.
  const provenance = new Provenance(accountsOf(policy));
  for (const source of sources)
    for await (const record of judged(readRecords(source.files, stats), source.account, provenance)) builder.add(record);
  const summary = builder.result();
  process.stdout.write(values.json ? `${JSON.stringify({ since: since.toISOString(), ...summary })}\n` : formatSummary(summary, window));
  if (stats.skipped > 0) process.stderr.write(`ssh-dispatch: ${stats.skipped} line(s) were not JSON records and were skipped\n`);
  return 0;
}
