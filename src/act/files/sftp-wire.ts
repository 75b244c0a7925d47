/**
 * SFTP version 3 on the wire (draft-ietf-secsh-filexfer-02, with OpenSSH's extensions): packet
 * reading with bounds checks, packet building, attributes, and OpenSSH's `ls -l` longname.
 */
import type { Stats } from 'node:fs';
import type { AttrChange } from './policy.js';

export const FXP = {
  INIT: 1,
  VERSION: 2,
  OPEN: 3,
  CLOSE: 4,
  READ: 5,
  WRITE: 6,
  LSTAT: 7,
  FSTAT: 8,
  SETSTAT: 9,
  FSETSTAT: 10,
  OPENDIR: 11,
  READDIR: 12,
  REMOVE: 13,
  MKDIR: 14,
  RMDIR: 15,
  REALPATH: 16,
  STAT: 17,
  RENAME: 18,
  READLINK: 19,
  SYMLINK: 20,
  STATUS: 101,
  HANDLE: 102,
  DATA: 103,
  NAME: 104,
  ATTRS: 105,
  EXTENDED: 200,
  EXTENDED_REPLY: 201,
} as const;

export const FX = { OK: 0, EOF: 1, NO_SUCH_FILE: 2, PERMISSION_DENIED: 3, FAILURE: 4, BAD_MESSAGE: 5, OP_UNSUPPORTED: 8 } as const;
export type StatusCode = (typeof FX)[keyof typeof FX];

export const STATUS_TEXT: Record<StatusCode, string> = {
  0: 'Success',
  1: 'End of file',
  2: 'No such file',
  3: 'Permission denied',
  4: 'Failure',
  5: 'Bad message',
  8: 'Operation unsupported',
};

const ATTR = { SIZE: 1, UIDGID: 2, PERMISSIONS: 4, ACMODTIME: 8, EXTENDED: 0x80000000 } as const;

/** OpenSSH's SFTP_MAX_MSG_LENGTH: no packet longer than this is accepted. */
export const MAX_PACKET = 256 * 1024;
/** The most data one READ answers or one WRITE carries: a packet less room for its header. */
export const MAX_DATA = MAX_PACKET - 1024;

/** A packet that does not hold what its type says. The session ends: the client is not sftp. */
export class Malformed extends Error {}

/** The attributes a packet carries: what the policy judges a client may set (policy.ts). */
export type Attrs = AttrChange;

/** Reads one packet's fields; every read is bounds-checked against the packet. */
export class PacketReader {
  private at = 0;
  constructor(private readonly packet: Buffer) {}

  private need(n: number): number {
    const at = this.at;
    if (n > this.packet.length - at) throw new Malformed('field runs past the end of the packet');
    this.at += n;
    return at;
  }

  u8(): number {
    return this.packet[this.need(1)]!;
  }

  u32(): number {
    return this.packet.readUInt32BE(this.need(4));
  }

  /** A 64-bit offset or size; beyond 2^53 it cannot be a real one. */
  u64(): number {
    const value = this.packet.readBigUInt64BE(this.need(8));
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new Malformed('64-bit value out of range');
    return Number(value);
  }

  bytes(): Buffer {
    const length = this.u32();
    const at = this.need(length);
    return this.packet.subarray(at, at + length);
  }

  /** Paths and names: UTF-8 as OpenSSH sends them (it sends bytes; invalid sequences become U+FFFD). */
  text(): string {
    const bytes = this.bytes();
    if (bytes.includes(0)) throw new Malformed('NUL in a string');
    return bytes.toString('utf8');
  }

  attrs(): Attrs {
    const flags = this.u32();
    const attrs: Attrs = {};
    if (flags & ATTR.SIZE) attrs.size = this.u64();
    if (flags & ATTR.UIDGID) {
      attrs.uid = this.u32();
      attrs.gid = this.u32();
    }
    if (flags & ATTR.PERMISSIONS) attrs.permissions = this.u32();
    if (flags & ATTR.ACMODTIME) {
      attrs.atime = this.u32();
      attrs.mtime = this.u32();
    }
    if (flags & ATTR.EXTENDED) {
      const count = this.u32();
      for (let i = 0; i < count; i++) {
        this.bytes();
        this.bytes();
      }
    }
    return attrs;
  }
}

