/**
 * Starting a supervised program: what runs (the program, or bwrap with it inside its namespace),
 * on which descriptors (our stdio, the events pipe on fd 3, bwrap's status pipe, the stand-ins'
 * empty descriptors), and the spawn itself, never through a shell.
 */
import { closeSync, openSync, realpathSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import type { EndFacts } from '../../audit/record.js';
import { childProcess } from '../../lazy-builtins.js';
import type { ExecPlan } from '../../rules/plan.js';
import { priorityPrefix } from '../../rules/priority.js';
import type { SandboxPlan } from '../../rules/sandbox.js';
import { openFifo, type Fifo } from '../fifo.js';
import { BWRAP, bindsOf, bwrapArgs, hostLayout, runtimeBinds, withheldFrom, type HostLayout } from '../sandbox.js';

/** Exit status of a program that could not be started, as a shell reports "not found". */
export const EXIT_START_FAILED = 127;

/** The descriptor a sandboxed child's bwrap reports on (the child's fd 3 is this pipe). */
const STATUS_FD = 3;

export function applyProcessSettings(plan: ExecPlan): void {
  if (plan.umask !== null) process.umask(plan.umask);
}

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
  if (!plan.sandbox)
    return {
      program: prefix[0] ?? plan.program,
      argv: [...prefix, ...plan.argv],
      cwd: plan.cwdEntered ? null : plan.cwd,
      sandboxed: false,
      withheld: [],
      standIns: 0,
    };
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
  return {
    program: BWRAP,
    argv: ['bwrap', ...args],
    cwd: null,
    sandboxed: true,
    withheld: withheld.map((secret) => secret.path),
    standIns,
  };
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

/** A program spawned, with the descriptors the supervisor reads. */
export interface Started {
  child: ChildProcess;
  launch: Launch;
  /** The child's fd of bwrap's status pipe (sandboxed runs), of the events pipe (hooks.events without a FIFO). */
  statusFd: number | null;
  eventsFd: number | null;
  /** The events FIFO (hooks.eventsByName); its write end is the child's alone now. */
  fifo: Fifo | null;
}

type NotStarted = Pick<EndFacts, 'exit' | 'outcome' | 'error'>;

/**
 * Spawns the plan with our stdio; `grouped`: in a process group of its own, so that a signal
 * reaches every process of it. Not started: why, as the end record says it.
 */
export function startSupervised(
  plan: ExecPlan,
  hooks: RunHooks,
  grouped: (launch: Launch) => boolean,
): { ok: true; started: Started } | { ok: false; why: NotStarted } {
  // Descriptors past stderr: the events pipe first (fd 3), then bwrap's status pipe.
  const stdio: ('inherit' | 'pipe' | number)[] = ['inherit', 'inherit', 'inherit'];
  let fifo: Fifo | null = null;
  if (hooks.events && hooks.eventsByName) {
    try {
      fifo = openFifo(hooks.eventsByName.dir, hooks.eventsByName.tag);
    } catch (error) {
      return {
        ok: false,
        why: { exit: EXIT_START_FAILED, outcome: 'start-failed', error: `the report pipe: ${(error as Error).message}` },
      };
    }
  }
  const eventsFd = hooks.events ? stdio.push(fifo ? fifo.writeFd : 'pipe') - 1 : null;
  let launch: Launch;
  try {
    launch = launchOf(plan, plan.sandbox ? stdio.length : null, hooks.runtime);
  } catch (error) {
    fifo?.close();
    return { ok: false, why: { exit: EXIT_START_FAILED, outcome: 'sandbox-failed', error: (error as Error).message } };
  }
  const statusFd = launch.sandboxed ? stdio.push('pipe') - 1 : null;
  // The stand-ins' empty descriptors (act/sandbox.ts standIn), right after the status pipe.
  const empty = launch.standIns > 0 ? openSync('/dev/null', 'r') : null;
  for (let i = 0; i < launch.standIns; i++) stdio.push(empty!);
  applyProcessSettings(plan);
  const child = childProcess().spawn(launch.program, launch.argv.slice(1), {
    argv0: launch.argv[0],
    env: plan.env,
    cwd: launch.cwd ?? undefined,
    stdio,
    shell: false,
    detached: grouped(launch),
  });
  if (empty !== null) closeSync(empty);
  // The FIFO's write end is the child's alone now: the reader sees its end when the child's is closed.
  if (fifo) closeSync(fifo.writeFd);
  return { ok: true, started: { child, launch, statusFd, eventsFd, fifo } };
}
