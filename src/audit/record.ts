/**
 * The audit records (docs/audit.md), built from values only, each from what it holds: the
 * types are record-types.ts, the published format schema/audit.schema.json.
 * One `decision` record per connection before anything runs; one `file` record per file of an
 * sftp session; one `end` record when it finishes, if the dispatcher is still there to see it
 * (not after execve: see supervise in schema.ts).
 */
import type { Decision } from '../decide/decide.js';
import { kindOf } from '../rules/kinds.js';
import type { ClientAddress, Request, UserCertificate } from '../request/request.js';
import { sha256 } from '../lazy-builtins.js';
import { boundedCommand, toLogLine } from './escape.js';
import type { WritesFacts } from './writes.js';
import type {
  EndFacts,
  AllowFields,
  DecisionRecord,
  DenyFields,
  EndOutcome,
  EndRecord,
  FileRecord,
  LearnRanFields,
  LearnRecord,
  PlanFields,
  RequestFields,
  SubjectFields,
} from './record-types.js';

/**
 * No record's log line is longer than this, whatever the client sent: a 35-byte pull of `many/*`
 * expanded to a 660 KB argv once (issue 14), and a log that a client can inflate at will is a log
 * nobody reads and a disk that fills.
 */
export const MAX_RECORD_BYTES = 16 * 1024;

export type {
  AuditRecord,
  DecisionRecord,
  EndRecord,
  FileRecord,
  LearnRecord,
  ReceiveOutcomeName,
  RelayOutcomeName,
} from './record-types.js';

export function formatClient(client: ClientAddress | null): string | null {
  if (!client) return null;
  return client.address.includes(':') ? `[${client.address}]:${client.port}` : `${client.address}:${client.port}`;
}

export function decisionRecord(session: string, request: Request, decision: Decision): DecisionRecord {
  return boundRecord({ ...requestFields(session, request), ...decisionFields(decision) });
}

/**
 * A decision as fields: the one serialisation that the audit record and `explain --json` share.
 * An allow names its rule, where it is written, and its plan as the rule's kind shows it.
 */
export function decisionFields(decision: Decision): AllowFields | DenyFields {
  if (decision.decision === 'deny') return { decision: 'deny', reason: decision.reason, detail: decision.detail.slice(0, 1024) };
  const { rule, plan } = decision;
  const fields = kindOf(rule.kind).fields(plan);
  return {
    decision: 'allow',
    rule: rule.name,
    rule_at: `${rule.where.file}:${rule.where.line}`,
    ...(decision.spelling !== undefined ? { spelling: decision.spelling } : {}),
    ...fields,
  };
}

/** Who a session's records are about: the session, its identity, and the certificate it logged in with, if any. */
export interface RecordSubject {
  session: string;
  identity: string;
  certificate?: UserCertificate;
}

/** The subject of `asked`'s session: the first certificate it logged in with is the one records name. */
export function recordSubject(session: string, asked: Request): RecordSubject {
  return { session, identity: asked.identity, ...(asked.certificates?.[0] ? { certificate: asked.certificates[0] } : {}) };
}

/**
 * A certificate's key id and serial, in every record of its session: what a CA's issuance log
 * names, so a record leads back to whom the certificate was issued.
 */
function certificateFields(certificate: UserCertificate | undefined): Pick<SubjectFields, 'cert_id' | 'cert_serial'> {
  return certificate === undefined ? {} : { cert_id: certificate.keyId, cert_serial: certificate.serial };
}

/** What every decision record holds, learn's too: the request as sent, and the certificate's principals and CA. */
function requestFields(session: string, request: Request): RequestFields {
  const certificate = request.certificates?.[0];
  return {
    ts: request.now.toISOString(),
    event: 'decision',
    session,
    id: request.identity,
    user: request.user,
    client: formatClient(request.client),
    key: request.keys?.[0] ?? null,
    ...(request.keys && request.keys.length > 1 ? { keys: request.keys } : {}),
    ...certificateFields(certificate),
    ...(certificate !== undefined ? { cert_principals: certificate.principals, cert_ca: certificate.ca } : {}),
    ...(request.command === null ? { command: null } : boundedCommand(request.command)),
    ...(request.protectedArgs !== undefined ? { protected_args: request.protectedArgs } : {}),
  };
}

/**
 * A learn-mode record: what the client sent, and what the policy (if it loads) would have
 * decided; nothing runs, so no plan is named. `ssh-dispatch suggest` turns these into rules.
 * A --learn-run key's records say its window (`learn_until`), and inside it that the command ran
 * (`ran`), as what argv and seeing which paths: an end record follows those.
 */
export function learnRecord(
  session: string,
  request: Request,
  would: Decision | null,
  window?: { until: Date; ran?: Omit<LearnRanFields, 'ran'> },
): LearnRecord {
  const verdict = would === null ? null : would.decision === 'allow' ? `allow by rule ${would.rule.name}` : `deny: ${would.reason}`;
  return boundRecord({
    ...requestFields(session, request),
    decision: 'learn',
    would: verdict,
    // --learn-run: the window, and inside it what ran (serve/learn-run.ts).
    ...(window ? { learn_until: window.until.toISOString() } : {}),
    ...(window?.ran ? { ran: true as const, argv: window.ran.argv, sandbox: window.ran.sandbox } : {}),
  });
}

