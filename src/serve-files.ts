/**
 * The file server's program (dist/ssh-dispatch-files.cjs), started by the dispatcher inside the
 * sandbox for every sftp or legacy scp session:
 *
 *   node ssh-dispatch-files.cjs '{"protocol":"sftp"|"scp","policy":{...},"scp":{...}}'
 *
 * It serves the protocol on fd 0 and fd 1, writes each FileEvent as one JSON line to fd 3 (a
 * pipe the dispatcher reads and logs) and, last, `{"summary": FileSummary}`. Exit 0 when the
 * session ended cleanly, 1 when it did not, 2 (one line on stderr, nothing served) when the
 * argument is not exactly what is expected or fd 3 is not open: it fails closed, since an
 * unlogged file session is not one the policy allowed.
 *
 * It loads only src/act/files/: no YAML, no policy code. It starts for every session.
 */
import { fstatSync, writeSync } from 'node:fs';
import type { FileEvent } from './act/files/events.js';
import type { FilePolicy } from './act/files/policy.js';
import { serveScp, type ScpRequest } from './act/files/scp.js';
import { serveSftp } from './act/files/sftp.js';

const EVENTS_FD = 3;

export interface FilesLaunch {
  protocol: 'sftp' | 'scp';
  policy: FilePolicy;
  scp?: ScpRequest;
}

/** The launch argument, checked key by key: anything unexpected is an error string. */
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
  const policy = record(launch.policy, ['root', 'access', 'delete', 'overwrite', 'umask'], 'policy');
  if (typeof policy === 'string') return policy;
  if (typeof policy.root !== 'string' || !policy.root.startsWith('/') || policy.root.includes('\0')) return 'policy.root must be an absolute path';
  if (policy.access !== 'read' && policy.access !== 'write' && policy.access !== 'read-write') return 'policy.access must be read, write or read-write';
  if (typeof policy.delete !== 'boolean' || typeof policy.overwrite !== 'boolean') return 'policy.delete and policy.overwrite must be true or false';
  if (!Number.isInteger(policy.umask) || (policy.umask as number) < 0 || (policy.umask as number) > 0o777) return 'policy.umask must be an integer from 0 to 0o777';
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

function fail(message: string): never {
  process.stderr.write(`ssh-dispatch-files: ${message}\n`);
  process.exit(2);
}

function writeLine(value: unknown): void {
  const line = Buffer.from(`${JSON.stringify(value)}\n`);
  for (let done = 0; done < line.length; ) done += writeSync(EVENTS_FD, line, done);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.length !== 1) fail('expects exactly one argument, a JSON object');
  const launch = parseLaunch(args[0]!);
  if (typeof launch === 'string') fail(launch);
  try {
    fstatSync(EVENTS_FD);
  } catch {
    fail('fd 3 (the event pipe) is not open');
  }
  const report = (event: FileEvent) => writeLine(event);
  let summary;
  try {
    summary =
      launch.protocol === 'sftp'
        ? await serveSftp(launch.policy, process.stdin, process.stdout, report)
        : await serveScp(launch.policy, launch.scp!, process.stdin, process.stdout, report);
  } catch (error) {
    fail((error as Error).message.split('\n')[0]!);
  }
  writeLine({ summary });
  process.exit(summary.ended === 'eof' ? 0 : 1);
}

main().catch((error: unknown) => fail(String((error as Error)?.message ?? error).split('\n')[0]!));
