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
import type { ExecPlan, FilesPlan, Plan, ReceivePlan, RelayPlan, RsyncPlan } from './plan.js';
import type { Priority } from './priority.js';
import type { SecretsPolicy } from './sandbox.js';
import type { SpellingReading } from './spelling.js';
import { execPlanFields, execPlanLines, type ExecPlanFields } from './exec/explain.js';
import { execCovers, execWritesTo, lintExec } from './exec/lint.js';
import { matchExec } from './exec/match.js';
import { parseExecRule } from './exec/parse.js';
import { EXEC_KEYS, type ExecRule } from './exec/rule.js';
import { receivePlanFields, receivePlanLines, type ReceivePlanFields } from './receive/explain.js';
import { lintReceive, receiveCovers } from './receive/lint.js';
import { matchEmptyReceive, matchReceive } from './receive/match.js';
import { parseReceiveRule } from './receive/parse.js';
import { RECEIVE_KEYS, type ReceiveRule } from './receive/rule.js';
import { relayPlanFields, relayPlanLines, type RelayPlanFields } from './relay/explain.js';
import { relayHops, type Hops } from './relay/hops.js';
import { lintRelay, relayCovers } from './relay/lint.js';
import { matchRelay } from './relay/match.js';
import { parseRelayRule } from './relay/parse.js';
import { RELAY_KEYS, type RelayRule } from './relay/rule.js';
import { rsyncCovers, rsyncWritesTo } from './rsync/lint.js';
import { NO_RSYNC_FEATURES, type RsyncFeatures } from './rsync/features.js';
import { matchRsync } from './rsync/match.js';
import { parseRsyncRule } from './rsync/parse.js';
import { rootLockKey } from './rsync/lock.js';
import { looksLikeRsync } from './rsync/server-args.js';
import { RSYNC_KEYS, type RsyncRule } from './rsync/rule.js';
import { filesPlanFields, filesPlanLines, type FilesPlanFields } from './sftp/explain.js';
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

export interface RuleKind<R extends Rule, P extends Plan = Plan, F extends PlanFields = PlanFields> {
  /** The keys of its block: enforced by its parser, tested against schema/policy.schema.json. */
  keys: { readonly allowed: readonly string[]; readonly required: readonly string[] };
  parse(reader: Reader, node: Node | null, key: string): RuleBody<R> | null;
  /** A rule tried on the tokenized command; `globs` are the words' unquoted wildcards by index. */
  match(rule: R, words: string[], globs: ReadonlyMap<number, string>, request: Request, facts: HostFacts): RuleOutcome;
  /** Whether an earlier rule of this kind takes every request `later` would (so `later` can never match). */
  covers(earlier: R, later: R): boolean;
  /** What `check` says about the rule on its own (what it finds on this host is the host row's `findings`: host/kinds.ts). */
  lint(rule: R, context: LintContext): Finding[];
  /** Where a client's data can land, for check's UNSAFE write roots; none for a rule that stores nothing. */
  writesTo(rule: R): string[];
  /** Its plan as the audit record's fields (and explain --json's) and as explain's lines. */
  fields(plan: P): F;
  lines(plan: P): string[];
  /** A session without a command (`tar c . | ssh host`): a plan or why not; null for a kind that never serves one. */
  matchEmpty: ((rule: R, request: Request) => RuleOutcome) | null;
  /** Whether a request for the kind may send the rest of its words on the connection (rsync -s), to be read before deciding. */
  readsProtectedArgs: boolean;
  /** The program whose features this host must report before `words` are decided (HostFacts), or null. */
  probes: ((rule: R, words: readonly string[], spelled: SpellingReading) => string | null) | null;
  /** The directory the rule's data lives in, whose owner, modes and filesystem `check` looks at; null when it names none. */
  dataDirectory(rule: R): string | null;
  /** What the rule's program sees of the host through the sandbox; null when it does not run in one. */
  sandbox(rule: R): SandboxUse | null;
  /** The lock one run of the rule at a time holds (rsync single-run), or null. */
  runsAlone(rule: R): { key: string; what: string } | null;
  /** Whether it may write where the dispatcher cannot watch free space (an unsupervised push), so no identity floor holds. */
  unwatchedWrites(rule: R): boolean;
  /** What `check` adds when `earlier` takes every request of `later`; '' when nothing. */
  coverHint(earlier: R, later: R): string;
  /** What sshd itself may open for the rule (`ssh -W`, ProxyJump: the key line's permitopen), and what it cannot be told. */
  hops(rule: R): Hops;
}

/** A sandboxed rule's view of the host, for `check`: what must exist, what it reads, what it writes or serves over, and what it said of the secrets. */
export interface SandboxUse {
  /** Paths bwrap binds: each must exist, or nothing runs. */
  binds: string[];
  /** Paths whose files the program reads (and so would hand out the secrets in them). */
  reads: string[];
  /** Paths it writes or serves, over which a secret would be kept covered. */
  over: string[];
  secrets: SecretsPolicy | null;
}

const noGlobs = (globs: ReadonlyMap<number, string>): RuleOutcome | null =>
  globs.size > 0 ? { ok: false, why: 'a word holds an unquoted glob character' } : null;

const nothing = (): Finding[] => [];
const no = (): false => false;
const none = (): null => null;
const noHint = (): string => '';
const noHops = (): Hops => ({ open: [], unexpressed: [] });

