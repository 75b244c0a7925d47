/**
 * Node built-ins that the forced-command mode needs only on some paths, loaded at the point of
 * use: node:crypto (a key fingerprint, a long command's digest) and node:child_process (a
 * supervised program, rsync, logger) each cost a few milliseconds of every connection's start
 * when imported at the top, and an execve'd exec rule needs neither.
 */
export function crypto(): typeof import('node:crypto') {
  return process.getBuiltinModule('node:crypto');
}

export function childProcess(): typeof import('node:child_process') {
  return process.getBuiltinModule('node:child_process');
}

export function sha256(data: string | Buffer, encoding: 'hex' | 'base64'): string {
  return crypto().createHash('sha256').update(data).digest(encoding);
}
