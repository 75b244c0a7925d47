/**
 * `ssh-dispatch check`: loads the policy files as they are now, with no side effect (`apply`
 * serves them), says whether they are the applied version, and reports what loads but is
 * probably not meant (policy/lint.ts), what the filesystem says about the rules' programs and
 * directories, and what sshd's settings allow.
 * Each kind of finding is a file of check/, each finding has an ID (docs/check.md).
 */
import { printable } from '../values/printable.js';
import { formatPolicyError } from '../values/policy-error.js';
import { lintPolicy } from '../policy/lint.js';
import { loadPolicy } from '../policy/load.js';
import { appliedStatus } from './applied-status.js';
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

/** The policy's own findings (its rules, on this host, and its logins): what `apply` refuses on. */
export function policyFindings(policy: Policy, policyPath: string): TextFinding[] {
  const context = { resolveProgram: resolvePath };
  const now = new Date();
  const ruleFindings = [
    ...lintPolicy(policy, now, context),
    ...rulesOnHostFindings(policy, context),
    ...sandboxFindings(policy, policyPath),
    ...writeRootsFindings(policy, policyPath),
    ...syslogTlsFindings(policy, now),
  ];
  return [...ruleFindings.map(ruleText), ...loginFindings(policy)];
}

/** Every finding, in the order check prints them: the policy's, then what lies outside it (sshd, pam_env, keys, accounts). */
function allFindings(policy: Policy, policyPath: string, flags: CheckFlags): TextFinding[] {
  return [
    ...policyFindings(policy, policyPath),
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
  const loaded = await loadPolicy(policyPath);
  if (!loaded.ok) {
    for (const error of loaded.errors) process.stdout.write(`${printable(formatPolicyError(error))}\n`);
    process.stdout.write(`${loaded.errors.length} error(s): "ssh-dispatch apply" would refuse these files\n`);
    process.stdout.write(`${appliedStatus(policyPath, null)}\n`);
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
  process.stdout.write(`${appliedStatus(policyPath, loaded.files ?? null)}\n`);
  return failed ? 1 : 0;
}
