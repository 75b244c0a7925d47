/**
 * What a file session may do, and the checks both protocols ask before touching anything.
 * Pure: the callers find the facts (does the target exist?) and act on the answer.
 */
import type { FilePolicy } from '../../rules/plan.js';

export type { FilePolicy };

/** Why a request was refused: short codes for the log (listed, so that the dispatcher can check what the server reports). */
export const REFUSALS = [
  'read-only',
  'write-only',
  'no-delete',
  'no-overwrite',
  'outside-root',
  'links',
  'chown',
  'not-regular',
  'too-many-handles',
  'min-free',
  'history',
  'shared-inode',
] as const;
export type Refusal = (typeof REFUSALS)[number];

/**
 * What was stored before the session began is history (docs/policy.md, "sftp", "History"): a
 * session may change only the inodes it created itself (tracked by device and inode,
 * whatever they are called meanwhile). Where the rule allows replacing (overwrite) or deleting
 * (delete), a stored name goes only as a whole, by a new inode renamed over it or by unlink;
 * never by writing into, truncating or re-chmodding the stored inode, which hard links may share
 * with other snapshots. Every request that changes something, and what it may do to history:
 *
 * | request                          | created here  | stored (history)                                                        |
 * |----------------------------------|---------------|-------------------------------------------------------------------------|
 * | OPEN write, TRUNC (sftp put)     | in place      | overwrite: a new, empty inode in the same directory, renamed over the name at CLOSE; else no-overwrite |
 * | OPEN write without TRUNC, APPEND (scp over SFTP, reput, resume) | in place | overwrite: at the first change, a new inode with a copy of the stored contents, renamed over the name at CLOSE; else no-overwrite |
 * | OPEN CREAT+EXCL                  | FAILURE (exists), as open(2) | FAILURE (exists)                                          |
 * | WRITE                            | its handle's inode: created here, or the new inode of a replacement | never reaches a stored inode   |
 * | SETSTAT / FSETSTAT size          | allowed       | refused: history (no-overwrite without overwrite)                       |
 * | SETSTAT / FSETSTAT mode, times   | allowed       | only with delete and overwrite, and not on a file with more than one link (shared-inode) |
 * | SETSTAT / FSETSTAT uid, gid      | chown         | chown                                                                   |
 * | REMOVE, RMDIR                    | allowed       | delete (else no-delete)                                                 |
 * | RENAME, posix-rename (source)    | allowed       | delete (else no-delete): a name renamed away is a name removed          |
 * | RENAME onto an existing name     | FAILURE (v3 never replaces) | FAILURE                                                   |
 * | posix-rename onto existing name  | allowed       | delete and overwrite (else no-delete, no-overwrite)                     |
 * | MKDIR                            | new directory, created here | (exists: FAILURE)                                         |
 * | SYMLINK, hardlink@openssh.com    | links         | links                                                                   |
 * | fsync@openssh.com                | no change     | no change                                                               |
 * | legacy scp C line                | as OPEN TRUNC | as OPEN TRUNC                                                           |
 * | legacy scp E line times (-p)     | allowed       | as SETSTAT times                                                        |
 *
 * A file the session put in place over a stored name (a replacement) is its own for contents and
 * attributes, but the name is still history's: REMOVE and renaming it away need delete.
 */

/** Reading the contents of stored files. Listing is not reading: see mayList. */
export function readRefusal(policy: FilePolicy): Refusal | null {
  return policy.access === 'write' ? 'write-only' : null;
}

/** Any change at all: open for write, setstat, mkdir, remove, rename. */
export function writeRefusal(policy: FilePolicy): Refusal | null {
  return policy.access === 'read' ? 'read-only' : null;
}

/**
 * Listing (opendir, readdir, stat, lstat, realpath) is allowed under every access: a write-only
 * client still has to see where it puts things, and OpenSSH's sftp stats a target before a put,
 * restic lists its repository to find what is there, rclone stats before it uploads.
 */
export function mayList(_policy: FilePolicy): true {
  return true;
}

/** SFTP's open flags (SSH_FXF_*) as the checks need them. */
export interface OpenIntent {
  read: boolean;
  write: boolean;
  /** Truncate or append: a change to existing contents even without a write. */
  truncate: boolean;
  append: boolean;
  create: boolean;
  exclusive: boolean;
}

