/**
 * What the programs sshd runs write, to the descriptor itself: the login commands' lines on
 * standard output, a refused client's one line on standard error. process.stdout and
 * process.stderr on a pipe (what sshd gives them) are streams that load Node's net and stream
 * modules the first time they are touched: about 4 ms of CPU for every key a client offers and
 * every refusal (BENCHMARKS.md, section 12), for a line of text.
 */
import { writeSync } from 'node:fs';

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * Writes all of `text` to standard output before returning. A reader that has gone (EPIPE) ends
 * the program quietly with 0, as main.ts does for the stream; a descriptor someone made
 * non-blocking is waited on.
 */
export function writeStdout(text: string): void {
  if (!writeAll(1, text)) process.exit(0);
}

/** A line for the client on standard error; a client that has gone (or closed it) misses it, and nothing else changes. */
export function writeStderr(text: string): void {
  writeAll(2, text);
}

/** All of `text` on `fd`; false when its reader has gone (EPIPE, or no descriptor there). */
function writeAll(fd: number, text: string): boolean {
  let rest = Buffer.from(text);
  while (rest.length > 0) {
    try {
      rest = rest.subarray(writeSync(fd, rest));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EPIPE' || code === 'EBADF') return false;
      if (code !== 'EAGAIN') throw error;
      Atomics.wait(sleeper, 0, 0, 1);
    }
  }
  return true;
}
