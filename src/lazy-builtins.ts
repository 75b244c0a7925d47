/**
 * Node built-ins that the forced-command mode needs only on some paths, loaded at the point of
 * use: node:crypto (a key fingerprint, a long command's digest), node:child_process (a
 * supervised program, rsync, logger), node:net with its streams (a relay, syslog over TCP) and
 * node:tls (syslog over TLS, which also loads OpenSSL's contexts) each cost milliseconds of
 * every connection's start when imported at the top, and an execve'd exec rule needs none of
 * them.
 */
export function crypto(): typeof import('node:crypto') {
  return process.getBuiltinModule('node:crypto');
}

export function childProcess(): typeof import('node:child_process') {
  return process.getBuiltinModule('node:child_process');
}

export function net(): typeof import('node:net') {
  return process.getBuiltinModule('node:net');
}

export function tls(): typeof import('node:tls') {
  return process.getBuiltinModule('node:tls');
}

export function dns(): typeof import('node:dns/promises') {
  return process.getBuiltinModule('node:dns/promises');
}

export function sha256(data: string | Buffer, encoding: 'hex' | 'base64'): string {
  return crypto().createHash('sha256').update(data).digest(encoding);
}