/** An open of a path that exists (or not): refused, or allowed. `exists` means a stored file: one created here is the session's own. */
export function openRefusal(policy: FilePolicy, intent: OpenIntent, exists: boolean): Refusal | null {
  if (intent.read) {
    const refused = readRefusal(policy);
    if (refused) return refused;
  }
  if (intent.write || intent.truncate || intent.append || intent.create) {
    const refused = writeRefusal(policy);
    if (refused) return refused;
    if (exists && !policy.overwrite && (intent.write || intent.truncate || intent.append)) return 'no-overwrite';
  }
  return null;
}

/**
 * How a write open of a file that already exists is served: in place (the session's own file),
 * by a new inode renamed over the name when the handle closes (replacing history: empty with
 * TRUNC, else a copy of the stored contents made at the first change), or refused.
 */
export type ExistingOpen = 'in-place' | 'replace' | 'copy' | Refusal;

export function existingOpen(policy: FilePolicy, intent: OpenIntent, stored: boolean): ExistingOpen {
  if (!stored) return 'in-place';
  if (!policy.overwrite) return 'no-overwrite';
  // Replacing a whole file: what the name held stays whole under its other names.
  if (intent.truncate && !intent.append) return 'replace';
  // Without TRUNC the client means to change part of what is there (OpenSSH's scp writes over a
  // file and truncates it at the end; a resume appends): done on a copy, so that the stored inode,
  // which other names may share, never changes.
  return 'copy';
}

/**
 * Renames. Moving the session's own file to a free name is a write (restic writes a temp file and
 * renames it). A stored name renamed away is a name removed: it needs delete. Replacing an existing
 * stored name destroys what it named: it needs delete, and overwrite; replacing the session's own
 * file is undoing its own work.
 */
export function renameRefusal(policy: FilePolicy, sourceStored: boolean, target: 'none' | 'own' | 'stored'): Refusal | null {
  const refused = writeRefusal(policy);
  if (refused) return refused;
  if (sourceStored && !policy.delete) return 'no-delete';
  if (target === 'stored' && !policy.delete) return 'no-delete';
  if (target === 'stored' && !policy.overwrite) return 'no-overwrite';
  return null;
}

/** REMOVE and RMDIR: a session may always remove what it created itself (restic's locks). */
export function removeRefusal(policy: FilePolicy, stored: boolean): Refusal | null {
  return writeRefusal(policy) ?? (policy.delete || !stored ? null : 'no-delete');
}

/** SFTP attributes a client may ask to set. */
export interface AttrChange {
  size?: number;
  uid?: number;
  gid?: number;
  permissions?: number;
  atime?: number;
  mtime?: number;
}

/** What a SETSTAT or FSETSTAT would change: a stored inode or the session's own, and its links. */
export interface Inode {
  stored: boolean;
  /** st_nlink: more than one for a regular file is a file other names (other snapshots) share. */
  links: number;
  directory: boolean;
}

/**
 * SETSTAT and FSETSTAT. Owners never change (a stolen key must not chown). The session's own
 * files and directories take any mode, times and size. A stored inode's size is never changed
 * (replacing is by a new inode); its mode and times only where the rule allows both replacing and
 * deleting, and never on a file that other names share.
 */
export function setstatRefusal(policy: FilePolicy, change: AttrChange, inode: Inode): Refusal | null {
  const refused = writeRefusal(policy);
  if (refused) return refused;
  if (change.uid !== undefined || change.gid !== undefined) return 'chown';
  if (!inode.stored || !changes(change)) return null;
  if (!policy.overwrite) return 'no-overwrite';
  if (change.size !== undefined || !policy.delete) return 'history';
  if (!inode.directory && inode.links > 1) return 'shared-inode';
  return null;
}

/** Whether a SETSTAT asks for any change at all (an empty one is a no-op clients send). */
export function changes(change: AttrChange): boolean {
  return (
    change.size !== undefined ||
    change.permissions !== undefined ||
    change.uid !== undefined ||
    change.gid !== undefined ||
    change.mtime !== undefined ||
    change.atime !== undefined
  );
}

/**
 * The mode a chmod or a create gets: only the permission bits (never setuid, setgid or sticky:
 * a program left setuid by a client is a way up), less the umask.
 */
export function permittedMode(policy: FilePolicy, requested: number): number {
  return requested & 0o777 & ~policy.umask;
}

/** A new file's mode: what the client asked, or 0666 as open(2) callers usually ask; then masked. */
export function newFileMode(policy: FilePolicy, requested: number | undefined): number {
  return permittedMode(policy, requested ?? 0o666);
}

/** A new directory's mode. */
export function newDirectoryMode(policy: FilePolicy, requested: number | undefined): number {
  return permittedMode(policy, requested ?? 0o777);
}

/** Refusal codes counted per session: the first ones are reported, the rest only counted. */
export const REPORTED_REFUSALS = 100;
