/** What `check` says about a receive rule. */
import type { Finding } from '../base.js';
import { patternWordFindings } from '../pattern-words.js';
import type { ReceiveRule } from './rule.js';

/** The first receive rule takes every plain `receive`; a later one is reached only by names the first refuses. */
export function receiveCovers(earlier: ReceiveRule, later: ReceiveRule): boolean {
  return earlier.clientName === later.clientName || later.clientName === null;
}

export function lintReceive(rule: ReceiveRule): Finding[] {
  return rule.clientName === null ? [] : patternWordFindings(rule, [{ word: rule.clientName, what: 'client-name' }]);
}
