/** Where the audit log is, for logs, summary and status: --log, else the policy's, else the default. */
import { accountOfLog } from '../audit/read.js';
import { loadPolicy } from '../policy/load.js';
import { DEFAULT_AUDIT_FILE, DEFAULT_POLICY_PATH, type Policy } from '../policy/schema.js';

export async function auditLogPath(
  log: string | undefined,
  policyPath: string | undefined,
): Promise<{ path: string; policy: Policy | null }> {
  const loaded = await loadPolicy(policyPath ?? DEFAULT_POLICY_PATH).catch(() => null);
  const policy = loaded?.ok ? loaded.policy : null;
  return { path: log ?? policy?.audit.file ?? DEFAULT_AUDIT_FILE, policy };
}

/**
 * Whose log the one read is: null for root's, else the account's (its records are then judged as
 * that account's: audit/provenance.ts). Named after the policy's audit.file, else the default's.
 */
export function accountOfGivenLog(path: string, policy: Policy | null): string | null {
  return accountOfLog(policy?.audit.file ?? DEFAULT_AUDIT_FILE, path);
}
