/**
 * The file server's launch description, the one argument the dispatcher (act/files-session.ts)
 * gives the file server's program (src/serve-files.ts): written by serialiseLaunch, read back by
 * readLaunch, which checks every field. The dispatcher writes it, but a program that runs with a
 * client on its stdin takes nothing on trust: anything unexpected is refused with what is wrong,
 * and the server serves nothing.
 */
import { isCount, isOneOf, objectWith, parseJson } from './json-fields.js';
import type { FilePolicy } from './policy.js';
import type { ScpRequest } from '../../rules/plan.js';

/** What to serve: SFTP, or one legacy scp transfer, held to a policy. */
export type FilesLaunch = { protocol: 'sftp'; policy: FilePolicy } | { protocol: 'scp'; policy: FilePolicy; scp: ScpRequest };

export type ReadLaunch = { ok: true; launch: FilesLaunch } | { ok: false; error: string };

const ACCESS = ['read', 'write', 'read-write'] as const;
const DIRECTIONS = ['to-server', 'from-server'] as const;

/** The launch as the argument's JSON text. Fields are written one by one: nothing else rides along. */
export function serialiseLaunch(launch: FilesLaunch): string {
  const { root, access, delete: mayDelete, overwrite, umask, minFreeBytes, idleTimeoutMs } = launch.policy;
  const policy: FilePolicy = { root, access, delete: mayDelete, overwrite, umask, minFreeBytes, idleTimeoutMs };
  if (launch.protocol === 'sftp') return JSON.stringify({ protocol: 'sftp', policy });
  const { direction, recursive, preserveTimes, targetMustBeDir, path } = launch.scp;
  return JSON.stringify({ protocol: 'scp', policy, scp: { direction, recursive, preserveTimes, targetMustBeDir, path } });
}

/** The launch from the argument's text, every field checked; else what is wrong with it. */
export function readLaunch(text: string): ReadLaunch {
  const value = parseJson(text);
  if (value === undefined) return { ok: false, error: 'not JSON' };
  const launch = objectWith(value, 'the launch description', ['protocol', 'policy'], ['scp']);
  if (typeof launch === 'string') return { ok: false, error: launch };
  if (launch.protocol !== 'sftp' && launch.protocol !== 'scp') return { ok: false, error: 'protocol must be "sftp" or "scp"' };
  const policy = readPolicy(launch.policy);
  if (typeof policy === 'string') return { ok: false, error: policy };
  if (launch.protocol === 'sftp') {
    if (launch.scp !== undefined) return { ok: false, error: 'scp is only for protocol "scp"' };
    return { ok: true, launch: { protocol: 'sftp', policy } };
  }
  const scp = readScp(launch.scp);
  if (typeof scp === 'string') return { ok: false, error: scp };
  return { ok: true, launch: { protocol: 'scp', policy, scp } };
}

function readPolicy(value: unknown): FilePolicy | string {
  const policy = objectWith(value, 'policy', ['root', 'access', 'delete', 'overwrite', 'umask', 'minFreeBytes', 'idleTimeoutMs']);
  if (typeof policy === 'string') return policy;
  const { root, access, delete: mayDelete, overwrite, umask, minFreeBytes, idleTimeoutMs } = policy;
  if (typeof root !== 'string' || !root.startsWith('/') || root.includes('\0')) return 'policy.root must be an absolute path';
  if (!isOneOf(access, ACCESS)) return 'policy.access must be read, write or read-write';
  if (typeof mayDelete !== 'boolean' || typeof overwrite !== 'boolean') return 'policy.delete and policy.overwrite must be true or false';
  if (!isCount(umask) || umask > 0o777) return 'policy.umask must be an integer from 0 to 0o777';
  if (!isCount(minFreeBytes)) return 'policy.minFreeBytes must be a whole number, 0 or more';
  if (!isCount(idleTimeoutMs)) return 'policy.idleTimeoutMs must be a whole number, 0 or more';
  return { root, access, delete: mayDelete, overwrite, umask, minFreeBytes, idleTimeoutMs };
}

function readScp(value: unknown): ScpRequest | string {
  if (value === undefined) return 'protocol "scp" needs scp, the transfer to serve';
  const scp = objectWith(value, 'scp', ['direction', 'recursive', 'preserveTimes', 'targetMustBeDir', 'path']);
  if (typeof scp === 'string') return scp;
  const { direction, recursive, preserveTimes, targetMustBeDir, path } = scp;
  if (!isOneOf(direction, DIRECTIONS)) return 'scp.direction must be to-server or from-server';
  if (typeof recursive !== 'boolean') return 'scp.recursive must be true or false';
  if (typeof preserveTimes !== 'boolean') return 'scp.preserveTimes must be true or false';
  if (typeof targetMustBeDir !== 'boolean') return 'scp.targetMustBeDir must be true or false';
  if (typeof path !== 'string' || path === '' || path.includes('\0')) return 'scp.path must be a non-empty path';
  return { direction, recursive, preserveTimes, targetMustBeDir, path };
}
