/**
 * The relay: the session's stdin and stdout piped to one TCP connection, in place of `nc`.
 *
 * A name is resolved once, here, and the connection goes to the address that came back: nothing
 * re-resolves between that and the connect (the address is in the end record). Each direction is
 * half-closed on its own (stdin's end sends FIN; the server's FIN ends stdout), so the ssh
 * protocol inside ends cleanly, and the relay ends when both have, or after `idle` without bytes
 * either way.
 */
import type { Socket } from 'node:net';
import type { EndFacts } from '../audit/record.js';
import type { RelayPlan } from '../rules/plan.js';
import { dns, net } from '../lazy-builtins.js';

/** The bytes each way so far: client to server (in) and back (out). */
interface Traffic {
  bytesIn: number;
  bytesOut: number;
}

/** The address to connect to: the host as written, or what its one lookup returned; the lookup's error when it failed. */
async function resolveOnce(plan: RelayPlan): Promise<{ address: string } | { error: string }> {
  if (!plan.resolve) return { address: plan.host };
  try {
    return { address: (await dns().lookup(plan.host, { verbatim: true })).address };
  } catch (error) {
    return { error: (error as NodeJS.ErrnoException).code ?? 'lookup failed' };
  }
}

export async function relay(plan: RelayPlan, rule: string): Promise<EndFacts> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const resolved = await resolveOnce(plan);
  if ('error' in resolved) {
    process.stderr.write(`ssh-dispatch: cannot resolve ${plan.host}\n`);
    return {
      rule,
      exit: 1,
      signal: null,
      durationMs: elapsed(),
      outcome: 'connect-failed',
      error: resolved.error,
      address: plan.host,
      bytesIn: 0,
      bytesOut: 0,
    };
  }
  return connectAndPipe(plan, rule, resolved.address, elapsed);
}

/** One connection to `address`, settled once: by both ends, by `idle` without bytes, or by a failure. */
function connectAndPipe(plan: RelayPlan, rule: string, address: string, elapsed: () => number): Promise<EndFacts> {
  return new Promise((resolve) => {
    const socket = net().connect({ host: address, port: plan.port, timeout: plan.connectTimeoutMs });
    const traffic: Traffic = { bytesIn: 0, bytesOut: 0 };
    let connected = false;
    let settled = false;
    let idle: NodeJS.Timeout | undefined;
    const finish = (outcome: EndFacts['outcome'], error?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(idle);
      socket.destroy();
      resolve({
        rule,
        exit: outcome === 'closed' ? 0 : 1,
        signal: null,
        durationMs: elapsed(),
        outcome,
        ...(error ? { error } : {}),
        address,
        bytesIn: traffic.bytesIn,
        bytesOut: traffic.bytesOut,
      });
    };
    const resetIdle = () => {
      clearTimeout(idle);
      idle = setTimeout(() => finish('idle-timeout'), plan.idleTimeoutMs);
    };
    socket.once('timeout', () => {
      if (!connected) {
        process.stderr.write(`ssh-dispatch: cannot connect to ${plan.host} port ${plan.port}\n`);
        finish('connect-failed', 'connect timeout');
      }
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      if (!connected) process.stderr.write(`ssh-dispatch: cannot connect to ${plan.host} port ${plan.port}\n`);
      finish(connected ? 'closed' : 'connect-failed', error.code ?? error.message);
    });
    socket.once('connect', () => {
      connected = true;
      socket.setTimeout(0);
      resetIdle();
      pipeBothWays(socket, traffic, resetIdle, () => finish('closed'));
    });
  });
}

/**
 * stdin to the socket and the socket to stdout, each with backpressure and each half-closed on its
 * own, so the ssh protocol inside ends cleanly; `closed` once both have ended (or the socket closes).
 */
function pipeBothWays(socket: Socket, traffic: Traffic, active: () => void, closed: () => void): void {
  let inputEnded = false;
  let outputEnded = false;
  process.stdin.on('data', (chunk: Buffer) => {
    traffic.bytesIn += chunk.length;
    active();
    if (!socket.write(chunk)) {
      process.stdin.pause();
      socket.once('drain', () => process.stdin.resume());
    }
  });
  process.stdin.once('end', () => {
    inputEnded = true;
    socket.end();
    if (outputEnded) closed();
  });
  socket.on('data', (chunk: Buffer) => {
    traffic.bytesOut += chunk.length;
    active();
    if (!process.stdout.write(chunk)) {
      socket.pause();
      process.stdout.once('drain', () => socket.resume());
    }
  });
  socket.once('end', () => {
    outputEnded = true;
    process.stdout.end();
    if (inputEnded) closed();
  });
  socket.once('close', closed);
}
