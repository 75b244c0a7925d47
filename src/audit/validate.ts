/**
 * The one check every reader's records pass (audit/read.ts): a parsed log line is a record when
 * schema/audit.schema.json says so. Hand-written, field tables instead of a schema engine: the
 * readers go through a million records in seconds, and the forced path never loads this.
 * test/audit/audit-schema.test.ts holds the two to the same verdicts.
 *
 * Fields readers rely on are required; every other field is typed where present (older logs lack
 * some), and fields this version does not know are let through, as the schema lets them.
 */
import type { LoggedRecord } from './record-types.js';

type Check = (value: unknown) => boolean;

const isString: Check = (v) => typeof v === 'string';
const isStringOrNull: Check = (v) => v === null || typeof v === 'string';
const isInteger: Check = (v) => Number.isSafeInteger(v);
const isCount: Check = (v) => Number.isSafeInteger(v) && (v as number) >= 0;
const isBoolean: Check = (v) => typeof v === 'boolean';
const isTrue: Check = (v) => v === true;
const isStrings: Check = (v) => Array.isArray(v) && v.every((item) => typeof item === 'string');
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const oneOf =
  (...values: unknown[]): Check =>
  (v) =>
    values.includes(v);
const mapOf =
  (check: Check): Check =>
  (v) =>
    isObject(v) && Object.values(v).every(check);
/** An object field that audit/record.ts's boundRecord had to cut reads `{"cut": true}` (its digest beside it). */
const orCut =
  (check: Check): Check =>
  (v) =>
    (isObject(v) && v.cut === true && Object.keys(v).length === 1) || check(v);

/** An object whose listed fields are of their type where present (`required` must be there). */
function shape(fields: Record<string, Check>, required: readonly string[] = []): Check {
  const entries = Object.entries(fields);
  return (v) =>
    isObject(v) && required.every((key) => v[key] !== undefined) && entries.every(([key, check]) => v[key] === undefined || check(v[key]));
}

/** ISO 8601 time with a zone, as the dispatcher writes `ts` (new Date().toISOString()). */
const TS = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$/;

const SUBJECT: Record<string, Check> = {
  ts: (v) => typeof v === 'string' && TS.test(v),
  session: isString,
  id: isString,
  cert_id: isString,
  cert_serial: isString,
};

const SANDBOX = orCut(shape({ read: isStrings, write: isStrings, secrets: oneOf('serve') }));

const DECISION: Record<string, Check> = {
  ...SUBJECT,
  decision: oneOf('allow', 'deny', 'learn'),
  user: isString,
  client: isStringOrNull,
  key: isStringOrNull,
  keys: isStrings,
  cert_principals: isStrings,
  cert_ca: isString,
  command: isStringOrNull,
  command_bytes: isCount,
  command_sha256: isString,
  protected_args: isStrings,
  // allow
  rule: isString,
  rule_at: isString,
  spelling: isString,
  argv: isStrings,
  argv_from: oneOf('run'),
  cwd: isString,
  handoff: isString,
  dry_run: isBoolean,
  priority: orCut(shape({ nice: isInteger, ionice: isString })),
  pass_env: orCut(mapOf(isString)),
  sandbox: SANDBOX,
  receive: orCut(shape({ dir: isString, name: isString })),
  relay: orCut(shape({ host: isString, port: isInteger, allowed_by: isString })),
  files: orCut(
    shape({ protocol: isString, root: isString, access: isString, delete: isBoolean, overwrite: isBoolean, scp: isString, path: isString }),
  ),
  // deny
  reason: isString,
  detail: isString,
  // learn
  would: isStringOrNull,
  learn_until: (v) => typeof v === 'string' && TS.test(v),
  ran: isTrue,
};

export const END_OUTCOMES = [
  'exited',
  'signaled',
  'timeout',
  'start-failed',
  'sandbox-failed',
  'snapshot-exists',
  'stored',
  'aborted',
  'too-large',
  'no-space',
  'idle-timeout',
  'mismatch',
  'error',
  'flood',
  'name-taken',
  'closed',
  'connect-failed',
] as const;

const END: Record<string, Check> = {
  ...SUBJECT,
  rule: isString,
  outcome: oneOf(...END_OUTCOMES),
  exit: isInteger,
  signal: isString,
  duration_ms: isCount,
  file: isString,
  bytes: isCount,
  sha256: isString,
  pruned: isStrings,
  withheld: isStrings,
  removed: isStrings,
  kept: isStrings,
  files: orCut(mapOf(isCount)),
  writes: orCut(
    shape({
      created: isStrings,
      replaced: isStrings,
      removed: isStrings,
      created_count: isCount,
      replaced_count: isCount,
      removed_count: isCount,
      bytes: isCount,
      sha256: isString,
    }),
  ),
  set_aside: isString,
  restored: isStrings,
  address: isString,
  bytes_in: isCount,
  bytes_out: isCount,
  error: isString,
};

export const FILE_OPS = ['read', 'write', 'remove', 'rename', 'mkdir', 'rmdir', 'setstat'] as const;

const FILE: Record<string, Check> = {
  ...SUBJECT,
  rule: isString,
  op: oneOf(...FILE_OPS),
  path: isString,
  to: isString,
  bytes: isCount,
  refused: isString,
  created: isTrue,
  replaced: isTrue,
};

const CHECKS = { decision: new Map(Object.entries(DECISION)), end: new Map(Object.entries(END)), file: new Map(Object.entries(FILE)) };

/**
 * The parsed line as a record, or null when it is none (not an object, an unknown event, a field
 * missing or of the wrong type). Walks the record's own fields, not the tables: a record has a
 * dozen fields, a table forty, and this runs once per line of a million-line log.
 */
export function asRecord(value: unknown): LoggedRecord | null {
  if (!isObject(value)) return null;
  const event = value.event;
  const checks = event === 'decision' ? CHECKS.decision : event === 'end' ? CHECKS.end : event === 'file' ? CHECKS.file : null;
  if (checks === null || value.ts === undefined || value.session === undefined || value.id === undefined) return null;
  if (event === 'decision') {
    // An allow names its rule, a deny its reason.
    const decision = value.decision;
    if (decision === 'allow' ? value.rule === undefined : decision === 'deny' ? value.reason === undefined : decision !== 'learn')
      return null;
  } else if (
    value.rule === undefined ||
    (event === 'end' ? value.outcome === undefined || value.exit === undefined : value.op === undefined || value.path === undefined)
  ) {
    return null;
  }
  for (const key in value) {
    const check = checks.get(key);
    if (check !== undefined && !check(value[key])) return null;
  }
  return value as LoggedRecord;
}
