/**
 * OpenSSH public keys and user certificates in their wire form (RFC 4253 6.6, OpenSSH's
 * PROTOCOL.certkeys), as sshd hands them to us: in a policy's `keys:`, as the `%t %k` of
 * AuthorizedKeysCommand, and in the ExposeAuthInfo file of a session (SSH_USER_AUTH).
 *
 * Nothing here verifies a signature: sshd did that (TrustedUserCAKeys) before any session began.
 * What is read is what a second look needs: whose key it is (its fingerprint, the plain key's for
 * a certificate, as `ssh-keygen -lf` prints it), and a certificate's principals, validity, key id,
 * serial and CA. Every length is checked against what is left; anything malformed is null.
 */
import { sha256 } from '../values/sha256.js';

/** Each plain key type, with the number of length-prefixed fields (strings or mpints) after its name. */
const KEY_FIELDS: Readonly<Record<string, number>> = {
  'ssh-ed25519': 1,
  'ssh-rsa': 2,
  'ssh-dss': 4,
  'ecdsa-sha2-nistp256': 2,
  'ecdsa-sha2-nistp384': 2,
  'ecdsa-sha2-nistp521': 2,
  'sk-ssh-ed25519@openssh.com': 2,
  'sk-ecdsa-sha2-nistp256@openssh.com': 3,
};

/** `ssh-ed25519-cert-v01@openssh.com` → `ssh-ed25519`, and so on for each plain type. */
const CERT_TYPES: ReadonlyMap<string, string> = new Map(
  Object.keys(KEY_FIELDS).map((plain) => [`${plain.replace(/@openssh\.com$/, '')}-cert-v01@openssh.com`, plain]),
);

const SSH_CERT_TYPE_USER = 1;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
/** Far above any real key or certificate (a certificate with hundreds of principals is a few KiB). */
const MAX_BLOB_BYTES = 64 * 1024;

export interface UserCertificate {
  /**
   * The key id the CA gave it (ssh-keygen -I): its text when it is UTF-8, else `hex:` and its
   * bytes, so that a record matches the CA's issuance log byte for byte. Whatever the CA signed:
   * a CA that signs ids its users choose makes this the user's word.
   */
  keyId: string;
  /** uint64, in decimal. */
  serial: string;
  principals: string[];
  /** Seconds since the epoch; 0 is "always". */
  validAfter: number;
  /** Seconds since the epoch; null is "forever". */
  validBefore: number | null;
  /** Fingerprint of the CA key that signed it. */
  ca: string;
}

export interface SshKey {
  /** The plain key type (for a certificate, the certified key's). */
  type: string;
  /** SHA256 fingerprint of the plain key, as `ssh-keygen -lf` prints it. */
  fingerprint: string;
  /** A user certificate's fields; null for a plain key. */
  certificate: UserCertificate | null;
}

/** The blob is hashed in JavaScript (values/sha256.ts): node:crypto would cost every start ~4 ms. */
export function sshFingerprint(plainBlob: Buffer): string {
  return 'SHA256:' + Buffer.from(sha256(plainBlob)).toString('base64').replace(/=+$/, '');
}

/** Reads SSH wire fields off a buffer; each read returns null past the end. */
class WireReader {
  private offset = 0;
  constructor(private readonly buffer: Buffer) {}
  get position(): number {
    return this.offset;
  }
  get done(): boolean {
    return this.offset === this.buffer.length;
  }
  u32(): number | null {
    if (this.offset + 4 > this.buffer.length) return null;
    const value = this.buffer.readUInt32BE(this.offset);
    this.offset += 4;
    return value;
  }
  u64(): bigint | null {
    if (this.offset + 8 > this.buffer.length) return null;
    const value = this.buffer.readBigUInt64BE(this.offset);
    this.offset += 8;
    return value;
  }
  bytes(): Buffer | null {
    const length = this.u32();
    if (length === null || this.offset + length > this.buffer.length) return null;
    const value = this.buffer.subarray(this.offset, this.offset + length);
    this.offset += length;
    return value;
  }
  slice(from: number, to: number): Buffer {
    return this.buffer.subarray(from, to);
  }
}

