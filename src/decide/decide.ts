/**
 * The decision: a pure function of (policy, request). Same input, same answer, no I/O, so that
 * `explain` and the forced-command mode cannot disagree and every case can be tested in a table.
 *
 * Order: who is asking (identity, expiry, address, key), then what (the command string), then
 * the rules, first match wins. Any failure to qualify is a deny with its own reason code.
 */
import type { Identity, Policy, Rule, Where } from '../policy/schema.js';
import type { Request } from '../request/request.js';
import { withProtectedArgs } from '../rules/rsync/protected-args.js';
import { tokenize } from '../request/tokenize.js';
import { NO_HOST_FACTS, tryRule, type HostFacts } from '../rules/kinds.js';
import type { Plan } from '../rules/plan.js';
import { matchEmptyReceive } from '../rules/receive/match.js';
import { readSpelling } from '../rules/spelling.js';
import { addressAllowed } from '../values/address.js';
import { certificateValidity } from '../request/ssh-key.js';
import type { DenyReason } from '../values/deny-reason.js';
import { localDate } from '../values/units.js';


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

export type Decision =
  /** `spelling`: the client's spelling of the program when the rule was given the plain form (`sudo -n rsync`, `nc -q0`: rules/spelling.ts). */
  | { decision: 'allow'; rule: RuleRef; plan: Plan; words: string[]; trace: RuleTrace[]; spelling?: string }
  | { decision: 'deny'; reason: DenyReason; detail: string; words: string[] | null; trace: RuleTrace[] };

function deny(reason: DenyReason, detail: string, words: string[] | null = null, trace: RuleTrace[] = []): Decision {
  return { decision: 'deny', reason, detail, words, trace };
}

export function decide(policy: Policy, request: Request, facts: HostFacts = NO_HOST_FACTS): Decision {
  const identity = policy.identities.get(request.identity);
  if (!identity) return deny('unknown-identity', `no identity "${request.identity}"`);

  const requesterRefused = refuseRequester(identity, request);
  if (requesterRefused) return requesterRefused;

  if (request.command === null || /^[ \t]*$/.test(request.command)) {
    // Only a receive rule with accept-empty serves a session without a command (`tar c . | ssh host`).
    const trace: RuleTrace[] = [];
    for (const rule of identity.rules) {
      if (rule.kind !== 'receive') continue;
      const outcome = matchEmptyReceive(rule, request);
      trace.push({ rule: rule.name, where: rule.where, matched: outcome.ok, why: outcome.ok ? 'matched' : outcome.why });
      if (outcome.ok) return { decision: 'allow', rule: { name: rule.name, kind: rule.kind, where: rule.where }, plan: outcome.plan, words: [], trace };
    }
    return deny('no-command', request.command === null ? 'no command was sent' : 'the command was empty', null, trace);
  }
  const tokenized = tokenize(request.command);
  if (!tokenized.ok) return deny(tokenized.reason, tokenized.detail);
  // rsync -s: the rest of the command came on the connection; it is vetted as words like any other.
  let tokens: { words: string[]; globs: ReadonlyMap<number, string> } = tokenized;
  if (request.protectedArgs !== undefined) {
    const merged = withProtectedArgs(tokenized.words, tokenized.globs, request.protectedArgs);
    if (!merged.ok) return deny(merged.reason, merged.detail, tokenized.words);
    tokens = merged;
  }

  const trace: RuleTrace[] = [];
  // When no rule matches, the record names the first specific refusal (say, which rsync option
  // a rule refused) rather than a bare "no rule matched". "This rule serves the other direction"
  // says least: it yields to any other refusal (a pull rule's refused option, say).
  let refusal: { reason: DenyReason; detail: string } | null = null;
  let weakRefusal: { reason: DenyReason; detail: string } | null = null;
  // rsync behind sudo/nice/ionice, nc as /bin/nc or with -q0: the rules of the kind that serves
  // the program are given the plain words; every other rule sees the client's (an exec rule may
  // serve `sudo /usr/local/bin/x` itself, running its own program).
  const spelled = readSpelling(tokens.words, tokens.globs);
  for (const rule of identity.rules) {
    const input = spelled.kind === 'spelled' && spelled.serves === rule.kind ? spelled : null;
    const outcome = tryRule(rule, input?.words ?? tokens.words, input?.globs ?? tokens.globs, request, facts);
    trace.push({ rule: rule.name, where: rule.where, matched: outcome.ok, why: outcome.ok ? 'matched' : outcome.why });
    if (outcome.ok) {
      return { decision: 'allow', rule: { name: rule.name, kind: rule.kind, where: rule.where }, plan: outcome.plan, words: tokens.words, trace, ...(input ? { spelling: input.spelling } : {}) };
    }
    // "Not this rule's direction" and "not this rule's paths" say least: another rule may serve it.
    if (outcome.reason === 'rsync-direction-refused' || outcome.reason === 'rsync-path-outside-rule') weakRefusal ??= { reason: outcome.reason, detail: `rule ${rule.name}: ${outcome.why}` };
    else if (outcome.reason && !refusal) refusal = { reason: outcome.reason, detail: `rule ${rule.name}: ${outcome.why}` };
  }
  refusal ??= weakRefusal;
  if (refusal) return deny(refusal.reason, refusal.detail, tokens.words, trace);
  if (spelled.kind === 'refused') return deny('spelling-refused', spelled.why, tokens.words, trace);
  if (tokens.globs.size > 0) {
    const [index] = tokens.globs.keys();
    return deny('tokenize-glob', `word ${index! + 1} holds an unquoted glob character (only rsync pull paths may)`, tokens.words, trace);
  }
  return deny('no-rule-matched', `${identity.rules.length} rule(s) tried`, tokens.words, trace);
}

