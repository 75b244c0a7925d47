/**
 * The decision as this host makes it: the pure decide(), fed with what only the host knows
 * (which rsync features exist), then the on-disk confinement re-check of an allowed rsync plan.
 * The forced-command mode and `explain` both call this, so they cannot disagree.
 */
import { checkConfinement } from '../act/confine-check.js';
import { expandInRoot, MAX_WILDCARD_MATCHES } from '../act/expand-wildcards.js';
import { gatherHostFacts } from '../act/rsync-features.js';
import { decide, type Decision } from '../decide/decide.js';
import { joinUnder } from '../decide/rsync/confine.js';
import type { Policy } from '../policy/schema.js';
import type { Request } from '../request/request.js';

export function decideOnHost(policy: Policy, request: Request): Decision {
  const facts = gatherHostFacts(policy.identities.get(request.identity), request.command);
  const decision = decide(policy, request, facts);
  if (decision.decision !== 'allow' || decision.plan.kind !== 'exec' || decision.plan.confine === null) return decision;
  const { root, wildcards } = decision.plan.confine;
  const argv = [...decision.plan.argv];
  const paths = [...decision.plan.confine.paths];
  // Right to left, so earlier indexes stay valid as operands turn into several.
  for (const { argvIndex, pattern } of [...wildcards].sort((a, b) => b.argvIndex - a.argvIndex)) {
    const found = expandInRoot(root, pattern);
    if (found === null) {
      return { decision: 'deny', reason: 'tokenize-too-many-words', detail: `rule ${decision.rule.name}: ${pattern} matches more than ${MAX_WILDCARD_MATCHES} names`, words: decision.words, trace: decision.trace };
    }
    argv.splice(argvIndex, 1, ...found);
    paths.push(...found.map((path) => joinUnder(root, path.split('/').filter(Boolean))));
  }
  const problem = checkConfinement(root, paths);
  if (problem) {
    return { decision: 'deny', reason: problem.reason, detail: `rule ${decision.rule.name}: ${problem.detail}`, words: decision.words, trace: decision.trace };
  }
  if (wildcards.length === 0) return decision;
  return { ...decision, plan: { ...decision.plan, argv, confine: { root, paths, wildcards: [] } } };
}