/**
 * rsync's refusals that say least ("this rule serves the other direction", "not this rule's
 * paths"): another rule may still serve the request, so the record names them only when no
 * rule said anything more specific (decide/decide.ts).
 */
function weakened(outcome: RuleOutcome): RuleOutcome {
  if (outcome.ok || (outcome.reason !== 'rsync-direction-refused' && outcome.reason !== 'rsync-path-outside-rule')) return outcome;
  return { ...outcome, weak: true };
}

/** The rule's nice/ionice on its plan (kept out of the rsync matcher, which builds the argv alone). */
function withPriority(outcome: RuleOutcome, priority: Priority): RuleOutcome {
  if (!outcome.ok || outcome.plan.kind !== 'exec' || (priority.nice === null && priority.ionice === null)) return outcome;
  return { ok: true, plan: { ...outcome.plan, priority } };
}

/** Each kind's plan, as the audit record and explain --json show it (rules/<kind>/explain.ts). */
export interface FieldsOf {
  exec: ExecPlanFields;
  rsync: ExecPlanFields;
  receive: ReceivePlanFields;
  relay: RelayPlanFields;
  sftp: FilesPlanFields;
}

/** Any kind's plan fields. */
export type PlanFields = FieldsOf[keyof FieldsOf];

export interface PlanOf {
  exec: ExecPlan;
  rsync: RsyncPlan;
  receive: ReceivePlan;
  relay: RelayPlan;
  sftp: FilesPlan;
}

export const RULE_KINDS: { [K in Rule['kind']]: RuleKind<Extract<Rule, { kind: K }>, PlanOf[K], FieldsOf[K]> } = {
  exec: {
    keys: EXEC_KEYS,
    parse: parseExecRule,
    match: (rule, words, globs, request) => matchExec(rule, words, globs, request),
    covers: execCovers,
    lint: lintExec,
    writesTo: execWritesTo,
    fields: execPlanFields,
    lines: execPlanLines,
    matchEmpty: null,
    readsProtectedArgs: false,
    probes: null,
    dataDirectory: (rule) => rule.cwd,
    sandbox: (rule) =>
      rule.sandbox === null
        ? null
        : {
            binds: [...rule.sandbox.read, ...rule.sandbox.write],
            reads: [...rule.sandbox.read, ...rule.sandbox.write],
            over: [],
            secrets: rule.sandbox.secrets,
          },
    runsAlone: none,
    unwatchedWrites: no,
    coverHint: noHint,
    hops: noHops,
  },
  rsync: {
    keys: RSYNC_KEYS,
    parse: parseRsyncRule,
    // Pull wildcards are the rsync rule's own business (expanded on the host, inside root).
    match: (rule, words, globs, request, facts) =>
      weakened(withPriority(matchRsync(rule, words, globs, request, facts.rsync.get(rule.program) ?? NO_RSYNC_FEATURES), rule.priority)),
    covers: rsyncCovers,
    lint: nothing,
    writesTo: rsyncWritesTo,
    fields: execPlanFields,
    lines: execPlanLines,
    matchEmpty: null,
    readsProtectedArgs: true,
    // --confine-root and --drop-D go into the argv only where this rsync has them.
    probes: (rule, words, spelled) =>
      looksLikeRsync(words.slice(0, 1)) || (spelled.kind === 'spelled' && spelled.serves === 'rsync') ? rule.program : null,
    dataDirectory: (rule) => rule.root,
    sandbox: (rule) => {
      if (!rule.sandbox) return null;
      const paths = rule.paths ?? [rule.root];
      return { binds: [], reads: rule.access === 'write' ? [] : paths, over: rule.access === 'write' ? paths : [], secrets: rule.secrets };
    },
    runsAlone: (rule) =>
      rule.singleRun ? { key: rootLockKey(rule.root), what: `another rsync of ${rule.root} is running (single-run: true)` } : null,
    unwatchedWrites: (rule) => rule.access !== 'read' && !rule.supervise,
    // Two rsync roots for one key: the usual fix is to let each rule take only its own paths.
    coverHint: (earlier, later) =>
      earlier.root !== later.root
        ? ` (an absolute path is re-read under ${earlier.root}; give both rules absolute-paths: true or paths:, so that each takes only its own)`
        : '',
    hops: noHops,
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
    matchEmpty: matchEmptyReceive,
    readsProtectedArgs: false,
    probes: null,
    dataDirectory: (rule) => rule.dir,
    sandbox: none,
    runsAlone: none,
    unwatchedWrites: no,
    coverHint: noHint,
    hops: noHops,
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
    matchEmpty: null,
    readsProtectedArgs: false,
    probes: null,
    dataDirectory: none,
    sandbox: none,
    runsAlone: none,
    unwatchedWrites: no,
    coverHint: noHint,
    hops: relayHops,
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
    matchEmpty: null,
    readsProtectedArgs: false,
    probes: null,
    dataDirectory: (rule) => rule.root,
    // Always in the sandbox: the file server runs there (act/files/).
    sandbox: (rule) => ({ binds: [], reads: [], over: [rule.root], secrets: null }),
    runsAlone: none,
    unwatchedWrites: no,
    coverHint: noHint,
    hops: noHops,
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
