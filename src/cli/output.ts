/**
 * Standard output for the commands sshd runs before a login, written to the descriptor itself.
 * process.stdout on a pipe (what sshd gives a keys command) is a stream that loads Node's net
 * and stream modules the first time it is touched: about 4 ms of CPU for every key a client
 * offers (BENCHMARKS.md, section 12), for a few lines of text.
 */
import { writeSync } from 'node:fs';

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * Writes all of `text` to standard output before returning. A reader that has gone (EPIPE) ends
 * the program quietly with 0, as main.ts does for the stream; a descriptor someone made
 * non-blocking is waited on.
 */
export function writeStdout(text: string): void {
  let rest = Buffer.from(text);
  while (rest.length > 0) {
    try {
      rest = rest.subarray(writeSync(1, rest));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EPIPE') process.exit(0);
      if (code !== 'EAGAIN') throw error;
      Atomics.wait(sleeper, 0, 0, 1);
    }
  }
}
