/**
 * Client address against an identity's `from` list (IPs and CIDRs, v4 and v6).
 *
 * Addresses are compared as bytes, never as strings, so `::ffff:192.0.2.10` (how a v4 client
 * appears on a v6 socket) matches `192.0.2.10`. Only canonical spellings are accepted in the
 * policy: inet_aton's `127.1`, `0x7f.1` or `010.0.0.5` (= 8.0.0.5) are errors, not guesses.
 */

export interface AddressRange {
  /** 4 or 16 bytes. */
  bytes: Uint8Array;
  prefix: number;
  text: string;
}

const IPV4_OCTET = '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
const IPV4 = new RegExp(`^${IPV4_OCTET}\\.${IPV4_OCTET}\\.${IPV4_OCTET}\\.${IPV4_OCTET}$`);

export function parseIPv4(text: string): Uint8Array | null {
  if (!IPV4.test(text)) return null;
  return Uint8Array.from(text.split('.').map(Number));
}

export function parseIPv6(text: string): Uint8Array | null {
  if (text.length > 45 || !/^[0-9A-Fa-f:.]+$/.test(text)) return null;
  let head = text;
  let v4Tail: Uint8Array | null = null;
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.')) {
    v4Tail = parseIPv4(text.slice(lastColon + 1));
    if (!v4Tail) return null;
    head = text.slice(0, lastColon + 1) + '0:0';
  }
  const halves = head.split('::');
  if (halves.length > 2) return null;
  const parseGroups = (part: string): number[] | null => {
    if (part === '') return [];
    const groups = part.split(':');
    if (groups.some((g) => !/^[0-9A-Fa-f]{1,4}$/.test(g))) return null;
    return groups.map((g) => parseInt(g, 16));
  };
  const left = parseGroups(halves[0]!);
  const right = halves.length === 2 ? parseGroups(halves[1]!) : [];
  if (!left || !right) return null;
  const missing = 8 - left.length - right.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const groups = [...left, ...new Array<number>(missing).fill(0), ...right];
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  if (v4Tail) bytes.set(v4Tail, 12);
  return bytes;
}

/** A v4-mapped v6 address (::ffff:a.b.c.d) as its 4 v4 bytes; anything else unchanged. */
function unmapV4(bytes: Uint8Array): Uint8Array {
  if (bytes.length !== 16) return bytes;
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return bytes;
  if (bytes[10] !== 0xff || bytes[11] !== 0xff) return bytes;
  return bytes.slice(12);
}

export function parseAddress(text: string): Uint8Array | null {
  const bytes = parseIPv4(text) ?? parseIPv6(text);
  return bytes ? unmapV4(bytes) : null;
}

/** `192.0.2.10`, `198.51.100.0/24`, `2001:db8::/32`; null when not a canonical IP or CIDR. */
export function parseAddressRange(text: string): AddressRange | null {
  const slash = text.indexOf('/');
  const addressText = slash < 0 ? text : text.slice(0, slash);
  const bytes = parseIPv4(addressText) ?? parseIPv6(addressText);
  if (!bytes) return null;
  const bits = bytes.length * 8;
  let prefix = bits;
  if (slash >= 0) {
    const prefixText = text.slice(slash + 1);
    if (!/^(0|[1-9][0-9]{0,2})$/.test(prefixText)) return null;
    prefix = Number(prefixText);
    if (prefix > bits) return null;
  }
  // A mapped v6 range (::ffff:10.0.0.0/104) is the v4 range it maps.
  const unmapped = unmapV4(bytes);
  if (unmapped.length === 4 && bytes.length === 16) {
    if (prefix < 96) return { bytes, prefix, text };
    prefix -= 96;
  }
  return { bytes: unmapped, prefix, text };
}

export function addressInRange(address: Uint8Array, range: AddressRange): boolean {
  if (address.length !== range.bytes.length) return false;
  let bits = range.prefix;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((address[i]! & mask) !== (range.bytes[i]! & mask)) return false;
  }
  return true;
}

export function addressAllowed(clientAddress: string, ranges: readonly AddressRange[]): boolean {
  const address = parseAddress(clientAddress);
  return address !== null && ranges.some((range) => addressInRange(address, range));
}

/**
 * A range as sshd's from= and Match Address read it (addrmatch.c): the network address with
 * its host bits cleared (sshd refuses `192.0.2.7/24` as a malformed list, which would refuse
 * the key), and no prefix for a single address.
 */
export function networkText(range: AddressRange): string {
  const bytes = Uint8Array.from(range.bytes);
  for (let bit = range.prefix; bit < bytes.length * 8; bit++) bytes[bit >> 3]! &= ~(0x80 >> (bit & 7));
  const address = bytes.length === 4 ? bytes.join('.') : ipv6Groups(bytes).join(':');
  return range.prefix === bytes.length * 8 ? address : `${address}/${range.prefix}`;
}

/** An IPv6 address's eight groups in hex, each without leading zeros. */
function ipv6Groups(bytes: Uint8Array): string[] {
  return Array.from({ length: 8 }, (_, i) => ((bytes[2 * i]! << 8) | bytes[2 * i + 1]!).toString(16));
}

/** An IPv6 address as clients write it (RFC 5952): lowercase, the longest run of two or more zero groups as `::`. */
export function compressIPv6(bytes: Uint8Array): string {
  const groups = ipv6Groups(bytes);
  let best = { at: -1, length: 1 };
  for (let i = 0; i < 8; i++) {
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > best.length) best = { at: i, length: j - i };
  }
  if (best.at < 0) return groups.join(':');
  return `${groups.slice(0, best.at).join(':')}::${groups.slice(best.at + best.length).join(':')}`;
}
