/**
 * Forced-command mode: what sshd runs for every connection of a key whose authorized_keys line
 * says command="ssh-dispatch --id ID". Request in, decision, record, action.
 *
 * What the client learns is one fixed line and an exit status. The reason is in the audit log,
 * where the admin reads it (OpenSSH keeps the same split between its log and the client).
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { carryOut } from '../act/carry-out.js';
import { decisionRecord, endRecord, fileRecord, learnRecord } from '../audit/record.js';
import { SessionLog } from '../audit/session-log.js';
import { accountLogFile, tellSyslog } from '../audit/sink.js';
import type { Decision } from '../decide/decide.js';
import { decideOnHost, enterPlanDirectory } from '../host/decide-on-host.js';
import { refuseRequester } from '../decide/decide.js';
import type { DenyReason } from '../values/deny-reason.js';
import { loadPolicy } from '../policy/load.js';
import { formatPolicyError } from '../values/policy-error.js';
import { DEFAULT_AUDIT_FILE, DEFAULT_POLICY_PATH } from '../policy/schema.js';
import type { Request } from '../request/request.js';
import { readRequest, unsafeVariablesSet } from '../request/session-env.js';
import { tokenize } from '../request/tokenize.js';
import { protectedArgsFlag } from '../rules/rsync/protected-args.js';
import { readProtectedArgs, type ProtectedArgsRead } from '../host/protected-args.js';
import { slotDirectory, takeLimits, withIdentityFloor } from '../act/limits.js';
import type { Policy } from '../policy/schema.js';

/** Exit status of a denied request: 126, as a shell reports a command it may not execute. */
export const EXIT_DENIED = 126;

/**
 * The one line a refused client sees, with what to quote to the admin: the first 8 digits of
 * the session id, as \`ssh-dispatch logs\` shows them and \`logs --session\` takes them. A denial
 * before anything was recorded (a bad command= line, an unsupported runtime) carries it too,
 * in its syslog line.
 */
export function denyToClient(): number {
  process.stderr.write(`ssh-dispatch: request denied (session ${sessionId().slice(0, 8)})\n`);
  return EXIT_DENIED;
}

let session: string | null = null;

/** This connection's id: 16 random hex digits from the kernel (not node:crypto: it costs a connection), drawn once. */
export function sessionId(): string {
  if (session !== null) return session;
  const bytes = Buffer.alloc(8);
  const fd = openSync('/dev/urandom', 'r');
  try {
    readSync(fd, bytes, 0, 8, null);
  } finally {
    closeSync(fd);
  }
  session = bytes.toString('hex');
  return session;
}

export interface ForcedArgs {
  identity: string;
  policyPath: string;
  learn: boolean;
  /** Serve the policy `check` last approved, not the files as they are now (an apply step). */
  approved: boolean;
}

/**
 * The command= line's flags: --id ID, --policy PATH (each once, as two words or with "="),
 * --learn, --approved. Anything else is an error, since a typo there must not widen anything. Parsed by
 * hand: node:util's parseArgs costs every connection most of a millisecond.
 */
export function parseForcedArgs(args: readonly string[]): ForcedArgs | string {
  const values = new Map<string, string>();
  let learn = false;
  let approved = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--learn') {
      if (learn) return 'duplicate --learn';
      learn = true;
      continue;
    }
    if (arg === '--approved') {
      if (approved) return 'duplicate --approved';
      approved = true;
      continue;
    }
    const match = /^--(id|policy)(?:=(.*))?$/s.exec(arg);
    if (!match) return `unexpected argument ${JSON.stringify(arg)}`;
    const name = match[1]!;
    const value = match[2] ?? args[++i];
    if (value === undefined || value === '' || (match[2] === undefined && value.startsWith('--'))) return `--${name} needs a value`;
    if (values.has(name)) return `duplicate --${name}`;
    // Relative, it would be read from the session's working directory, the account's home,
    // which the account itself may write.
    if (name === 'policy' && !value.startsWith('/')) return `--policy ${value}: give an absolute path`;
    values.set(name, value);
  }
  const identity = values.get('id');
  if (identity === undefined) return '--id ID is required';
  return { identity, policyPath: values.get('policy') ?? DEFAULT_POLICY_PATH, learn, approved };
}

/**
 * The protected arguments of an rsync -s request, read off stdin; null for any other command,
 * and for a request that would be refused whatever they say: an identity that is unknown, fails
 * its from/expires/keys checks, or has no rsync rule. Reading them costs the connection's time, so
 * only a key that may run rsync gets that far (found in review).
 */
async function protectedArgsFor(command: string, loaded: Awaited<ReturnType<typeof loadPolicy>> | Error, request: Request, learn: boolean): Promise<ProtectedArgsRead | null> {
  // Most commands are not rsync -s: spare them a second tokenizing (the decision does its own).
  if (!command.includes('--server')) return null;
  const tokens = tokenize(command);
  if (!tokens.ok || protectedArgsFlag(tokens.words) === null) return null;
  if (loaded instanceof Error || !loaded.ok) return null;
  const identity = loaded.policy.identities.get(request.identity);
  // Learning comes before the rules: there, a known identity that passes its checks is enough.
  if (!identity || (!learn && !identity.rules.some((rule) => rule.kind === 'rsync')) || refuseRequester(identity, request) !== null) return null;
  return readProtectedArgs();
}

/**
 * The forced-command mode, in its steps: read the request, load the policy, decide (with the
 * facts only this host has), record the decision, carry it out, record the end.
 */
