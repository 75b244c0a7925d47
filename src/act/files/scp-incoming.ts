/**
 * The client's side of a legacy scp session, as the server reads it: control lines, status
 * bytes and the counted bytes of a file, from a stream that is paused when too much is unread.
 * A line too long, or input that ends inside one, stops the session: the client is not scp.
 */
import type { SessionEnd } from './events.js';

/** A control line longer than this is no scp client's. */
const MAX_LINE = 8192;
/** Unread input held before the stream is paused. */
const HIGH_WATER = 1024 * 1024;

/** Stops the session: the other side is not speaking scp, or said stop. */
export class Stop extends Error {
  constructor(
    readonly ended: SessionEnd,
    detail: string,
  ) {
    super(detail);
  }
}

/** The client's bytes, read as lines, single bytes or counted runs. */
export class Incoming {
  private chunks: Buffer[] = [];
  private length = 0;
  private ended = false;
  private wake: (() => void) | null = null;

  constructor(
    private readonly input: NodeJS.ReadableStream,
    private readonly activity: () => void,
  ) {
    input.on('data', (chunk: Buffer) => {
      activity();
      this.chunks.push(chunk);
      this.length += chunk.length;
      if (this.length > HIGH_WATER) input.pause();
      this.notify();
    });
    input.on('end', () => {
      this.ended = true;
      this.notify();
    });
    input.on('error', () => {
      this.ended = true;
      this.notify();
    });
  }

  /** Ends the input here (the idle timeout): whatever waits for more hears it has ended. */
  abort(): void {
    this.ended = true;
    this.input.pause();
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  /** Waits for more input; false at its end. */
  private async more(): Promise<boolean> {
    if (this.ended) return false;
    this.input.resume();
    await new Promise<void>((resolve) => (this.wake = resolve));
    return this.length > 0 || !this.ended;
  }

  private takeBytes(n: number): Buffer {
    const joined = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.length);
    const taken = joined.subarray(0, n);
    const rest = joined.subarray(n);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.length = rest.length;
    if (this.length <= HIGH_WATER) this.input.resume();
    return taken;
  }

  /** One line without its newline; null at the end of input before any byte of it. */
  async line(): Promise<string | null> {
    for (;;) {
      const joined = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.length);
      this.chunks = joined.length > 0 ? [joined] : [];
      const newline = joined.indexOf(10);
      if (newline >= 0 && newline <= MAX_LINE)
        return this.takeBytes(newline + 1)
          .subarray(0, newline)
          .toString('utf8');
      if (joined.length > MAX_LINE) throw new Stop('protocol-error', 'control line too long');
      if (!(await this.more())) {
        if (this.length === 0) return null;
        throw new Stop('protocol-error', 'input ended inside a line');
      }
    }
  }

  async byte(): Promise<number | null> {
    while (this.length === 0) if (!(await this.more())) return null;
    return this.takeBytes(1)[0]!;
  }

  /** Hands exactly n bytes to sink, as they come; false when the input ends first. */
  async run(n: number, sink: (bytes: Buffer) => void): Promise<boolean> {
    let left = n;
    while (left > 0) {
      if (this.length === 0 && !(await this.more())) return false;
      const bytes = this.takeBytes(Math.min(left, this.length));
      left -= bytes.length;
      sink(bytes);
    }
    return true;
  }
}
