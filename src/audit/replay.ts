/**
 * `ssh-dispatch replay`, the pure part: the recorded requests decided again, and those whose
 * decision would change, grouped by (identity, command, before, after) with how often and when
 * they were seen. Memory grows with the distinct changed requests (capped), never with the
 * records: unchanged traffic is counted, not kept.
 *
 * "Before" is the recorded decision, or, given `decideBefore`, the request decided again under
 * another policy (the applied one). "After" is `decideAfter`. A change is allow against deny, or
 * another rule; a refusal that stays a refusal for another reason is counted, not listed.
 *
 * A recorded refusal that the policy did not make (the host's limits, its sandbox, paths on its
 * disk, rsync's wildcard expansion; or before the policy was asked: the environment, a policy
 * that did not load, the log) says nothing of what the policy decided: against the record, such
 * records are not replayed but counted by reason (NOT_POLICY). With `decideBefore` both sides
 * are decided, and they are.
 */
import type { Decision } from '../decide/decision.js';
import type { Request } from '../request/request.js';
import type { DenyReason } from '../values/deny-reason.js';
import type { LoggedAllow, LoggedDeny, LoggedRecord } from './record-types.js';
import { decisionKey, requestOf } from './replay-request.js';

/** A decision as replay compares it: allowed by which rule, or refused with which code. */
export type Verdict = { decision: 'allow'; rule: string } | { decision: 'deny'; reason: string };

/**
 * Where a refusal came from, for each code: `policy` (the pure decision: admit, the command, the
 * rules: decided again), `host` (a rule allowed it and this host refused it), `dispatcher` (the
 * policy was not asked, or not to the end), `unrecorded` (the record lacks what decided it: a
 * certificate's validity). rsync-path-outside-rule and tokenize-too-many-words are the rules'
 * codes and also the host's, after a pull's wildcards were expanded: replayed as the rules'
 * (a change they show may be the host's refusal; one they would hide would be worse).
 */
export const REFUSED_BY: Record<DenyReason, 'policy' | 'host' | 'dispatcher' | 'unrecorded'> = {
  'unknown-identity': 'policy',
  'identity-expired': 'policy',
  'from-not-allowed': 'policy',
  'from-unknown': 'policy',
  'key-not-allowed': 'policy',
  'key-unknown': 'policy',
  'account-not-allowed': 'policy',
  'certificate-missing': 'policy',
  'certificate-principal-not-allowed': 'policy',
  'certificate-expired': 'unrecorded',
  'certificate-not-yet-valid': 'unrecorded',
  'no-command': 'policy',
  'tokenize-too-long': 'policy',
  'tokenize-too-many-words': 'policy',
  'tokenize-word-too-long': 'policy',
  'tokenize-control-character': 'policy',
  'tokenize-invisible-character': 'policy',
  'tokenize-operator': 'policy',
  'tokenize-substitution': 'policy',
  'tokenize-variable': 'policy',
  'tokenize-glob': 'policy',
  'tokenize-comment': 'policy',
  'tokenize-expansion': 'policy',
  'tokenize-unbalanced-quote': 'policy',
  'tokenize-trailing-backslash': 'policy',
  'tokenize-divergence': 'policy',
  'no-rule-matched': 'policy',
  'spelling-refused': 'policy',
  'rsync-not-server': 'policy',
  'rsync-bad-syntax': 'policy',
  'rsync-option-unknown': 'policy',
  'rsync-option-refused': 'policy',
  'rsync-direction-refused': 'policy',
  'rsync-path-escapes-root': 'policy',
  'rsync-protected-args': 'dispatcher',
  'rsync-path-outside-rule': 'policy',
  'rsync-symlink-escape': 'host',
  'rsync-source-unreachable': 'host',
  'rsync-wildcard-too-costly': 'host',
  'rsync-snapshot-refused': 'policy',
  'rsync-snapshot-exists': 'host',
  'rsync-destination-shares-inodes': 'host',
  'rsync-destination-unchecked': 'host',
  'rsync-root-unusable': 'host',
  'receive-refused': 'policy',
  'receive-name-reserved': 'policy',
  'relay-refused': 'policy',
  'sftp-refused': 'policy',
  'sandbox-unavailable': 'host',
  'max-sessions': 'host',
  'rsync-single-run': 'host',
  'limits-unusable': 'host',
  'policy-unloadable': 'dispatcher',
  'policy-not-applied': 'dispatcher',
  'audit-unwritable': 'dispatcher',
  'unsafe-environment': 'dispatcher',
  'internal-error': 'dispatcher',
};

