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
import { compressIPv6, networkText } from '../../values/address.js';
import type { RelayRule, RelayTarget } from './rule.js';

/** What sshd may open for a rule: `permitopen` values, and the destinations it cannot express. */
export interface Hops {
  open: string[];
  unexpressed: string[];
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
