/** `ssh-dispatch status`: a monitoring check in the Nagios plugin conventions. */
import { auditFiles, readRecords } from '../audit/read.js';
import { evaluateStatus, SuccessTracker } from '../audit/review.js';
import { parseDuration } from '../values/units.js';
import { parseFlags, UsageError } from './args.js';
import { auditLogPath } from './log-args.js';

export const STATUS_HELP = `Usage: ssh-dispatch status --stale SPAN [--critical SPAN] [--id ID]... [--rule RULE]...
                          [--rotated] [--log FILE] [--policy PATH]

For monitoring (Nagios, Icinga, and anything that runs their plugins): checks that each rule of
the policy (or those chosen with --id and --rule) has succeeded within SPAN. One status line with
performance data, and the plugin exit status:
  0 OK        every rule succeeded within --stale
  1 WARNING   some rule's last success is older than --stale
  2 CRITICAL  some rule has not succeeded within --critical (default: twice --stale), or never
  3 UNKNOWN   the policy or the log cannot be read, or there is nothing to check
A success is an end record with exit 0 (a program, an upload stored, a relay closed cleanly),
or an allowed decision of an execve rule (which writes no end record); an rsync dry run
(-n, --dry-run) never is.

  --stale SPAN      such as 26h for a nightly job (s, m, h, d, w)`;

export async function runStatus(args: string[]): Promise<number> {
  const { values } = parseFlags(args, {
    stale: { type: 'string' },
    critical: { type: 'string' },
    id: { type: 'string', multiple: true },
    rule: { type: 'string', multiple: true },
    rotated: { type: 'boolean' },
    log: { type: 'string' },
    policy: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    console.log(STATUS_HELP);
    return 0;
  }
  const staleMs = values.stale === undefined ? null : parseDuration(values.stale);
  if (staleMs === null) throw new UsageError('--stale SPAN is required (such as 26h)');
  const criticalMs = values.critical === undefined ? 2 * staleMs : parseDuration(values.critical);
  if (criticalMs === null) throw new UsageError(`--critical ${values.critical}: expected a span such as 52h`);
  const { path, policy } = await auditLogPath(values.log, values.policy);
  if (!policy) {
    console.log('SSH-DISPATCH UNKNOWN - the policy does not load (ssh-dispatch check says why)');
    return 3;
  }
  const expected = [...policy.identities.values()]
    .filter((identity) => !values.id || values.id.includes(identity.name))
    .flatMap((identity) => identity.rules.map((rule) => ({ id: identity.name, rule: rule.name })))
    .filter(({ rule }) => !values.rule || values.rule.includes(rule));
  const lastSuccess = new Map<string, string>();
  const stats = { skipped: 0 };
  const successes = new SuccessTracker();
  try {
    for await (const record of readRecords(auditFiles(path, values.rotated ?? false), stats)) {
      if (!successes.isSuccess(record)) continue;
      const key = `${String(record.id)}\0${String(record.rule)}`;
      const ts = String(record.ts);
      if ((lastSuccess.get(key) ?? '') < ts) lastSuccess.set(key, ts);
    }
  } catch (error) {
    console.log(`SSH-DISPATCH UNKNOWN - cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    return 3;
  }
  const result = evaluateStatus(expected, lastSuccess, new Date(), staleMs, criticalMs);
  console.log(result.line);
  return result.code;
}
