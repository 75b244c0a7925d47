/**
 * Buffers for READ answers, reused once their answer is written. A client asks for one size
 * again and again (OpenSSH's sftp: the server's read limit, 255 KiB here; others 32 KiB), and a
 * fresh buffer per answer is freed to malloc, which keeps what it is given, fragmented, long
 * after V8 collects it: an idle session that had moved data held 60 to 80 MiB (BENCHMARKS.md,
 * section 9). The first size asked for is the pooled one; as many are kept as were in flight.
 */

/** OpenSSH's sftp keeps 64 requests in flight. */
const MAX_SPARE_READS = 64;

export class ReadBuffers {
  private readonly spare: Buffer[] = [];
  private pooledSize: number | undefined;

  /** A buffer of `size` bytes, and what to call once it is written and may be reused. */
  take(size: number): { buffer: Buffer; done?: () => void } {
    this.pooledSize ??= size;
    if (size !== this.pooledSize) return { buffer: Buffer.allocUnsafe(size) };
    const buffer = this.spare.pop() ?? Buffer.allocUnsafeSlow(size);
    return { buffer, done: () => void (this.spare.length < MAX_SPARE_READS && this.spare.push(buffer)) };
  }
}
