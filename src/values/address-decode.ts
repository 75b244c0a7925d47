/** An address range (address.ts) read back from JSON: its bytes, 4 or 16, and a prefix that fits them. */
import type { AddressRange } from './address.js';
import { bytes, integer, object, string, type Decoder } from './decode.js';

const shape = object<AddressRange>({ bytes, prefix: integer, text: string });

export const addressRange: Decoder<AddressRange> = (value, at) => {
  const decoded = shape(value, at);
  if (!decoded.ok) return decoded;
  const { bytes: b, prefix } = decoded.value;
  if ((b.length !== 4 && b.length !== 16) || prefix < 0 || prefix > b.length * 8)
    return { ok: false, why: `${at}: not an address range of 4 or 16 bytes and a prefix that fits them` };
  return decoded;
};
