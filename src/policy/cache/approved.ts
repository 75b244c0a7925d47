/**
 * The approved policy (`--approved` on a command= line): `check` names the cache entry of a
 * policy it passed in a pointer file of that policy's own (`approved.<hash of its real path>`:
 * two policy files side by side share this directory, and one's approval must not serve the
 * other; found in review), and connections with --approved read that entry whatever the files
 * say now, so an edit takes effect only once `check` passes on it (an apply step). Housekeeping
 * never removes an approved entry.
 */
import { chmodSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheKey } from './stamp.js';
import { readLoose, readTrusted } from './trusted.js';

export const APPROVED = 'approved';

function approvedName(policyPath: string): string {
  return `${APPROVED}.${cacheKey(policyPath)}`;
}

/** The key the approved pointer of `policyPath` names; read trusted when `uid` is given (connections), else loose (`check`'s own). */
export function approvedKey(cacheRoot: string, policyPath: string, uid?: number): string | null {
  const path = join(cacheRoot, approvedName(policyPath));
  const text = uid === undefined ? readLoose(path) : readTrusted(path, uid);
  const key = text?.trim() ?? '';
  return /^[0-9a-f]{1,64}$/.test(key) ? key : null;
}

/** Names `signature`'s cache entry as the approved policy at `policyPath` (written whole, by rename); 'unchanged' when it already was, or why not. */
export function approve(cacheRoot: string, signature: string, policyPath: string): 'approved' | 'unchanged' | string {
  const key = cacheKey(signature);
  if (approvedKey(cacheRoot, policyPath) === key) return 'unchanged';
  const temp = join(cacheRoot, `.tmp-${process.pid}-approved`);
  try {
    writeFileSync(temp, `${key}\n`, { mode: 0o644 });
    // Readable by every account that serves --approved keys, whatever root's umask.
    chmodSync(temp, 0o644);
    renameSync(temp, join(cacheRoot, approvedName(policyPath)));
    return 'approved';
  } catch (error) {
    rmSync(temp, { force: true });
    return (error as NodeJS.ErrnoException).code ?? (error as Error).message;
  }
}

/** The keys every approved pointer names: housekeeping keeps their entries. */
export function approvedKeys(cacheRoot: string): Set<string> {
  const keys = new Set<string>();
  for (const name of readdirSync(cacheRoot)) {
    if (!name.startsWith(`${APPROVED}.`)) continue;
    const key = readLoose(join(cacheRoot, name))?.trim() ?? '';
    if (/^[0-9a-f]{1,64}$/.test(key)) keys.add(key);
  }
  return keys;
}
