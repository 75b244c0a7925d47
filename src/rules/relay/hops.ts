/**
 * A relay rule's destinations as sshd's `permitopen` entries: what `ssh -W` and ProxyJump (sshd's
 * own direct-tcpip channels, which never reach ssh-dispatch) may open with a key whose line
 * `authorized-key` and `authorized-keys-command` print, so that both ways through the gateway
 * have one list (docs/rules/relay.md, "ssh -W and ProxyJump").
 *
 * sshd compares a permitopen host as a plain string with what the client sent (channels.c
 * open_match, strcmp): a name, one address. A range cannot be said to it (and `*` would open
 * every host), so a range is left out: `nc %h %p` through ssh-dispatch still reaches it, `-W`
 * does not (fail closed).
 */
import { networkText } from '../../values/address.js';
import type { RelayRule, RelayTarget } from './rule.js';

/** What sshd may open for a rule: `permitopen` values, and the destinations it cannot express. */
export interface Hops {
  open: string[];
  unexpressed: string[];
}

/** An IPv6 address as clients write it (RFC 5952): lowercase, the longest run of two or more zero groups as `::`. */
export function compressIPv6(bytes: Uint8Array): string {
  const groups = Array.from({ length: 8 }, (_, i) => ((bytes[2 * i]! << 8) | bytes[2 * i + 1]!).toString(16));
  let best = { at: -1, length: 1 };
  for (let i = 0; i < 8; i++) {
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > best.length) best = { at: i, length: j - i };
  }
  if (best.at < 0) return groups.join(':');
  return `${groups.slice(0, best.at).join(':')}::${groups.slice(best.at + best.length).join(':')}`;
}

/** One destination as a permitopen value, or null for a range. */
export function permitOpenEntry(target: RelayTarget): string | null {
  if (target.name !== null) return `${target.name}:${target.port}`;
  const range = target.range!;
  if (range.prefix !== range.bytes.length * 8) return null;
  return range.bytes.length === 4 ? `${networkText(range)}:${target.port}` : `[${compressIPv6(range.bytes)}]:${target.port}`;
}

export function relayHops(rule: RelayRule): Hops {
  const open: string[] = [];
  const unexpressed: string[] = [];
  for (const target of rule.to) {
    const entry = permitOpenEntry(target);
    if (entry === null) unexpressed.push(target.text);
    else open.push(entry);
  }
  return { open, unexpressed };
}
