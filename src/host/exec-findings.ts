/**
 * What `check` finds about an exec rule on this host: a program that is not there to run, and a
 * git repository a push rule serves that takes forced pushes and deletions (its config, read now).
 */
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Finding } from '../rules/base.js';
import { missingGitDenies, receivePackRepository } from '../rules/exec/upstream-servers.js';
import type { ExecRule } from '../rules/exec/rule.js';
import type { LintContext } from '../rules/kinds.js';

export function execFindings(rule: ExecRule, context: LintContext): Finding[] {
  const findings: Finding[] = [];
  try {
    accessSync(rule.program, constants.X_OK);
  } catch {
    findings.push({
      where: rule.where,
      level: 'warning',
      id: 'program-not-executable',
      message: `rule "${rule.name}": ${rule.program} is missing or not executable`,
    });
  }
  const repository = receivePackRepository(rule, context.resolveProgram(rule.program));
  if (repository) findings.push(...gitDenyFindings(rule, repository));
  return findings;
}

/** A push rule's repository without git's refusals of forced pushes and deletions: its config, read now. */
function gitDenyFindings(rule: ExecRule, repository: string): Finding[] {
  const { name, where } = rule;
  const config = [join(repository, 'config'), join(repository, '.git', 'config')].find((file) => existsSync(file));
  let text: string;
  try {
    text = readFileSync(config ?? join(repository, 'config'), 'utf8');
  } catch {
    return [
      {
        where,
        level: 'warning',
        id: 'git-config-unreadable',
        message: `rule "${name}": cannot read ${repository}'s git config, so whether it refuses forced pushes and branch deletions is unknown`,
      },
    ];
  }
  const missing = missingGitDenies(text);
  if (missing === null || missing.length === 0) return [];
  const commands = missing.map((key) => `git --git-dir ${repository} config ${key} true`).join('; ');
  return [
    {
      where,
      level: 'warning',
      id: 'git-push-not-denied',
      message: `rule "${name}" pushes into ${repository}, which does not set ${missing.join(' or ')}: a stolen key can force-push over its history and delete its branches; ${commands} (docs/recipes.md, "git")`,
    },
  ];
}
