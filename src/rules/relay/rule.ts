/** A relay rule, as checked by ./parse.ts: a TCP connection to an allowed host:port. */
import type { RuleBase } from '../base.js';
import type { AddressRange } from '../../values/address.js';
/** The keys of the `relay:` block: what its parser enforces and the JSON Schema is tested against. */
export const RELAY_KEYS = { allowed: ['to', 'idle-timeout', 'connect-timeout'], required: ['to'] } as const;

/** One allowed relay destination: a host name, an IP or a CIDR, and a port. */
export interface RelayTarget {
  /** As written in the policy, for records and explain. */
  text: string;
  /** A lowercase DNS name, or null for an address range. */
  name: string | null;
  range: AddressRange | null;
  port: number;
}

export interface RelayRule extends RuleBase {
  kind: 'relay';
  to: RelayTarget[];
  idleTimeoutMs: number;
  connectTimeoutMs: number;
}
