/**
 * Carries out a files plan (sftp rules): our own file server (src/serve-files.ts, bundled as
 * dist/ssh-dispatch-files.cjs) started by the same Node runtime inside the sandbox, serving the
 * client on the session's stdin and stdout. The server runs as the account, sees only root, and
 * reports each file it read, wrote, removed or renamed as a JSON line on fd 3; here each becomes
 * a `file` audit record. The server is less trusted than this process (it parses the client's
 * bytes), so its lines are checked like input: a malformed one is dropped and counted.
 */
import { dirname, join } from 'node:path';
import { realpathSync } from 'node:fs';
import type { EndFacts } from '../audit/record.js';
import type { FilesPlan } from '../rules/plan.js';
import { CHILD_PATH } from '../rules/plan.js';
import { superviseExec } from './exec.js';
import type { FileEvent } from './files/events.js';
import type { Refusal } from './files/policy.js';

export type { FileEvent };

const OPS: ReadonlySet<string> = new Set(['read', 'write', 'remove', 'rename', 'mkdir', 'rmdir', 'setstat']);
/** Refusals recorded per session; the rest are counted (a client must not flood the log). */
const MAX_REFUSAL_RECORDS = 100;
const MAX_PATH = 4096;

const isPath = (value: unknown): value is string => typeof value === 'string' && value.startsWith('/');
/** A path as long as a client likes (a refusal comes before any look at the disk): its head, marked as cut. */
const bounded = (path: string) => (path.length <= MAX_PATH ? path : `${path.slice(0, MAX_PATH)}...(${path.length} characters)`);

/** One line of the server's report as a FileEvent, or null when it is not one. */
export function readFileEvent(line: string): FileEvent | null {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const { op, path, to, bytes, refused } = value as Record<string, unknown>;
  if (typeof op !== 'string' || !OPS.has(op) || !isPath(path)) return null;
  if (to !== undefined && !isPath(to)) return null;
  if (bytes !== undefined && !(Number.isSafeInteger(bytes) && (bytes as number) >= 0)) return null;
  if (refused !== undefined && !(typeof refused === 'string' && /^[a-z-]{1,40}$/.test(refused))) return null;
  return { op: op as FileEvent['op'], path: bounded(path), ...(to !== undefined ? { to: bounded(to) } : {}), ...(bytes !== undefined ? { bytes: bytes as number } : {}), ...(refused !== undefined ? { refused: refused as Refusal } : {}) };
}

/**
 * How the server said its session ended, from its last line (`{"summary": ...}`): only the idle
 * timeout changes the end record (outcome `idle-timeout`); anything else is left to the exit.
 */
export function idleTimedOut(line: string): boolean {
  try {
    const value = JSON.parse(line) as { summary?: { ended?: unknown } } | null;
    return value?.summary?.ended === 'idle-timeout';
  } catch {
    return false;
  }
}

/** The file server's bundle, beside the one running now (dist/, or the install's lib directory). */
export function filesServerPath(): string {
  return join(dirname(realpathSync(process.argv[1]!)), 'ssh-dispatch-files.cjs');
}

export async function serveFiles(plan: FilesPlan, rule: string, record: (event: FileEvent) => void, server = filesServerPath()): Promise<EndFacts> {
  const node = realpathSync(process.execPath);
  const counts: Record<string, number> = {};
  const count = (name: string) => (counts[name] = (counts[name] ?? 0) + 1);
  let refusals = 0;
  let idle = false;
  const request = { protocol: plan.protocol, policy: plan.policy, ...(plan.scp ? { scp: plan.scp } : {}) };
  const facts = await superviseExec(
    {
      kind: 'exec',
      program: node,
      // --single-threaded: no V8 background threads. The server compiles hot code while it moves
      // gigabytes, and a concurrent compile job that waits for a main-thread GC as the server
      // exits deadlocks Node's exit (nodejs/node#54918): one 200 MiB download in six never ended
      // (found by the sftp benchmark). Its work is I/O; GC on the main thread costs it little.
      argv: [node, '--single-threaded', server, JSON.stringify(request)],
      env: { PATH: CHILD_PATH, LANG: 'C.UTF-8' },
      cwd: plan.policy.root,
      umask: plan.policy.umask,
      timeoutMs: null,
      supervise: true,
      confine: null,
      sandbox: plan.sandbox,
    },
    rule,
    {
      runtime: [server],
      events(line) {
        if (line.startsWith('{"summary"')) return void (idle = idleTimedOut(line));
        const event = readFileEvent(line);
        if (event === null) return void count('malformed');
        if (event.refused !== undefined) {
          count('refused');
          if (++refusals > MAX_REFUSAL_RECORDS) return;
        } else {
          count(event.op);
        }
        record(event);
      },
    },
  );
  // Ended by the server for the policy's idle timeout (exit 1): the end record says so.
  if (idle && facts.outcome === 'exited') return { ...facts, outcome: 'idle-timeout', error: `no request for ${plan.policy.idleTimeoutMs / 1000} s`, files: counts };
  return { ...facts, files: counts };
}
