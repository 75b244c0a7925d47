/**
 * The rule kinds' rows on this host: what each does with an allowed plan before anything runs.
 * The pure rows (what a kind parses, matches, plans) are rules/kinds.ts; this is their other
 * half, typed over the same kinds so that a new kind must say what it needs here, even if null.
 */
import type { Allow, Decision } from '../decide/decision.js';
import type { Finding } from '../rules/base.js';
import type { LintContext, PlanOf, Rule } from '../rules/kinds.js';
import type { Plan } from '../rules/plan.js';
import { execFindings } from './exec-findings.js';
import { completeRsync, enterRsyncDirectory } from './rsync-completion.js';
import { rsyncFindings } from './rsync-findings.js';

export interface HostKind<P extends Plan, R extends Rule = Rule> {
  /** The allowed plan completed with what only this host knows (paths on disk, wildcards), or refused; null: the plan is complete. */
  complete: ((allowed: Allow & { plan: P }) => Decision) | null;
  /** Forced-command mode only, before the decision is recorded: what must be taken hold of now (a working directory, by inode); null: nothing. */
  prepare: ((allowed: Allow & { plan: P }) => Decision) | null;
  /** What `check` finds about a rule of the kind on this host (the program installed, its repository's settings); null: nothing. */
  findings: ((rule: R, context: LintContext) => Finding[]) | null;
}

export const HOST_KINDS: { [K in Rule['kind']]: HostKind<PlanOf[K], Extract<Rule, { kind: K }>> } = {
  exec: { complete: null, prepare: null, findings: execFindings },
  rsync: { complete: completeRsync, prepare: enterRsyncDirectory, findings: rsyncFindings },
  receive: { complete: null, prepare: null, findings: null },
  relay: { complete: null, prepare: null, findings: null },
  sftp: { complete: null, prepare: null, findings: null },
};

/** The host row of an allowed decision's kind. */
export function hostKindOf(allowed: Allow): HostKind<Plan> {
  return HOST_KINDS[allowed.rule.kind] as HostKind<Plan>;
}

/** The host row of a rule's kind, for code that holds a rule of any kind (check). */
export function hostRowOf(kind: Rule['kind']): HostKind<Plan, Rule> {
  return HOST_KINDS[kind] as unknown as HostKind<Plan, Rule>;
}
