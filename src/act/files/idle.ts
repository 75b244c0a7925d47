/**
 * The idle timeout of a file session (idle-timeout in docs/policy.md, "sftp"): the session ends
 * when nothing has come from the client, and nothing has been sent to it, for that long. Sending
 * counts: a download of a large file by legacy scp has no client bytes until the file's end.
 *
 * touch() runs for every input chunk and every answer, so it only notes the time; the one timer
 * looks when the quiet time could have run out, and sets itself again for what is left.
 */

/** setTimeout takes at most 2^31 - 1 ms (about 24.8 days); a policy may say up to 366 days. */
const LONGEST_TIMER = 2 ** 31 - 1;

export class IdleTimer {
  private last = performance.now();
  private timer: NodeJS.Timeout | null = null;

  /** `ms` 0: never expires. */
  constructor(
    private readonly ms: number,
    private readonly expired: () => void,
  ) {
    if (ms > 0) this.arm(ms);
  }

  touch(): void {
    this.last = performance.now();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private arm(wait: number): void {
    this.timer = setTimeout(() => this.check(), Math.min(LONGEST_TIMER, Math.max(1, Math.ceil(wait))));
  }

  private check(): void {
    this.timer = null;
    const quiet = performance.now() - this.last;
    if (quiet >= this.ms) this.expired();
    else this.arm(this.ms - quiet);
  }
}
