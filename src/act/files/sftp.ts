/**
 * The SFTP version 3 server: what OpenSSH's sftp and scp (9.0+), restic's sftp backend (Go
 * pkg/sftp) and rclone send, confined to a root and held to a FilePolicy.
 *
 * Requests are served in order, synchronously, one input chunk at a time: pipelined clients (64
 * requests in flight) are answered as fast as the disk goes, without a promise per request.
 * Memory stays bounded: packets are capped at MAX_PACKET, handles at MAX_HANDLES, and when the
 * output's buffer is full the server stops both reading input and answering what it already
 * has, until the output drains (a client that sends READs and never reads answers stalls itself).
 *
 * This module is the request loop: packets in, one at a time, to the handlers (sftp-dispatch.ts),
 * and the end of the session. What a request does is in the sftp-*.ts modules beside it.
 */
import type { Writable } from 'node:stream';
import type { FileEvent, FileSummary, SessionEnd } from './events.js';
import type { SessionOptions } from './free-space.js';
import { IdleTimer } from './idle.js';
import type { FilePolicy } from './policy.js';
import { Answer, statusOf } from './sftp-answer.js';
import { closeHandle } from './sftp-close.js';
import { SftpContext } from './sftp-context.js';
import { request, versionPacket } from './sftp-dispatch.js';
import { FXP, Malformed, MAX_PACKET, PacketReader } from './sftp-wire.js';

export function serveSftp(
  policy: FilePolicy,
  input: NodeJS.ReadableStream,
  output: NodeJS.WritableStream,
  report: (event: FileEvent) => void,
  options: SessionOptions = {},
): Promise<FileSummary> {
  return new Promise((resolve) => new SftpSession(policy, input, output, report, resolve, options).start());
}

class SftpSession {
  private readonly ctx: SftpContext;
  private initialised = false;
  /** Input not yet served: whole chunks, and how many bytes the next step needs. */
  private chunks: Buffer[] = [];
  private queued = 0;
  private blocked = false;
  private inputEnded = false;
  private idle: IdleTimer | null = null;

  constructor(
    private readonly policy: FilePolicy,
    private readonly input: NodeJS.ReadableStream,
    private readonly output: NodeJS.WritableStream,
    report: (event: FileEvent) => void,
    private readonly resolve: (summary: FileSummary) => void,
    options: SessionOptions,
  ) {
    this.ctx = new SftpContext(policy, output, report, options);
  }

  start(): void {
    this.idle = new IdleTimer(this.policy.idleTimeoutMs, () =>
      this.finish('idle-timeout', `nothing from the client for ${this.policy.idleTimeoutMs / 1000} s`),
    );
    this.input.on('data', (chunk: Buffer) => {
      this.idle?.touch();
      this.chunks.push(chunk);
      this.queued += chunk.length;
      this.serve();
    });
    this.input.on('end', () => {
      this.inputEnded = true;
      if (!this.blocked) this.finish('eof');
    });
    this.input.on('error', () => this.finish('error', 'input failed'));
    this.output.on('error', () => this.finish('output-closed'));
    this.output.on('drain', () => {
      // The client reads what it asked for: a slow download is not idle.
      this.idle?.touch();
      if (!this.blocked || this.ctx.finished) return;
      this.blocked = false;
      this.serve();
      if (this.blocked) return;
      if (this.inputEnded) this.finish('eof');
      else this.input.resume();
    });
  }

  /** Serves every whole packet queued, until the output asks to wait. */
  private serve(): void {
    if (this.ctx.finished || this.blocked) return;
    // A packet spread over several chunks is joined once, when all of it is here, not once
    // per chunk (a 255 KiB WRITE comes in four or more pipe reads).
    const first = this.chunks[0];
    if (
      this.chunks.length > 1 &&
      first !== undefined &&
      first.length >= 4 &&
      this.queued < 4 + first.readUInt32BE(0) &&
      first.readUInt32BE(0) <= MAX_PACKET
    )
      return;
    let buf = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.queued);
    let at = 0;
    (this.output as { cork?: () => void }).cork?.();
    try {
      while (buf.length - at >= 4 && !this.ctx.finished) {
        const length = buf.readUInt32BE(at);
        if (length < 5 || length > MAX_PACKET) {
          this.finish('protocol-error', `packet length ${length}`);
          return;
        }
        if (buf.length - at - 4 < length) break;
        this.packet(buf.subarray(at + 4, at + 4 + length));
        at += 4 + length;
        if ((this.output as Writable).writableNeedDrain) {
          this.blocked = true;
          this.input.pause();
          break;
        }
      }
    } finally {
      (this.output as { uncork?: () => void }).uncork?.();
    }
    buf = buf.subarray(at);
    this.chunks = buf.length > 0 ? [buf] : [];
    this.queued = buf.length;
    // Served: a request that took long (an fsync of a large file) does not count as quiet time.
    this.idle?.touch();
  }

  private finish(ended: SessionEnd, detail?: string): void {
    if (this.ctx.finished) return;
    this.ctx.finished = true;
    this.idle?.stop();
    // A replacement the client never closed is dropped: the stored file stays as it was.
    for (const handle of this.ctx.handles.drain()) closeHandle(this.ctx, handle, false);
    this.input.removeAllListeners('data');
    this.input.pause();
    const summary = this.ctx.record.end(ended, detail);
    if (ended === 'output-closed') {
      this.resolve(summary);
      return;
    }
    if (ended === 'idle-timeout') {
      // A client that stopped reading would never let the end be written: do not wait for it.
      this.output.end();
      this.resolve(summary);
      return;
    }
    this.output.end(() => this.resolve(summary));
  }

  /** One packet: INIT once, first; then requests, each answered, a malformed one ending the session. */
  private packet(packet: Buffer): void {
    const reader = new PacketReader(packet);
    const type = reader.u8();
    if (type === FXP.INIT) {
      if (this.initialised) return this.finish('protocol-error', 'second INIT');
      this.initialised = true;
      return this.ctx.send(versionPacket());
    }
    if (!this.initialised) return this.finish('protocol-error', 'request before INIT');
    let id = 0;
    try {
      id = reader.u32();
      request(this.ctx, type, id, reader);
    } catch (error) {
      if (error instanceof Malformed) return this.finish('protocol-error', error.message);
      if (error instanceof Answer) return this.ctx.status(id, error.code, error.message);
      this.ctx.status(id, statusOf(error));
    }
  }
}
