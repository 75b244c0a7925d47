/**
 * The decision as this host makes it: the pure decide(), fed with what only the host knows
 * (which rsync features exist), then the on-disk confinement re-check of an allowed rsync plan.
 * The forced-command mode and `explain` both call this, so they cannot disagree.
 */
import { checkConfinement } from '../act/confine-check.js';
import { gatherHostFacts } from '../act/rsync-features.js';
import { decide, type Decision } from '../decide/decide.js';
import type { Policy } from '../policy/schema.js';
import type { Request } from '../request/request.js';

export function decideOnHost(policy: Policy, request: Request): Decision {
  const facts = gatherHostFacts(policy.identities.get(request.identity), request.command);
  const decision = decide(policy, request, facts);
  if (decision.decision !== 'allow' || decision.plan.confine === null) return decision;
  const problem = checkConfinement(decision.plan.confine.root, decision.plan.confine.paths);
  if (!problem) return decision;
  return { decision: 'deny', reason: problem.reason, detail: `rule ${decision.rule.name}: ${problem.detail}`, words: decision.words, trace: decision.trace };
}
