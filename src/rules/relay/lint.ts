/** What `check` says about a relay rule: a destination that is a whole network makes the key a pivot. */
import type { Finding } from '../base.js';
import type { RelayRule } from './rule.js';

/** An earlier relay rule that lists every destination of a later one takes all its requests. */
export function relayCovers(earlier: RelayRule, later: RelayRule): boolean {
  return later.to.every((t) => earlier.to.some((e) => e.text === t.text));
}

export function lintRelay(rule: RelayRule): Finding[] {
  return rule.to.flatMap((target) => {
    const range = target.range;
    if (!range || range.prefix >= (range.bytes.length === 4 ? 16 : 48)) return [];
    const size = range.bytes.length === 4 ? 2 ** (32 - range.prefix) : `2^${128 - range.prefix}`;
    return [
      {
        where: rule.where,
        level: 'warning' as const,
        id: 'relay-wide-range' as const,
        message: `rule "${rule.name}" relays to ${target.text}, a range of ${size} addresses: a key that can reach a whole network is a pivot; list the hosts`,
      },
    ];
  });
}
