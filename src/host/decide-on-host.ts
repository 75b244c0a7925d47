/**
 * The decision as this host makes it: the pure steps (decide/), fed with what only the host knows
 * (which rsync features exist), then the allowed plan completed through its kind's host row
 * (host/kinds.ts) and refused when its sandbox cannot be built here. The forced-command mode
 * (serve/) runs the same steps one by one; `explain` and the tests call this.
 */
import { admit } from '../decide/admit.js';
import { isDeny, readCommand, type Command } from '../decide/command.js';
import { denyAllowed, type Decision } from '../decide/decision.js';
import { decideRules } from '../decide/decide.js';
import type { Identity, Policy } from '../policy/schema.js';
import type { Request } from '../request/request.js';
import { runsInSandbox } from '../rules/plan.js';
import { gatherHostFacts } from './host-facts.js';
import { hostKindOf } from './kinds.js';
import { sandboxUnavailable } from './sandbox-available.js';

export function decideOnHost(policy: Policy, request: Request): Decision {
  const identity = admit(policy, request);
  if (isDeny(identity)) return identity;
  const command = readCommand(request.command, request.protectedArgs);
  if (isDeny(command)) return command;
  return decideRulesOnHost(identity, command, request);
}

/** An admitted identity's rules tried on the command with this host's facts, and the allowed plan completed here. */
export function decideRulesOnHost(identity: Identity, command: Command, request: Request): Decision {
  return completeOnHost(decideRules(identity, command, request, gatherHostFacts(identity, command)));
}

/** An allowed decision, completed on this host through its kind's row; a refusal passes through. */
export function completeOnHost(decision: Decision): Decision {
  const checked = withSandbox(decision);
  if (checked.decision !== 'allow') return checked;
  return hostKindOf(checked).complete?.(checked) ?? checked;
}

/** An allowed plan that runs in a sandbox is refused here, before anything starts, when this host cannot build one. */
export function withSandbox(
  decision: Decision,
  unavailable: () => string | null = () => sandboxUnavailable(process.getuid?.() ?? 0),
): Decision {
  // sftp rules always run in it (found in review: their requests were allowed, then failed).
  if (decision.decision !== 'allow' || !runsInSandbox(decision.plan)) return decision;
  const why = unavailable();
  return why === null ? decision : denyAllowed(decision, 'sandbox-unavailable', why);
}

/** Forced-command mode only: what the allowed plan's kind must take hold of before the decision is recorded (host/kinds.ts prepare). */
export function prepareOnHost(decision: Decision): Decision {
  if (decision.decision !== 'allow') return decision;
  return hostKindOf(decision).prepare?.(decision) ?? decision;
}