export interface ReplayOptions {
  decideAfter(request: Request): Decision;
  /** Absent: "before" is the recorded decision. */
  decideBefore?(request: Request): Decision;
  /** Records before this are not read (the window). */
  since?: Date;
  /** At most this many distinct changes are kept (default 100,000), and at most maxCommandChars of their commands (default 64 Mi). */
  maxChanges?: number;
  maxCommandChars?: number;
}

export interface ReplayChange {
  id: string;
  /** null: the session sent no command. */
  command: string | null;
  before: Verdict;
  after: Verdict;
  count: number;
  first: string;
  last: string;
}

export interface ReplayResult {
  /** Decision records in the window. */
  records: number;
  /** Of those, decided again. */
  replayed: number;
  unchanged: number;
  /** Refused before and after, for another reason (not listed). */
  otherRefusal: number;
  /** The changes, most seen first. */
  changes: ReplayChange[];
  /** Records of changes not kept past the caps (their requests are not listed). */
  truncated: number;
  /** Records not decided again, by why: a refusal code (REFUSED_BY), `learn`, `foreign`, `cut`, `incomplete`. */
  skipped: Record<string, number>;
}

export function verdictOf(decision: Decision): Verdict {
  return decision.decision === 'allow' ? { decision: 'allow', rule: decision.rule.name } : { decision: 'deny', reason: decision.reason };
}

/** The recorded decision as a verdict. */
function recordedVerdict(record: LoggedAllow | LoggedDeny): Verdict {
  return record.decision === 'allow' ? { decision: 'allow', rule: record.rule } : { decision: 'deny', reason: record.reason };
}

/** `allow by rule NAME` or `deny: CODE`, as learn records write what would have been (audit/record.ts learnRecord). */
export function verdictText(verdict: Verdict): string {
  return verdict.decision === 'allow' ? `allow by rule ${verdict.rule}` : `deny: ${verdict.reason}`;
}

/**
 * Whether a log line may be a decision record: false for the lines the dispatcher writes for the
 * other events (audit/record.ts writes `ts`, then `event`, first), so that replay parses none of
 * them (read.ts readRecords `wanted`). A line that only looks so (a duplicate "event" key later)
 * is not read.
 */
export function lineMayBeDecision(line: string): boolean {
  return !/^\{"ts":"[^"]*","event":"(?:end|file)"/.test(line);
}

/** A request decided again; what throws is refused (internal-error), as the forced path refuses it (serve/decide-connection.ts). */
function decidedAgain(decide: (request: Request) => Decision, request: Request): Verdict {
  try {
    return verdictOf(decide(request));
  } catch {
    return { decision: 'deny', reason: 'internal-error' };
  }
}

/**
 * A decision function's verdicts by decisionKey: a log is mostly the same requests again (a
 * nightly backup, a monitoring check), and deciding one costs tens of microseconds. Bounded by
 * the characters of its keys; when full, it starts again.
 */
class Decided {
  private readonly verdicts = new Map<string, Verdict>();
  private chars = 0;
  private static readonly MAX_CHARS = 4 * 1024 * 1024;

  constructor(private readonly decide: (request: Request) => Decision) {}

  of(request: Request): Verdict {
    const key = decisionKey(request);
    const known = this.verdicts.get(key);
    if (known !== undefined) return known;
    const verdict = decidedAgain(this.decide, request);
    if (this.chars + key.length > Decided.MAX_CHARS) {
      this.verdicts.clear();
      this.chars = 0;
    }
    this.verdicts.set(key, verdict);
    this.chars += key.length;
    return verdict;
  }
}

