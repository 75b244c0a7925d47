/** An sftp rule, as checked by ./parse.ts: sftp, scp and legacy scp served by our own file server, confined to root in the sandbox. */
import type { RuleBase } from '../base.js';

/** The keys of the `sftp:` block: what its parser enforces and the JSON Schema is tested against. */
export const SFTP_KEYS = {
  allowed: ['root', 'access', 'delete', 'overwrite', 'umask', 'min-free', 'idle-timeout'],
  required: ['root', 'access'],
} as const;

export type SftpAccess = 'read' | 'write' | 'read-write';

export interface SftpRule extends RuleBase {
  kind: 'sftp';
  /** Absolute: the client's "/" and its start directory; nothing outside it exists for the client. */
  root: string;
  /** read: nothing is written; write: stored contents are never read back (listing stays); read-write: both. */
  access: SftpAccess;
  /** Allow remove, rmdir and rename of what was stored before the session (its own work a session may always undo). Default false. */
  delete: boolean;
  /** false: a stored file is never opened for writing, truncated, replaced or re-chmodded; true: replaced by a new inode only. Default true. */
  overwrite: boolean;
  /** Taken from the modes of what the client creates. Default 0077: files only the account reads. */
  umask: number;
  /** A write that would leave less than this free on root's filesystem is refused. 0: no floor. Default 1 GiB. */
  minFreeBytes: number;
  /** A session with nothing from the client for this long is ended. 0: never. Default 10 minutes. */
  idleTimeoutMs: number;
}
