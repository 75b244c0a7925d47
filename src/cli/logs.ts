/** `ssh-dispatch logs`: the audit log, filtered, as a table or JSON lines, optionally followed. */
import { accountOfLog, followLogs, followRecords, mergeByTime, readRecords, type ReadStats } from '../audit/read.js';
import { accountsOf, judge, judged, Provenance } from '../audit/provenance.js';
import { matches, parseWhen, wrotePath, type AuditRecord, type RecordFilter } from '../audit/review.js';
import { TABLE_HEADER, tableRow } from '../audit/log-table.js';
import { toLogLine } from '../audit/escape.js';
import { parseFlags, UsageError } from '../args.js';
import { logSources } from './log-args.js';

export const LOGS_HELP = `Usage: ssh-dispatch logs [--since WHEN] [--until WHEN] [--id ID] [--rule RULE]
                        [--decision allow|deny|learn] [--client ADDR] [--session ID] [--cert SERIAL|ID]
                        [--path PATH] [--json] [--follow] [--rotated] [--log FILE | --policy PATH]

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
  --path PATH             the sessions that wrote PATH (or under it, a directory), all their
                          records: end records whose writes lists name it (created, replaced,
                          removed), and sftp/scp file records of a write to it (not a read, not
                          refused). PATH as the records name it, the rule's view (the leading /
                          is optional); with --since or --rotated to look back past the last rotation
  --rotated               read all the rotated logs (audit.jsonl.1, audit.jsonl.2.gz, ...);
                          without it, those the --since window reaches into (by their time
                          of last write), and none without --since
  --follow                then keep printing what is appended to root's log and to each
                          account's (one created later too); survives logrotate (rename or
                          copytruncate); stop with Ctrl-C
  --log FILE              the log to read, alone (default: the policy's audit.file, and the
                          accounts' logs beside it)
  --policy PATH           the policy whose audit.file is read (default /etc/ssh-dispatch/policies)

A record in an account's own log (audit.ACCOUNT.jsonl) that does not count (its identity's
accounts: does not list the account, an identity without accounts:, another user, or a session
whose decision did not count) is foreign: marked [FOREIGN: why] at the end of its row, and with
"foreign": "why" in --json; status and summary never count it.

Lines that are not JSON records are skipped and counted on stderr. Output to a pipe that closes early
(ssh-dispatch logs | head) ends quietly with 0.
Exit status: 0; 1 when the log cannot be read (missing, not a file, or no permission: one line
on stderr says which and why; with --follow a missing log is waited for), or when the policy does
not load and so names no log (give --log FILE to read one anyway); 2 on a usage error.`;

/** The records the flags choose (--since, --until, --id, --rule, --decision, --client, --session, --cert). */
function recordFilter(
  values: Partial<Record<'since' | 'until' | 'id' | 'rule' | 'decision' | 'client' | 'session' | 'cert', string>>,
  now: Date,
): RecordFilter {
  const when = (name: string, text: string | undefined) => {
    if (text === undefined) return undefined;
    const date = parseWhen(text, now);
    if (!date) throw new UsageError(`--${name} ${text}: expected a span (24h, 7d), a date (2026-11-24) or an ISO time`);
    return date;
  };
  if (values.decision !== undefined && !['allow', 'deny', 'learn'].includes(values.decision))
    throw new UsageError('--decision: allow, deny or learn');
  return {
    since: when('since', values.since),
    until: when('until', values.until),
    id: values.id,
    rule: values.rule,
    decision: values.decision,
    client: values.client,
    session: values.session,
    cert: values.cert,
  };
}

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
    path: { type: 'string' },
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
  let filter = recordFilter(values, new Date());
  if (values.path !== undefined && values.follow)
    throw new UsageError('--path goes without --follow (the sessions are found in what is written so far)');
  if (values.path === '') throw new UsageError('--path: expected a path, as the records name it');
  const found = await logSources(values, filter.since, values.follow ?? false);
  if ('error' in found) {
    process.stderr.write(`ssh-dispatch: ${found.error}\n`);
    return 1;
  }
  const { path, policy, sources } = found;
  const print = (record: AuditRecord) => {
    if (!matches(record, filter)) return;
    process.stdout.write(values.json ? toLogLine(record) : `${tableRow(record)}\n`);
  };
  const stats = { skipped: 0 };
  // Each log judged on its own (an account's records count only as provenance.ts says), then merged by time.
  const all = (counted: ReadStats, provenance: Provenance) => {
    const read = sources.map((source) => judged(readRecords(source.files, counted), source.account, provenance));
    return read.length === 1 ? read[0]! : mergeByTime(read);
  };
  if (values.path !== undefined) {
    // A first pass finds the sessions (their decision comes before the end record that names the path).
    const sessions = { counted: new Set<string>(), foreign: new Set<string>() };
    for await (const record of all({ skipped: 0 }, new Provenance(accountsOf(policy)))) {
      if (wrotePath(record, values.path) && typeof record.session === 'string')
        (record.foreign === undefined ? sessions.counted : sessions.foreign).add(record.session);
    }
    filter = { ...filter, sessions };
  }
  if (!values.json) process.stdout.write(`${TABLE_HEADER}\n`);
  const provenance = new Provenance(accountsOf(policy));
  for await (const record of all(stats, provenance)) print(record);
  if (stats.skipped > 0) process.stderr.write(`ssh-dispatch: ${stats.skipped} line(s) were not JSON records and were skipped\n`);
  if (values.follow) {
    // Judged like the rest, by the same judge: it knows the sessions whose decisions it has read.
    // Every account's log is followed too (one that appears later as well), unless --log names one log.
    const account = sources[0]!.account;
    if (values.log !== undefined) await followRecords(path, (record) => print(judge(record, account, provenance)), stats);
    else await followLogs(path, (record, log) => print(judge(record, log === path ? account : accountOfLog(path, log), provenance)), stats);
  }
  return 0;
}
