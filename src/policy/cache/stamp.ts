/**
 * Whether a cache entry is fresh: its stamp (the signature) names the build of ssh-dispatch and,
 * for every policy file, its path, device, inode, size, mtime, ctime, mode and owner. Any edit,
 * rename, chmod or new file gives another signature, so a stale entry is never found and nothing
 * has to invalidate it; ctime cannot be set by users, so content cannot change under an
 * unchanged signature. An entry's directory is named by a hash of its signature (its key).
 */
import type { BigIntStats } from 'node:fs';

/** Replaced by the build with a hash of the sources, so a new build never reads an old cache. */
declare const SSH_DISPATCH_BUILD_ID: string | undefined;
const BUILD_ID = typeof SSH_DISPATCH_BUILD_ID === 'string' ? SSH_DISPATCH_BUILD_ID : 'unbundled';

export interface PolicyFileStat {
  path: string;
  stats: BigIntStats;
}

/** Everything the compiled form depends on: the build and each file's identity and times. */
export function cacheSignature(policyPath: string, files: readonly PolicyFileStat[]): string {
  let signature = `${BUILD_ID}\n${policyPath}\n`;
  for (const { path, stats } of files) {
    signature += `${path}\0${stats.dev}\0${stats.ino}\0${stats.size}\0${stats.mtimeNs}\0${stats.ctimeNs}\0${stats.mode}\0${stats.uid}\n`;
  }
  return signature;
}

/**
 * The cache directory's name: a fast 64-bit hash of the signature (node:crypto would cost a few
 * milliseconds of every start). Not relied on for correctness: meta.json holds the signature
 * itself, and a cache is used only when it is equal.
 */
export function cacheKey(signature: string): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  for (let i = 0; i < signature.length; i++) {
    const c = signature.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995) ^ (h2 >>> 15);
  }
  return (h1 >>> 0).toString(16).padStart(8, '0') + (h2 >>> 0).toString(16).padStart(8, '0');
}

/** An approved entry, by its key; it must have been compiled from the policy at `policyPath`. */
export interface ApprovedEntry {
  key: string;
  policyPath: string;
}

/** The policy path a signature was made for (cacheSignature's second line), or null. */
export function policyPathOf(signature: unknown): string | null {
  return typeof signature === 'string' ? (signature.split('\n')[1] ?? null) : null;
}

/**
 * Whether an entry's signature is the one wanted: equal; or, for an approved entry, of the same
 * policy path and of this build (an approval belongs to the build that gave it: another may
 * read the entry differently, so after an upgrade `check` approves again).
 */
export function signatureMatches(found: string, wanted: string | ApprovedEntry): boolean {
  if (typeof wanted === 'string') return found === wanted;
  return found.split('\n')[0] === BUILD_ID && policyPathOf(found) === wanted.policyPath;
}
