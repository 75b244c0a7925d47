/**
 * Runs an exec plan: argv straight to execve(2) or spawn, never through a shell.
 *
 * The child gets the dispatcher's own stdin, stdout and stderr descriptors (the sshd channel),
 * so the data stream never passes through Node. Two ways to hand over, chosen per rule:
 * - supervise: true (default): spawn and wait. The dispatcher stays resident (~40 MB) but can
 *   write the end record (exit status, signal, duration), enforce `timeout`, and relay SIGTERM,
 *   SIGHUP and SIGINT to the child.
 * - supervise: false: process.execve replaces the dispatcher. Nothing stays resident and there
 *   is no end record; the decision record is the last thing the dispatcher writes.
 */
import { closeSync, openSync, realpathSync } from 'node:fs';
import { constants } from 'node:os';
import type { ExecPlan } from '../rules/plan.js';
import { priorityPrefix } from '../rules/priority.js';
import type { EndFacts } from '../audit/record.js';
import { childProcess } from '../lazy-builtins.js';
import { freeBytes, watchFreeSpace, type FloorReached } from './free-space-watch.js';
import type { SandboxPlan } from '../rules/sandbox.js';
import { BWRAP, bindsOf, bwrapArgs, hostLayout, runtimeBinds, withheldFrom, type HostLayout } from './sandbox.js';
import { openFifo, type Fifo } from './fifo.js';

/** The grace period between SIGTERM and SIGKILL when a timeout ends a program. */
const KILL_GRACE_MS = 5000;
const RELAYED_SIGNALS: NodeJS.Signals[] = ['SIGTERM', 'SIGHUP', 'SIGINT'];
const REPORT_DRAIN_MS = 2000;

/** Exit status of a program that could not be started, as a shell reports "not found". */
export const EXIT_START_FAILED = 127;

function applyProcessSettings(plan: ExecPlan): void {
  if (plan.umask !== null) process.umask(plan.umask);
}

/** The descriptor a sandboxed child's bwrap reports on (the child's fd 3 is this pipe). */
const STATUS_FD = 3;

/** What is started for a plan: the program itself, or bwrap with the program inside its namespace. */
export interface Launch {
  program: string;
  argv: string[];
  cwd: string | null;
  sandboxed: boolean;
  /** Secrets the sandbox withholds from what the request reads (act/sandbox.ts withheldFrom). */
  withheld: string[];
  /** Descriptors on an empty file the program's bwrap needs, right after `statusFd`. */
  standIns: number;
}

/** The plan's sandbox with what the request reads also by its real path (a link to /etc reads /etc). */
function realReads(sandbox: SandboxPlan): SandboxPlan {
  if (!sandbox.reads || sandbox.reads.length === 0) return sandbox;
  const real = sandbox.reads.map((path) => {
    try {
      return realpathSync(path);
    } catch {
      return path;
    }
  });
  return { ...sandbox, reads: [...new Set([...sandbox.reads, ...real])] };
}

/** A sandboxed plan whose request reads a withheld secret is supervised: its end record names them, and bwrap needs descriptors for the stand-ins. */
export function withholds(plan: ExecPlan, layout?: HostLayout): boolean {
  // The host's layout (dozens of lstats) only for a sandboxed plan: a default parameter would be read for every plan.
  return !!plan.sandbox && withheldFrom(realReads(plan.sandbox), layout ?? hostLayout()).length > 0;
}

/**
 * The program, or bwrap around it (act/sandbox.ts). Paths are resolved here, as it starts: a
 * plan's path that is gone now fails the start rather than binding something else.
 * `statusFd` is null for execve, which has nobody left to read it.
 */
export function launchOf(plan: ExecPlan, statusFd: number | null = STATUS_FD, runtime: readonly string[] = []): Launch {
  // nice/ionice exec the program in place (rules/priority.ts): the same process, started nicer.
  const prefix = priorityPrefix(plan.priority);
  if (!plan.sandbox) return { program: prefix[0] ?? plan.program, argv: [...prefix, ...plan.argv], cwd: plan.cwdEntered ? null : plan.cwd, sandboxed: false, withheld: [], standIns: 0 };
  const layout = hostLayout();
  const sandbox = realReads(plan.sandbox);
  const withheld = withheldFrom(sandbox, layout);
  const standIns = withheld.filter((secret) => !secret.directory).length;
  const args = bwrapArgs(
    {
      sandbox,
      runtime: runtimeBinds([plan.program, ...runtime]),
      read: bindsOf(plan.sandbox.read),
      write: bindsOf(plan.sandbox.write),
      cwd: plan.cwd,
      statusFd,
      standInFds: statusFd === null ? [] : Array.from({ length: standIns }, (_, i) => statusFd + 1 + i),
      // The program by its real path: a link to it may lie outside what the namespace shows.
      argv: [...prefix, realpathSync(plan.program), ...plan.argv.slice(1)],
    },
    layout,
  );
  return { program: BWRAP, argv: ['bwrap', ...args], cwd: null, sandboxed: true, withheld: withheld.map((secret) => secret.path), standIns };
}

