/** Where the audit log is, for logs, summary and status: --log, else the policy's, else the default. */
import { loadPolicy } from '../policy/load.js';
import { DEFAULT_AUDIT_FILE, DEFAULT_POLICY_PATH, type Policy } from '../policy/schema.js';

export async function auditLogPath(log: string | undefined, policyPath: string | undefined): Promise<{ path: string; policy: Policy | null }> {
  const loaded = await loadPolicy(policyPath ?? DEFAULT_POLICY_PATH).catch(() => null);
  const policy = loaded?.ok ? loaded.policy : null;
  return { path: log ?? policy?.audit.file ?? DEFAULT_AUDIT_FILE, policy };
}
