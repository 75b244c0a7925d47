/**
 * What a decision comes to: an allowed rule with its plan, or a refusal with its reason. Every
 * refusal on the way, from the identity's checks to the host's last look, is built here.
 */
import type { Rule, Where } from '../policy/schema.js';
import type { Plan } from '../rules/plan.js';
import type { DenyReason } from '../values/deny-reason.js';

export interface RuleTrace {
  rule: string;
  where: Where;
  matched: boolean;
  why: string;
}

export interface RuleRef {
  name: string;
  kind: Rule['kind'];
  where: Where;
}

export type Allow = {
  decision: 'allow';
  rule: RuleRef;
  plan: Plan;
  words: string[];
  trace: RuleTrace[];
  /** The client's spelling of the program when the rule was given the plain form (`sudo -n rsync`, `nc -q0`: rules/spelling.ts). */
  spelling?: string;
};
export type Deny = { decision: 'deny'; reason: DenyReason; detail: string; words: string[] | null; trace: RuleTrace[] };
export type Decision = Allow | Deny;

export function deny(reason: DenyReason, detail: string, words: string[] | null = null, trace: RuleTrace[] = []): Deny {
  return { decision: 'deny', reason, detail, words, trace };
}

/** An allowed decision refused after all (by the host, a limit): its rule named in the detail, its words and trace kept for the record. */
export function denyAllowed(allowed: Allow, reason: DenyReason, detail: string): Deny {
  return deny(reason, `rule ${allowed.rule.name}: ${detail}`, allowed.words, allowed.trace);
}

/** What a learn record says the policy would decide: nothing when no policy was read (none applied, or it did not load). */
export function wouldDecide(decision: Decision): Decision | null {
  return decision.decision === 'deny' && (decision.reason === 'policy-unloadable' || decision.reason === 'policy-not-applied')
    ? null
    : decision;
}
