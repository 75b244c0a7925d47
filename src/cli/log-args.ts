/** Where the audit log is, for logs, summary and status: --log, else the policy's, else the default. */
import { accessSync, constants } from 'node:fs';
import { basename, dirname } from 'node:path';
import { accountLogs, accountOfLog, auditFiles, auditFilesSince, unreadableLog } from '../audit/read.js';
import { loadApplied, loadPolicy, type LoadedPolicy } from '../policy/load.js';
import { DEFAULT_AUDIT_FILE, DEFAULT_POLICY_PATH, type Policy } from '../policy/schema.js';

/**
 * The log to read and the policy to judge its records by (servedOrFiles: the applied version).
 * The log is --log, else the one the policy names; a policy that does not load names none, so
 * without --log that is an error (the default log would be another one, full of other records:
 * issue 27), and so is a --policy
 * given that does not load. With --log alone, a default policy that is not there or does not
 * load leaves nothing to judge accounts' records by (they read as foreign).
 */
export async function auditLogPath(
  log: string | undefined,
  policyPath: string | undefined,
  known?: Policy,
): Promise<{ path: string; policy: Policy | null } | { error: string }> {
  const where = policyPath ?? DEFAULT_POLICY_PATH;
  const loaded = known !== undefined ? { ok: true as const, policy: known } : await servedOrFiles(where);
  if (loaded?.ok) return { path: log ?? loaded.policy.audit.file, policy: loaded.policy };
  if (log !== undefined && policyPath === undefined) return { path: log, policy: null };
  const read = log === undefined ? 'which log to read is not known: give --log FILE to read one anyway' : 'fix it, or leave --policy out';
  return { error: `the policy at ${where} does not load (ssh-dispatch check --policy ${where} says why); ${read}` };
}

/**
 * The policy records are judged by: what keys serve (the applied version), so that an edit not
 * applied, or a typo in it, changes neither the log read nor the rules status watches; the files
 * only while nothing is applied yet (a newcomer's first records: policy-not-applied refusals).
 */
async function servedOrFiles(where: string): Promise<LoadedPolicy | null> {
  const applied = await loadApplied(where).catch(() => null);
  if (applied === null || applied.ok || !applied.notApplied) return applied;
  return loadPolicy(where).catch(() => null);
}

/**
 * The files of `log` to read: all its rotated files with `rotated`; else those that may hold
 * records at or after `since` (auditFilesSince: a window that reaches past the last rotation
 * reads the rotated files it needs); else, with no window, the log alone. Throws when the
 * directory cannot be listed.
 */
function logFiles(log: string, rotated: boolean, since: Date | undefined): string[] {
  if (rotated) return auditFiles(log, true);
  return since === undefined ? [log] : auditFilesSince(log, since);
}

/**
 * logFiles of each log. A directory that cannot be listed reads as the log alone: unreadableLog
 * then says why the log cannot be read (a directory this user may not enter), and when the log
 * can be read all the same, one line on stderr says its rotated files were not.
 */
function filesOfLogs(logs: readonly string[], rotated: boolean, since: Date | undefined): Map<string, string[]> {
  const listed = new Map<string, string[]>();
  for (const log of logs) {
    try {
      listed.set(log, logFiles(log, rotated, since));
    } catch (error) {
      listed.set(log, [log]);
      if (rotated || since !== undefined)
        try {
          accessSync(log, constants.R_OK);
          const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
          process.stderr.write(`ssh-dispatch: ${dirname(log)} cannot be listed (${code}): ${basename(log)}'s rotated files are not read\n`);
        } catch {
          // The log itself cannot be read: unreadableLog says why.
        }
    }
  }
  return listed;
}

/**
 * Whose log the one read is: null for root's, else the account's (its records are then judged as
 * that account's: audit/provenance.ts). Named after the policy's audit.file, else the default's.
 */
export function accountOfGivenLog(path: string, policy: Policy | null): string | null {
  return accountOfLog(policy?.audit.file ?? DEFAULT_AUDIT_FILE, path);
}

/** The logs a review command reads, each with its files and whose records they are: the named log first. */
export interface LogSources {
  path: string;
  policy: Policy | null;
  sources: { log: string; files: string[]; account: string | null }[];
}

/**
 * What `logs` and `summary` read: the log (--log, else the policy's), each account's log beside
 * it unless --log names one (install.sh --account; root's may not exist yet when only accounts
 * connected), with the rotated files the window reaches into (all with `rotated`); or why not.
 * `mayBeMissing`: a log that does not exist yet is no error (one about to be followed). `loaded`:
 * the policy at values.policy, when the caller has loaded it already (replay: it is parsed once).
 */
export async function logSources(
  values: { log?: string; policy?: string; rotated?: boolean },
  since: Date | undefined,
  mayBeMissing: boolean,
  loaded?: Policy,
): Promise<LogSources | { error: string }> {
  const where = await auditLogPath(values.log, values.policy, loaded);
  if ('error' in where) return where;
  const { path, policy } = where;
  const accounts = values.log === undefined ? accountLogs(path) : [];
  const listed = filesOfLogs([path, ...accounts], values.rotated ?? false, since);
  const unreadable = unreadableLog(listed.get(path)!, mayBeMissing || accounts.length > 0);
  if (unreadable !== null) return { error: unreadable };
  const sources = [
    { log: path, files: listed.get(path)!, account: accountOfGivenLog(path, policy) },
    ...accounts.map((log) => ({ log, files: listed.get(log)!, account: accountOfLog(path, log) })),
  ];
  return { path, policy, sources };
}
