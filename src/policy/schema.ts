/**
 * Policy file format, version 1 (docs/policy.md), as the rest of the program sees it
 * after parse.ts has checked it. Every rule keeps where it was written, so that explain and the
 * audit record can point the admin at file:line.
 */
import type { AddressRange } from '../decide/from.js';

export interface Where {
  file: string;
  line: number;
}

export interface Policy {
  /** The files that made it, in load order. */
  files: string[];
  audit: AuditSettings;
  identities: Map<string, Identity>;
}

export interface AuditSettings {
  file: string;
  /** Copies of every record for a syslog pipeline; the file stays the source of truth. */
  syslog: SyslogSettings | null;
}

export const SYSLOG_FACILITIES = ['auth', 'authpriv', 'daemon', 'user', 'local0', 'local1', 'local2', 'local3', 'local4', 'local5', 'local6', 'local7'] as const;

export interface SyslogSettings {
  /** A local syslog socket (/dev/log), written through logger(1). */
  socket: string | null;
  /** A remote collector: RFC 5424 over TCP with octet counting (RFC 6587). */
  tcp: { host: string; port: number } | null;
  facility: (typeof SYSLOG_FACILITIES)[number];
}

/**
 * The keys each mapping of a policy may have, and those it must: the one list that the parser
 * enforces and that the JSON Schema (schema/policy.schema.json) is tested against.
 */
export const POLICY_KEYS = {
  top: { allowed: ['version', 'audit', 'identities'], required: ['version'] },
  audit: { allowed: ['file', 'syslog'], required: [] },
  syslog: { allowed: ['socket', 'tcp', 'facility'], required: [] },
  identity: { allowed: ['from', 'keys', 'expires', 'rules'], required: ['rules'] },
  rule: { allowed: ['name', 'exec', 'rsync', 'receive', 'relay'], required: ['name'] },
  exec: { allowed: ['command', 'program', 'env', 'cwd', 'umask', 'timeout', 'supervise'], required: ['command'] },
  rsync: { allowed: ['root', 'access', 'delete', 'max-delete', 'min-free', 'overwrite', 'munge-links', 'devices', 'xattrs', 'acls', 'absolute-paths', 'program', 'supervise'], required: ['root', 'access'] },
  receive: { allowed: ['dir', 'name', 'client-name', 'accept-empty', 'mode', 'max-bytes', 'min-free', 'idle-timeout', 'keep'], required: ['dir', 'name'] },
  relay: { allowed: ['to', 'idle-timeout', 'connect-timeout'], required: ['to'] },
} as const;

/** Identity and rule names: safe as file names (the policy cache stores one file per identity). */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

export const DEFAULT_AUDIT_FILE = '/var/log/ssh-dispatch/audit.jsonl';
export const DEFAULT_POLICY_PATH = '/etc/ssh-dispatch/policies';

export interface Identity {
  name: string;
  where: Where;
  from: AddressRange[] | null;
  keys: string[] | null;
  /** YYYY-MM-DD: requests are denied on the days after it (server local time). */
  expires: string | null;
  rules: Rule[];
}

export type Rule = ExecRule | RsyncRule | ReceiveRule | RelayRule;

export interface RuleBase {
  name: string;
  where: Where;
}

export interface ExecRule extends RuleBase {
  kind: 'exec';
  /** One pattern per word of the client's command (decide/pattern.ts). */
  pattern: string[];
  /** Absolute path of what runs. */
  program: string;
  /** Added to the minimal environment. */
  env: Record<string, string>;
  cwd: string | null;
  umask: number | null;
  timeoutMs: number | null;
  /**
   * true: spawn the program and wait, so the end record has its exit status and duration.
   * false: replace the dispatcher with it (execve); nothing stays resident, no end record.
   */
  supervise: boolean;
}

export type RsyncAccess = 'read' | 'write' | 'read-write';

export interface RsyncRule extends RuleBase {
  kind: 'rsync';
  /** Absolute; every client path is taken relative to it and must stay inside it. */
  root: string;
  /** read: the client pulls (--sender); write: it pushes; read-write: either. */
  access: RsyncAccess;
  /** Allow --delete*, --remove-source-files (deleting on the server). */
  delete: boolean;
  /** Cap deletions with a server-side --max-delete (only with delete: true); delete: false caps every push at 0. */
  maxDelete: number | null;
  /** A push stops, and what it was writing is removed, before free space on root's filesystem falls below this. */
  minFreeBytes: number;
  /** false: never touch an existing file (adds --ignore-existing, refuses -b, --inplace, ...), like rrsync -no-overwrite. */
  overwrite: boolean;
  /** Add --munge-links: symlinks the client stores cannot be followed on the server; pulls unmunge them. */
  mungeLinks: boolean;
  /** Let a push create device and special files (otherwise --drop-D where rsync has it). */
  devices: boolean;
  xattrs: boolean;
  acls: boolean;
  /** The rsync that runs, by absolute path. */
  program: string;
  supervise: boolean;
  /**
   * An absolute client path that already lies under root is taken as it is (rrsync -absolute),
   * so that clients written for a fixed `command="rsync --server ... . /srv/backup/"` line keep
   * their paths. Any other absolute path still means "relative to root".
   */
  absolutePaths: boolean;
}

export interface ReceiveRule extends RuleBase {
  kind: 'receive';
  /** Absolute; uploads are created in it, never below it. */
  dir: string;
  /** The file name (`name:` in YAML): literal text with {timestamp} {date} {time} {id}; a plain basename. */
  fileName: string;
  /** A basename glob: when set, `receive NAME` may choose the name, if NAME matches it. */
  clientName: string | null;
  /** Also serve a session that sent no command (`tar c . | ssh host`). */
  acceptEmpty: boolean;
  /** The mode of stored files, set explicitly (umask plays no part). */
  mode: number;
  maxBytes: number;
  /** Refuse to fill the filesystem below this many free bytes. */
  minFreeBytes: number;
  idleTimeoutMs: number;
  /** After a successful upload, keep only the newest N files of this rule. */
  keep: number | null;
}

/** One allowed relay destination: a host name, an IP or a CIDR, and a port. */
export interface RelayTarget {
  /** As written in the policy, for records and explain. */
  text: string;
  /** A lowercase DNS name, or null for an address range. */
  name: string | null;
  range: import('../decide/from.js').AddressRange | null;
  port: number;
}

export interface RelayRule extends RuleBase {
  kind: 'relay';
  to: RelayTarget[];
  idleTimeoutMs: number;
  connectTimeoutMs: number;
}
