/**
 * The event lines a supervised program writes on fd 3 (act/exec/events.ts): the file server's
 * report, rsync's. Their writer parses the client's bytes and is less trusted than the
 * dispatcher, so a line without end must cost the dispatcher no more than a bounded one.
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { MAX_EVENT_LINE, OVERLONG_LINE, readLines } from '../../src/act/exec/events.js';
import { readReport, serialiseReport } from '../../src/act/files/server-report.js';

/** The lines `readLines` hands on for what was written, in writes as given (strings or bytes). */
async function linesOf(writes: (string | Buffer)[]): Promise<string[]> {
  const stream = new PassThrough();
  const lines: string[] = [];
  readLines(stream, (line) => lines.push(line));
  const ended = new Promise((done) => stream.once('end', done));
  for (const write of writes) stream.write(write);
  stream.end();
  await ended;
  return lines;
}

const good = '{"op":"read","path":"/a","bytes":1}';

describe('readLines: the lines of the events pipe', () => {
  it('joins a line split across reads, keeps a character split between two, and skips empty lines', async () => {
    const euro = Buffer.from('/€\n');
    expect(await linesOf(['{"op":', '"read"}\n\n', euro.subarray(0, 2), euro.subarray(2), 'a\nb\n'])).toEqual([
      '{"op":"read"}',
      '/€',
      'a',
      'b',
    ]);
  });

  it('a line of MAX_EVENT_LINE characters is handed on whole (the control)', async () => {
    const line = 'x'.repeat(MAX_EVENT_LINE);
    const lines = await linesOf([line.slice(0, 1000), line.slice(1000), `\n${good}\n`]);
    expect(lines.map((l) => l.length)).toEqual([MAX_EVENT_LINE, good.length]);
  });

  it('the longest line the file server sends (a refused rename, both names an SFTP packet of control characters) is handed on whole', async () => {
    const name = `/${'\u0001'.repeat(128 * 1024)}`;
    const line = serialiseReport({ kind: 'event', event: { op: 'rename', path: name, to: name, refused: 'outside-root' } });
    expect(line.length).toBeGreaterThan(1024 * 1024);
    const lines = await linesOf([line.slice(0, 100_000), `${line.slice(100_000)}\n`]);
    expect(lines).toEqual([line]);
    expect(readReport(lines[0]!).ok).toBe(true);
  });

  it.each([
    ['across reads', (line: string) => [line.slice(0, 65536), line.slice(65536), `\n${good}\n`]],
    ['in one read', (line: string) => [`${good}\n${line}\n${good}\n`]],
  ])('a line one longer, %s, is handed on as OVERLONG_LINE, and the next line whole', async (_name, writes) => {
    const lines = await linesOf(writes('x'.repeat(MAX_EVENT_LINE + 1)));
    expect(lines.filter((line) => line !== good)).toEqual([OVERLONG_LINE]);
    expect(lines.at(-1)).toBe(good);
  });

  it('64 MiB without a line end costs well under a second of CPU (it cost 20 s: each read rescanned all that was held)', async () => {
    const chunk = 'x'.repeat(65536);
    const before = process.cpuUsage();
    const lines = await linesOf([...Array.from({ length: 1024 }, () => chunk), `\n${good}\n`]);
    const used = process.cpuUsage(before);
    expect(lines).toEqual([OVERLONG_LINE, good]);
    expect((used.user + used.system) / 1e6).toBeLessThan(4);
  });
});
