/**
 * The relay: the session's stdin and stdout piped to one TCP connection, in place of `nc`.
 *
 * A name is resolved once, here, and the connection goes to the address that came back: nothing
 * re-resolves between that and the connect (the address is in the end record). Each direction is
 * half-closed on its own (stdin's end sends FIN; the server's FIN ends stdout), so the ssh
 * protocol inside ends cleanly, and the relay ends when both have, or after `idle` without bytes
 * either way.
 */
import type { EndFacts } from '../audit/record.js';
import type { RelayPlan } from '../rules/plan.js';
import { dns, net } from '../lazy-builtins.js';

export async function relay(plan: RelayPlan, rule: string): Promise<EndFacts> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  let address = plan.host;
  if (plan.resolve) {
    try {
      address = (await dns().lookup(plan.host, { verbatim: true })).address;
    } catch (error) {
      process.stderr.write(`ssh-dispatch: cannot resolve ${plan.host}\n`);
      return {
        rule,
        exit: 1,
        signal: null,
        durationMs: elapsed(),
        outcome: 'connect-failed',
        error: (error as NodeJS.ErrnoException).code ?? 'lookup failed',
        address: plan.host,
        bytesIn: 0,
        bytesOut: 0,
      };
    }
  }
  return new Promise((resolve) => {
    const socket = net().connect({ host: address, port: plan.port, timeout: plan.connectTimeoutMs });
    let bytesIn = 0;
    let bytesOut = 0;
    let connected = false;
    let inputEnded = false;
    let outputEnded = false;
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
        bytesIn,
        bytesOut,
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
      process.stdin.on('data', (chunk: Buffer) => {
        bytesIn += chunk.length;
        resetIdle();
        if (!socket.write(chunk)) {
          process.stdin.pause();
          socket.once('drain', () => process.stdin.resume());
        }
      });
      process.stdin.once('end', () => {
        inputEnded = true;
        socket.end();
        if (outputEnded) finish('closed');
      });
      socket.on('data', (chunk: Buffer) => {
        bytesOut += chunk.length;
        resetIdle();
        if (!process.stdout.write(chunk)) {
          socket.pause();
          process.stdout.once('drain', () => socket.resume());
        }
      });
      socket.once('end', () => {
        outputEnded = true;
        process.stdout.end();
        if (inputEnded) finish('closed');
      });
      socket.once('close', () => finish('closed'));
    });
  });
}
