/**
 * The audit record, field by field: what the dispatcher writes (one JSON line each) and what
 * its readers get back from audit/read.ts. schema/audit.schema.json says the same for log
 * consumers; test/audit/audit-schema.test.ts keeps the two and the builders in agreement.
 *
 * One union keyed on `event`. A learn-mode record stays `event: "decision"` with
 * `decision: "learn"` on the wire, as it always was: logs written before this type existed,
 * `suggest`, `logs --decision learn`, the syslog severity and the admins' own jq filters all find
 * it so. In the types it is a member of its own.
 */
import type { DenyReason } from '../values/deny-reason.js';
import type { ExecPlanFields } from '../rules/exec/explain.js';
import type { PlanFields } from '../rules/kinds.js';
import type { ReceivePlanFields } from '../rules/receive/explain.js';
import type { RelayPlanFields } from '../rules/relay/explain.js';
import type { FilesPlanFields } from '../rules/sftp/explain.js';
import type { WritesFacts } from './writes.js';

export type { ExecPlanFields, FilesPlanFields, ReceivePlanFields, RelayPlanFields };

/** Who every record of a session is about. A certificate's key id and serial are in each record of a certificate session. */
export type SubjectFields = {
  /** When it was written, ISO 8601 in UTC with milliseconds. */
  ts: string;
  session: string;
  /** The identity (`--id`). */
  id: string;
  cert_id?: string;
  cert_serial?: string;
};

/** What the client sent and how it logged in: every decision record, learn's too. */
export type RequestFields = SubjectFields & {
  event: 'decision';
  /** The account logged into. */
  user: string;
  /** `address:port`, `[v6]:port`; null when sshd gave none. */
  client: string | null;
  /** The fingerprint of the key that authenticated; null when sshd exposed none. */
  key: string | null;
  /** All of them, when more than one authenticated. */
  keys?: string[];
  cert_principals?: string[];
  cert_ca?: string;
  /** The command as sent (its first 4096 characters); null: none was sent. */
  command: string | null;
  /** Only when the command was cut: its whole length in UTF-8 bytes and its digest. */
  command_bytes?: number;
  command_sha256?: string;
  /** rsync's protected arguments (`-s`), read from the client. */
  protected_args?: string[];
};

/** Any rule kind's plan, as its `fields()` shows it (rules/<kind>/explain.ts; the kinds table types it: rules/kinds.ts FieldsOf). */
export type { PlanFields };

/** An allowed request: its rule and its plan. */
export type AllowFields = {
  decision: 'allow';
  rule: string;
  /** `file:line` of the rule. */
  rule_at: string;
  /** The non-canonical spelling of the command the rule accepted. */
  spelling?: string;
} & PlanFields;

/** A refused request: the reason code (values/deny-reason.ts) and a detail for the admin. */
export type DenyFields = {
  decision: 'deny';
  reason: DenyReason;
  detail: string;
};

export type AllowRecord = RequestFields & AllowFields;
export type DenyRecord = RequestFields & DenyFields;

/** Learn mode: what was asked and what the policy would have decided; nothing ran, unless `ran`. */
export type LearnRecord = RequestFields & {
  decision: 'learn';
  /** `allow by rule NAME`, `deny: REASON`, or null when the policy did not load. */
  would: string | null;
  /** A --learn-run key: the end of its learning window, open or past. */
  learn_until?: string;
} & Partial<LearnRanFields>;

/** A --learn-run key inside its window: the command ran in the sandbox, as argv, seeing these paths; an end record follows. */
export type LearnRanFields = {
  ran: true;
  argv: string[];
  sandbox: { read: string[]; write: string[] };
};

export type DecisionRecord = AllowRecord | DenyRecord;

export type EndOutcome = ExecOutcomeName | ReceiveOutcomeName | RelayOutcomeName;
export type ExecOutcomeName = 'exited' | 'signaled' | 'timeout' | 'start-failed' | 'sandbox-failed' | 'snapshot-exists';
/** How a receive ended: stored, or why nothing was. */
export type ReceiveOutcomeName =
  | 'stored'
  | 'aborted'
  | 'too-large'
  | 'no-space'
  | 'idle-timeout'
  | 'mismatch'
  | 'error'
  // Refused: past max-uploads within keep-within (a flood); a chosen name that is taken.
  | 'flood'
  | 'name-taken';
/** How a relay ended. */
export type RelayOutcomeName = 'closed' | 'idle-timeout' | 'connect-failed';

