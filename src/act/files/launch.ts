/**
 * The file server's launch argument (src/serve-files.ts), checked key by key: the dispatcher
 * writes it, but a program that runs with a client on its stdin takes nothing on trust.
 */
import type { FilePolicy } from './policy.js';
import type { ScpRequest } from '../../rules/plan.js';

export interface FilesLaunch {
  protocol: 'sftp' | 'scp';
  policy: FilePolicy;
  scp?: ScpRequest;
}

/** Anything unexpected is an error string. */
export function parseLaunch(text: string): FilesLaunch | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'the argument is not JSON';
  }
  const launch = record(value, ['protocol', 'policy', 'scp'], 'the argument');
  if (typeof launch === 'string') return launch;
  if (launch.protocol !== 'sftp' && launch.protocol !== 'scp') return 'protocol must be "sftp" or "scp"';
  const policy = record(launch.policy, ['root', 'access', 'delete', 'overwrite', 'umask', 'minFreeBytes', 'idleTimeoutMs'], 'policy');
  if (typeof policy === 'string') return policy;
  if (typeof policy.root !== 'string' || !policy.root.startsWith('/') || policy.root.includes('\0')) return 'policy.root must be an absolute path';
  if (policy.access !== 'read' && policy.access !== 'write' && policy.access !== 'read-write') return 'policy.access must be read, write or read-write';
  if (typeof policy.delete !== 'boolean' || typeof policy.overwrite !== 'boolean') return 'policy.delete and policy.overwrite must be true or false';
  if (!Number.isInteger(policy.umask) || (policy.umask as number) < 0 || (policy.umask as number) > 0o777) return 'policy.umask must be an integer from 0 to 0o777';
  for (const key of ['minFreeBytes', 'idleTimeoutMs'] as const) if (!Number.isSafeInteger(policy[key]) || (policy[key] as number) < 0) return `policy.${key} must be a whole number, 0 or more`;
  const parsed: FilesLaunch = { protocol: launch.protocol, policy: policy as unknown as FilePolicy };
  if (launch.protocol === 'sftp') return launch.scp === undefined ? parsed : 'scp is only for protocol "scp"';
  const scp = record(launch.scp, ['direction', 'recursive', 'preserveTimes', 'targetMustBeDir', 'path'], 'scp');
  if (typeof scp === 'string') return scp;
  if (scp.direction !== 'to-server' && scp.direction !== 'from-server') return 'scp.direction must be to-server or from-server';
  for (const key of ['recursive', 'preserveTimes', 'targetMustBeDir'] as const) if (typeof scp[key] !== 'boolean') return `scp.${key} must be true or false`;
  if (typeof scp.path !== 'string' || scp.path === '' || scp.path.includes('\0')) return 'scp.path must be a non-empty path';
  return { ...parsed, scp: scp as unknown as ScpRequest };
}

function record(value: unknown, keys: readonly string[], what: string): Record<string, unknown> | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return `${what} must be an object`;
  const extra = Object.keys(value).filter((key) => !keys.includes(key));
  return extra.length > 0 ? `${what} has unknown key ${extra[0]}` : (value as Record<string, unknown>);
}

