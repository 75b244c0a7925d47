/** The events a supervised program writes, one per line, on fd 3 (a pipe, or a FIFO it opens by name). */
import type { Started } from './launch.js';

/** Every line the program wrote is in once the end is decided on; a process it left behind holding the FIFO open gets this long, no more. */
const REPORT_DRAIN_MS = 2000;

/**
 * The longest line kept. What writes the events is less trusted than this process (the file server
 * parses the client's bytes; rsync, the client's protocol stream), and a line is at most a few
 * paths: a refused rename's two, as long as an SFTP packet (256 KiB), each character escaped in
 * JSON (6 at worst), fit. Found in review: a line without end was kept whole and scanned again at
 * every read, so a 128 MiB report cost the dispatcher 82 s of CPU and 1.2 GiB.
 */
export const MAX_EVENT_LINE = 4 * 1024 * 1024;

/** What a reader is handed for a line past MAX_EVENT_LINE: no reader takes it, so each counts it as a line it could not read. */
export const OVERLONG_LINE = 'overlong line';

/** Calls `each` with every complete line of a stream (a line past MAX_EVENT_LINE as OVERLONG_LINE). */
export function readLines(stream: NodeJS.ReadableStream, each: (line: string) => void): void {
  let rest = '';
  let overlong = false;
  // Decoded as a stream: a character split between two reads stays whole.
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    let start = 0;
    // Only the new chunk is searched for line ends: what is held has none.
    for (let end = chunk.indexOf('\n'); end !== -1; start = end + 1, end = chunk.indexOf('\n', start)) {
      const line = overlong || rest.length + end - start > MAX_EVENT_LINE ? OVERLONG_LINE : rest + chunk.slice(start, end);
      rest = '';
      overlong = false;
      if (line !== '') each(line);
    }
    if (overlong) return;
    if (rest.length + chunk.length - start > MAX_EVENT_LINE) {
      overlong = true;
      rest = '';
    } else rest += chunk.slice(start);
  });
}

/** Starts reading the events; the returned function waits until they are all in, then closes the FIFO. */
export function readEvents(started: Started, each: ((line: string) => void) | undefined): () => Promise<void> {
  const { child, fifo, eventsFd } = started;
  const events = fifo ? fifo.reader() : eventsFd !== null ? (child.stdio[eventsFd] as NodeJS.ReadableStream) : null;
  const drained = events
    ? new Promise<void>((done) =>
        events
          .once('end', done)
          .once('close', done)
          .once('error', () => done()),
      )
    : Promise.resolve();
  if (events) readLines(events, each!);
  return async () => {
    if (fifo) await Promise.race([drained, new Promise((done) => setTimeout(done, REPORT_DRAIN_MS).unref())]);
    fifo?.close();
  };
}
