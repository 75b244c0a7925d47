/** What `check` says about a receive rule. */
import type { Finding } from '../base.js';
import { compilePattern, matchPattern } from '../../values/pattern.js';
import { patternWordFindings } from '../pattern-words.js';
import { renderName } from './match.js';
import { retentionWarnings } from './retention.js';
import type { ReceiveRule } from './rule.js';

/** The first receive rule takes every plain `receive`; a later one is reached only by names the first refuses. */
export function receiveCovers(earlier: ReceiveRule, later: ReceiveRule): boolean {
  return earlier.clientName === later.clientName || later.clientName === null;
}

export function lintReceive(rule: ReceiveRule): Finding[] {
  const findings: Finding[] = rule.clientName === null ? [] : patternWordFindings(rule, [{ word: rule.clientName, what: 'client-name' }]);
  const overlap = templateOverlap(rule);
  if (overlap) findings.push({ where: rule.where, level: 'warning', id: 'receive-name-overlaps-template', message: overlap });
  for (const message of retentionWarnings(rule))
    findings.push({ where: rule.where, level: 'warning', id: 'receive-retention', message: `rule "${rule.name}": ${message}` });
  return findings;
}

/**
 * A client-name glob that also matches the template's names: those names are refused
 * (receive-name-reserved) whatever the glob says, and a client's own name such as
 * `backup-latest.tar` still sorts among the template's; a disjoint glob says what is meant.
 */
function templateOverlap(rule: ReceiveRule): string | null {
  if (rule.clientName === null) return null;
  const sample = renderName(rule.fileName, new Date(2026, 0, 2, 3, 4, 5), 'ID');
  if (!matchPattern(compilePattern(rule.clientName), sample)) return null;
  return `rule "${rule.name}": client-name ${JSON.stringify(rule.clientName)} also matches the template's names (${sample}): a client's name of that shape is refused (receive-name-reserved), and names like it sort among the owner's uploads; a glob the template cannot produce (such as "manual-*") keeps them apart`;
}
