/**
 * What both protocols need to keep history whole (policy.ts, the table): a file's identity, and
 * the name of the new inode that replaces a stored file until it is renamed over it.
 */
import { randomBytes } from 'node:crypto';
import { lstatSync, renameSync, unlinkSync, type Stats } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { lstatOrNull } from './confined-root.js';

/** A file's identity while it exists, whatever it is called. */
export function inodeKey(stats: Stats): string {
  return `${stats.dev}:${stats.ino}`;
}

/**
 * Beside the file it replaces (a rename within one directory, so one filesystem), hidden, and
 * named so that it says what it is: `.NAME.ssh-dispatch-XXXXXXXX`.
 */
export function replacementName(host: string): string {
  return join(dirname(host), `.${basename(host).slice(0, 180)}.ssh-dispatch-${randomBytes(4).toString('hex')}`);
}

/**
 * Puts a finished replacement in place: renames `temp` over `host` if `temp` is still the inode
 * the session wrote (the client may have renamed or removed it meanwhile: then nothing moves).
 * Answers whether a name was replaced (else created), or null when nothing was put in place.
 */
export function putInPlace(temp: string, key: string, host: string): { replaced: boolean } | null {
  const now = lstatOrNull(temp);
  if (now === null || inodeKey(now) !== key) return null;
  const replaced = lstatOrNull(host) !== null;
  renameSync(temp, host);
  return { replaced };
}

/** Removes a replacement that is not to be put in place, if it is still the session's inode. */
export function dropReplacement(temp: string, key: string): void {
  try {
    if (inodeKey(lstatSync(temp)) === key) unlinkSync(temp);
  } catch {}
}
