/**
 * The rule kinds' rows on this host: what each does with an allowed plan before anything runs.
 * The pure rows (what a kind parses, matches, plans) are rules/kinds.ts; this is their other
 * half, typed over the same kinds so that a new kind must say what it needs here, even if null.
 */
import type { Allow, Decision } from '../decide/decision.js';
import type { PlanOf, Rule } from '../rules/kinds.js';
import type { Plan } from '../rules/plan.js';
import { completeRsync, enterRsyncDirectory } from './rsync-completion.js';

export interface HostKind<P extends Plan> {
  /** The allowed plan completed with what only this host knows (paths on disk, wildcards), or refused; null: the plan is complete. */
  complete: ((allowed: Allow & { plan: P }) => Decision) | null;
  /** Forced-command mode only, before the decision is recorded: what must be taken hold of now (a working directory, by inode); null: nothing. */
  prepare: ((allowed: Allow & { plan: P }) => Decision) | null;
}

export const HOST_KINDS: { [K in Rule['kind']]: HostKind<PlanOf[K]> } = {
  exec: { complete: null, prepare: null },
  rsync: { complete: completeRsync, prepare: enterRsyncDirectory },
  receive: { complete: null, prepare: null },
  relay: { complete: null, prepare: null },
  sftp: { complete: null, prepare: null },
};

/** The host row of an allowed decision's kind. */
export function hostKindOf(allowed: Allow): HostKind<Plan> {
  return HOST_KINDS[allowed.rule.kind] as HostKind<Plan>;
}
