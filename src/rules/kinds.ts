/**
 * The rule kinds, in one table: what a policy may say under each kind's key (its parser and key
 * list), and how a rule of that kind answers a request (its match). The frame of the policy
 * (policy/parse.ts), the JSON Schema test and the decision (decide/decide.ts) all go through
 * this table, so a new kind is a folder of its own and one row here (and, if its plans are of a
 * new kind, the effect in act/).
 */
import type { Request } from '../request/request.js';
import type { Node, Reader } from '../values/reader.js';
import type { RuleBody, RuleOutcome } from './base.js';
import { matchExec } from './exec/match.js';
import { parseExecRule } from './exec/parse.js';
import { EXEC_KEYS, type ExecRule } from './exec/rule.js';
import { matchReceive } from './receive/match.js';
import { parseReceiveRule } from './receive/parse.js';
import { RECEIVE_KEYS, type ReceiveRule } from './receive/rule.js';
import { matchRelay } from './relay/match.js';
import { parseRelayRule } from './relay/parse.js';
import { RELAY_KEYS, type RelayRule } from './relay/rule.js';
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
}

const noGlobs = (globs: ReadonlyMap<number, string>): RuleOutcome | null => (globs.size > 0 ? { ok: false, why: 'a word holds an unquoted glob character' } : null);

export const RULE_KINDS: { [K in Rule['kind']]: RuleKind<Extract<Rule, { kind: K }>> } = {
  exec: { keys: EXEC_KEYS, parse: parseExecRule, match: (rule, words, globs, request) => matchExec(rule, words, globs, request) },
  rsync: {
    keys: RSYNC_KEYS,
    parse: parseRsyncRule,
    // Pull wildcards are the rsync rule's own business (expanded on the host, inside root).
    match: (rule, words, globs, request, facts) => matchRsync(rule, words, globs, request, facts.rsync.get(rule.program) ?? NO_RSYNC_FEATURES),
  },
  receive: { keys: RECEIVE_KEYS, parse: parseReceiveRule, match: (rule, words, globs, request) => noGlobs(globs) ?? matchReceive(rule, words, request) },
  relay: { keys: RELAY_KEYS, parse: parseRelayRule, match: (rule, words, globs) => noGlobs(globs) ?? matchRelay(rule, words) },
};

/** A rule tried on a request, through its kind's row. */
export function tryRule(rule: Rule, words: string[], globs: ReadonlyMap<number, string>, request: Request, facts: HostFacts): RuleOutcome {
  const kind = RULE_KINDS[rule.kind] as RuleKind<Rule>;
  return kind.match(rule, words, globs, request, facts);
}
