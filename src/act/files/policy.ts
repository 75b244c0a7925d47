/**
 * What a file session may do, and the checks both protocols ask before touching anything.
 * Pure: the callers find the facts (does the target exist?) and act on the answer.
 */
import type { FilePolicy } from '../../rules/plan.js';

export type { FilePolicy };

/** Why a request was refused: short codes for the log. */
export type Refusal = 'read-only' | 'write-only' | 'no-delete' | 'no-overwrite' | 'outside-root' | 'links' | 'chown' | 'not-regular' | 'too-many-handles' | 'min-free';

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

/** An open of a path that exists (or not): refused, or allowed. */
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
 * Renames. Moving a name to a free name is a write (restic writes a temp file and renames it).
 * Replacing an existing name destroys what was there: it needs delete, and overwrite.
 */
export function renameRefusal(policy: FilePolicy, targetExists: boolean): Refusal | null {
  const refused = writeRefusal(policy);
  if (refused) return refused;
  if (targetExists && !policy.delete) return 'no-delete';
  if (targetExists && !policy.overwrite) return 'no-overwrite';
  return null;
}

export function removeRefusal(policy: FilePolicy): Refusal | null {
  return writeRefusal(policy) ?? (policy.delete ? null : 'no-delete');
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

/**
 * SETSTAT and FSETSTAT. Owners never change (a stolen key must not chown). A size change rewrites
 * contents, so it falls under overwrite unless the file was created by this very handle.
 * Permissions and times are metadata: allowed wherever writing is.
 */
export function setstatRefusal(policy: FilePolicy, change: AttrChange, createdThisSession: boolean): Refusal | null {
  const refused = writeRefusal(policy);
  if (refused) return refused;
  if (change.uid !== undefined || change.gid !== undefined) return 'chown';
  if (change.size !== undefined && !policy.overwrite && !createdThisSession) return 'no-overwrite';
  return null;
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