/** How a supervised session ended (none after execve). */
export type EndRecord = SubjectFields & {
  event: 'end';
  rule: string;
  outcome: EndOutcome;
  exit: number;
  signal?: string;
  duration_ms: number;
  /** rsync snapshot pushes that failed: where the partial snapshot was moved. */
  set_aside?: string;
  /** relay: the bytes each way. */
  bytes_in?: number;
  bytes_out?: number;
} & Pick<
    EndFacts,
    'file' | 'bytes' | 'sha256' | 'pruned' | 'withheld' | 'removed' | 'kept' | 'files' | 'writes' | 'restored' | 'address' | 'error'
  >;

/**
 * What a carried-out plan reports when it ends (act/), under the names the code uses: endRecord
 * writes them out, the fields both share by the same name (EndRecord picks them from here).
 */
export interface EndFacts {
  rule: string;
  exit: number;
  signal: string | null;
  durationMs: number;
  outcome: EndOutcome;
  error?: string;
  /** receive rules: what was stored (or how far it got). */
  file?: string;
  bytes?: number;
  sha256?: string;
  pruned?: string[];
  /** Sandboxed runs: the secrets the sandbox withheld from what the request reads (secrets: withhold). */
  withheld?: string[];
  /** A push stopped at its free-space floor: the temporary files removed, the files written in place that were kept. */
  removed?: string[];
  kept?: string[];
  /** sftp rules: how many files were read, written, removed, renamed ... and requests refused. */
  files?: Record<string, number>;
  /** Write sessions (rsync pushes, receive, sftp, scp): the names created, replaced and removed, and bytes (audit/writes.ts). */
  writes?: WritesFacts;
  /** rsync snapshot pushes that failed: where the partial snapshot was moved (act/snapshot.ts). */
  setAside?: string;
  /** rsync overwrite: false pushes: stored directories whose attributes rsync changed and the dispatcher put back. */
  restored?: string[];
  /** relay rules: the address connected to, and the bytes each way. */
  address?: string;
  bytesIn?: number;
  bytesOut?: number;
}

export type FileOpName = 'read' | 'write' | 'remove' | 'rename' | 'mkdir' | 'rmdir' | 'setstat';

/** One file an sftp or scp session read, wrote, removed or renamed, or was refused. */
export type FileRecord = SubjectFields & {
  event: 'file';
  rule: string;
  op: FileOpName;
  path: string;
  to?: string;
  bytes?: number;
  refused?: string;
  created?: true;
  replaced?: true;
};

/** Every record the dispatcher writes. */
export type AuditRecord = AllowRecord | DenyRecord | LearnRecord | EndRecord | FileRecord;

/**
 * A record as read back (audit/validate.ts): the fields readers rely on are there and of their
 * type; the rest are typed where present, since logs written by older versions lack some
 * (`user`, `client`, `detail`, ...). `foreign` is the reader's own judgement (audit/provenance.ts).
 */
type Loose<T, K extends keyof T> = Pick<T, K> & Partial<Omit<T, K>> & { foreign?: string };
type Core = 'ts' | 'event' | 'session' | 'id';
/**
 * A decision as read: every decision's fields, each typed where present, as audit/validate.ts
 * checks them (one table for allow, deny and learn); `handoff` and `dry_run` as older logs may
 * spell them. Each decision then has what readers need of it.
 */
type LoggedDecisionFields = Loose<RequestFields, Core> & {
  rule?: string;
  rule_at?: string;
  spelling?: string;
  handoff?: string;
  dry_run?: boolean;
  reason?: string;
  detail?: string;
  would?: string | null;
  ran?: boolean;
  learn_until?: string;
} & Partial<Omit<ExecPlanFields, 'handoff' | 'dry_run'> & ReceivePlanFields & RelayPlanFields & FilesPlanFields>;
export type LoggedAllow = LoggedDecisionFields & { decision: 'allow'; rule: string };
export type LoggedDeny = LoggedDecisionFields & { decision: 'deny'; reason: string };
export type LoggedLearn = LoggedDecisionFields & { decision: 'learn' };
export type LoggedEnd = Loose<EndRecord, Core | 'rule' | 'outcome' | 'exit'>;
export type LoggedFile = Loose<FileRecord, Core | 'rule' | 'op' | 'path'>;
export type LoggedRecord = LoggedAllow | LoggedDeny | LoggedLearn | LoggedEnd | LoggedFile;
