/**
 * The decision: a pure function of (policy, request, the host's facts). Same input, same answer,
 * no I/O, so that `explain` and the forced-command mode cannot disagree and every case can be
 * tested in a table.
 *
 * Order: who is asking (decide/admit.ts), then what (the command, read once: decide/command.ts),
 * then the identity's rules, first match wins. Any failure to qualify is a deny with its own reason.
 */
import type { Identity, Policy } from '../policy/schema.js';
import type { Request } from '../request/request.js';
import { kindOf, NO_HOST_FACTS, tryRule, type HostFacts } from '../rules/kinds.js';
import { wordsFor } from '../rules/spelling.js';
import type { DenyReason } from '../values/deny-reason.js';
import { admit } from './admit.js';
import { isDeny, readCommand, type Command } from './command.js';
import { deny, type Decision, type RuleTrace } from './decision.js';

export type { Allow, Decision, Deny, RuleRef, RuleTrace } from './decision.js';

/** The whole decision, in one call: what `explain` and the tables use (serve/ runs the same steps, with the host between them). */
export function decide(policy: Policy, request: Request, facts: HostFacts = NO_HOST_FACTS): Decision {
  const identity = admit(policy, request);
  if (isDeny(identity)) return identity;
  const command = readCommand(request.command, request.protectedArgs);
  if (isDeny(command)) return command;
  return decideRules(identity, command, request, facts);
}

/** The identity's rules tried on the command, first match wins. */
export function decideRules(identity: Identity, command: Command, request: Request, facts: HostFacts): Decision {
  const trace: RuleTrace[] = [];
  if (command.empty) {
    // Only a kind that serves a session without a command may (a receive rule with accept-empty: `tar c . | ssh host`).
    for (const rule of identity.rules) {
      const matchEmpty = kindOf(rule.kind).matchEmpty;
      if (matchEmpty === null) continue;
      const outcome = matchEmpty(rule, request);
      trace.push({ rule: rule.name, where: rule.where, matched: outcome.ok, why: outcome.ok ? 'matched' : outcome.why });
      if (outcome.ok)
        return { decision: 'allow', rule: { name: rule.name, kind: rule.kind, where: rule.where }, plan: outcome.plan, words: [], trace };
    }
    return deny('no-command', command.sent ? 'the command was empty' : 'no command was sent', null, trace);
  }
  const { words, globs, spelled } = command;
  // When no rule matches, the record names the first specific refusal (say, which rsync option
  // a rule refused) rather than a bare "no rule matched"; a weak one ("this rule serves the other
  // direction") yields to any other.
  let refusal: { reason: DenyReason; detail: string } | null = null;
  let weakRefusal: { reason: DenyReason; detail: string } | null = null;
  for (const rule of identity.rules) {
    // rsync behind sudo/nice/ionice, nc as /bin/nc or with -q0: the rules of the kind that serves
    // the program are given the plain words; every other rule sees the client's (an exec rule may
    // serve `sudo /usr/local/bin/x` itself, running its own program).
    const input = wordsFor(rule.kind, spelled, words, globs);
    const outcome = tryRule(rule, input.words, input.globs, request, facts);
    trace.push({ rule: rule.name, where: rule.where, matched: outcome.ok, why: outcome.ok ? 'matched' : outcome.why });
    if (outcome.ok) {
      return {
        decision: 'allow',
        rule: { name: rule.name, kind: rule.kind, where: rule.where },
        plan: outcome.plan,
        words,
        trace,
        ...(input.spelling !== null ? { spelling: input.spelling } : {}),
      };
    }
    if (!outcome.reason) continue;
    if (outcome.weak) weakRefusal ??= { reason: outcome.reason, detail: `rule ${rule.name}: ${outcome.why}` };
    else refusal ??= { reason: outcome.reason, detail: `rule ${rule.name}: ${outcome.why}` };
  }
  refusal ??= weakRefusal;
  if (refusal) return deny(refusal.reason, refusal.detail, words, trace);
  if (spelled.kind === 'refused') return deny('spelling-refused', spelled.why, words, trace);
  if (globs.size > 0) {
    const [index] = globs.keys();
    return deny('tokenize-glob', `word ${index! + 1} holds an unquoted glob character (only rsync pull paths may)`, words, trace);
  }
  return deny('no-rule-matched', `${identity.rules.length} rule(s) tried`, words, trace);
}
