/**
 * `ssh-dispatch status`: a monitoring plugin in the Nagios / Monitoring Plugins conventions.
 * Whatever happens, exactly one line on stdout and exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN:
 * a wrong command line or a log it cannot read is UNKNOWN with the reason, never a CRITICAL that
 * blames the backups (main.ts's exit 2 for usage errors is a CRITICAL to a monitoring system).
 */
import { closeSync, fstatSync, openSync } from 'node:fs';
import { accountLogs, accountOfLog, auditFiles, auditFilesSince, readRecords } from '../audit/read.js';
import { accountsOf, judged, Provenance } from '../audit/provenance.js';
import { DEFAULT_BURST, evaluateStatus, StatusBuilder, type StatusCheck } from '../audit/health.js';
import { DEFAULT_AUDIT_FILE, DEFAULT_POLICY_PATH, type Identity, type Policy } from '../policy/schema.js';
import { printable } from '../values/printable.js';
import { localDate, parseDuration } from '../values/units.js';
import { parseFlags, UsageError } from '../args.js';
import { accountOfGivenLog, auditLogPath } from './log-args.js';

export const STATUS_HELP = `Usage: ssh-dispatch status [--id ID]... [--rule RULE]... [--stale SPAN [--critical SPAN]]
                          [--burst N] [--rotated] [--log FILE] [--policy PATH]

A monitoring plugin (Nagios, Icinga, Naemon, and anything that runs their plugins): checks that
rules have succeeded recently enough, and that nothing else happened to them that the owner
should see. Always exactly one line on stdout, the state, what is wrong, and performance data
(per rule: its age in seconds, its failures and sessions in the period, its smallest success
with min-bytes, each with its thresholds), and the exit status:
  0 OK        every rule checked succeeded in time, and nothing below went wrong
  1 WARNING   some rule's last success is older than its period; or a run of it failed within
              the period, even if a later one succeeded (a stolen key's tiny push succeeds too);
              or it had more than --burst sessions in the period; or a success in the period
              wrote less than its min-bytes (or did not say how much); or records in an
              account's log claim it and do not count (foreign: ssh-dispatch logs marks them)
  2 CRITICAL  some rule's last success is older than twice its period (or --critical), or none
              is logged, or every run within the period failed
  3 UNKNOWN   the command line is wrong, the policy (the applied version keys serve) or the log
              cannot be read (run the check as a user that may read them), or there is nothing
              to check

Which rules, and against what:
  (no flags)        the rules that have expect-every in the policy (docs/policy.md), each
                    against its own period: WARNING past it, CRITICAL past twice it
  --id ID           only this identity's rules (repeatable)
  --rule RULE       only rules of this name (repeatable)
                    without --stale, --id and --rule still choose among the expect-every rules
  --stale SPAN      check every rule chosen (every rule of the policy without --id and --rule),
                    with expect-every or not, against SPAN: 26h for a nightly job (s, m, h, d, w)
  --critical SPAN   with --stale: CRITICAL past SPAN (default twice --stale)
  --burst N         WARNING past N sessions of one rule in one period (default ${DEFAULT_BURST}): a
                    thief that floods uploads to rotate history out (receive keep) shows here
Identities past their expires date are not checked.

A success is an end record with exit 0 (a program, an upload stored, a relay closed cleanly),
or an allowed decision of an execve rule (which writes no end record); an rsync dry run
(-n, --dry-run) never is. A failure is an end record that is no success (any non-zero exit).
Its bytes, for min-bytes: the end record's writes.bytes, else its bytes (receive).
Root's log counts whole; a record in an account's own log (audit.ACCOUNT.jsonl) counts only
for an identity whose accounts: lists that account, with that account as user (an identity
without accounts: counts in root's log only).

  --log FILE        the audit log (default: the policy's audit.file, else ${DEFAULT_AUDIT_FILE});
                    its rotated files (FILE.1, FILE.2.gz, ...) are read as far back as the
                    longest CRITICAL threshold reaches; an account's log named here is judged
                    as that account's
  --rotated         read all the rotated files, however old
  --policy PATH     the policy file or directory (default ${DEFAULT_POLICY_PATH})

  $ ssh-dispatch status --id host1-backup
  SSH-DISPATCH OK - the rule succeeded in time; oldest success host1-backup/nightly 8h26m ago | 'ok'=1;;;0;1 'warning'=0;;;0;1 'critical'=0;;;0;1 'host1-backup/nightly'=30412s;93600;187200;0 'host1-backup/nightly failed'=0;0;;0 'host1-backup/nightly sessions'=1;${DEFAULT_BURST};;0`;

