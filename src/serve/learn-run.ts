/**
 * The learn-run stage (--learn-run UNTIL on the key line): while the window is open, the client's
 * words run, so that the first night's backup succeeds while the admin learns what it sends
 * (sshdo's training mode); every run is a learn record `suggest` reads, with `ran: true`, and an
 * end record. How it is bounded:
 *
 * - in time: the window closes at UNTIL (serve/learn-window.ts), and a program still running
 *   then is stopped; after it, the key records and runs nothing, as --learn does;
 * - in what it reaches: the words are read by the strict tokenizer (never a shell: an operator,
 *   a substitution or a variable is refused, a quoted one is a literal word) and started with
 *   execve inside bubblewrap's namespace (act/sandbox.ts), where only --learn-write paths are
 *   writable, --learn-read paths readable, and the rest of the host is the system's programs and
 *   /etc without its secrets, read-only; no network;
 * - in who runs it: the account itself, with no privilege added (as root, the capabilities an
 *   rsync rule keeps: rules/sandbox.ts ROOT_CAPS).
 */
import { accessSync, constants, realpathSync, statSync } from 'node:fs';
import { superviseExec } from '../act/exec.js';
import { endRecord, learnRecord, recordSubject } from '../audit/record.js';
import type { SessionLog } from '../audit/session-log.js';
import { type Decision, wouldDecide } from '../decide/decision.js';
import { sandboxUnavailable } from '../host/sandbox-available.js';
import type { Request } from '../request/request.js';
import { tokenize } from '../request/tokenize.js';
import { CHILD_PATH, minimalChildEnv, type ExecPlan } from '../rules/plan.js';
import { ROOT_CAPS } from '../rules/sandbox.js';
import type { DenyReason } from '../values/deny-reason.js';
import { isWithin } from '../values/paths.js';
import { learnWindowLeftMs, learnWindowOpen, type LearnRun } from './learn-window.js';
import { writeStderr } from './output.js';
import { denyToClient, EXIT_DENIED, sessionId } from './session.js';

/** The `rule` of a learn-run's end record: no policy rule can be named so (policy/schema.ts NAME_PATTERN), so status and summary never count it as one. */
export const LEARN_RUN_RULE = '(learn-run)';

/**
 * What the policy says of who is asking, or of the session itself, that stops a run: an identity
 * the policy has, asked for from an address, account, key or certificate it refuses, and an
 * environment that could have run code before the dispatcher. Learning is for commands no rule
 * allows yet (no-rule-matched, unknown-identity, a policy not loaded), never for those.
 */
const STOPS_A_RUN: readonly DenyReason[] = [
  'identity-expired',
  'from-not-allowed',
  'from-unknown',
  'key-not-allowed',
  'key-unknown',
  'account-not-allowed',
  'certificate-missing',
  'certificate-principal-not-allowed',
  'certificate-expired',
  'certificate-not-yet-valid',
  'unsafe-environment',
  'internal-error',
];

/** Records the request; inside the window also runs it (the program's exit status), after it refuses (126). */
export async function learnWhileRunning(
  log: SessionLog,
  asked: Request,
  decision: Decision,
  run: LearnRun,
  now = new Date(),
): Promise<number> {
  const would = wouldDecide(decision);
  const notRun = async (why: string): Promise<number> => {
    log.append(learnRecord(sessionId(), asked, would, { until: run.until }), 'in learn mode');
    writeStderr(`ssh-dispatch: learn mode: the request was recorded, not run: ${why}\n`);
    await log.flush();
    return EXIT_DENIED;
  };
  if (!learnWindowOpen(run, now))
    return notRun(`the learning window of this key ended at ${run.until.toISOString()} (take --learn-run off its line)`);
  const plan = learnRunPlan(asked, decision, run, now);
  if (typeof plan === 'string') return notRun(plan);
  const sandbox = { read: run.read, write: run.write };
  const recorded = log.append(learnRecord(sessionId(), asked, would, { until: run.until, ran: { argv: plan.argv, sandbox } }));
  await log.flush();
  // Nothing runs unrecorded.
  if (!recorded) return denyToClient();
  const facts = await superviseExec(plan, LEARN_RUN_RULE);
  if (facts.outcome === 'timeout')
    writeStderr('ssh-dispatch: learn mode: the learning window ended while the command ran: it was stopped\n');
  log.append(endRecord(recordSubject(sessionId(), asked), new Date(), facts), 'end not recorded');
  await log.flush();
  return facts.exit;
}

/** The run for this request: the client's words, as execve gets them, in the key's sandbox; or why it does not run. */
export function learnRunPlan(
  asked: Request,
  decision: Decision,
  run: LearnRun,
  now: Date,
  uid = process.getuid?.() ?? 0,
): ExecPlan | string {
  if (decision.decision === 'deny' && STOPS_A_RUN.includes(decision.reason))
    return `the policy refuses this session (${decision.reason}), which learning does not change`;
  // rsync -s sent the rest of its arguments on the connection, read now: rsync cannot be handed them again.
  if (asked.protectedArgs !== undefined)
    return 'rsync -s (--protect-args) sent its arguments on the connection: they are recorded, but cannot be handed to rsync';
  if (asked.command === null) return 'the session sent no command';
  const tokens = tokenize(asked.command);
  if (!tokens.ok) return `${tokens.reason} (${tokens.detail}): no shell reads the command here, so what one would interpret is refused`;
  const [first, ...rest] = tokens.words;
  if (first === undefined) return 'the session sent no command';
  const program = programPath(first);
  if (program === null) return `${JSON.stringify(first)} is not an executable file on PATH (${CHILD_PATH}) or an absolute path to one`;
  for (const path of [...run.write, ...run.read]) {
    const problem = pathProblem(path);
    if (problem !== null) return `${path}: ${problem} (a path of the key line)`;
  }
  const unavailable = sandboxUnavailable(uid);
  if (unavailable !== null) return `no sandbox: ${unavailable}`;
  return {
    kind: 'exec',
    program,
    argv: [program, ...rest],
    env: minimalChildEnv({ user: asked.user, home: asked.home, sshConnection: asked.sshConnection, ruleEnv: {} }),
    // The account's home, as a session starts in it, where the namespace holds it; else /.
    cwd: [...run.write, ...run.read].some((path) => isWithin(asked.home, path)) ? asked.home : null,
    umask: null,
    timeoutMs: learnWindowLeftMs(run, now),
    supervise: true,
    confine: null,
    sandbox: { read: run.read, write: run.write, rootCaps: [...(run.write.length > 0 ? ROOT_CAPS.store : ROOT_CAPS.read)] },
  };
}

/** The program the first word names: an absolute path, or a name looked up on the children's PATH (never the client's). */
function programPath(word: string): string | null {
  const candidates = word.startsWith('/') ? [word] : word.includes('/') ? [] : CHILD_PATH.split(':').map((dir) => `${dir}/${word}`);
  for (const candidate of candidates) {
    try {
      if (!statSync(candidate).isFile()) continue;
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/**
 * A path the sandbox binds must be there now (bwrap would fail on it after the run was recorded),
 * and be its own real path: through a link, the sandbox would bind wherever the link points now,
 * which whoever can change the link chooses, not the key line.
 */
function pathProblem(path: string): string | null {
  try {
    const real = realpathSync(path);
    return real === path ? null : `leads through a symbolic link to ${real}: name the real path`;
  } catch (error) {
    return `cannot be bound (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`;
  }
}
