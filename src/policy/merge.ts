/**
 * Merging the policy's files into one policy: each may add identities, at most one may set
 * audit, and an identity is defined once (two files naming it would be two policies).
 */
import type { PolicyError } from '../values/policy-error.js';
import type { PolicyFragment } from './parse.js';
import { DEFAULT_AUDIT_FILE, type AuditSettings, type Identity, type Policy, type Where } from './schema.js';

/** The fragments, in load order, as one policy; or every conflict between them. */
export function mergeFragments(fragments: PolicyFragment[]): { ok: true; policy: Policy } | { ok: false; errors: PolicyError[] } {
  const errors: PolicyError[] = [];
  const identities = new Map<string, Identity>();
  let audit: { settings: AuditSettings; where: Where } | null = null;
  for (const fragment of fragments) {
    if (fragment.audit) {
      if (audit) {
        errors.push({
          ...fragment.audit.where,
          key: 'audit',
          message: `audit is already set in ${audit.where.file}:${audit.where.line} (at most one file may set it)`,
        });
      } else {
        audit = { settings: fragment.audit.settings, where: fragment.audit.where };
      }
    }
    for (const identity of fragment.identities) {
      const earlier = identities.get(identity.name);
      if (earlier) {
        errors.push({
          ...identity.where,
          key: `identities.${identity.name}`,
          message: `duplicate identity (first in ${earlier.where.file}:${earlier.where.line})`,
        });
      } else {
        identities.set(identity.name, identity);
      }
    }
  }
  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    policy: { files: fragments.map((f) => f.file), audit: audit?.settings ?? { file: DEFAULT_AUDIT_FILE, syslog: null }, identities },
  };
}
