/**
 * Carries out a files plan (sftp rules): our own file server (src/serve-files.ts, bundled as
 * dist/ssh-dispatch-files.cjs) started by the same Node runtime inside the sandbox, serving the
 * client on the session's stdin and stdout. The server runs as the account, sees only root, and
 * reports each file it read, wrote, removed or renamed as a JSON line on fd 3; here each becomes
 * a `file` audit record. Both boundaries have one writer and one checking reader: the launch
 * (files/launch.ts) and the report (files/server-report.ts). The server is less trusted than this
 * process (it parses the client's bytes), so its lines are checked like input: a malformed one is
 * refused and counted.
 */
import { dirname, join } from 'node:path';
import { realpathSync } from 'node:fs';
import type { EndFacts } from '../audit/record.js';
import type { FilesPlan } from '../rules/plan.js';
import { CHILD_PATH } from '../rules/plan.js';
import { superviseExec } from './exec.js';
import type { FileEvent } from './files/events.js';
import { serialiseLaunch, type FilesLaunch } from './files/launch.js';
import { readReport } from './files/server-report.js';
import { SessionWrites } from './files/session-writes.js';

export type { FileEvent };

/** Refusals recorded per session; the rest are counted (a client must not flood the log). */
const MAX_REFUSAL_RECORDS = 100;
/**
 * `file` records per session for what was done (reads, writes, removals ...); the rest are counted
 * in the end record's `files` (`unrecorded`), and what was written is in its `writes` whatever the
 * count. Without a cap a read-only key wrote about 12,500 records a second into the log.
 */
export const MAX_FILE_RECORDS = 1000;

/** The launch description of a files plan: what the server is to serve, and under which policy. */
export function launchOf(plan: FilesPlan): FilesLaunch {
  if (plan.protocol === 'sftp') return { protocol: 'sftp', policy: plan.policy };
  // No plan is made so (rules/ builds the transfer with the protocol); a server is not started for one.
  if (plan.scp === null) throw new Error('a legacy scp plan without its transfer (scp -t or -f): nothing served');
  return { protocol: 'scp', policy: plan.policy, scp: plan.scp };
}

/** The file server's bundle, beside the one running now (dist/, or the install's lib directory). */
export function filesServerPath(): string {
  return join(dirname(realpathSync(process.argv[1]!)), 'ssh-dispatch-files.cjs');
}

/**
 * The server's event lines as the dispatcher keeps them: each a `file` record, up to
 * MAX_FILE_RECORDS done and MAX_REFUSAL_RECORDS refused; every one counted (`files`), and what
 * was written gathered by name (`writes`, for a rule that may write).
 */
export function eventSink(access: FilesPlan['policy']['access'], record: (event: FileEvent) => void) {
  const counts: Record<string, number> = {};
  const count = (name: string) => (counts[name] = (counts[name] ?? 0) + 1);
  let refusals = 0;
  let recorded = 0;
  let idle = false;
  const writes = access === 'read' ? null : new SessionWrites();
  return {
    line(line: string): void {
      // Refused, and reported in the end record's `files` as `malformed`: never logged as the server put it.
      const read = readReport(line);
      if (!read.ok) return void count('malformed');
      // Only the idle timeout changes the end record (outcome `idle-timeout`); any other end is left to the exit.
      if (read.report.kind === 'summary') return void (idle = read.report.summary.ended === 'idle-timeout');
      const { event } = read.report;
      if (event.refused !== undefined) {
        count('refused');
        if (++refusals > MAX_REFUSAL_RECORDS) return void count('unrecorded');
      } else {
        count(event.op);
        writes?.add(event);
        if (++recorded > MAX_FILE_RECORDS) return void count('unrecorded');
      }
      record(event);
    },
    /** The end record's `files`, and `writes` for a rule that may write. */
    facts(): Pick<EndFacts, 'files' | 'writes'> {
      return { files: counts, ...(writes === null ? {} : { writes: writes.facts() }) };
    },
    get idle(): boolean {
      return idle;
    },
  };
}

export async function serveFiles(
  plan: FilesPlan,
  rule: string,
  record: (event: FileEvent) => void,
  server = filesServerPath(),
): Promise<EndFacts> {
  const node = realpathSync(process.execPath);
  const sink = eventSink(plan.policy.access, record);
  const launch = serialiseLaunch(launchOf(plan));
  const facts = await superviseExec(
    {
      kind: 'exec',
      program: node,
      // --single-threaded: no V8 background threads. The server compiles hot code while it moves
      // gigabytes, and a concurrent compile job that waits for a main-thread GC as the server
      // exits deadlocks Node's exit (nodejs/node#54918): one 200 MiB download in six never ended
      // (found by the sftp benchmark). Its work is I/O; GC on the main thread costs it little.
      argv: [node, '--single-threaded', server, launch],
      env: { PATH: CHILD_PATH, LANG: 'C.UTF-8' },
      cwd: plan.policy.root,
      umask: plan.policy.umask,
      timeoutMs: null,
      supervise: true,
      confine: null,
      sandbox: plan.sandbox,
    },
    rule,
    { runtime: [server], events: (line) => sink.line(line) },
  );
  // Ended by the server for the policy's idle timeout (exit 1): the end record says so.
  if (sink.idle && facts.outcome === 'exited')
    return { ...facts, outcome: 'idle-timeout', error: `no request for ${plan.policy.idleTimeoutMs / 1000} s`, ...sink.facts() };
  return { ...facts, ...sink.facts() };
}
