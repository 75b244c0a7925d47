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
import { execCovers, lintExec } from './exec/lint.js';
import { matchExec } from './exec/match.js';
import { parseExecRule } from './exec/parse.js';
import { EXEC_KEYS, type ExecRule } from './exec/rule.js';
import { lintReceive, receiveCovers } from './receive/lint.js';
import { matchReceive } from './receive/match.js';
import { parseReceiveRule } from './receive/parse.js';
import { RECEIVE_KEYS, type ReceiveRule } from './receive/rule.js';
import { lintRelay, relayCovers } from './relay/lint.js';
import { matchRelay } from './relay/match.js';
import { parseRelayRule } from './relay/parse.js';
import { RELAY_KEYS, type RelayRule } from './relay/rule.js';
import { rsyncCovers, rsyncWritesTo } from './rsync/lint.js';
import { matchRsync, NO_RSYNC_FEATURES, type RsyncFeatures } from './rsync/match.js';
import { parseRsyncRule } from './rsync/parse.js';
import { RSYNC_KEYS, type RsyncRule } from './rsync/rule.js';

export type Rule = ExecRule | RsyncRule | ReceiveRule | RelayRule;

/** Facts about this host that a decision depends on, gathered before deciding (host/). */
export interface HostFacts {
  /** What each rsync program named by a rule supports, by path. */
  rsync: ReadonlyMap<string, RsyncFeatures>;
}

export const NO_HOST_FACTS: HostFacts = { rsync: new Map() };

export interface RuleKind<R extends Rule> {
  /** The keys of its block: enforced by its parser, tested against schema/policy.schema.json. */
  keys: { readonly allowed: readonly string[]; readonly required: readonly string[] };
  parse(reader: Reader, node: Node | null, key: string): RuleBody<R> | null;
  /** A rule tried on the tokenized command; `globs` are the words' unquoted wildcards by index. */
  match(rule: R, words: string[], globs: ReadonlyMap<number, string>, request: Request, facts: HostFacts): RuleOutcome;
  /** Whether an earlier rule of this kind takes every request `later` would (so `later` can never match). */
  covers(earlier: R, later: R): boolean;
  /** What `check` says about the rule on its own (the host's side is in cli/check.ts). */
  lint(rule: R): Finding[];
  /** The directory a client's data lands in, for check's UNSAFE write roots; null for a rule that stores nothing. */
  writesTo(rule: R): string | null;
}

const noGlobs = (globs: ReadonlyMap<number, string>): RuleOutcome | null => (globs.size > 0 ? { ok: false, why: 'a word holds an unquoted glob character' } : null);

const nothing = (): Finding[] => [];

export const RULE_KINDS: { [K in Rule['kind']]: RuleKind<Extract<Rule, { kind: K }>> } = {
  exec: {
    keys: EXEC_KEYS,
    parse: parseExecRule,
    match: (rule, words, globs, request) => matchExec(rule, words, globs, request),
    covers: execCovers,
    lint: lintExec,
    writesTo: () => null,
  },
  rsync: {
    keys: RSYNC_KEYS,
    parse: parseRsyncRule,
    // Pull wildcards are the rsync rule's own business (expanded on the host, inside root).
    match: (rule, words, globs, request, facts) => matchRsync(rule, words, globs, request, facts.rsync.get(rule.program) ?? NO_RSYNC_FEATURES),
    covers: rsyncCovers,
    lint: nothing,
    writesTo: rsyncWritesTo,
  },
  receive: {
    keys: RECEIVE_KEYS,
    parse: parseReceiveRule,
    match: (rule, words, globs, request) => noGlobs(globs) ?? matchReceive(rule, words, request),
    covers: receiveCovers,
    lint: lintReceive,
    writesTo: (rule) => rule.dir,
  },
  relay: {
    keys: RELAY_KEYS,
    parse: parseRelayRule,
    match: (rule, words, globs) => noGlobs(globs) ?? matchRelay(rule, words),
    covers: relayCovers,
    lint: lintRelay,
    writesTo: () => null,
  },
};

/** A rule tried on a request, through its kind's row. */
export function tryRule(rule: Rule, words: string[], globs: ReadonlyMap<number, string>, request: Request, facts: HostFacts): RuleOutcome {
  const kind = RULE_KINDS[rule.kind] as RuleKind<Rule>;
  return kind.match(rule, words, globs, request, facts);
}
