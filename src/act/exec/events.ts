/** The events a supervised program writes, one per line, on fd 3 (a pipe, or a FIFO it opens by name). */
import type { Started } from './launch.js';

/** Every line the program wrote is in once the end is decided on; a process it left behind holding the FIFO open gets this long, no more. */
const REPORT_DRAIN_MS = 2000;

/** Calls `each` with every complete line of a stream. */
function readLines(stream: NodeJS.ReadableStream, each: (line: string) => void): void {
  let rest = '';
  // Decoded as a stream: a character split between two reads stays whole.
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop()!;
    for (const line of lines) if (line !== '') each(line);
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