function sshString(text: string): Buffer {
  const body = Buffer.from(text, 'latin1');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(body.length);
  return Buffer.concat([length, body]);
}

/** Skips `count` length-prefixed fields; false when the blob ends first. */
function skipFields(reader: WireReader, count: number): boolean {
  for (let i = 0; i < count; i++) if (reader.bytes() === null) return false;
  return true;
}

/** Bytes as UTF-8 text when they are exactly that, else `hex:` and the bytes. */
function textOrHex(bytes: Buffer): string {
  const text = bytes.toString('utf8');
  return Buffer.from(text, 'utf8').equals(bytes) ? text : `hex:${bytes.toString('hex')}`;
}

/** uint64 seconds as a number; "forever" (and anything past 2^53) as null. */
function seconds(value: bigint): number | null {
  return value > BigInt(Number.MAX_SAFE_INTEGER) ? null : Number(value);
}

/** A key blob (plain key or user certificate), or null when it is malformed or of a type OpenSSH does not have. */
export function parseKeyBlob(blob: Buffer): SshKey | null {
  if (blob.length > MAX_BLOB_BYTES) return null;
  const reader = new WireReader(blob);
  const typeBytes = reader.bytes();
  if (typeBytes === null) return null;
  const type = typeBytes.toString('latin1');
  const fields = KEY_FIELDS[type];
  if (fields !== undefined) {
    if (!skipFields(reader, fields) || !reader.done) return null;
    return { type, fingerprint: sshFingerprint(blob), certificate: null };
  }
  const plain = CERT_TYPES.get(type);
  if (plain === undefined) return null;
  if (reader.bytes() === null) return null; // nonce
  const keyStart = reader.position;
  if (!skipFields(reader, KEY_FIELDS[plain]!)) return null;
  const plainBlob = Buffer.concat([sshString(plain), reader.slice(keyStart, reader.position)]);
  const serial = reader.u64();
  const certType = reader.u32();
  const keyId = reader.bytes();
  const principalsBlob = reader.bytes();
  const validAfter = reader.u64();
  const validBefore = reader.u64();
  if (serial === null || certType === null || keyId === null || principalsBlob === null || validAfter === null || validBefore === null)
    return null;
  if (certType !== SSH_CERT_TYPE_USER) return null;
  if (!skipFields(reader, 3)) return null; // critical options, extensions, reserved
  const signatureKey = reader.bytes();
  if (signatureKey === null || reader.bytes() === null || !reader.done) return null;
  const principals: string[] = [];
  const list = new WireReader(principalsBlob);
  while (!list.done) {
    const principal = list.bytes();
    if (principal === null) return null;
    principals.push(principal.toString('utf8'));
  }
  const after = seconds(validAfter);
  return {
    type: plain,
    fingerprint: sshFingerprint(plainBlob),
    certificate: {
      keyId: textOrHex(keyId),
      serial: serial.toString(),
      principals,
      validAfter: after ?? Number.MAX_SAFE_INTEGER,
      validBefore: seconds(validBefore),
      ca: sshFingerprint(signatureKey),
    },
  };
}

/** `TYPE BASE64` as sshd's %t %k give it, or the first two words of an authorized_keys key: the key, when the type named is the blob's own. */
export function parseKeyText(type: string, base64: string): SshKey | null {
  if (!BASE64.test(base64) || base64.length > (MAX_BLOB_BYTES * 4) / 3 + 4) return null;
  const blob = Buffer.from(base64, 'base64');
  const key = parseKeyBlob(blob);
  if (key === null) return null;
  const named = key.certificate === null ? key.type : [...CERT_TYPES].find(([, plain]) => plain === key.type)?.[0];
  return named === type ? key : null;
}

/** `ssh-ed25519 AAAA... [comment]` (a .pub file's line, as a policy's `keys:` may hold it): the plain key, or null. */
export function parsePublicKeyLine(line: string): SshKey | null {
  const [type, base64] = line.trim().split(/\s+/, 2);
  if (type === undefined || base64 === undefined) return null;
  const key = parseKeyText(type, base64);
  return key !== null && key.certificate === null ? key : null;
}