export async function runForcedCommand(args: string[]): Promise<number> {
  let unreadProtectedArgs: string | null = null;
  const parsed = parseForcedArgs(args);
  if (typeof parsed === 'string') {
    tellSyslog(`bad command= line in authorized_keys, request denied (session ${sessionId()}): ${parsed}`);
    return denyToClient();
  }
  const session = sessionId();
  const request = readRequest(parsed.identity, process.env, new Date());
  request.session = session;
  const loaded = await loadPolicy(parsed.policyPath, parsed.approved ? { identity: parsed.identity, approved: true } : { identity: parsed.identity, writeCache: true }).catch((error: unknown) => error as Error);
  // rsync -s: the rest of its arguments come on the connection, before anything is decided (in
  // learn mode too: they are what a learned request says). A cut list is recorded as far as it came.
  const protectedArgs = request.command !== null ? await protectedArgsFor(request.command, loaded, request, parsed.learn) : null;
  if (protectedArgs !== null) {
    request.protectedArgs = protectedArgs.ok ? protectedArgs.args : protectedArgs.partial;
    if (!protectedArgs.ok) unreadProtectedArgs = protectedArgs.detail;
  }
  let decision: Decision = unreadProtectedArgs !== null ? { decision: 'deny', reason: 'rsync-protected-args', detail: `rsync -s: ${unreadProtectedArgs}`, words: null, trace: [] } : decideForConnection(loaded, request);
  // A policy that does not load: its refusal goes where the last policy that loaded sent records.
  const audit = loaded instanceof Error ? { file: DEFAULT_AUDIT_FILE, syslog: null } : loaded.ok ? loaded.policy.audit : (loaded.lastAudit ?? { file: DEFAULT_AUDIT_FILE, syslog: null });
  // An account other than root writes a log of its own beside root's (install.sh --account).
  const log = SessionLog.open(accountLogFile(audit.file, process.getuid?.() ?? 0, request.user), audit.syslog, `session ${session}, id ${parsed.identity}`);
  if (!log) return denyToClient();

  if (parsed.learn) {
    // --learn: record what was sent (and what the policy would say), run nothing.
    log.append(learnRecord(session, request, decision.decision === 'deny' && decision.reason === 'policy-unloadable' ? null : decision), 'in learn mode');
    process.stderr.write('ssh-dispatch: learn mode: the request was recorded, not run\n');
    await log.flush();
    return EXIT_DENIED;
  }
  const limited = decision.decision === 'allow' && !(loaded instanceof Error) && loaded.ok ? underLimits(decision, loaded.policy, request, slotDirectory(audit.file, process.getuid?.() ?? 0, request.user)) : null;
  if (limited) decision = limited.decision;
  const recorded = log.append(decisionRecord(session, request, decision));
  await log.flush();
  if (!recorded || decision.decision === 'deny') {
    limited?.release();
    return denyToClient();
  }

  const rule = decision.rule.name;
  const subject = { session, identity: parsed.identity, ...(request.certificates?.[0] ? { certificate: request.certificates[0] } : {}) };
  try {
    const facts = await carryOut(decision.plan, rule, session, (event) => log.append(fileRecord(subject, rule, new Date(), event), 'file not recorded', true));
    log.append(endRecord(subject, new Date(), facts), 'end not recorded');
    await log.flush();
    return facts.exit;
  } finally {
    // An execve'd program never comes back here: it keeps the pid, and with it the slots, while it runs.
    limited?.release();
  }
}

/**
 * An allowed decision under its identity's limits (act/limits.ts): the identity's floor put into
 * the plan, and the slots it needs taken (max-sessions, an rsync rule's single-run), or refused.
 * Nothing is looked at on disk for an identity and rule without max-sessions or single-run.
 */
function underLimits(decision: Decision & { decision: 'allow' }, policy: Policy, request: Request, dir: string): { decision: Decision; release(): void } {
  const identity = policy.identities.get(request.identity)!;
  const rule = identity.rules.find((r) => r.name === decision.rule.name)!;
  const held = takeLimits(identity, rule, dir);
  if (held.refusal) return { decision: { decision: 'deny', reason: held.refusal.reason, detail: held.refusal.detail, words: decision.words, trace: decision.trace }, release: held.release };
  return { decision: { ...decision, plan: withIdentityFloor(decision.plan, identity.minFreeBytes ?? null) }, release: held.release };
}

/**
 * The decision for this connection: refused outright when the dispatcher's own environment is
 * unsafe, the policy does not load or anything throws; otherwise decided on this host, with an
 * rsync pull's directory entered before the decision is recorded (host/decide-on-host.ts).
 */
function decideForConnection(loaded: Awaited<ReturnType<typeof loadPolicy>> | Error, request: Request): Decision {
  const refuse = (reason: DenyReason, detail: string): Decision => ({ decision: 'deny', reason, detail, words: null, trace: [] });
  try {
    const unsafe = unsafeVariablesSet(process.env);
    if (unsafe.length > 0) return refuse('unsafe-environment', `set: ${unsafe.join(', ')}`);
    if (loaded instanceof Error) throw loaded;
    if (!loaded.ok) return refuse('policy-unloadable', loaded.errors.map(formatPolicyError).slice(0, 5).join('; '));
    return enterPlanDirectory(decideOnHost(loaded.policy, request));
  } catch (error) {
    return refuse('internal-error', (error as Error).message);
  }
}
