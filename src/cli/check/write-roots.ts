/**
 * Write rules that reach where a pushed file becomes code or a login (policy/lint.ts
 * writeRootFindings), against this host's list: every account NSS knows, the top level of /,
 * the policy's and the log's directories, and ssh-dispatch's own install.
 */
import { readdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { protectedPaths, writeRootFindings, type Finding } from '../../policy/lint.js';
import type { Policy } from '../../policy/schema.js';
import { nssAccounts } from '../../host/accounts.js';
import { installDirectories, resolvePath } from './resolve-path.js';

export function writeRootsFindings(policy: Policy, policyPath: string): Finding[] {
  const findings: Finding[] = [];
  const nss = nssAccounts();
  if (nss.problem)
    findings.push({
      where: { file: policyPath, line: 0 },
      level: 'warning',
      id: 'accounts-partly-read',
      message: `${nss.problem}; homes of other accounts were not checked`,
    });
  const policyDir = statSync(policyPath).isDirectory() ? policyPath : dirname(policyPath);
  let topLevel: string[] = [];
  try {
    topLevel = readdirSync('/');
  } catch {
    // /lib, /lib64 and the like are then the only ones checked, through SYSTEM_PATHS' /usr.
  }
  const guarded = protectedPaths({
    accounts: nss.accounts,
    topLevel,
    policyDir,
    logDir: dirname(policy.audit.file),
    installDirs: installDirectories(),
  });
  findings.push(...writeRootFindings(policy, guarded, resolvePath));
  return findings;
}
