/**
 * What a sandboxed rule's paths hold of the secrets (act/sandbox.ts SECRETS): a rule that reads
 * them and does not say `secrets:` (its pulls of them fail, by design: the owner should choose),
 * one that serves them (its clients read password hashes and host keys), one that writes or
 * serves files over them (the program sees them covered).
 */
import type { Finding } from '../../policy/lint.js';
import { kindOf, type Rule } from '../../rules/kinds.js';
import { SECRETS } from '../../act/sandbox.js';
import { isWithin } from '../../values/paths.js';

/** The secrets that are, hold or lie in one of `paths`. */
function secretsIn(paths: readonly string[]): string[] {
  return SECRETS.filter((secret) => paths.some((path) => isWithin(path, secret) || isWithin(secret, path)));
}

function listed(secrets: readonly string[]): string {
  return secrets.length <= 4 ? secrets.join(', ') : `${secrets.slice(0, 4).join(', ')} and ${secrets.length - 4} more`;
}

export function secretsFindings(rule: Rule): Finding[] {
  const use = kindOf(rule.kind).sandbox(rule);
  if (use === null) return [];
  const warn = (id: Finding['id'], message: string): Finding[] => [
    { where: rule.where, level: 'warning', id, message: `rule "${rule.name}": ${message}` },
  ];
  const held = secretsIn(use.reads);
  if (held.length > 0 && use.secrets === null) {
    return warn(
      'secrets-unsaid',
      `its paths (${use.reads.join(', ')}) hold ${listed(held)}, which the sandbox withholds: a request that reads them fails (rsync exits 23, "Permission denied"); say secrets: serve to back them up, or secrets: withhold to keep them out`,
    );
  }
  if (held.length > 0 && use.secrets === 'serve')
    return warn(
      'secrets-served',
      `secrets: serve hands its clients ${listed(held)} (password hashes, host keys, service keys): a stolen key reads them`,
    );
  if (held.length > 0) return [];
  const covered = secretsIn(use.over);
  return covered.length > 0
    ? warn(
        'secrets-covered',
        `${use.over[0]} holds or lies in ${listed(covered)}, which the sandbox keeps covered: the program sees it empty`,
      )
    : [];
}
