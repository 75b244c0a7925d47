/**
 * What a connection is to the client: a session id to quote, and, when refused, one fixed line
 * and an exit status. The reason is in the audit log, where the admin reads it (OpenSSH keeps
 * the same split between its log and the client).
 */
import { closeSync, openSync, readSync } from 'node:fs';
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
 * in its syslog line.
 */
export function denyToClient(): number {
  writeStderr(`ssh-dispatch: request denied (session ${sessionId().slice(0, 8)})\n`);
  return EXIT_DENIED;
}