/** The checks on who is asking, before anything of the command is looked at. */
export function refuseRequester(identity: Identity, request: Request): Decision | null {
  if (identity.expires !== null && localDate(request.now) > identity.expires) {
    return deny('identity-expired', `expired after ${identity.expires}`);
  }
  if (identity.from !== null) {
    if (request.client === null) return deny('from-unknown', 'no client address');
    if (!addressAllowed(request.client.address, identity.from)) return deny('from-not-allowed', `client ${request.client.address}`);
  }
  if (identity.accounts !== null && !identity.accounts.includes(request.user)) {
    return deny('account-not-allowed', `account ${request.user}`);
  }
  // A key that authenticated but could not be read is one no check below can see.
  if ((identity.keys !== null || identity.principals !== null) && (request.unreadableKeys ?? 0) > 0) {
    return deny('key-unknown', `sshd exposed ${request.unreadableKeys} key(s) that could not be read`);
  }
  if (identity.keys !== null) {
    if (request.keys === null) return deny('key-unknown', 'sshd exposed no key');
    const stranger = request.keys.find((key) => !identity.keys!.includes(key));
    if (stranger !== undefined) return deny('key-not-allowed', stranger);
  }
  if (identity.principals !== null) return refuseCertificates(identity.principals, request);
  return null;
}

/**
 * An identity selected by certificate principal: sshd checked the CA's signature, the validity
 * and the principal (through authorized-principals-command) before the session began; this is
 * the second look, against the policy as this connection read it. Every certificate that
 * authenticated must pass (AuthenticationMethods may ask for two keys).
 */
/** Seconds since the epoch as an ISO date; past what Date holds (year 275760), the seconds. */
function secondsAsDate(seconds: number): string {
  const date = new Date(seconds * 1000);
  return Number.isNaN(date.getTime()) ? `${seconds} s after the epoch` : date.toISOString();
}

function refuseCertificates(principals: readonly string[], request: Request): Decision | null {
  const certificates = request.certificates ?? [];
  if (certificates.length === 0) return deny('certificate-missing', request.keys === null ? 'sshd exposed no key' : 'a plain key authenticated');
  for (const certificate of certificates) {
    const validity = certificateValidity(certificate, request.now);
    const named = `certificate ${JSON.stringify(certificate.keyId)} serial ${certificate.serial}`;
    if (validity === 'expired') return deny('certificate-expired', `${named} expired at ${secondsAsDate(certificate.validBefore!)}`);
    if (validity === 'not-yet-valid') return deny('certificate-not-yet-valid', `${named} is valid from ${secondsAsDate(certificate.validAfter)}`);
    if (!certificate.principals.some((principal) => principals.includes(principal))) {
      return deny('certificate-principal-not-allowed', `${named} names ${certificate.principals.length === 0 ? 'no principal' : certificate.principals.join(', ')}`);
    }
  }
  return null;
}