/**
 * Replaces this process with the program. Returns only if execve failed.
 *
 * Node ignores SIGPIPE and SIGXFSZ, and an ignored signal stays ignored across execve: the
 * program would get EPIPE where it should die quietly on a closed pipe. A caught signal reverts
 * to its default at execve, so listeners go on first (spawn resets dispositions itself).
 */
export function replaceWith(plan: ExecPlan): string {
  try {
    for (const signal of ['SIGPIPE', 'SIGXFSZ'] as const) process.on(signal, () => {});
    applyProcessSettings(plan);
    const launch = launchOf(plan, null);
    if (launch.cwd !== null) process.chdir(launch.cwd);
    process.execve!(launch.program, launch.argv, plan.env);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? (error as Error).message;
  }
  return 'execve returned';
}

function floorMessage(floor: number): string {
  return `less than min-free (${floor} bytes) would stay free on the destination's filesystem`;
}

/** What a caller adds to a supervised run: a runtime the program needs (the files server's Node), a line-per-event pipe on fd 3. */
export interface RunHooks {
  runtime?: readonly string[];
  events?: (line: string) => void;
  /**
   * The program opens fd 3 by name (/proc/self/fd/3: rsync's --log-file does) rather than writing
   * to it: it gets a FIFO (act/fifo.ts), since the socket Node makes for a 'pipe' cannot be opened.
   */
  eventsByName?: { dir: string; tag: string };
}

