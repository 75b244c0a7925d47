/**
 * Each rule against this host, through its kinds' rows: the paths its sandbox binds, what its
 * kind finds here (host/kinds.ts: the installed rsync, an exec program and its repository), and
 * its data directory.
 */
import type { Finding } from '../../policy/lint.js';
import type { Policy } from '../../policy/schema.js';
import type { LintContext } from '../../rules/kinds.js';
import { hostRowOf } from '../../host/kinds.js';
import { dataDirectoryFindings, logPlace } from './data-directory.js';
import { sandboxPathFindings } from './sandbox-paths.js';

export function rulesOnHostFindings(policy: Policy, context: LintContext): Finding[] {
  const log = logPlace(policy);
  return [...policy.identities.values()].flatMap((identity) =>
    identity.rules.flatMap((rule) => [
      ...sandboxPathFindings(rule),
      ...(hostRowOf(rule.kind).findings?.(rule, context) ?? []),
      ...dataDirectoryFindings(rule, log),
    ]),
  );
}
