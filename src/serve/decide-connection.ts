/**
 * The decision for one connection, in its stages: the dispatcher's own environment, the applied
 * policy, who is asking (decide/admit.ts), the command read once (with rsync -s arguments read
 * off the connection, only for a key that may use them), the rules (decide/), and the allowed
 * plan completed and taken hold of on this host (host/). Every stage returns the next value or
 * a refusal; anything thrown is a refusal too (internal-error), never a run.
 */
import { admit } from '../decide/admit.js';
import { completeCommand, isDeny, tokenizeCommand, type Tokens } from '../decide/command.js';
import { deny, type Decision, type Deny } from '../decide/decision.js';
import { decideRulesOnHost, prepareOnHost } from '../host/decide-on-host.js';
import { readProtectedArgs, type ProtectedArgsRead } from '../host/protected-args.js';
import type { LoadedPolicy } from '../policy/load.js';
import type { Identity } from '../policy/schema.js';
import type { Request } from '../request/request.js';
import { walkPath } from '../request/root-path.js';
import { judgeSessionEnv } from '../request/session-env.js';
import { kindOf } from '../rules/kinds.js';
import { formatPolicyError } from '../values/policy-error.js';

/** The decision, and the request as it was finally asked (with any protected arguments, as far as they came). */
export interface Decided {
  asked: Request;
  decision: Decision;
}

export async function decideConnection(request: Request, loaded: LoadedPolicy | Error, learn: boolean): Promise<Decided> {
  const refused = (decision: Deny, asked = request): Decided => ({ asked, decision });
  try {
    const environment = judgeSessionEnv(process.env, (path) => walkPath(path));
    if (!environment.ok) return refused(deny('unsafe-environment', environment.detail));
    // Accepted CA bundle variables (root's own files): gone before anything could read them
    // later, and before anything we start could inherit them (session-env.ts says why).
    for (const name of environment.accepted) delete process.env[name];
    if (loaded instanceof Error) throw loaded;
    if (!loaded.ok)
      return refused(
        deny(loaded.notApplied ? 'policy-not-applied' : 'policy-unloadable', loaded.errors.map(formatPolicyError).slice(0, 5).join('; ')),
      );
    const identity = admit(loaded.policy, request);
    if (isDeny(identity)) return refused(identity);
    const tokens = tokenizeCommand(request.command);
    if (isDeny(tokens)) return refused(tokens);
    const sent = await protectedArgsOf(tokens, identity, learn);
    const asked = sent === null ? request : { ...request, protectedArgs: sent.ok ? sent.args : sent.partial };
    if (sent !== null && !sent.ok) return refused(deny('rsync-protected-args', `rsync -s: ${sent.detail}`), asked);
    const command = completeCommand(tokens, asked.protectedArgs);
    if (isDeny(command)) return refused(command, asked);
    return { asked, decision: prepareOnHost(decideRulesOnHost(identity, command, asked)) };
  } catch (error) {
    return refused(deny('internal-error', (error as Error).message));
  }
}

/**
 * rsync -s: the rest of its arguments come on the connection, before anything is decided (in
 * learn mode too: they are what a learned request says). Reading them costs the connection's
 * time, so only an admitted identity with a rule of a kind that takes them gets that far.
 */
async function protectedArgsOf(tokens: Tokens, identity: Identity, learn: boolean): Promise<ProtectedArgsRead | null> {
  if (tokens.empty || !tokens.sendsMore) return null;
  // Learning comes before the rules: there, an admitted identity is enough.
  if (!learn && !identity.rules.some((rule) => kindOf(rule.kind).readsProtectedArgs)) return null;
  return readProtectedArgs();
}
