/**
 * Forced-command mode: what sshd runs for every connection of a key whose authorized_keys line
 * says command="ssh-dispatch --id ID". Request in, decision, record, action, record:
 *
 *   read the command line -> read the request -> load the applied policy ->
 *   decide (serve/decide-connection.ts) -> open the log -> take the limits -> record ->
 *   carry out -> record the end
 *
 * What the client learns is one fixed line and an exit status (serve/session.ts); the reason is
 * in the audit log (and on the line for an identity with `tell-client: reason`).
 */
import { carryOut } from '../act/carry-out.js';
import { decisionRecord, endRecord, fileRecord, learnRecord, recordSubject } from '../audit/record.js';
import { SessionLog } from '../audit/session-log.js';
import { accountLogFile, tellSyslog } from '../audit/sink.js';
import { type Allow, type Decision, wouldDecide } from '../decide/decision.js';
import { loadServed, type LoadedPolicy } from '../policy/load.js';
import { DEFAULT_AUDIT_FILE } from '../policy/schema.js';
import type { Request } from '../request/request.js';
import { readRequest } from '../request/session-env.js';
import { parseForcedArgs, type ForcedArgs } from './command-line.js';
import { decideConnection } from './decide-connection.js';
import { learnWhileRunning } from './learn-run.js';
import { underLimits } from '../host/limits.js';
import { writeStderr } from './output.js';
import { denyToClient, EXIT_DENIED, sessionId, toldReason } from './session.js';

export async function runForcedCommand(args: string[]): Promise<number> {
  const line = parseForcedArgs(args);
  if (typeof line === 'string') {
    tellSyslog(`bad command= line in authorized_keys, request denied (session ${sessionId()}): ${line}`);
    return denyToClient();
  }
  const request = readRequest(line.identity, process.env, new Date(), sessionId());
  const loaded = await loadApplied(line);
  const { asked, decision } = await decideConnection(request, loaded, line.learn || line.learnRun !== undefined);
  const log = openLog(loaded, request);
  if (!log) return denyToClient();
  if (line.learn) return recordLearned(log, asked, decision);
  if (line.learnRun) return learnWhileRunning(log, asked, decision, line.learnRun, request.now);
  const limited = underLimits(decision, loaded instanceof Error || !loaded.ok ? null : loaded.policy, asked);
  const recorded = log.append(decisionRecord(sessionId(), asked, limited.decision));
  await log.flush();
  if (!recorded || limited.decision.decision === 'deny') {
    limited.release();
    return denyToClient(recorded ? toldReason(loaded, request.identity, limited.decision) : null);
  }
  try {
    return await carryOutRecorded(log, asked, limited.decision);
  } finally {
    // An execve'd program never comes back here: it keeps the pid, and with it the slots, while it runs.
    limited.release();
  }
}

/** The policy this key serves: the applied version (policy/applied/), never the files as they are now. */
function loadApplied(line: ForcedArgs): Promise<LoadedPolicy | Error> {
  return loadServed(line.policyPath, line.identity).catch((error: unknown) => error as Error);
}

/**
 * The session's audit log: where the policy sends records, or, when it does not load, where the
 * last policy that loaded sent them. An account other than root writes a log of its own beside
 * root's (install.sh --account).
 */
function openLog(loaded: LoadedPolicy | Error, request: Request): SessionLog | null {
  const audit = loaded instanceof Error ? null : loaded.ok ? loaded.policy.audit : (loaded.lastAudit ?? null);
  const settings = audit ?? { file: DEFAULT_AUDIT_FILE, syslog: null };
  return SessionLog.open(
    accountLogFile(settings.file, process.getuid?.() ?? 0, request.user),
    settings.syslog,
    `session ${sessionId()}, id ${request.identity}`,
  );
}

/** --learn: what was sent recorded (and what the policy would say), nothing run. */
async function recordLearned(log: SessionLog, asked: Request, decision: Decision): Promise<number> {
  const would = wouldDecide(decision);
  log.append(learnRecord(sessionId(), asked, would), 'in learn mode');
  writeStderr('ssh-dispatch: learn mode: the request was recorded, not run\n');
  await log.flush();
  return EXIT_DENIED;
}

/** The plan carried out, each file event and the end recorded; the program's exit status. */
async function carryOutRecorded(log: SessionLog, asked: Request, allowed: Allow): Promise<number> {
  const rule = allowed.rule.name;
  const session = sessionId();
  const subject = recordSubject(session, asked);
  const facts = await carryOut(allowed.plan, rule, session, (event) =>
    log.append(fileRecord(subject, rule, new Date(), event), 'file not recorded', true),
  );
  log.append(endRecord(subject, new Date(), facts), 'end not recorded');
  await log.flush();
  return facts.exit;
}