function unknown(why: string): number {
  console.log(`SSH-DISPATCH UNKNOWN - ${printable(why)}`);
  return 3;
}

export async function runStatus(args: string[]): Promise<number> {
  try {
    return await check(args);
  } catch (error) {
    if (error instanceof UsageError) return unknown(`usage: ${error.message} (ssh-dispatch status --help)`);
    process.stderr.write(`ssh-dispatch status: ${(error as Error)?.stack ?? String(error)}\n`);
    return unknown(`internal error: ${(error as Error)?.message ?? String(error)}`);
  }
}

function span(flag: string, text: string | undefined): number | null {
  if (text === undefined) return null;
  const ms = parseDuration(text);
  if (ms === null || ms === 0) throw new UsageError(`${flag} ${text}: expected a span such as 26h (s, m, h, d, w)`);
  return ms;
}

function errorText(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM') return `permission denied (${code}): run the check as a user that may read the audit log`;
  return code ?? (error as Error).message;
}

/** Of the identities chosen, those past their expires date (not checked), and a check for each chosen rule of the others. */
function statusChecks(
  chosen: Identity[],
  rules: string[] | undefined,
  today: string,
  given: { staleMs: number | null; criticalMs: number | null; burst: number },
): { checks: StatusCheck[]; expired: Identity[] } {
  const { staleMs, criticalMs, burst } = given;
  const expired = chosen.filter(
    (identity) => identity.expires !== null && today > identity.expires && (!rules || identity.rules.some((r) => rules!.includes(r.name))),
  );
  const checks: StatusCheck[] = chosen
    .filter((identity) => !(identity.expires !== null && today > identity.expires))
    .flatMap((identity) =>
      identity.rules.filter((rule) => !rules || rules.includes(rule.name)).map((rule) => ({ id: identity.name, rule })),
    )
    .flatMap(({ id, rule }): StatusCheck[] => {
      // A compiled cache from before min-bytes has no minBytes: unchecked, as it was.
      const minBytes = rule.minBytes ?? null;
      if (staleMs !== null && criticalMs !== null) return [{ id, rule: rule.name, warnMs: staleMs, critMs: criticalMs, minBytes, burst }];
      return rule.expectEvery === null
        ? []
        : [{ id, rule: rule.name, warnMs: rule.expectEvery, critMs: 2 * rule.expectEvery, minBytes, burst }];
    });
  return { checks, expired };
}

/** How many of `files` are there (files of the log itself; `others`, accounts' logs, are only checked), or why one cannot be read. */
function probeFiles(files: string[], others: string[]): number | string {
  let present = 0;
  for (const file of [...files, ...others]) {
    try {
      const fd = openSync(file, 'r');
      try {
        if (!fstatSync(fd).isFile()) return `cannot read ${file}: not a file`;
      } finally {
        closeSync(fd);
      }
      if (files.includes(file)) present++;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return `cannot read ${file}: ${errorText(error)}`;
    }
  }
  return present;
}

