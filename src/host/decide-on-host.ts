/**
 * The decision as this host makes it: the pure decide(), fed with what only the host knows
 * (which rsync features exist), then the on-disk confinement re-check of an allowed rsync plan
 * and, for a pull, the directory rsync starts in (rules/rsync/pin.ts).
 * The forced-command mode and `explain` both call this, so they cannot disagree.
 */
import { lstatSync, realpathSync, type Stats } from 'node:fs';
import { sandboxUnavailable } from './sandbox-available.js';
import { sharedInodeOutside, storedDirectories } from './stored-history.js';
import { checkConfinement, checkReachableDirectory, enterConfinedCwd } from './confine-check.js';
import { ExpansionBudget, expandInRoot } from './expand-wildcards.js';
import { gatherHostFacts } from './rsync-features.js';
import { decide, type Decision } from '../decide/decide.js';
import { joinUnder } from '../rules/rsync/confine.js';
import { pinPull } from '../rules/rsync/pin.js';
import type { Policy } from '../policy/schema.js';
import type { Request } from '../request/request.js';
import { isWithin } from '../values/paths.js';

export function decideOnHost(policy: Policy, request: Request): Decision {
  const facts = gatherHostFacts(policy.identities.get(request.identity), request.command);
  const decision = withSandbox(decide(policy, request, facts));
  if (decision.decision !== 'allow' || decision.plan.kind !== 'exec' || decision.plan.confine === null) return decision;
  const { root, within, wildcards } = decision.plan.confine;
  const argv = [...decision.plan.argv];
  const paths = [...decision.plan.confine.paths];
  // One budget for all the wildcards: a pull may send thousands of them.
  const budget = new ExpansionBudget();
  // Right to left, so earlier indexes stay valid as operands turn into several.
  for (const { argvIndex, pattern } of [...wildcards].sort((a, b) => b.argvIndex - a.argvIndex)) {
    const expansion = expandInRoot(root, pattern, budget);
    if (!expansion.ok) {
      // Too many names is an argument flood, as before; too much work is its own reason.
      const reason = expansion.bound === 'matches' ? 'tokenize-too-many-words' : 'rsync-wildcard-too-costly';
      return { decision: 'deny', reason, detail: `rule ${decision.rule.name}: ${expansion.detail}`, words: decision.words, trace: decision.trace };
    }
    const found = expansion.paths;
    argv.splice(argvIndex, 1, ...found);
    paths.push(...found.map((path) => joinUnder(root, path.split('/').filter(Boolean))));
  }
  // Each path on disk inside the subtree of the rule's that holds it by name (its root, or one of its paths).
  for (const subtree of within) {
    const held = paths.filter((path) => isWithin(path, subtree));
    const problem = checkConfinement(subtree, held);
    if (problem) return { decision: 'deny', reason: problem.reason, detail: `rule ${decision.rule.name}: ${problem.detail}`, words: decision.words, trace: decision.trace };
  }
  const stray = paths.find((path) => !within.some((subtree) => isWithin(path, subtree)));
  if (stray !== undefined) return { decision: 'deny', reason: 'rsync-path-outside-rule', detail: `rule ${decision.rule.name}: ${stray} is not in the rule's paths (${within.join(', ')})`, words: decision.words, trace: decision.trace };
  // A snapshot is written once: one that exists (yesterday's, or a "tomorrow" planted ahead of the
  // owner) is refused here, so `explain` says so too; act/snapshot.ts makes it exclusively.
  const { snapshot } = decision.plan;
  if (snapshot !== undefined && lstatOrNull(snapshot) !== null) {
    return { decision: 'deny', reason: 'rsync-snapshot-exists', detail: `rule ${decision.rule.name}: ${snapshot} exists: a snapshot is written once (name a new one)`, words: decision.words, trace: decision.trace };
  }
  // A plain push's history (host/stored-history.ts): shared inodes refused, stored directories noted.
  let { history } = decision.plan;
  if (history && !decision.plan.dryRun) {
    // By where the destination leads: rsync follows a symlink there (the owner's `latest ->
    // 2026-12-05`; found in review, the walk of the link itself saw nothing). The confinement
    // check above has made sure it leads inside root.
    const dest = realpathOr(history.dest);
    const found = history.guard === 'shared-inodes' ? sharedInodeOutside(dest) : storedDirectories(dest);
    if (found !== null && !Array.isArray(found)) return { decision: 'deny', reason: found.reason, detail: `rule ${decision.rule.name}: ${found.detail}`, words: decision.words, trace: decision.trace };
    if (Array.isArray(found)) history = { ...history, dirs: found };
  }
  let cwd = decision.plan.cwd;
  const { pull } = decision.plan.confine;
  if (pull !== null) {
    const pinned = pinPull(argv.slice(pull.operandsAt), pull.relative);
    argv.splice(pull.operandsAt, argv.length - pull.operandsAt, ...pinned.operands);
    cwd = joinUnder(root, pinned.anchor);
    const unreachable = checkReachableDirectory(cwd);
    if (unreachable) return { decision: 'deny', reason: unreachable.reason, detail: `rule ${decision.rule.name}: ${unreachable.detail}`, words: decision.words, trace: decision.trace };
  }
  return { ...decision, plan: { ...decision.plan, argv, cwd, confine: { root, within, paths, wildcards: [], pull }, ...(history ? { history } : {}) } };
}

/** The path with every symlink resolved, or as it is when it does not exist (a new destination). */
function realpathOr(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}

/** An allowed plan that runs in a sandbox is refused here, before anything starts, when this host cannot build one. */
export function withSandbox(decision: Decision, unavailable: () => string | null = () => sandboxUnavailable(process.getuid?.() ?? 0)): Decision {
  if (decision.decision !== 'allow') return decision;
  const { plan } = decision;
  // sftp rules always run in it (found in review: their requests were allowed, then failed).
  if (!(plan.kind === 'files' || (plan.kind === 'exec' && plan.sandbox))) return decision;
  const why = unavailable();
  if (why === null) return decision;
  return { decision: 'deny', reason: 'sandbox-unavailable', detail: `rule ${decision.rule.name}: ${why}`, words: decision.words, trace: decision.trace };
}

/**
 * Forced-command mode only: enters an rsync plan's working directory now, before the decision is
 * recorded, so that a swap caught here is recorded as the refusal it is. The plan that comes back
 * says the process is already there (see enterConfinedCwd).
 */
export function enterPlanDirectory(decision: Decision): Decision {
  if (decision.decision !== 'allow' || decision.plan.kind !== 'exec' || decision.plan.confine === null || decision.plan.cwd === null) return decision;
  const problem = enterConfinedCwd(decision.plan.confine.root, decision.plan.cwd);
  if (problem) return { decision: 'deny', reason: problem.reason, detail: `rule ${decision.rule.name}: ${problem.detail}`, words: decision.words, trace: decision.trace };
  return { ...decision, plan: { ...decision.plan, cwdEntered: true } };
}
