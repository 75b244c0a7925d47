/** rsync single-run: the lock a run holds, so that one run of a root goes at a time (host/limits.ts keeps it). */
import { sha256 } from '../../values/sha256.js';

/** The slot key of an rsync root's single-run lock: rrsync locks the directory, whoever asks, so the key is the root's, not the rule's. */
export function rootLockKey(root: string): string {
  return `root-${Buffer.from(sha256(Buffer.from(root, 'utf8')))
    .toString('hex')
    .slice(0, 32)}`;
}