async function check(args: string[]): Promise<number> {
  const { values } = parseFlags(args, {
    stale: { type: 'string' },
    critical: { type: 'string' },
    id: { type: 'string', multiple: true },
    rule: { type: 'string', multiple: true },
    burst: { type: 'string' },
    rotated: { type: 'boolean' },
    log: { type: 'string' },
    policy: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    console.log(STATUS_HELP);
    return 0;
  }
  const thresholds = statusThresholds(values);

  const where = await auditLogPath(values.log, values.policy);
  if ('error' in where) return unknown(where.error);
  const { path, policy } = where;
  if (!policy) return unknown(`the policy at ${values.policy ?? DEFAULT_POLICY_PATH} does not load (ssh-dispatch check says why)`);
  const now = new Date();
  const checks = chooseChecks(policy, values, thresholds, now);
  if (typeof checks === 'string') return unknown(checks);
  const sources = logSources(path, policy, values, checks, now);
  if (typeof sources === 'string') return unknown(sources);

  const builder = new StatusBuilder(checks, now);
  const provenance = new Provenance(accountsOf(policy));
  try {
    for (const source of sources)
      for await (const record of judged(readRecords(source.files, { skipped: 0 }), source.account, provenance)) builder.add(record);
  } catch (error) {
    return unknown(`cannot read ${path}: ${errorText(error)}`);
  }
  const result = evaluateStatus(checks, builder.result(), now, builder.readSince);
  console.log(result.line);
  return result.code;
}

/** --stale, --critical and --burst, checked against each other; a wrong one is a usage error (UNKNOWN). */
function statusThresholds(values: { stale?: string; critical?: string; burst?: string }): {
  staleMs: number | null;
  criticalMs: number | null;
  burst: number;
} {
  const staleMs = span('--stale', values.stale);
  const criticalFlag = span('--critical', values.critical);
  if (criticalFlag !== null && staleMs === null)
    throw new UsageError('--critical goes with --stale (an expect-every rule is CRITICAL past twice its period)');
  if (criticalFlag !== null && staleMs !== null && criticalFlag < staleMs)
    throw new UsageError(`--critical ${values.critical} is shorter than --stale ${values.stale}`);
  const criticalMs = criticalFlag ?? (staleMs === null ? null : 2 * staleMs);
  if (values.burst !== undefined && !/^[1-9][0-9]{0,5}$/.test(values.burst))
    throw new UsageError(`--burst ${values.burst}: expected a number of sessions, 1 or more`);
  const burst = values.burst === undefined ? DEFAULT_BURST : Number(values.burst);
  return { staleMs, criticalMs, burst };
}

/** Which rules, against what: the checks of --id and --rule among the policy's, or why there is nothing to check. */
function chooseChecks(
  policy: Policy,
  values: { id?: string[]; rule?: string[] },
  thresholds: { staleMs: number | null; criticalMs: number | null; burst: number },
  now: Date,
): StatusCheck[] | string {
  const today = localDate(now);
  const identities = [...policy.identities.values()];
  for (const id of values.id ?? []) if (!policy.identities.has(id)) return `no identity "${id}" in the policy`;
  const chosen = identities.filter((identity) => !values.id || values.id.includes(identity.name));
  for (const rule of values.rule ?? [])
    if (!chosen.some((identity) => identity.rules.some((r) => r.name === rule)))
      return `no rule "${rule}" in the ${values.id ? 'identities named' : 'policy'}`;
  const { checks, expired } = statusChecks(chosen, values.rule, today, thresholds);
  if (checks.length > 0) return checks;
  const skipped = expired.length > 0 ? `; expired, not checked: ${expired.map((i) => `${i.name} (after ${i.expires})`).join(', ')}` : '';
  if (thresholds.staleMs === null)
    return `nothing to check: no ${values.id || values.rule ? 'rule chosen' : 'rule of the policy'} has expect-every (set it in the policy, or give --stale)${skipped}`;
  return `nothing to check${skipped}`;
}

/**
 * Which files: the log, and the rotated ones the longest CRITICAL threshold reaches into, each
 * log with its account (null: root's), since an account's records count only as provenance.ts
 * says; or why they cannot be read.
 */
function logSources(
  path: string,
  policy: Policy,
  values: { log?: string; rotated?: boolean },
  checks: StatusCheck[],
  now: Date,
): { files: string[]; account: string | null }[] | string {
  const longest = Math.max(...checks.map((c) => c.critMs));
  let files: string[];
  let accountSources: { files: string[]; account: string | null }[] = [];
  try {
    const since = new Date(now.getTime() - longest);
    const filesOf = (log: string) => (values.rotated ? auditFiles(log, true) : auditFilesSince(log, since));
    files = filesOf(path);
    if (values.log === undefined)
      accountSources = accountLogs(path).map((log) => ({ files: filesOf(log), account: accountOfLog(path, log) }));
  } catch (error) {
    return `cannot read ${path}: ${errorText(error)}`;
  }
  // readRecords skips a file it cannot open; here that must be UNKNOWN, not "no success"
  // (an account's log too: its successes would be missed).
  const probed = probeFiles(
    files,
    accountSources.flatMap((source) => source.files),
  );
  if (typeof probed === 'string') return probed;
  const present = probed;
  // A missing log with rotated files beside it is an empty one (logrotate without `create`,
  // and no connection since); with none at all, the log is somewhere else or never written.
  if (present === 0 && accountSources.length === 0 && !auditFiles(path, true).some((file) => file !== path))
    return `no audit log at ${path} (--log, or the policy's audit.file)`;
  // --log naming an account's log (audit.backup.jsonl) reads it as that account's, never as root's.
  return [{ files, account: accountOfGivenLog(path, policy) }, ...accountSources];
}
