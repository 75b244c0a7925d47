/**
 * What every rule kind shares: a rule's name and where it was written, the body its parser
 * returns, and what trying a rule on a request comes to.
 */
import type { DenyReason } from '../values/deny-reason.js';
import type { FindingId } from '../values/finding-id.js';
import type { Where } from '../values/reader.js';
import type { Plan } from './plan.js';

/** What `check` says about a rule: `unsafe` findings (a stolen key becomes more) and `error`s (its requests cannot be served) make it fail; warnings do not. */
export interface Finding {
  where: Where;
  level: 'warning' | 'unsafe' | 'error';
  /** Its stable ID, printed after it and explained in docs/check.md. */
  id: FindingId;
  message: string;
}

export interface RuleBase {
  name: string;
  where: Where;
  /**
   * `expect-every`: how often the rule should succeed (ms), for `ssh-dispatch status`; null when
   * nobody watches it. A frame key like `name`: it says nothing about what the rule allows.
   */
  expectEvery: number | null;
  /**
   * `min-bytes`: a success that wrote fewer bytes is a WARNING in `status` (a stolen key's tiny
   * push keeps a rule "in time"); null when unset. Monitoring only, like expectEvery.
   */
  minBytes: number | null;
}

/** What a kind's parser returns: the rule without the name, place and monitoring the frame adds. */
export type RuleBody<R extends RuleBase> = Omit<R, 'name' | 'where' | 'expectEvery' | 'minBytes'>;

/**
 * Trying one rule on a request: a plan, or why not. `reason` is set when the rule is the one for
 * this request and refuses it (an rsync option it forbids, say), so the record can name that
 * rather than a bare "no rule matched"; null or absent when the rule simply is not about it.
 * `weak`: the refusal says least (another rule may serve the request): named only when no other did.
 */
export type RuleOutcome = { ok: true; plan: Plan } | { ok: false; why: string; reason?: DenyReason | null; weak?: true };

/** Free space a write rule leaves on its filesystem unless it says otherwise: room for the audit log and the rest of the system. */
export const DEFAULT_MIN_FREE = 2 ** 30;
