/**
 * A supervised run, from start to end record: started (launch.ts), watched (a free-space floor,
 * signals.ts, timeout.ts), its events read (events.ts), and its end described (outcome.ts).
 */
import type { EndFacts } from '../../audit/record.js';
import type { ExecPlan } from '../../rules/plan.js';
import { freeBytes, watchFreeSpace, type FloorReached } from '../free-space-watch.js';
import { readEvents } from './events.js';
import { EXIT_START_FAILED, startSupervised, type RunHooks } from './launch.js';
import { endedAs, floorMessage, withRunFacts } from './outcome.js';
import { relaySignals, sender } from './signals.js';
import { armTimeout } from './timeout.js';

/** Spawns the program with our stdio, waits for it, and describes how it ended. */
export function superviseExec(plan: ExecPlan, rule: string, hooks: RunHooks = {}): Promise<EndFacts> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const floor = plan.minFree ?? null;
  if (floor && freeBytes(floor.path) < floor.bytes) {
    process.stderr.write('ssh-dispatch: not started: the destination filesystem is at its free-space floor\n');
    return Promise.resolve({ rule, exit: 1, signal: null, durationMs: elapsed(), outcome: 'no-space', error: floorMessage(floor.bytes) });
  }
  // A process group of its own when a floor is kept (rsync forks its receiver, and the watch
  // must stop and kill both) or a sandbox holds it (bwrap forwards no signal to its child).
  const grouped = (launch: { sandboxed: boolean }) => floor !== null || launch.sandboxed;
  const start = startSupervised(plan, hooks, grouped);
  if (!start.ok) return Promise.resolve({ rule, signal: null, durationMs: elapsed(), ...start.why });
  const { child, launch, statusFd } = start.started;
  return new Promise((resolve) => {
    let status = '';
    if (statusFd !== null) child.stdio[statusFd]!.on('data', (chunk: Buffer) => (status += chunk.toString('utf8')));
    const eventsIn = readEvents(start.started, hooks.events);
    const send = sender(child, grouped(launch));
    let floorReached: FloorReached | null = null;
    const watch =
      floor && child.pid !== undefined
        ? watchFreeSpace(floor.path, floor.bytes, child.pid, (facts) => {
            floorReached = facts;
            process.stderr.write(
              'ssh-dispatch: stopped: the destination filesystem reached its free-space floor; the files being written were removed\n',
            );
          })
        : null;
    const unrelay = relaySignals(send);
    const timeout = armTimeout(plan.timeoutMs, send);
    const finish = (ended: EndFacts) => {
      watch?.stop();
      timeout.clear();
      unrelay();
      resolve(withRunFacts(ended, launch.withheld, floorReached, floor?.bytes ?? null));
    };
    child.on('error', (error: NodeJS.ErrnoException) => {
      finish({
        rule,
        exit: EXIT_START_FAILED,
        signal: null,
        durationMs: elapsed(),
        outcome: 'start-failed',
        error: error.code ?? error.message,
      });
    });
    // 'close': after the pipes have ended too, so bwrap's status and the last event are in.
    child.on('close', (code, signal) => {
      void eventsIn().then(() =>
        finish(endedAs(rule, elapsed(), { code, signal, sandboxStatus: statusFd !== null ? status : null, timedOut: timeout.expired })),
      );
    });
  });
}
