/**
 * The file server's program (dist/ssh-dispatch-files.cjs), started by the dispatcher inside the
 * sandbox for every sftp or legacy scp session:
 *
 *   node ssh-dispatch-files.cjs '{"protocol":"sftp"|"scp","policy":{...},"scp":{...}}'
 *
 * The argument is the launch description (act/files/launch.ts, read by readLaunch). It serves
 * the protocol on fd 0 and fd 1, writes each FileEvent as one JSON line to fd 3 (a pipe the
 * dispatcher reads and logs) and, last, `{"summary": FileSummary}` (act/files/server-report.ts). Exit 0 when the
 * session ended cleanly, 1 when it did not, 2 (one line on stderr, nothing served) when the
 * argument is not exactly what is expected or fd 3 is not open: it fails closed, since an
 * unlogged file session is not one the policy allowed.
 *
 * It loads only src/act/files/: no YAML, no policy code. It starts for every session.
 */
import { fstatSync, writeSync } from 'node:fs';
import type { FileEvent } from './act/files/events.js';
import { readLaunch } from './act/files/launch.js';
import { serveScp } from './act/files/scp.js';
import { serialiseReport, type ServerReport } from './act/files/server-report.js';
import { serveSftp } from './act/files/sftp.js';

const EVENTS_FD = 3;

function fail(message: string): never {
  process.stderr.write(`ssh-dispatch-files: ${message}\n`);
  process.exit(2);
}

function writeLine(report: ServerReport): void {
  const line = Buffer.from(`${serialiseReport(report)}\n`);
  for (let done = 0; done < line.length; ) done += writeSync(EVENTS_FD, line, done);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.length !== 1) fail('expects exactly one argument, a JSON object');
  const read = readLaunch(args[0]!);
  if (!read.ok) fail(`launch refused: ${read.error}`);
  const { launch } = read;
  // Node opens descriptors of its own (epoll, eventfd) at start, and takes the lowest free one:
  // when the dispatcher left fd 3 closed, Node's own may sit there. Those are anonymous
  // inodes, none of these types.
  let events;
  try {
    events = fstatSync(EVENTS_FD);
  } catch {}
  if (!events || !(events.isFIFO() || events.isSocket() || events.isFile() || events.isCharacterDevice()))
    fail('fd 3 (the event pipe) is not open');
  const report = (event: FileEvent) => writeLine({ kind: 'event', event });
  let summary;
  try {
    summary =
      launch.protocol === 'sftp'
        ? await serveSftp(launch.policy, process.stdin, process.stdout, report)
        : await serveScp(launch.policy, launch.scp, process.stdin, process.stdout, report);
  } catch (error) {
    fail((error as Error).message.split('\n')[0]!);
  }
  writeLine({ kind: 'summary', summary });
  process.exit(summary.ended === 'eof' ? 0 : 1);
}

main().catch((error: unknown) => fail(String((error as Error)?.message ?? error).split('\n')[0]!));
