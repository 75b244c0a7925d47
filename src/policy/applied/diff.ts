/**
 * What a new version changes from the one served before, one line each, for `apply`'s output and
 * `history`: identities and rules added, removed or changed, by name. Where a thing was written
 * (file:line) is left out of the comparison: moving a rule down a file changes nothing served.
 * Pure.
 */
import { bytesReplacer } from '../../values/decode.js';
import type { Identity, Policy } from '../schema.js';

/** A value as JSON without its `where`s, for equality. */
function served(value: unknown): string {
  return JSON.stringify(value, (key, inner) => (key === 'where' ? undefined : bytesReplacer(key, inner)));
}

function identityLines(name: string, before: Identity, after: Identity): string[] {
  const lines: string[] = [];
  const { rules: rulesBefore, ...restBefore } = before;
  const { rules: rulesAfter, ...restAfter } = after;
  for (const key of Object.keys(restAfter) as (keyof typeof restAfter)[]) {
    if (key !== 'where' && served(restBefore[key]) !== served(restAfter[key])) lines.push(`identity ${name}: ${key} changed`);
  }
  const old = new Map(rulesBefore.map((rule) => [rule.name, rule]));
  const now = new Map(rulesAfter.map((rule) => [rule.name, rule]));
  for (const [rule, value] of now) {
    const was = old.get(rule);
    if (was === undefined) lines.push(`identity ${name}: rule ${rule} added`);
    else if (served(was) !== served(value)) lines.push(`identity ${name}: rule ${rule} changed`);
  }
  for (const rule of old.keys()) if (!now.has(rule)) lines.push(`identity ${name}: rule ${rule} removed`);
  const order = (rules: readonly { name: string }[]) => rules.map((rule) => rule.name).filter((rule) => old.has(rule) && now.has(rule));
  if (lines.length === 0 && order(rulesBefore).join('\0') !== order(rulesAfter).join('\0')) lines.push(`identity ${name}: rules reordered`);
  return lines;
}

/** The lines, in a stable order; empty when nothing served changes. `before` null: the first version. */
export function policyDiff(before: Policy | null, after: Policy): string[] {
  if (before === null) {
    const rules = [...after.identities.values()].reduce((n, identity) => n + identity.rules.length, 0);
    return [`first version: ${after.identities.size} identities, ${rules} rules`];
  }
  const lines: string[] = [];
  if (served(before.audit) !== served(after.audit)) lines.push('audit settings changed');
  for (const [name, identity] of after.identities) {
    const was = before.identities.get(name);
    if (was === undefined) lines.push(`identity ${name} added (${identity.rules.length} rules)`);
    else lines.push(...identityLines(name, was, identity));
  }
  for (const name of before.identities.keys()) if (!after.identities.has(name)) lines.push(`identity ${name} removed`);
  return lines;
}
