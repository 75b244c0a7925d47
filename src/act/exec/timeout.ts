/** A rule's `timeout`: SIGTERM when it runs out, then SIGKILL after a grace period. */
import type { Send } from './signals.js';

/** The grace period between SIGTERM and SIGKILL when a timeout ends a program. */
const KILL_GRACE_MS = 5000;

export interface Timeout {
  /** Whether the timeout ended the program (its end record says `timeout`). */
  readonly expired: boolean;
  clear(): void;
}

export function armTimeout(timeoutMs: number | null, send: Send): Timeout {
  const timers: NodeJS.Timeout[] = [];
  const state = {
    expired: false,
    clear: () => {
      for (const timer of timers) clearTimeout(timer);
    },
  };
  if (timeoutMs !== null) {
    timers.push(
      setTimeout(() => {
        state.expired = true;
        send('SIGTERM');
        timers.push(setTimeout(() => send('SIGKILL'), KILL_GRACE_MS));
      }, timeoutMs),
    );
  }
  return state;
}
