/** The `relay:` block of a rule, read and checked (docs/policy.md, "relay"). */
import type { Node, Reader } from '../../values/reader.js';
import { parsePolicyDuration } from '../../values/units.js';
import type { RuleBody } from '../base.js';
import { parseRelayTarget } from './match.js';
import { RELAY_KEYS, type RelayRule } from './rule.js';

export function parseRelayRule(reader: Reader, node: Node | null, key: string): RuleBody<RelayRule> | null {
  const fields = reader.map(node, key, RELAY_KEYS.allowed, RELAY_KEYS.required);
  if (!fields) return null;
  const errorsBefore = reader.errors.length;
  const to = reader.stringList(fields.get('to') ?? null, `${key}.to`, {
    test: (s) => parseRelayTarget(s) !== null,
    expected:
      'HOST:PORT with a lowercase host name, an IP or a CIDR ([...] for IPv6), and a port 1-65535, such as db.internal:5432, 10.0.0.0/24:22, [2001:db8::1]:22',
  });
  if (to && to.length === 0) reader.error(fields.get('to') ?? null, `${key}.to`, 'expected at least one destination');
  const duration = (name: string, fallback: string) =>
    fields.has(name)
      ? reader.string(fields.get(name) ?? null, `${key}.${name}`, {
          test: (s) => parsePolicyDuration(s) !== null,
          expected: 'a duration such as 30s, 5m',
        })
      : fallback;
  const idle = duration('idle-timeout', '5m');
  const connect = duration('connect-timeout', '10s');
  if (reader.errors.length > errorsBefore || !to || idle === null || connect === null) return null;
  return {
    kind: 'relay',
    to: to.map((t) => parseRelayTarget(t)!),
    idleTimeoutMs: parsePolicyDuration(idle)!,
    connectTimeoutMs: parsePolicyDuration(connect)!,
  };
}
