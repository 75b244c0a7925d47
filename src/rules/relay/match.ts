/**
 * relay rules: `nc HOST PORT`, `nc -w SECONDS HOST PORT` (what `ProxyCommand ssh gw nc %h %p`
 * sends) and `relay HOST PORT`, served by ssh-dispatch itself (no nc on the gateway), to allowed
 * destinations only. Nothing else of nc's is accepted: not -e/-c (run a program), -l (listen),
 * -U (unix sockets), -x/-X (proxies), -s/-p (source address), -u (UDP), -z or port ranges.
 *
 * HOST and PORT are compared as exact canonical strings and addresses (docs/threat-model.md, "relay"): a name
 * in lowercase LDH form, an IPv4 in dotted-quad, an IPv6 as parsed bytes; a port as 1-65535
 * without leading zeros. inet_aton's other spellings of an address (127.1, 0x7f000001, 017700000001)
 * and service names (ssh) are refused, not guessed. A name is resolved once, at connect time,
 * and the connection goes to the address that came back (act/relay.ts records it).
 */
import type { RelayPlan } from '../plan.js';
import type { RelayRule, RelayTarget } from './rule.js';
import type { DenyReason } from '../../values/deny-reason.js';
import { addressInRange, parseAddress, parseAddressRange } from '../../values/address.js';

export type RelayOutcome = { ok: true; plan: RelayPlan } | { ok: false; why: string; reason: DenyReason | null };

const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
export const HOST_NAME = new RegExp(`^${LABEL}(?:\\.${LABEL})*$`);
const PORT = /^[1-9][0-9]{0,4}$/;

export function parsePort(text: string): number | null {
  if (!PORT.test(text)) return null;
  const port = Number(text);
  return port <= 65535 ? port : null;
}

/** A policy entry: `name:22`, `10.0.0.5:22`, `10.0.0.0/24:22`, `[2001:db8::1]:22`, `[2001:db8::/64]:22`. */
export function parseRelayTarget(text: string): RelayTarget | null {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):([0-9]+)$/.exec(text);
  if (!match) return null;
  const port = parsePort(match[3]!);
  const host = match[1] ?? match[2]!;
  if (port === null) return null;
  if (match[2] !== undefined && HOST_NAME.test(host) && !/^[0-9.]+$/.test(host)) return { text, name: host, range: null, port };
  const range = parseAddressRange(host);
  return range ? { text, name: null, range, port } : null;
}

/** The client's HOST: a lowercase name, or an address in canonical form; null when neither. */
function canonicalHost(text: string): { host: string; resolve: boolean } | null {
  const unbracketed = /^\[(.+)\]$/.exec(text)?.[1] ?? text;
  if (parseAddress(unbracketed) !== null) return { host: unbracketed.toLowerCase(), resolve: false };
  const name = text.toLowerCase();
  if (HOST_NAME.test(name) && !/^[0-9.]+$/.test(name)) return { host: name, resolve: true };
  return null;
}

export function matchRelay(rule: RelayRule, words: readonly string[]): RelayOutcome {
  const refuse = (why: string): RelayOutcome => ({ ok: false, why, reason: 'relay-refused' });
  let rest: readonly string[];
  let timeoutMs = rule.idleTimeoutMs;
  if (words[0] === 'relay') {
    rest = words.slice(1);
  } else if (words[0] === 'nc' || words[0] === 'netcat' || words[0] === 'ncat') {
    rest = words.slice(1);
    if (rest[0] === '-w') {
      const seconds = rest[1];
      if (seconds === undefined || !/^[1-9][0-9]{0,4}$/.test(seconds)) return refuse(`-w ${seconds ?? ''}: expected whole seconds`);
      timeoutMs = Math.min(timeoutMs, Number(seconds) * 1000);
      rest = rest.slice(2);
    }
  } else {
    return { ok: false, why: 'not a relay command', reason: null };
  }
  if (rest.length !== 2 || rest.some((w) => w.startsWith('-')))
    return refuse(`expected ${words[0]} HOST PORT, got ${JSON.stringify(words.join(' '))}`);
  const host = canonicalHost(rest[0]!);
  const port = parsePort(rest[1]!);
  if (host === null) return refuse(`${JSON.stringify(rest[0])} is not a host name or an address in canonical form`);
  if (port === null) return refuse(`${JSON.stringify(rest[1])} is not a port (1-65535, no leading zero, no service name)`);
  const address = host.resolve ? null : parseAddress(host.host);
  const allowed = rule.to.find(
    (target) =>
      target.port === port && (host.resolve ? target.name === host.host : target.range !== null && addressInRange(address!, target.range)),
  );
  if (!allowed) return refuse(`${host.host} port ${port} is not among the allowed destinations`);
  return {
    ok: true,
    plan: {
      kind: 'relay',
      host: host.host,
      resolve: host.resolve,
      port,
      idleTimeoutMs: timeoutMs,
      connectTimeoutMs: rule.connectTimeoutMs,
      allowedBy: allowed.text,
    },
  };
}
