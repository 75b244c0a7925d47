/**
 * The rule kinds, in one table: what a policy may say under each kind's key (its parser and key
 * list), and how a rule of that kind answers a request (its match). The frame of the policy
 * (policy/parse.ts), the JSON Schema test and the decision (decide/decide.ts) all go through
 * this table, so a new kind is a folder of its own and one row here (and, if its plans are of a
 * new kind, the effect in act/).
 */
import type { Request } from '../request/request.js';
import type { Node, Reader } from '../values/reader.js';
import type { Finding, RuleBody, RuleOutcome } from './base.js';
import type { ExecPlan, FilesPlan, Plan, ReceivePlan, RelayPlan } from './plan.js';
import type { Priority } from './priority.js';
import { execPlanFields, execPlanLines } from './exec/explain.js';
import { execCovers, execWritesTo, lintExec } from './exec/lint.js';
import { matchExec } from './exec/match.js';
import { parseExecRule } from './exec/parse.js';
import { EXEC_KEYS, type ExecRule } from './exec/rule.js';
import { receivePlanFields, receivePlanLines } from './receive/explain.js';
import { lintReceive, receiveCovers } from './receive/lint.js';
import { matchReceive } from './receive/match.js';
import { parseReceiveRule } from './receive/parse.js';
import { RECEIVE_KEYS, type ReceiveRule } from './receive/rule.js';
import { relayPlanFields, relayPlanLines } from './relay/explain.js';
import { lintRelay, relayCovers } from './relay/lint.js';
import { matchRelay } from './relay/match.js';
import { parseRelayRule } from './relay/parse.js';
import { RELAY_KEYS, type RelayRule } from './relay/rule.js';
import { rsyncCovers, rsyncWritesTo } from './rsync/lint.js';
import { matchRsync, NO_RSYNC_FEATURES, type RsyncFeatures } from './rsync/match.js';
import { parseRsyncRule } from './rsync/parse.js';
import { RSYNC_KEYS, type RsyncRule } from './rsync/rule.js';
import { filesPlanFields, filesPlanLines } from './sftp/explain.js';
import { sftpCovers, sftpWritesTo } from './sftp/lint.js';
import { matchSftp } from './sftp/match.js';
import { parseSftpRule } from './sftp/parse.js';
import { SFTP_KEYS, type SftpRule } from './sftp/rule.js';

export type Rule = ExecRule | RsyncRule | ReceiveRule | RelayRule | SftpRule;

/** Facts about this host that a decision depends on, gathered before deciding (host/). */
export interface HostFacts {
  /** What each rsync program named by a rule supports, by path. */
  rsync: ReadonlyMap<string, RsyncFeatures>;
}

export const NO_HOST_FACTS: HostFacts = { rsync: new Map() };

/** What lint may ask of the host, given by `check`: what a program path is once its links are followed. */
export interface LintContext {
  resolveProgram(path: string): string;
}

export interface RuleKind<R extends Rule, P extends Plan = Plan> {
  /** The keys of its block: enforced by its parser, tested against schema/policy.schema.json. */
  keys: { readonly allowed: readonly string[]; readonly required: readonly string[] };
  parse(reader: Reader, node: Node | null, key: string): RuleBody<R> | null;
  /** A rule tried on the tokenized command; `globs` are the words' unquoted wildcards by index. */
  match(rule: R, words: string[], globs: ReadonlyMap<number, string>, request: Request, facts: HostFacts): RuleOutcome;
  /** Whether an earlier rule of this kind takes every request `later` would (so `later` can never match). */
  covers(earlier: R, later: R): boolean;
  /** What `check` says about the rule on its own (the host's side is in cli/check.ts). */
  lint(rule: R, context: LintContext): Finding[];
  /** Where a client's data can land, for check's UNSAFE write roots; none for a rule that stores nothing. */
  writesTo(rule: R): string[];
  /** Its plan as the audit record's fields (and explain --json's) and as explain's lines. */
  fields(plan: P): Record<string, unknown>;
  lines(plan: P): string[];
}

const noGlobs = (globs: ReadonlyMap<number, string>): RuleOutcome | null => (globs.size > 0 ? { ok: false, why: 'a word holds an unquoted glob character' } : null);

const nothing = (): Finding[] => [];

/** The rule's nice/ionice on its plan (kept out of the rsync matcher, which builds the argv alone). */
function withPriority(outcome: RuleOutcome, priority: Priority): RuleOutcome {
  if (!outcome.ok || outcome.plan.kind !== 'exec' || (priority.nice === null && priority.ionice === null)) return outcome;
  return { ok: true, plan: { ...outcome.plan, priority } };
}

interface PlanOf {
  exec: ExecPlan;
  rsync: ExecPlan;
  receive: ReceivePlan;
  relay: RelayPlan;
  sftp: FilesPlan;
}

export const RULE_KINDS: { [K in Rule['kind']]: RuleKind<Extract<Rule, { kind: K }>, PlanOf[K]> } = {
  exec: {
    keys: EXEC_KEYS,
    parse: parseExecRule,
    match: (rule, words, globs, request) => matchExec(rule, words, globs, request),
    covers: execCovers,
    lint: lintExec,
    writesTo: execWritesTo,
    fields: execPlanFields,
    lines: execPlanLines,
  },
  rsync: {
    keys: RSYNC_KEYS,
    parse: parseRsyncRule,
    // Pull wildcards are the rsync rule's own business (expanded on the host, inside root).
    match: (rule, words, globs, request, facts) => withPriority(matchRsync(rule, words, globs, request, facts.rsync.get(rule.program) ?? NO_RSYNC_FEATURES), rule.priority),
    covers: rsyncCovers,
    lint: nothing,
    writesTo: rsyncWritesTo,
    fields: execPlanFields,
    lines: execPlanLines,
  },
  receive: {
    keys: RECEIVE_KEYS,
    parse: parseReceiveRule,
    match: (rule, words, globs, request) => noGlobs(globs) ?? matchReceive(rule, words, request),
    covers: receiveCovers,
    lint: lintReceive,
    writesTo: (rule) => [rule.dir],
    fields: receivePlanFields,
    lines: receivePlanLines,
  },
  relay: {
    keys: RELAY_KEYS,
    parse: parseRelayRule,
    match: (rule, words, globs) => noGlobs(globs) ?? matchRelay(rule, words),
    covers: relayCovers,
    lint: lintRelay,
    writesTo: () => [],
    fields: relayPlanFields,
    lines: relayPlanLines,
  },
  sftp: {
    keys: SFTP_KEYS,
    parse: parseSftpRule,
    match: matchSftp,
    covers: sftpCovers,
    lint: nothing,
    writesTo: sftpWritesTo,
    fields: filesPlanFields,
    lines: filesPlanLines,
  },
};

/** A rule tried on a request, through its kind's row. */
export function tryRule(rule: Rule, words: string[], globs: ReadonlyMap<number, string>, request: Request, facts: HostFacts): RuleOutcome {
  return kindOf(rule.kind).match(rule, words, globs, request, facts);
}

/** The row of a rule's kind, for code that holds a rule (or a decision's rule) of any kind. */
export function kindOf(kind: Rule['kind']): RuleKind<Rule, Plan> {
  return RULE_KINDS[kind] as unknown as RuleKind<Rule, Plan>;
}
