/**
 * What a connection is to the client: a session id to quote, and, when refused, one fixed line
 * and an exit status. The reason is in the audit log, where the admin reads it (OpenSSH keeps
 * the same split between its log and the client), and on the line only where the identity says
 * `tell-client: reason`.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import type { Decision } from '../decide/decision.js';
import type { LoadedPolicy } from '../policy/load.js';
import { writeStderr } from './output.js';

/** Exit status of a denied request: 126, as a shell reports a command it may not execute. */
export const EXIT_DENIED = 126;

let session: string | null = null;

/** This connection's id: 16 random hex digits from the kernel (not node:crypto: it costs a connection), drawn once. */
export function sessionId(): string {
  if (session !== null) return session;
  const bytes = Buffer.alloc(8);
  const fd = openSync('/dev/urandom', 'r');
  try {
    readSync(fd, bytes, 0, 8, null);
  } finally {
    closeSync(fd);
  }
  session = bytes.toString('hex');
  return session;
}

/**
 * The one line a refused client sees, with what to quote to the admin: the first 8 digits of
 * the session id, as `ssh-dispatch logs` shows them and `logs --session` takes them. A denial
 * before anything was recorded (a bad command= line, an unsupported runtime) carries it too,
 * in its syslog line. Worded as a refusal to take to an administrator: after it, the client's
 * own error follows (rsync's "connection unexpectedly closed"), which reads as a network fault.
 * `reason`: the deny reason's code, for an identity with `tell-client: reason` only (toldReason).
 */
export function denyToClient(reason: string | null = null): number {
  const told = reason === null ? '' : `, reason ${reason}`;
  writeStderr(`ssh-dispatch: refused by the server's policy (session ${sessionId().slice(0, 8)}${told}); ask its administrator\n`);
  return EXIT_DENIED;
}

/**
 * The reason code a refused client may be told: only the policy's own refusal, and only for an
 * identity that opted in (`tell-client: reason`; off by default, since it tells a thief which part
 * of a probe was refused). A policy that did not load names no identity, so it tells nothing.
 */
export function toldReason(loaded: LoadedPolicy | Error, identity: string, decision: Decision): string | null {
  if (decision.decision !== 'deny' || loaded instanceof Error || !loaded.ok) return null;
  return loaded.policy.identities.get(identity)?.tellClient === 'reason' ? decision.reason : null;
}
