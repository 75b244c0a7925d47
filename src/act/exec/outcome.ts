/**
 * How a supervised program ended, as the end record says it: exited, signaled, timed out, or
 * bwrap never got it started; then what the run adds (the secrets withheld, a free-space floor
 * reached).
 */
import { constants } from 'node:os';
import type { EndFacts } from '../../audit/record.js';
import type { FloorReached } from '../free-space-watch.js';
import { EXIT_START_FAILED } from './launch.js';

export function floorMessage(floor: number): string {
  return `less than min-free (${floor} bytes) would stay free on the destination's filesystem`;
}

/** What the program's end leaves to decide: its status, what bwrap reported (null: not sandboxed), whether the timeout ended it. */
export interface Ending {
  code: number | null;
  signal: NodeJS.Signals | null;
  sandboxStatus: string | null;
  timedOut: boolean;
}

export function endedAs(rule: string, durationMs: number, ending: Ending): EndFacts {
  // bwrap writes the child's pid once the namespace is built: without it the program never ran.
  if (ending.sandboxStatus !== null && !/"child-pid"/.test(ending.sandboxStatus)) {
    return {
      rule,
      exit: ending.code ?? EXIT_START_FAILED,
      signal: null,
      durationMs,
      outcome: 'sandbox-failed',
      error: 'bwrap could not build the sandbox (its message went to the client)',
    };
  }
  if (ending.signal) {
    const number = constants.signals[ending.signal] ?? 0;
    return { rule, exit: 128 + number, signal: ending.signal, durationMs, outcome: ending.timedOut ? 'timeout' : 'signaled' };
  }
  return { rule, exit: ending.code ?? 1, signal: null, durationMs, outcome: ending.timedOut ? 'timeout' : 'exited' };
}

/** The end with what the run adds: the secrets withheld (said to the client too when it failed), and a floor that stopped it. */
export function withRunFacts(ended: EndFacts, withheld: string[], reached: FloorReached | null, floorBytes: number | null): EndFacts {
  const facts = withheld.length > 0 ? { ...ended, withheld } : ended;
  if (withheld.length > 0 && facts.exit !== 0) {
    process.stderr.write(
      `ssh-dispatch: the policy withholds ${withheld.join(', ')} (the rule has secrets: withhold): this copy is incomplete; serve them with secrets: serve on the rule, or exclude them\n`,
    );
  }
  if (!reached) return facts;
  return {
    ...facts,
    exit: facts.exit === 0 ? 1 : facts.exit,
    outcome: 'no-space',
    error: floorMessage(floorBytes!),
    removed: reached.removed,
    ...(reached.kept.length > 0 ? { kept: reached.kept } : {}),
  };
}
