/**
 * `ssh-dispatch check`: loads the policy exactly as a connection would, compiles it for fast
 * connection starts, and reports what loads but is probably not meant (policy/lint.ts), what the
 * filesystem says about the rules' programs and directories, and what sshd's settings allow.
 * Each kind of finding is a file of check/, each finding has an ID (docs/check.md).
 */
import { printable } from '../values/printable.js';
import { formatPolicyError } from '../values/policy-error.js';
import { lintPolicy } from '../policy/lint.js';
import { loadPolicy } from '../policy/load.js';
import { DEFAULT_POLICY_PATH, type Policy } from '../policy/schema.js';
import { parseFlags } from '../args.js';
import { authorizedKeysFindings } from './check-keys.js';
import { loginFindings } from './check-fleet.js';
import { accountFindings, listedAccountFindings } from './check/accounts.js';
import { findingLine, ruleText, type TextFinding } from './check/finding.js';
import { CHECK_HELP } from './check/help.js';
import { resolvePath } from './check/resolve-path.js';
import { pamEnvFindings } from './check/pam-env.js';
import { rulesOnHostFindings } from './check/rules-on-host.js';
import { sandboxFindings } from './check/sandbox.js';
import { sshdFindings } from './check/sshd.js';
import { syslogTlsFindings } from './check/syslog-tls.js';
import { writeRootsFindings } from './check/write-roots.js';

interface CheckFlags {
  as?: string[];
  'sshd-config'?: string;
  'authorized-keys'?: string[];
}

/** Every finding, in the order check prints them: the rules (the policy, then this host), then what lies outside the policy. */
function allFindings(policy: Policy, policyPath: string, flags: CheckFlags): TextFinding[] {
  const context = { resolveProgram: resolvePath };
  const now = new Date();
  const ruleFindings = [
    ...lintPolicy(policy, now, context),
    ...rulesOnHostFindings(policy, context),
    ...sandboxFindings(policy, policyPath),
    ...writeRootsFindings(policy, policyPath),
    ...syslogTlsFindings(policy, now),
  ];
  return [
    ...ruleFindings.map(ruleText),
    ...loginFindings(policy),
    ...sshdFindings(flags['sshd-config'], policy),
    ...pamEnvFindings(),
    ...(flags['authorized-keys'] ?? []).flatMap((file) => authorizedKeysFindings(file, policy)),
    ...(flags.as ?? []).flatMap((user) => accountFindings(user, policy)),
    ...listedAccountFindings(policy, flags.as ?? []),
  ];
}

/** The summary line, and whether check fails: "ok" only when there is nothing to read above it (a summary that says ok under findings gets skimmed as ok). */
function verdict(findings: readonly TextFinding[], strict: boolean): { failed: boolean; summary: string; counted: string } {
  const unsafe = findings.filter((f) => f.level === 'unsafe').length;
  const errors = findings.filter((f) => f.level === 'error').length;
  const warnings = findings.length - unsafe - errors;
  const failed = unsafe > 0 || errors > 0 || (strict && warnings > 0);
  const summary =
    unsafe > 0
      ? `${unsafe} UNSAFE finding(s)`
      : errors > 0
        ? `${errors} error(s)`
        : warnings > 0
          ? `${warnings} warning(s)${strict ? ' (--strict: failing)' : ''}`
          : 'ok';
  const counted = [
    unsafe > 0 && errors > 0 ? `${errors} error(s)` : '',
    (unsafe > 0 || errors > 0) && warnings > 0 ? `${warnings} warning(s)` : '',
  ]
    .filter(Boolean)
    .map((c) => `; ${c}`)
    .join('');
  return { failed, summary, counted };
}

export async function runCheck(args: string[]): Promise<number> {
  const { values } = parseFlags(args, {
    policy: { type: 'string' },
    as: { type: 'string', multiple: true },
    'sshd-config': { type: 'string' },
    'authorized-keys': { type: 'string', multiple: true },
    strict: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    console.log(CHECK_HELP);
    return 0;
  }
  const policyPath = values.policy ?? DEFAULT_POLICY_PATH;
  const loaded = await loadPolicy(policyPath, { writeCache: true });
  if (!loaded.ok) {
    for (const error of loaded.errors) process.stdout.write(`${printable(formatPolicyError(error))}\n`);
    process.stdout.write(`${loaded.errors.length} error(s): every request would be denied\n`);
    return 1;
  }
  const { policy } = loaded;
  const findings = allFindings(policy, policyPath, values);
  for (const finding of findings) process.stdout.write(`${findingLine(finding)}\n`);
  const rules = [...policy.identities.values()].reduce((n, identity) => n + identity.rules.length, 0);
  const { failed, summary, counted } = verdict(findings, values.strict === true);
  process.stdout.write(
    `${summary}: ${policy.identities.size} identities, ${rules} rules in ${policy.files.length} file(s); audit log ${policy.audit.file}${counted}\n`,
  );
  if (loaded.cache === 'not written')
    process.stdout.write('note: the compiled cache could not be written beside the policy; connections will parse the YAML each time\n');
  // Keys with --approved serve what passed here, and only that.
  if (!failed && loaded.approve) {
    const approval = loaded.approve();
    if (approval === 'approved') process.stdout.write('approved: keys with --approved serve this version of the policy from now on\n');
    else if (approval !== 'unchanged') process.stdout.write(`note: could not approve the policy for --approved keys (${approval})\n`);
  }
  return failed ? 1 : 0;
}
