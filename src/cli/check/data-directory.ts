/**
 * A rule's data directory (its kind says which: an rsync or sftp root, a receive directory, an
 * exec cwd), as the filesystem has it: there, a directory, not open to other local users, and
 * for a rule that writes, not on the audit log's filesystem.
 */
import { statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Finding } from '../../policy/lint.js';
import type { Policy } from '../../policy/schema.js';
import { kindOf, type Rule } from '../../rules/kinds.js';
import { runningUid, untrustedWriter } from '../../trust.js';

/** The audit log's directory and the filesystem it is on (null: no directory yet, nothing to share one with). */
export interface LogPlace {
  dir: string;
  device: number | null;
}

export function logPlace(policy: Policy): LogPlace {
  const dir = dirname(policy.audit.file);
  try {
    return { dir, device: statSync(dir).dev };
  } catch {
    return { dir, device: null };
  }
}

export function dataDirectoryFindings(rule: Rule, log: LogPlace): Finding[] {
  const dir = kindOf(rule.kind).dataDirectory(rule);
  if (dir === null) return [];
  const found = (id: Finding['id'], message: string): Finding => ({
    where: rule.where,
    level: 'warning',
    id,
    message: `rule "${rule.name}": ${message}`,
  });
  let stats;
  try {
    stats = statSync(dir);
  } catch {
    return [found('data-dir-missing', `${dir} does not exist (its requests will be refused or fail)`)];
  }
  if (!stats.isDirectory()) return [found('data-dir-not-directory', `${dir} is not a directory`)];
  const findings: Finding[] = [];
  const why = untrustedWriter(stats, runningUid());
  if (why) findings.push(found('data-dir-untrusted', `${dir} is ${why}: local users could plant files or symlinks there`));
  if (kindOf(rule.kind).writesTo(rule).length > 0 && stats.dev === log.device) {
    findings.push(
      found(
        'data-dir-shared-with-log',
        `${dir} is on the same filesystem as the audit log (${log.dir}): the rule's min-free floor is all that keeps a client from filling it, and a full log denies every identity; put the log on a filesystem no rule writes to`,
      ),
    );
  }
  return findings;
}
