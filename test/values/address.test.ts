/** Address ranges: canonical spellings only, compared as bytes. */
import { describe, expect, it } from 'vitest';
import { addressAllowed, parseAddress, parseAddressRange } from '../../src/values/address.js';

describe('parseAddressRange', () => {
  it.each([
    '192.0.2.10',
    '0.0.0.0/0',
    '10.0.0.0/8',
    '198.51.100.0/24',
    '::1',
    '::',
    '2001:db8::/32',
    'fe80::1:2:3:4',
    '1:2:3:4:5:6:7:8',
    '::ffff:192.0.2.10',
    '2001:db8::192.0.2.1/128',
  ])('accepts %s', (text) => expect(parseAddressRange(text)).not.toBeNull());
  // inet_aton's other spellings of one address are errors, not guesses (docs/threat-model.md, "relay")
  it.each([
    '127.1',
    '0x7f000001',
    '2130706433',
    '017700000001',
    '0177.0.0.1',
    '010.0.0.5',
    '10.5',
    '256.0.0.1',
    '1.2.3.4/33',
    '1.2.3.4/',
    '1.2.3.4/08',
    '::1/129',
    '1:2:3:4:5:6:7:8:9',
    '1::2::3',
    'fe80::1%eth0',
    '[::1]',
    'localhost',
    '',
    ' 1.2.3.4',
    '1.2.3.4 ',
    '１.２.３.４',
  ])('refuses %j', (text) => expect(parseAddressRange(text)).toBeNull());
});

describe('addressAllowed', () => {
  const ranges = ['192.0.2.10', '198.51.100.0/24', '2001:db8::/32', '10.0.0.0/9'].map((t) => parseAddressRange(t)!);
  it.each([
    ['192.0.2.10', true],
    ['192.0.2.11', false],
    ['198.51.100.0', true],
    ['198.51.100.255', true],
    ['198.51.101.0', false],
    ['10.127.255.255', true],
    ['10.128.0.0', false],
    ['::ffff:192.0.2.10', true],
    ['::ffff:c000:20a', true],
    ['2001:db8::1', true],
    ['2001:0db8:0000::1', true],
    ['2001:db9::1', false],
    ['::1', false],
    ['garbage', false],
  ] as const)('%s → %s', (address, allowed) => expect(addressAllowed(address, ranges)).toBe(allowed));

  it('parses v6 with an embedded v4 tail', () => {
    expect(Array.from(parseAddress('::ffff:1.2.3.4')!)).toEqual([1, 2, 3, 4]);
    expect(parseAddress('64:ff9b::1.2.3.4')!.length).toBe(16);
  });
});