/** Why a decision record is not decided again, or null when it is. */
function skipped(record: LoggedRecord & { event: 'decision' }, decidesBefore: boolean): string | null {
  if (record.foreign !== undefined) return 'foreign';
  if (record.decision === 'learn') return 'learn';
  if (record.decision === 'allow' || decidesBefore) return null;
  const by = Object.hasOwn(REFUSED_BY, record.reason) ? REFUSED_BY[record.reason as DenyReason] : 'dispatcher';
  return by === 'policy' ? null : record.reason;
}

/** Decided again, one record at a time (oldest first), then `result()`. */
export class Replay {
  private readonly changes = new Map<string, Map<string | null, ReplayChange>>();
  private kept = 0;
  private keptChars = 0;
  private readonly counts = { records: 0, replayed: 0, unchanged: 0, otherRefusal: 0, truncated: 0 };
  private readonly skips = new Map<string, number>();
  private readonly maxChanges: number;
  private readonly maxCommandChars: number;

  private readonly after: Decided;
  private readonly before: Decided | null;

  constructor(private readonly options: ReplayOptions) {
    this.maxChanges = options.maxChanges ?? 100_000;
    this.maxCommandChars = options.maxCommandChars ?? 64 * 1024 * 1024;
    this.after = new Decided(options.decideAfter);
    this.before = options.decideBefore ? new Decided(options.decideBefore) : null;
  }

  add(record: LoggedRecord): void {
    if (record.event !== 'decision') return;
    if (this.options.since !== undefined && !(Date.parse(record.ts) >= this.options.since.getTime())) return;
    this.counts.records++;
    const why = skipped(record, this.before !== null);
    if (why !== null) return this.skip(why);
    const decided = record as LoggedAllow | LoggedDeny;
    const request = requestOf(decided);
    if ('unrebuildable' in request) return this.skip(request.unrebuildable);
    this.counts.replayed++;
    const before = this.before ? this.before.of(request) : recordedVerdict(decided);
    const after = this.after.of(request);
    if (before.decision === 'deny' && after.decision === 'deny') {
      this.counts[before.reason === after.reason ? 'unchanged' : 'otherRefusal']++;
      return;
    }
    if (before.decision === 'allow' && after.decision === 'allow' && before.rule === after.rule) {
      this.counts.unchanged++;
      return;
    }
    this.changed(request.identity, request.command, before, after, record.ts);
  }

  private skip(why: string): void {
    this.skips.set(why, (this.skips.get(why) ?? 0) + 1);
  }

  private changed(id: string, command: string | null, before: Verdict, after: Verdict, ts: string): void {
    // Keyed in two steps, so the command is held once (as key and field), not again in a joined key.
    const outer = `${id}\0${verdictText(before)}\0${verdictText(after)}`;
    let byCommand = this.changes.get(outer);
    const known = byCommand?.get(command);
    if (known !== undefined) {
      known.count++;
      // By time, not by text: a log may spell its times with an offset (audit/validate.ts TS).
      if (Date.parse(ts) < Date.parse(known.first)) known.first = ts;
      if (Date.parse(ts) > Date.parse(known.last)) known.last = ts;
      return;
    }
    const chars = command?.length ?? 0;
    if (this.kept >= this.maxChanges || this.keptChars + chars > this.maxCommandChars) {
      this.counts.truncated++;
      return;
    }
    if (byCommand === undefined) this.changes.set(outer, (byCommand = new Map()));
    byCommand.set(command, { id, command, before, after, count: 1, first: ts, last: ts });
    this.kept++;
    this.keptChars += chars;
  }

  result(): ReplayResult {
    const changes = [...this.changes.values()].flatMap((byCommand) => [...byCommand.values()]);
    // Code-unit order (not localeCompare, which costs seconds on 100,000 changes): the same on every machine.
    const order = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
    changes.sort((a, b) => b.count - a.count || order(a.id, b.id) || order(a.command ?? '', b.command ?? ''));
    return { ...this.counts, changes, skipped: Object.fromEntries([...this.skips].sort(([a], [b]) => a.localeCompare(b))) };
  }
}

/** Every record of `records` decided again. */
export async function replayRecords(records: AsyncIterable<LoggedRecord>, options: ReplayOptions): Promise<ReplayResult> {
  const replay = new Replay(options);
  for await (const record of records) replay.add(record);
  return replay.result();
}
