/**
 * Keys and certificates as OpenSSH makes them: the fixtures in ssh-keys/ were made with
 * ssh-keygen (a CA, user keys of four types, user certificates signed by the CA, a host
 * certificate), and the expected fingerprints are what `ssh-keygen -lf` printed for them.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseKeyBlob, parseKeyText, parsePublicKeyLine } from '../../src/request/ssh-key.js';
import { certificateValidity } from '../../src/decide/admit.js';
import { readUserAuth } from '../../src/request/request.js';

const fixture = (name: string): string => readFileSync(new URL(`./ssh-keys/${name}`, import.meta.url), 'utf8').trim();
const words = (line: string): [string, string] => line.split(' ') as [string, string];

const FINGERPRINTS: Record<string, string> = {
  ed25519: 'SHA256:wTKbvkNy4tZ/AsXX/kQ7stfVTQOF4j3/DDX0ns7TsrY',
  rsa: 'SHA256:c7KGQoiazNgxOf8+pwwhJsw68tbqf/n37BIc4QKUc4k',
  ecdsa: 'SHA256:1x3ji3VQWN7gV/HJOwfSyZJgc1UTmMBXVaQPCS6jHxY',
  dsa: 'SHA256:TlpSNMAk26PvZ01f4fa1igpDL2yp943fL2uRQInSDWU',
};
const CA = 'SHA256:D1+Hce+LcosgSaKpw5UPpJuD58iiigsDBy289yBr6xk';

describe('plain keys', () => {
  it.each(Object.entries(FINGERPRINTS))('%s: the fingerprint ssh-keygen -lf prints', (type, fingerprint) => {
    const key = parsePublicKeyLine(fixture(`u-${type}.pub`));
    expect(key).toMatchObject({ fingerprint, certificate: null });
  });

  it('the CA key', () => {
    expect(parsePublicKeyLine(fixture('ca.pub'))?.fingerprint).toBe(CA);
  });

  it('a key without its comment, and with extra spaces', () => {
    const [type, base64] = words(fixture('u-ed25519.pub'));
    expect(parsePublicKeyLine(`  ${type}   ${base64}  `)?.fingerprint).toBe(FINGERPRINTS.ed25519);
  });

  const [edType, edBase64] = words(fixture('u-ed25519.pub'));
  const [, rsaBase64] = words(fixture('u-rsa.pub'));
  it.each([
    ["the type named is not the blob's", `ssh-rsa ${edBase64}`],
    ['a truncated blob', `${edType} ${edBase64.slice(0, 40)}`],
    [
      'a blob with bytes after the key',
      `${edType} ${Buffer.concat([Buffer.from(edBase64, 'base64'), Buffer.from([0, 0, 0, 0])]).toString('base64')}`,
    ],
    ['not base64', `${edType} AAAA$$$$`],
    ['an unknown type', `ssh-foo ${Buffer.from('\x00\x00\x00\x07ssh-foo').toString('base64')}`],
    ['one word', edType],
    ['an rsa blob named ed25519', `${edType} ${rsaBase64}`],
    ['a certificate (keys: holds plain keys)', fixture('u-ed25519-cert.pub')],
  ])('refused: %s', (_name, line) => {
    expect(parsePublicKeyLine(line)).toBeNull();
  });

  it('a length field that points past the end is refused, not read', () => {
    const blob = Buffer.from(edBase64, 'base64');
    blob.writeUInt32BE(0xffffff00, 0);
    expect(parseKeyBlob(blob)).toBeNull();
  });
});

describe('user certificates', () => {
  it.each(['ed25519', 'rsa', 'ecdsa'])("%s: principals, validity, key id, serial, CA, and the certified key's fingerprint", (type) => {
    const [certType, base64] = words(fixture(`u-${type}-cert.pub`));
    expect(certType).toMatch(/-cert-v01@openssh\.com$/);
    const key = parseKeyText(certType, base64);
    expect(key).toEqual({
      type: words(fixture(`u-${type}.pub`))[0],
      fingerprint: FINGERPRINTS[type],
      certificate: {
        keyId: `alice@laptop ${type}`,
        serial: '42',
        principals: ['alice', 'backup-hosts'],
        validAfter: Date.UTC(2026, 0, 1) / 1000,
        validBefore: Date.UTC(2027, 0, 1) / 1000,
        ca: CA,
      },
    });
  });

  it('a DSA certificate with no principals', () => {
    const [certType, base64] = words(fixture('u-dsa-cert.pub'));
    expect(parseKeyText(certType, base64)?.certificate).toMatchObject({ keyId: 'noprincipals', serial: '7', principals: [] });
  });

  it('serial 2^64-1 and validity "forever"', () => {
    const [certType, base64] = words(fixture('forever-cert.pub'));
    expect(parseKeyText(certType, base64)?.certificate).toMatchObject({ serial: '18446744073709551615', validAfter: 0, validBefore: null });
  });

  it('a key id that is not UTF-8 is kept as its bytes, in hex', () => {
    const [certType, base64] = words(fixture('forever-cert.pub'));
    const blob = Buffer.from(base64, 'base64');
    // The key id "forever" sits after the nonce, the key, the serial and the type: find it and make its first byte 0xff.
    const at = blob.indexOf(Buffer.from('forever'));
    blob[at] = 0xff;
    expect(parseKeyText(certType, blob.toString('base64'))?.certificate?.keyId).toBe(`hex:ff${Buffer.from('orever').toString('hex')}`);
  });

  it('a host certificate is not a user certificate', () => {
    const [certType, base64] = words(fixture('host-cert.pub'));
    expect(parseKeyText(certType, base64)).toBeNull();
  });

  it('a certificate named as its plain type is refused', () => {
    const [, base64] = words(fixture('u-ed25519-cert.pub'));
    expect(parseKeyText('ssh-ed25519', base64)).toBeNull();
  });

  it('a certificate cut anywhere is refused', () => {
    const [certType, base64] = words(fixture('u-ed25519-cert.pub'));
    const blob = Buffer.from(base64, 'base64');
    for (let length = 0; length < blob.length; length += 7) expect(parseKeyBlob(blob.subarray(0, length))).toBeNull();
    expect(parseKeyText(certType, base64)).not.toBeNull();
  });

  const certificate = parseKeyText(...words(fixture('u-ed25519-cert.pub')))!.certificate!;
  it.each([
    ['the second before valid_after', '2025-12-31T23:59:59Z', 'not-yet-valid'],
    ['valid_after itself', '2026-01-01T00:00:00Z', 'valid'],
    ['within', '2026-11-28T12:00:00Z', 'valid'],
    ['the last second', '2026-12-31T23:59:59Z', 'valid'],
    ['valid_before itself (sshd: now >= valid_before is expired)', '2027-01-01T00:00:00Z', 'expired'],
  ])('validity: %s', (_name, now, expected) => {
    expect(certificateValidity(certificate, new Date(now))).toBe(expected);
  });
});

describe('the ExposeAuthInfo file (SSH_USER_AUTH)', () => {
  it('a plain key', () => {
    expect(readUserAuth(`publickey ${fixture('u-rsa.pub')}\n`)).toEqual({ keys: [FINGERPRINTS.rsa], certificates: [], unreadable: 0 });
  });

  it("a certificate: the certified key's fingerprint, and the certificate", () => {
    const auth = readUserAuth(`publickey ${words(fixture('u-ecdsa-cert.pub')).join(' ')}\n`);
    expect(auth.keys).toEqual([FINGERPRINTS.ecdsa]);
    expect(auth.certificates).toMatchObject([{ keyId: 'alice@laptop ecdsa', serial: '42' }]);
  });

  it('a key that does not parse is counted, not dropped: the checks cannot see it', () => {
    const auth = readUserAuth(
      [`publickey ${fixture('u-ed25519.pub')}`, 'publickey ssh-foo AAAA', 'publickey', `publickey ssh-ed25519 ${'A'.repeat(100_000)}`].join(
        '\n',
      ),
    );
    expect(auth).toEqual({ keys: [FINGERPRINTS.ed25519], certificates: [], unreadable: 3 });
  });

  it('two methods, keyboard-interactive ignored, a garbled key counted', () => {
    const text = [
      `publickey ${fixture('u-ed25519.pub')}`,
      'keyboard-interactive/pam',
      `publickey ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIF`,
      `publickey ${words(fixture('u-rsa-cert.pub')).join(' ')}`,
    ].join('\n');
    const auth = readUserAuth(text);
    expect(auth.keys).toEqual([FINGERPRINTS.ed25519, FINGERPRINTS.rsa]);
    expect(auth.certificates.map((c) => c.keyId)).toEqual(['alice@laptop rsa']);
    expect(auth.unreadable).toBe(1);
  });
});
