/**
 * An allowed decision under its identity's limits (act/limits.ts): the identity's floor put into
 * the plan, and the slots it needs taken (max-sessions, a rule that runs alone), or refused.
 * Nothing is looked at on disk for an identity and rule without either.
 */
import { slotDirectory, takeLimits } from '../act/limits.js';
import { deny, type Decision } from '../decide/decision.js';
import type { Policy } from '../policy/schema.js';
import type { Request } from '../request/request.js';
import { withFloor } from '../rules/plan.js';

export interface Limited {
  decision: Decision;
  /** Gives the slots back (an execve'd program keeps them with its pid until it ends). */
  release(): void;
}

export function underLimits(decision: Decision, policy: Policy | null, request: Request): Limited {
  if (decision.decision !== 'allow' || policy === null) return { decision, release: () => {} };
  const identity = policy.identities.get(request.identity)!;
  const rule = identity.rules.find((r) => r.name === decision.rule.name)!;
  const held = takeLimits(identity, rule, slotDirectory(policy.audit.file, process.getuid?.() ?? 0, request.user));
  if (held.refusal)
    return { decision: deny(held.refusal.reason, held.refusal.detail, decision.words, decision.trace), release: held.release };
  return { decision: { ...decision, plan: withFloor(decision.plan, identity.minFreeBytes ?? null) }, release: held.release };
}