export function endRecord(subject: RecordSubject, now: Date, facts: EndFacts): EndRecord {
  return boundRecord({
    ts: now.toISOString(),
    event: 'end',
    session: subject.session,
    id: subject.identity,
    ...certificateFields(subject.certificate),
    rule: facts.rule,
    outcome: facts.outcome,
    exit: facts.exit,
    ...(facts.signal ? { signal: facts.signal } : {}),
    duration_ms: facts.durationMs,
    ...(facts.file !== undefined ? { file: facts.file } : {}),
    ...(facts.bytes !== undefined ? { bytes: facts.bytes } : {}),
    ...(facts.sha256 !== undefined ? { sha256: facts.sha256 } : {}),
    ...(facts.pruned && facts.pruned.length > 0 ? { pruned: facts.pruned } : {}),
    ...(facts.withheld !== undefined ? { withheld: facts.withheld } : {}),
    ...(facts.removed !== undefined ? { removed: facts.removed } : {}),
    ...(facts.kept !== undefined ? { kept: facts.kept } : {}),
    ...(facts.files !== undefined ? { files: facts.files } : {}),
    ...(facts.writes !== undefined ? { writes: facts.writes } : {}),
    ...(facts.setAside !== undefined ? { set_aside: facts.setAside } : {}),
    ...(facts.restored !== undefined ? { restored: facts.restored } : {}),
    ...(facts.address !== undefined ? { address: facts.address, bytes_in: facts.bytesIn, bytes_out: facts.bytesOut } : {}),
    ...(facts.error ? { error: facts.error } : {}),
  });
}

/** What the file server reports of one file (act/files/events.ts's FileEvent). */
export type FileFacts = Omit<FileRecord, keyof SubjectFields | 'event' | 'rule'>;

/** One file an sftp session read, wrote, removed or renamed (or was refused): act/files-session.ts. */
export function fileRecord(subject: RecordSubject, rule: string, now: Date, event: FileFacts): FileRecord {
  return boundRecord({
    ts: now.toISOString(),
    event: 'file',
    session: subject.session,
    id: subject.identity,
    ...certificateFields(subject.certificate),
    rule,
    op: event.op,
    path: event.path,
    ...(event.to !== undefined ? { to: event.to } : {}),
    ...(event.bytes !== undefined ? { bytes: event.bytes } : {}),
    ...(event.refused !== undefined ? { refused: event.refused } : {}),
    ...(event.created === true ? { created: true } : {}),
    ...(event.replaced === true ? { replaced: true } : {}),
  });
}

/**
 * The record, cut to MAX_RECORD_BYTES as a log line. Fields are cut longest first, to ever
 * smaller sizes, until the line fits: a string keeps its head and gains `<field>_bytes` and
 * `<field>_sha256` (UTF-8 bytes and digest of the whole), an array keeps its first items and
 * gains `<field>_count` and `<field>_sha256` (digest of the whole array as JSON), so the whole
 * can be recognised and counted though it is not kept. Small records come back as they are.
 */
export function boundRecord<T extends object>(record: T): T {
  if (lineLength(record) <= MAX_RECORD_BYTES) return record;
  const fieldsOf = record as Record<string, unknown>;
  const out: Record<string, unknown> = { ...fieldsOf };
  for (let limit = MAX_RECORD_BYTES / 4; limit >= 16; limit = Math.floor(limit / 2)) {
    const fields = Object.keys(fieldsOf).sort((a, b) => lineLength(fieldsOf[b]) - lineLength(fieldsOf[a]));
    for (const key of fields) {
      const value = fieldsOf[key];
      if (lineLength(out[key]) <= limit) continue;
      if (typeof value === 'string') {
        out[key] = headOf(value, limit);
        if (out[`${key}_sha256`] === undefined) {
          out[`${key}_bytes`] = Buffer.byteLength(value, 'utf8');
          out[`${key}_sha256`] = sha256(value, 'hex');
        }
      } else if (Array.isArray(value)) {
        out[key] = headItems(value, limit);
        out[`${key}_count`] = value.length;
        out[`${key}_sha256`] = sha256(JSON.stringify(value), 'hex');
      } else if (value !== null && typeof value === 'object') {
        // receive/relay details are small by construction; if one is not, its digest stands in.
        out[key] = { cut: true };
        out[`${key}_sha256`] = sha256(JSON.stringify(value), 'hex');
      }
      if (lineLength(out) <= MAX_RECORD_BYTES) return out as T;
    }
  }
  return out as T;
}

function lineLength(value: unknown): number {
  return value === undefined ? 0 : toLogLine(value as object).length;
}

/** The longest head of `text` whose log form is at most `limit` characters. */
function headOf(text: string, limit: number): string {
  let cost = 2;
  let end = 0;
  for (const char of text) {
    const code = char.codePointAt(0)!;
    const width = code < 0x20 || code === 0x22 || code === 0x5c ? JSON.stringify(char).length - 2 : code < 0x7f ? 1 : char.length * 6;
    if (cost + width > limit) break;
    cost += width;
    end += char.length;
  }
  return text.slice(0, end);
}

/** The first items of `items` whose log form, with the rest cut, stays within `limit`. */
function headItems(items: unknown[], limit: number): unknown[] {
  const kept: unknown[] = [];
  let cost = 2;
  for (const item of items) {
    const width = lineLength(item) + 1;
    if (cost + width > limit) break;
    kept.push(item);
    cost += width;
  }
  return kept;
}

export type { EndFacts };
