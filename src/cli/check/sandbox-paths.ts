/** The paths a sandboxed rule's program is given (bwrap binds them): each must exist, or nothing runs. */
import { existsSync } from 'node:fs';
import type { Finding } from '../../policy/lint.js';
import { kindOf, type Rule } from '../../rules/kinds.js';

export function sandboxPathFindings(rule: Rule): Finding[] {
  const binds = kindOf(rule.kind).sandbox(rule)?.binds ?? [];
  return binds
    .filter((path) => !existsSync(path))
    .map((path) => ({
      where: rule.where,
      level: 'error',
      id: 'sandbox-path-missing',
      message: `rule "${rule.name}": sandbox path ${path} does not exist: bwrap cannot bind it, so nothing will run (sandbox-failed)`,
    }));
}
