/**
 * Forced-command mode: what sshd runs for every connection of a key whose authorized_keys line
 * says command="ssh-dispatch --id ID". Request in, decision, record, action.
 *
 * What the client learns is one fixed line and an exit status. The reason is in the audit log,
 * where the admin reads it (OpenSSH keeps the same split between its log and the client).
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { replaceWith, superviseExec, EXIT_START_FAILED } from '../act/exec.js';
import { receiveUpload } from '../act/receive.js';
import { relay } from '../act/relay.js';
import { decisionRecord, endRecord, learnRecord } from '../audit/record.js';
import { AuditLog, tellSyslog } from '../audit/sink.js';
import { sendToSyslog } from '../audit/syslog.js';
import type { Decision } from '../decide/decide.js';
import { decideOnHost, enterPlanDirectory } from '../host/decide-on-host.js';
import type { DenyReason } from '../values/deny-reason.js';
import { loadPolicy } from '../policy/load.js';
import { formatPolicyError } from '../values/policy-error.js';
import { DEFAULT_AUDIT_FILE, DEFAULT_POLICY_PATH, type SyslogSettings } from '../policy/schema.js';
import { readRequest, unsafeVariablesSet } from '../request/session-env.js';

/** Exit status of a denied request: 126, as a shell reports a command it may not execute. */
export const EXIT_DENIED = 126;
const DENIED_MESSAGE = 'ssh-dispatch: request denied\n';

export function denyToClient(): number {
  process.stderr.write(DENIED_MESSAGE);
  return EXIT_DENIED;
}

/** 16 random hex digits from the kernel, without loading node:crypto for it. */
function sessionId(): string {
  const bytes = Buffer.alloc(8);
  const fd = openSync('/dev/urandom', 'r');
  try {
    readSync(fd, bytes, 0, 8, null);
  } finally {
    closeSync(fd);
  }
  return bytes.toString('hex');
}

export interface ForcedArgs {
  identity: string;
  policyPath: string;
  learn: boolean;
}

/**
 * The command= line's flags: --id ID, --policy PATH (each once, as two words or with "="),
 * --learn. Anything else is an error, since a typo there must not widen anything. Parsed by
 * hand: node:util's parseArgs costs every connection most of a millisecond.
 */
export function parseForcedArgs(args: readonly string[]): ForcedArgs | string {
  const values = new Map<string, string>();
  let learn = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--learn') {
      if (learn) return 'duplicate --learn';
      learn = true;
      continue;
    }
    const match = /^--(id|policy)(?:=(.*))?$/s.exec(arg);
    if (!match) return `unexpected argument ${JSON.stringify(arg)}`;
    const name = match[1]!;
    const value = match[2] ?? args[++i];
    if (value === undefined || value === '' || (match[2] === undefined && value.startsWith('--'))) return `--${name} needs a value`;
    if (values.has(name)) return `duplicate --${name}`;
    values.set(name, value);
  }
  const identity = values.get('id');
  if (identity === undefined) return '--id ID is required';
  return { identity, policyPath: values.get('policy') ?? DEFAULT_POLICY_PATH, learn };
}

export async function runForcedCommand(args: string[]): Promise<number> {
  const parsed = parseForcedArgs(args);
  if (typeof parsed === 'string') {
    tellSyslog(`bad command= line in authorized_keys: ${parsed}`);
    return denyToClient();
  }
  const { identity, policyPath, learn } = parsed;

  const session = sessionId();
  const request = readRequest(identity, process.env, new Date());
  const refuse = (reason: DenyReason, detail: string): Decision => ({ decision: 'deny', reason, detail, words: null, trace: [] });
  let auditFile = DEFAULT_AUDIT_FILE;
  let syslog: SyslogSettings | null = null;
  let decision: Decision;
  try {
    const unsafe = unsafeVariablesSet(process.env);
    const loaded = await loadPolicy(policyPath, { identity, writeCache: true });
    if (loaded.ok) {
      auditFile = loaded.policy.audit.file;
      syslog = loaded.policy.audit.syslog;
    }
    if (unsafe.length > 0) decision = refuse('unsafe-environment', `set: ${unsafe.join(', ')}`);
    else if (!loaded.ok) decision = refuse('policy-unloadable', loaded.errors.map(formatPolicyError).slice(0, 5).join('; '));
    else decision = enterPlanDirectory(decideOnHost(loaded.policy, request));
  } catch (error) {
    decision = refuse('internal-error', (error as Error).message);
  }

  const opened = AuditLog.open(auditFile);
  if (!opened.ok) {
    tellSyslog(`audit log unwritable, request denied (session ${session}, id ${identity}): ${opened.error}`);
    return denyToClient();
  }
  const fileLog = opened.log;
  const pendingSyslog: Promise<void>[] = [];
  const flushSyslog = () => Promise.all(pendingSyslog.splice(0));
  // Every record goes to the file (which decides) and, where configured, to syslog (best effort).
  const log = {
    append: (record: Record<string, unknown>): string | null => {
      const failure = fileLog.append(record);
      if (syslog) pendingSyslog.push(sendToSyslog(syslog, record));
      return failure;
    },
  };
  if (learn) {
    // --learn: record what was sent (and what the policy would say), run nothing.
    const failure = log.append(learnRecord(session, request, decision.decision === 'deny' && decision.reason === 'policy-unloadable' ? null : decision));
    if (failure) tellSyslog(`audit log unwritable in learn mode (session ${session}, id ${identity}): ${failure}`);
    process.stderr.write('ssh-dispatch: learn mode: the request was recorded, not run\n');
    await flushSyslog();
    return EXIT_DENIED;
  }
  const failure = log.append(decisionRecord(session, request, decision));
  if (failure) {
    tellSyslog(`audit log unwritable, request denied (session ${session}, id ${identity}): ${failure}`);
    return denyToClient();
  }
  await flushSyslog();
  if (decision.decision === 'deny') return denyToClient();

  const plan = decision.plan;
  if (plan.kind === 'relay') {
    const facts = await relay(plan, decision.rule.name);
    log.append(endRecord(session, identity, new Date(), facts));
    await flushSyslog();
    return facts.exit;
  }
  if (plan.kind === 'receive') {
    const facts = await receiveUpload(plan, decision.rule.name, session);
    log.append(endRecord(session, identity, new Date(), facts));
    await flushSyslog();
    return facts.exit;
  }
  if (!plan.supervise) {
    const error = replaceWith(plan);
    log.append(endRecord(session, identity, new Date(), { rule: decision.rule.name, exit: EXIT_START_FAILED, signal: null, durationMs: 0, outcome: 'start-failed', error }));
    process.stderr.write('ssh-dispatch: the program could not be started\n');
    await flushSyslog();
    return EXIT_START_FAILED;
  }
  const facts = await superviseExec(plan, decision.rule.name);
  log.append(endRecord(session, identity, new Date(), facts));
  if (facts.outcome === 'start-failed') process.stderr.write('ssh-dispatch: the program could not be started\n');
  await flushSyslog();
  return facts.exit;
}