/** Builds one packet, length prefix included. */
export class PacketWriter {
  private buf: Buffer;
  private at = 4;

  constructor(type: number, id: number | null, size = 64) {
    this.buf = Buffer.allocUnsafe(size);
    this.u8(type);
    if (id !== null) this.u32(id);
  }

  private room(n: number): number {
    if (this.at + n > this.buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n));
      this.buf.copy(bigger, 0, 0, this.at);
      this.buf = bigger;
    }
    const at = this.at;
    this.at += n;
    return at;
  }

  u8(value: number): this {
    // room() first: it may replace this.buf.
    const at = this.room(1);
    this.buf[at] = value;
    return this;
  }

  u32(value: number): this {
    const at = this.room(4);
    this.buf.writeUInt32BE(value >>> 0, at);
    return this;
  }

  u64(value: number | bigint): this {
    const at = this.room(8);
    this.buf.writeBigUInt64BE(BigInt(value), at);
    return this;
  }

  string(value: string | Buffer): this {
    const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
    this.u32(bytes.length);
    const at = this.room(bytes.length);
    bytes.copy(this.buf, at);
    return this;
  }

  attrs(stats: Stats | null): this {
    if (stats === null) return this.u32(0);
    return this.u32(ATTR.SIZE | ATTR.UIDGID | ATTR.PERMISSIONS | ATTR.ACMODTIME)
      .u64(stats.size)
      .u32(stats.uid)
      .u32(stats.gid)
      .u32(stats.mode)
      .u32(Math.floor(stats.atimeMs / 1000))
      .u32(Math.floor(stats.mtimeMs / 1000));
  }

  done(): Buffer {
    this.buf.writeUInt32BE(this.at - 4, 0);
    return this.buf.subarray(0, this.at);
  }
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** strmode(3): "-rw-r--r--" for a mode. */
export function modeString(mode: number): string {
  const type =
    ({ 0o040000: 'd', 0o120000: 'l', 0o020000: 'c', 0o060000: 'b', 0o010000: 'p', 0o140000: 's' } as Record<number, string>)[
      mode & 0o170000
    ] ?? '-';
  const bit = (mask: number, c: string) => (mode & mask ? c : '-');
  const exec = (x: number, special: number, on: string, off: string) => (mode & special ? (mode & x ? on : off) : mode & x ? 'x' : '-');
  return (
    type +
    bit(0o400, 'r') +
    bit(0o200, 'w') +
    exec(0o100, 0o4000, 's', 'S') +
    bit(0o040, 'r') +
    bit(0o020, 'w') +
    exec(0o010, 0o2000, 's', 'S') +
    bit(0o004, 'r') +
    bit(0o002, 'w') +
    exec(0o001, 0o1000, 't', 'T')
  );
}

/**
 * The `ls -l` line OpenSSH's sftp-server puts in READDIR answers (ls_file in sftp-common.c);
 * clients show it for `ls -l`. Owners are numeric: inside the sandbox no names resolve.
 */
export function longname(name: string, stats: Stats, now: Date = new Date()): string {
  const mtime = new Date(stats.mtimeMs);
  const halfYear = (365 * 24 * 60 * 60 * 1000) / 2;
  const recent = mtime.getTime() > now.getTime() - halfYear && mtime.getTime() < now.getTime() + halfYear;
  const day = String(mtime.getDate()).padStart(2, ' ');
  const pad2 = (n: number) => String(n).padStart(2, '0');
  const when = recent
    ? `${MONTHS[mtime.getMonth()]} ${day} ${pad2(mtime.getHours())}:${pad2(mtime.getMinutes())}`
    : `${MONTHS[mtime.getMonth()]} ${day}  ${mtime.getFullYear()}`;
  const user = String(stats.uid).padEnd(8);
  const group = String(stats.gid).padEnd(8);
  return `${modeString(stats.mode)}  ${String(stats.nlink).padStart(3)} ${user} ${group} ${String(stats.size).padStart(8)} ${when} ${name}`;
}