/** Spawns the program with our stdio, waits for it, and describes how it ended. */
export function superviseExec(plan: ExecPlan, rule: string, hooks: RunHooks = {}): Promise<EndFacts> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const floor = plan.minFree ?? null;
  if (floor && freeBytes(floor.path) < floor.bytes) {
    process.stderr.write('ssh-dispatch: not started: the destination filesystem is at its free-space floor\n');
    return Promise.resolve({ rule, exit: 1, signal: null, durationMs: elapsed(), outcome: 'no-space', error: floorMessage(floor.bytes) });
  }
  // Descriptors past stderr: the events pipe first (fd 3), then bwrap's status pipe.
  const stdio: ('inherit' | 'pipe' | number)[] = ['inherit', 'inherit', 'inherit'];
  let fifo: Fifo | null = null;
  if (hooks.events && hooks.eventsByName) {
    try {
      fifo = openFifo(hooks.eventsByName.dir, hooks.eventsByName.tag);
    } catch (error) {
      return Promise.resolve({ rule, exit: EXIT_START_FAILED, signal: null, durationMs: elapsed(), outcome: 'start-failed', error: `the report pipe: ${(error as Error).message}` });
    }
  }
  const eventsFd = hooks.events ? stdio.push(fifo ? fifo.writeFd : 'pipe') - 1 : null;
  let launch: Launch;
  try {
    launch = launchOf(plan, plan.sandbox ? stdio.length : null, hooks.runtime);
  } catch (error) {
    fifo?.close();
    return Promise.resolve({ rule, exit: EXIT_START_FAILED, signal: null, durationMs: elapsed(), outcome: 'sandbox-failed', error: (error as Error).message });
  }
  const statusFd = launch.sandboxed ? stdio.push('pipe') - 1 : null;
  // The stand-ins' empty descriptors (act/sandbox.ts standIn), right after the status pipe.
  const empty = launch.standIns > 0 ? openSync('/dev/null', 'r') : null;
  for (let i = 0; i < launch.standIns; i++) stdio.push(empty!);
  applyProcessSettings(plan);
  return new Promise((resolve) => {
    const child = childProcess().spawn(launch.program, launch.argv.slice(1), {
      argv0: launch.argv[0],
      env: plan.env,
      cwd: launch.cwd ?? undefined,
      stdio,
      shell: false,
      // A process group of its own when a floor is kept (rsync forks its receiver, and the watch
      // must stop and kill both) or a sandbox holds it (bwrap forwards no signal to its child).
      detached: floor !== null || launch.sandboxed,
    });
    if (empty !== null) closeSync(empty);
    const grouped = floor !== null || launch.sandboxed;
    let status = '';
    if (statusFd !== null) child.stdio[statusFd]!.on('data', (chunk: Buffer) => (status += chunk.toString('utf8')));
    // The FIFO's write end is the child's alone now: the reader sees its end when the child's is closed.
    if (fifo) closeSync(fifo.writeFd);
    const events = fifo ? fifo.reader() : eventsFd !== null ? (child.stdio[eventsFd] as NodeJS.ReadableStream) : null;
    const drained = events ? new Promise<void>((done) => events.once('end', done).once('close', done).once('error', () => done())) : Promise.resolve();
    if (events) readLines(events, hooks.events!);
    const signal = (name: NodeJS.Signals) => {
      if (!grouped || child.pid === undefined) return child.kill(name);
      try {
        process.kill(-child.pid, name);
      } catch {
        // Already ended.
      }
      return true;
    };
    let timedOut = false;
    let floorReached: FloorReached | null = null;
    const watch =
      floor && child.pid !== undefined
        ? watchFreeSpace(floor.path, floor.bytes, child.pid, (facts) => {
            floorReached = facts;
            process.stderr.write('ssh-dispatch: stopped: the destination filesystem reached its free-space floor; the files being written were removed\n');
          })
        : null;
    const relays = RELAYED_SIGNALS.map((name) => {
      const relay = () => signal(name);
      process.on(name, relay);
      return [name, relay] as const;
    });
    const timers: NodeJS.Timeout[] = [];
    if (plan.timeoutMs !== null) {
      timers.push(
        setTimeout(() => {
          timedOut = true;
          signal('SIGTERM');
          timers.push(setTimeout(() => signal('SIGKILL'), KILL_GRACE_MS));
        }, plan.timeoutMs),
      );
    }
    const finish = (ended: EndFacts) => {
      watch?.stop();
      for (const timer of timers) clearTimeout(timer);
      for (const [name, relay] of relays) process.off(name, relay);
      const facts = launch.withheld.length > 0 ? { ...ended, withheld: launch.withheld } : ended;
      if (launch.withheld.length > 0 && facts.exit !== 0) {
        process.stderr.write(`ssh-dispatch: the policy withholds ${launch.withheld.join(', ')} (the rule has secrets: withhold): this copy is incomplete; serve them with secrets: serve on the rule, or exclude them\n`);
      }
      const reached = floorReached as FloorReached | null;
      if (reached) {
        resolve({ ...facts, exit: facts.exit === 0 ? 1 : facts.exit, outcome: 'no-space', error: floorMessage(floor!.bytes), removed: reached.removed, ...(reached.kept.length > 0 ? { kept: reached.kept } : {}) });
        return;
      }
      resolve(facts);
    };
    child.on('error', (error: NodeJS.ErrnoException) => {
      finish({ rule, exit: EXIT_START_FAILED, signal: null, durationMs: elapsed(), outcome: 'start-failed', error: error.code ?? error.message });
    });
    // 'close': after the pipes have ended too, so bwrap's status and the last event are in.
    child.on('close', (code, signal) => void settle(code, signal));
    // Every line the program wrote, before the end is decided on; a process it left behind holding
    // the FIFO open gets REPORT_DRAIN_MS, no more.
    const settle = async (code: number | null, signal: NodeJS.Signals | null) => {
      if (fifo) await Promise.race([drained, new Promise((done) => setTimeout(done, REPORT_DRAIN_MS).unref())]);
      fifo?.close();
      if (statusFd !== null && !/"child-pid"/.test(status)) {
        finish({ rule, exit: code ?? EXIT_START_FAILED, signal: null, durationMs: elapsed(), outcome: 'sandbox-failed', error: 'bwrap could not build the sandbox (its message went to the client)' });
        return;
      }
      if (signal) {
        const number = constants.signals[signal] ?? 0;
        finish({ rule, exit: 128 + number, signal, durationMs: elapsed(), outcome: timedOut ? 'timeout' : 'signaled' });
      } else {
        finish({ rule, exit: code ?? 1, signal: null, durationMs: elapsed(), outcome: timedOut ? 'timeout' : 'exited' });
      }
    };
  });
}

/** Calls `each` with every complete line of a stream. */
function readLines(stream: NodeJS.ReadableStream, each: (line: string) => void): void {
  let rest = '';
  // Decoded as a stream: a character split between two reads stays whole.
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop()!;
    for (const line of lines) if (line !== '') each(line);
  });
}
