/**
 * Whether the sandboxed rules can run here: bwrap is there and builds a namespace (tried, as the
 * running user), and whether another account could (user namespaces). A rule that cannot is an
 * error: every request for it is denied (sandbox-unavailable) or fails (sandbox-failed).
 */
import type { Finding } from '../../policy/lint.js';
import type { Policy } from '../../policy/schema.js';
import { kindOf } from '../../rules/kinds.js';
import { BWRAP, ROOT_CAPS } from '../../rules/sandbox.js';
import { bwrapArgs, hostLayout } from '../../act/sandbox.js';
import { sandboxUnavailable } from '../../host/sandbox-available.js';
import { childProcess } from '../../lazy-builtins.js';
import { runningUid } from '../../trust.js';
import { secretsFindings } from './secrets.js';

export function sandboxFindings(policy: Policy, policyPath: string): Finding[] {
  const rules = [...policy.identities.values()]
    .flatMap((identity) => identity.rules)
    .filter((rule) => kindOf(rule.kind).sandbox(rule) !== null);
  if (rules.length === 0) return [];
  const where = rules[0]!.where;
  const names = rules.length === 1 ? `rule "${rules[0]!.name}"` : `${rules.length} rules (the first: "${rules[0]!.name}")`;
  const findings: Finding[] = rules.flatMap(secretsFindings);
  const missing = sandboxUnavailable(runningUid());
  if (missing)
    return [
      ...findings,
      {
        where,
        level: 'error',
        id: 'bwrap-unavailable',
        message: `${names} run in the sandbox, and ${missing}: every request for them is denied (sandbox-unavailable)`,
      },
    ];
  // The namespace a pull gets, around /usr/bin/true.
  const args = bwrapArgs(
    {
      sandbox: { read: [], write: [], rootCaps: [...ROOT_CAPS.read] },
      runtime: [],
      read: [],
      write: [],
      cwd: null,
      statusFd: null,
      argv: ['/usr/bin/true'],
    },
    hostLayout(),
  );
  const probe = childProcess().spawnSync(BWRAP, args, { encoding: 'utf8', timeout: 10_000, env: { PATH: '/usr/bin:/bin' } });
  if (probe.status !== 0) {
    const said = (probe.stderr ?? '').trim().split('\n')[0] || (probe.error?.message ?? `exit ${probe.status}`);
    return [
      ...findings,
      {
        where,
        level: 'error',
        id: 'bwrap-probe-failed',
        message: `${names} run in the sandbox, and bwrap could not build one here (${said}): nothing will run (sandbox-failed)`,
      },
    ];
  }
  const otherAccounts = runningUid() === 0 ? sandboxUnavailable(1) : null;
  if (otherAccounts)
    findings.push({
      where: { file: policyPath, line: 0 },
      level: 'warning',
      id: 'sandbox-root-only',
      message: `sandboxed rules work for root here, not for other accounts: ${otherAccounts}`,
    });
  return findings;
}
