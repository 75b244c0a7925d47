/**
 * The legacy scp protocol (`scp -O`, and every scp before OpenSSH 9.0): the server side of
 * `scp -t TARGET` (the client pushes) and `scp -f SOURCE` (the client pulls), confined to a
 * root and held to the same FilePolicy as SFTP.
 *
 * The protocol, as OpenSSH's scp.c speaks it: control lines `C<mode> <size> <name>` (a file,
 * then its bytes and a status byte), `D<mode> 0 <name>` (enter a directory), `E` (leave it),
 * `T<mtime> 0 <atime> 0` (times of what follows, with -p); each answered by a status byte:
 * `\0` for yes, `\x01message\n` for an error the other side prints and continues past,
 * `\x02message\n` for a fatal one.
 *
 * The source path is taken literally: the OpenSSH client sends wildcards for the remote shell
 * to expand, and there is no shell here. `scp -O host:'*.log' .` looks for a file named `*.log`.
 *
 * This module runs a session to its end; the sink (scp -t) is scp-sink.ts, the source (scp -f)
 * scp-source.ts, the reading of the client's bytes scp-incoming.ts.
 */
import type { FileEvent, FileSummary, SessionEnd } from './events.js';
import type { SessionOptions } from './free-space.js';
import type { FilePolicy } from './policy.js';
import { ScpChannel } from './scp-channel.js';
import { Stop } from './scp-incoming.js';
import { sink } from './scp-sink.js';
import { source } from './scp-source.js';
import type { ScpRequest } from '../../rules/plan.js';

export async function serveScp(
  policy: FilePolicy,
  request: ScpRequest,
  input: NodeJS.ReadableStream,
  output: NodeJS.WritableStream,
  report: (event: FileEvent) => void,
  options: SessionOptions = {},
): Promise<FileSummary> {
  const ch = new ScpChannel(policy, request, input, output, report, options);
  let ended: SessionEnd = 'eof';
  let detail: string | undefined;
  try {
    if (request.direction === 'to-server') await sink(ch);
    else await source(ch);
  } catch (error) {
    if (!(error instanceof Stop)) throw error;
    ended = error.ended;
    detail = error.message;
    if (ended === 'protocol-error') await ch.send(`\x01scp: protocol error: ${error.message}\n`).catch(() => {});
  } finally {
    ch.idle.stop();
  }
  if (ch.outputFailed) ended = 'output-closed';
  if (ch.idledOut) {
    // Whatever the wait ended in (an end of input, a cut file), the cause was the timeout. A
    // client that stopped reading would never let the end be written: do not wait for it.
    ended = 'idle-timeout';
    detail = `nothing from the client for ${policy.idleTimeoutMs / 1000} s`;
    output.end();
  } else {
    await new Promise<void>((resolve) => output.end(resolve));
  }
  return ch.record.end(ended, detail);
}
