/**
 * An allowed rsync plan, completed on this host: its pull wildcards expanded inside root, every
 * path re-checked on disk (symlinks), a snapshot that exists refused, a push's stored history
 * looked at, and a pull's working directory pinned (rules/rsync/pin.ts).
 */
import { lstatSync, realpathSync, type Stats } from 'node:fs';
import { denyAllowed, type Allow, type Decision, type Deny } from '../decide/decision.js';
import { joinUnder } from '../rules/rsync/confine.js';
import { pinPull } from '../rules/rsync/pin.js';
import type { ExecPlan, RsyncPlan } from '../rules/plan.js';
import { isWithin } from '../values/paths.js';
import { checkConfinement, checkReachableDirectory, enterConfinedCwd } from './confine-check.js';
import { ExpansionBudget, expandInRoot } from './expand-wildcards.js';
import { sharedInodeOutside, storedDirectories } from './stored-history.js';

type RsyncAllow = Allow & { plan: RsyncPlan };

export function completeRsync(allowed: RsyncAllow): Decision {
  const { plan } = allowed;
  const { root, within, pull } = plan.confine;
  const expanded = expandWildcards(allowed, plan.confine);
  if (expanded.decision === 'deny') return expanded;
  const { argv, paths } = expanded;
  // Each path on disk inside the subtree of the rule's that holds it by name (its root, or one of its paths).
  for (const subtree of within) {
    const problem = checkConfinement(
      subtree,
      paths.filter((path) => isWithin(path, subtree)),
    );
    if (problem) return denyAllowed(allowed, problem.reason, problem.detail);
  }
  const stray = paths.find((path) => !within.some((subtree) => isWithin(path, subtree)));
  if (stray !== undefined)
    return denyAllowed(allowed, 'rsync-path-outside-rule', `${stray} is not in the rule's paths (${within.join(', ')})`);
  // A snapshot is written once: one that exists (yesterday's, or a "tomorrow" planted ahead of the
  // owner) is refused here, so `explain` says so too; act/snapshot.ts makes it exclusively.
  if (plan.snapshot !== undefined && lstatOrNull(plan.snapshot) !== null) {
    return denyAllowed(allowed, 'rsync-snapshot-exists', `${plan.snapshot} exists: a snapshot is written once (name a new one)`);
  }
  const history = storedHistory(allowed);
  if (history !== undefined && 'decision' in history) return history;
  let cwd = plan.cwd;
  if (pull !== null) {
    const pinned = pinPull(argv.slice(pull.operandsAt), pull.relative);
    argv.splice(pull.operandsAt, argv.length - pull.operandsAt, ...pinned.operands);
    cwd = joinUnder(root, pinned.anchor);
    const unreachable = checkReachableDirectory(cwd);
    if (unreachable) return denyAllowed(allowed, unreachable.reason, unreachable.detail);
  }
  return {
    ...allowed,
    plan: { ...plan, argv, cwd, confine: { root, within, paths, wildcards: [], pull }, ...(history ? { history } : {}) },
  };
}

/** The pull's wildcards expanded inside root, in place in the argv, under one budget (a pull may send thousands). */
function expandWildcards(
  allowed: RsyncAllow,
  confine: NonNullable<ExecPlan['confine']>,
): { decision: 'expanded'; argv: string[]; paths: string[] } | Deny {
  const argv = [...allowed.plan.argv];
  const paths = [...confine.paths];
  const budget = new ExpansionBudget();
  // Right to left, so earlier indexes stay valid as operands turn into several.
  for (const { argvIndex, pattern } of [...confine.wildcards].sort((a, b) => b.argvIndex - a.argvIndex)) {
    const expansion = expandInRoot(confine.root, pattern, budget);
    // Too many names is an argument flood, as before; too much work is its own reason.
    if (!expansion.ok)
      return denyAllowed(
        allowed,
        expansion.bound === 'matches' ? 'tokenize-too-many-words' : 'rsync-wildcard-too-costly',
        expansion.detail,
      );
    argv.splice(argvIndex, 1, ...expansion.paths);
    paths.push(...expansion.paths.map((path) => joinUnder(confine.root, path.split('/').filter(Boolean))));
  }
  return { decision: 'expanded', argv, paths };
}

/** A plain push's history (host/stored-history.ts): shared inodes refused, stored directories noted. */
function storedHistory(allowed: RsyncAllow): ExecPlan['history'] | Decision {
  const { history } = allowed.plan;
  if (!history || allowed.plan.dryRun) return history;
  // By where the destination leads: rsync follows a symlink there (the owner's `latest ->
  // 2026-12-05`; found in review, the walk of the link itself saw nothing). The confinement
  // check has made sure it leads inside root.
  const dest = realpathOr(history.dest);
  const found = history.guard === 'shared-inodes' ? sharedInodeOutside(dest) : storedDirectories(dest);
  if (found !== null && !Array.isArray(found)) return denyAllowed(allowed, found.reason, found.detail);
  return Array.isArray(found) ? { ...history, dirs: found } : history;
}

/**
 * Forced-command mode only: enters the plan's working directory now, before the decision is
 * recorded, so that a swap caught here is recorded as the refusal it is. The plan that comes back
 * says the process is already there (see enterConfinedCwd).
 */
export function enterRsyncDirectory(allowed: RsyncAllow): Decision {
  const { plan } = allowed;
  if (plan.cwd === null) return allowed;
  const problem = enterConfinedCwd(plan.confine.root, plan.cwd);
  if (problem) return denyAllowed(allowed, problem.reason, problem.detail);
  return { ...allowed, plan: { ...plan, cwdEntered: true } };
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
