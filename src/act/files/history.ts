/**
 * What both protocols need to keep history whole (policy.ts, the table): a file's identity, and
 * the name of the new inode that replaces a stored file until it is renamed over it.
 */
import { randomBytes } from 'node:crypto';
import { lstatSync, renameSync, unlinkSync, type Stats } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { lstatOrNull } from './confined-root.js';
import type { Inode } from './policy.js';

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

/**
 * What a session made, by inode (inodeKey): its own work, which it may change and undo;
 * everything else is history (policy.ts, the table). Inode numbers come back for other files, so
 * one that is gone is forgotten.
 */
export class SessionInodes {
  private readonly created = new Set<string>();
  /**
   * The session's own files that took a stored name (a replacement put in place over it): their
   * contents are the session's, but the name is history's, which only delete lets go (else put,
   * then rm, would remove a stored name under delete: false).
   */
  private readonly storedNames = new Set<string>();

  /** A file or directory this session created. */
  made(key: string): void {
    this.created.add(key);
  }

  /** Its inode is gone, or never became the session's (a dropped replacement). */
  unmade(key: string): void {
    this.created.delete(key);
  }

  /** Its last name is gone: neither made here nor holding a stored name any more. */
  gone(key: string): void {
    this.storedNames.delete(key);
    this.created.delete(key);
  }

  own(key: string): boolean {
    return this.created.has(key);
  }

  /** The session's file now holds a name history held. */
  tookStoredName(key: string): void {
    this.storedNames.add(key);
  }

  /** Whether removing or renaming away the name of this file takes a name from history. */
  holdsStoredName(stats: Stats): boolean {
    const key = inodeKey(stats);
    return !this.created.has(key) || this.storedNames.has(key);
  }

  /** What a SETSTAT would change: the session's own inode or history, and how many names share it. */
  inode(stats: Stats): Inode {
    return { stored: !this.created.has(inodeKey(stats)), links: stats.nlink, directory: stats.isDirectory() };
  }
}
