/**
 * Policy file format, version 1 (docs/policy.md), as the rest of the program sees it
 * after parse.ts has checked it. Every rule keeps where it was written, so that explain and the
 * audit record can point the admin at file:line.
 */
import type { AddressRange } from '../values/address.js';
import type { Where } from '../values/reader.js';
import { RULE_KINDS, type Rule } from '../rules/kinds.js';
import { installedSettings } from '../installed.js';

export type { Where } from '../values/reader.js';
export type { Rule } from '../rules/kinds.js';

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

export const SYSLOG_FACILITIES = [
  'auth',
  'authpriv',
  'daemon',
  'user',
  'local0',
  'local1',
  'local2',
  'local3',
  'local4',
  'local5',
  'local6',
  'local7',
] as const;

export interface SyslogSettings {
  /** A local syslog socket (/dev/log), written through logger(1). */
  socket: string | null;
  /** A remote collector: RFC 5424 over TCP with octet counting (RFC 6587). */
  tcp: { host: string; port: number } | null;
  /**
   * The tcp collector over TLS (RFC 5425, the same framing), its certificate verified against
   * this CA file alone and the host of `tcp`. `where`: the line check points at when the file
   * cannot be read. (Absent in a compiled cache written before tls existed: read it as null.)
   */
  tls: { ca: string; where: Where } | null;
  facility: (typeof SYSLOG_FACILITIES)[number];
}

/**
 * The keys each mapping of a policy may have, and those it must: the one list that the parser
 * enforces and that the JSON Schema (schema/policy.schema.json) is tested against.
 */
export const POLICY_KEYS = {
  top: { allowed: ['version', 'audit', 'identities'], required: ['version'] },
  audit: { allowed: ['file', 'syslog'], required: [] },
  syslog: { allowed: ['socket', 'tcp', 'tls', 'facility'], required: [] },
  syslogTls: { allowed: ['ca'], required: ['ca'] },
  identity: {
    allowed: ['from', 'keys', 'accounts', 'principals', 'expires', 'max-sessions', 'min-free', 'tell-client', 'rules'],
    required: ['rules'],
  },
  rule: { allowed: ['name', ...(Object.keys(RULE_KINDS) as Rule['kind'][]), 'expect-every', 'min-bytes'], required: ['name'] },
  ...(Object.fromEntries(Object.entries(RULE_KINDS).map(([kind, entry]) => [kind, entry.keys])) as {
    [K in Rule['kind']]: (typeof RULE_KINDS)[K]['keys'];
  }),
};

/**
 * An account name: what useradd accepts, and no more. Safe in a log file name (audit.NAME.jsonl)
 * and as sshd's %u.
 */
export const ACCOUNT_NAME = /^[a-z_][a-z0-9_-]{0,31}$/;

/** A certificate principal as a policy may name it: no space (sshd reads the principal after a line's last space). */
export const PRINCIPAL_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@+:=\/-]{0,255}$/;

/** Identity and rule names: safe as file names (the policy cache stores one file per identity). */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

/**
 * The defaults: where install.sh put the configuration and the logs (its --etc and --log-dir,
 * recorded in installed.conf beside the program and read by the launcher: src/installed.ts),
 * else /etc/ssh-dispatch and /var/log/ssh-dispatch.
 */
const installed = installedSettings();
export const DEFAULT_AUDIT_FILE = `${installed?.logDir ?? '/var/log/ssh-dispatch'}/audit.jsonl`;
export const DEFAULT_POLICY_PATH = `${installed?.etc ?? '/etc/ssh-dispatch'}/policies`;

export interface Identity {
  name: string;
  where: Where;
  from: AddressRange[] | null;
  /** Fingerprints of the keys it may use (listed as fingerprints or as public keys); null: any key. */
  keys: string[] | null;
  /**
   * The accounts it may log into. Null: any account its authorized_keys lines are in; but
   * authorized-keys-command and authorized-principals-command serve only the accounts listed.
   */
  accounts: string[] | null;
  /** Certificate principals that select it (authorized-principals-command); null: no certificate needed. */
  principals: string[] | null;
  /** YYYY-MM-DD: requests are denied on the days after it (server local time). */
  expires: string | null;
  /** `max-sessions`: allowed sessions that may run at once (host/limits.ts); null: no limit. */
  maxSessions: number | null;
  /** `min-free`: free bytes every write of this identity leaves, above its rules' own floors; null: the rules' alone. */
  minFreeBytes: number | null;
  /** `tell-client`: what a refused client is told besides the session id; `reason` adds the deny reason's code (serve/session.ts). */
  tellClient: 'nothing' | 'reason';
  rules: Rule[];
}
