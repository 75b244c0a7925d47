/**
 * Signals to a supervised program: SIGTERM, SIGHUP and SIGINT sent to the dispatcher are passed
 * on to it, and a timeout's are sent the same way. A program in a group of its own (bwrap
 * forwards no signal to its child; rsync forks its receiver) is signalled as the whole group.
 */
import type { ChildProcess } from 'node:child_process';

const RELAYED_SIGNALS: NodeJS.Signals[] = ['SIGTERM', 'SIGHUP', 'SIGINT'];

export type Send = (name: NodeJS.Signals) => void;

/** Sends a signal to the child, or to its process group when it leads one. */
export function sender(child: ChildProcess, grouped: boolean): Send {
  return (name) => {
    if (!grouped || child.pid === undefined) {
      child.kill(name);
      return;
    }
    try {
      process.kill(-child.pid, name);
    } catch {
      // Already ended.
    }
  };
}

/** Passes the dispatcher's SIGTERM, SIGHUP and SIGINT on until the returned function is called. */
export function relaySignals(send: Send): () => void {
  const relays = RELAYED_SIGNALS.map((name) => {
    const relay = () => send(name);
    process.on(name, relay);
    return [name, relay] as const;
  });
  return () => {
    for (const [name, relay] of relays) process.off(name, relay);
  };
}
