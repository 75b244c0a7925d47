/** `ssh-dispatch replay`: the recorded requests decided again under the policy files as they are now. */
import { readRecords, unreadableLog } from '../audit/read.js';
import { accountsOf, judged, Provenance } from '../audit/provenance.js';
import { lineMayBeDecision, Replay, type ReplayOptions } from '../audit/replay.js';
import { replayJson, replayText } from '../audit/replay-table.js';
import { parseWhen } from '../audit/review.js';
import { decide } from '../decide/decide.js';
import { loadApplied, loadPolicy } from '../policy/load.js';
import type { Request } from '../request/request.js';
import { DEFAULT_POLICY_PATH } from '../policy/schema.js';
import { formatPolicyError } from '../values/policy-error.js';
import { printable } from '../values/printable.js';
import { parseFlags, UsageError } from '../args.js';
import { logSources } from './log-args.js';

export const REPLAY_HELP = `Usage: ssh-dispatch replay [--days N | --since WHEN] [--json] [--log FILE] [--policy PATH]

Decides the requests of the audit log again under the policy files as they are now (an edit
not applied yet) and under the version keys serve now (ssh-dispatch apply), and lists those whose
decision would change: the identity, the command, before (the served version's decision; the
recorded one when nothing is applied) and after (allow by rule NAME, or deny: REASON), how many
times it was seen, first and last. A request refused before and after, for another reason, is
counted, not listed.

What is decided again is the policy's part of a decision: who is asking (identity, expires, from,
keys, accounts, certificate principals), the command and the rules, at the time of each record.
Not replayed: what only the host decides (max-sessions, single-run, the sandbox, paths on disk,
rsync's wildcard expansion: a rule that allows now may still be refused there), and refusals
before the policy decided (the environment, a policy that did not load, the log). Records refused
so are counted by reason at the end, with learn-mode records, requests cut to fit the log and
records of an account's log that do not count (logs marks them). More: docs/replay.md.

  --days N       the records of the last N days (default 7)
  --since WHEN   instead: a span back from now (24h, 2w), a date or an ISO time
  --json         one JSON object
  --log FILE     the log to read, alone (default: the audit.file of the version keys serve, the
                 files' while nothing is applied; the accounts' logs beside it, and the rotated
                 files the window reaches into)
  --policy PATH  the policy to decide under (default /etc/ssh-dispatch/policies)

Exit status: 0 when no decision would change; 1 when one would (or the list was cut, past
100000 distinct changed requests); 2 on a usage error, when the policy does not load, or when a
log cannot be read (one line on stderr says which and why).`;

/** Text made piece by piece, written in 64 KiB writes (to a pipe or a file, synchronous on Linux: memory stays the chunk's). */
function writeAll(pieces: Iterable<string>): void {
  let chunk = '';
  for (const piece of pieces) {
    chunk += piece;
    if (chunk.length < 65_536) continue;
    process.stdout.write(chunk);
    chunk = '';
  }
  if (chunk !== '') process.stdout.write(chunk);
}

/** Distinct changed requests kept at most: past it the list is cut and says so. */
const MAX_CHANGES = 100_000;

/** The window: --days N, or --since WHEN; 7 days by default. */
function windowOf(values: { days?: string; since?: string }, now: Date): { since: Date; window: string } {
  if (values.days !== undefined && values.since !== undefined) throw new UsageError('give --days or --since, not both');
  if (values.since !== undefined) {
    const since = parseWhen(values.since, now);
    if (since === null) throw new UsageError(`--since ${values.since}: expected a span (24h, 7d), a date or an ISO time`);
    return { since, window: values.since };
  }
  const days = values.days ?? '7';
  if (!/^[1-9][0-9]{0,3}$/.test(days)) throw new UsageError(`--days ${days}: expected a whole number of days, 1 to 9999`);
  return { since: new Date(now.getTime() - Number(days) * 86_400_000), window: `${days} day${days === '1' ? '' : 's'}` };
}

export async function runReplay(args: string[]): Promise<number> {
  const { values } = parseFlags(args, {
    days: { type: 'string' },
    since: { type: 'string' },
    json: { type: 'boolean' },
    log: { type: 'string' },
    policy: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    console.log(REPLAY_HELP);
    return 0;
  }
  const { since, window } = windowOf(values, new Date());
  const policyPath = values.policy ?? DEFAULT_POLICY_PATH;
  const loaded = await loadPolicy(policyPath);
  if (!loaded.ok) {
    for (const error of loaded.errors) process.stderr.write(`${printable(formatPolicyError(error))}\n`);
    process.stderr.write(`ssh-dispatch: the policy at ${policyPath} does not load: nothing to decide the records under\n`);
    return 2;
  }
  // Before: what keys serve now, the applied version, decided again; with none applied, the
  // decision each record holds.
  const applied = await loadApplied(policyPath);
  if (!applied.ok && !applied.notApplied) {
    process.stderr.write(`ssh-dispatch: the applied policy cannot be read (${printable(applied.errors[0]!.message)})\n`);
    return 2;
  }
  // The records keys wrote are in the log the served version names, not one an edit moves it to
  // (found in review: a new, empty log replayed as "nothing changes").
  const found = await logSources({ log: values.log, policy: values.policy }, since, false, applied.ok ? applied.policy : loaded.policy);
  // Every log is read whole or the run fails: a log left out would make "nothing changes" a lie.
  const unreadable = 'error' in found ? found.error : found.sources.map((source) => unreadableLog(source.files, true)).find(Boolean);
  if (unreadable || 'error' in found) {
    process.stderr.write(`ssh-dispatch: ${unreadable}\n`);
    return 2;
  }
  const policy = loaded.policy;
  const options: ReplayOptions = {
    decideAfter: (request) => decide(policy, request),
    ...(applied.ok ? { decideBefore: (request: Request) => decide(applied.policy, request) } : {}),
    since,
    maxChanges: MAX_CHANGES,
  };
  const before = applied.ok ? `the served version ${applied.version}` : 'the recorded decisions (nothing is applied)';
  const replay = new Replay(options);
  const stats = { skipped: 0 };
  const provenance = new Provenance(accountsOf(found.policy));
  for (const source of found.sources) {
    try {
      for await (const record of judged(readRecords(source.files, stats, lineMayBeDecision), source.account, provenance))
        replay.add(record);
    } catch (error) {
      process.stderr.write(
        `ssh-dispatch: ${source.log} (or a rotated file of it) could not be read to the end: ${(error as Error).message}\n`,
      );
      return 2;
    }
  }
  const result = replay.result();
  writeAll(
    values.json
      ? replayJson(result, { policy: policyPath, since: since.toISOString(), before: applied.ok ? applied.version : null })
      : replayText(result, { policy: policyPath, since, window, maxChanges: MAX_CHANGES, before }),
  );
  if (stats.skipped > 0) process.stderr.write(`ssh-dispatch: ${stats.skipped} line(s) were not JSON records and were skipped\n`);
  return result.changes.length > 0 || result.truncated > 0 ? 1 : 0;
}
