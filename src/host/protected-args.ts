/**
 * Reads rsync's protected arguments off the connection (rules/rsync/protected-args.ts says what
 * they are), one byte at a time so that not one byte past their end is taken: rsync, started
 * next on the same descriptor, must find the protocol where the client began it. Bounded in size
 * and in time: a client that sends less than it promised is refused, not waited for.
 */
import { read } from 'node:fs';
import { splitProtectedArgs } from '../rules/rsync/protected-args.js';

export const PROTECTED_ARGS_TIMEOUT_MS = 30_000;

/** On a failure, `partial`: the arguments that did arrive whole, for the record. */
export type ProtectedArgsRead = { ok: true; args: string[] } | { ok: false; detail: string; partial: string[] };

function readByte(fd: number, into: Buffer, at: number): Promise<number> {
  return new Promise((resolve, reject) => {
    read(fd, into, at, 1, null, (error, bytes) => {
      if (error && (error as NodeJS.ErrnoException).code === 'EAGAIN') setTimeout(() => readByte(fd, into, at).then(resolve, reject), 1);
      else if (error) reject(error);
      else resolve(bytes);
    });
  });
}

export async function readProtectedArgs(fd = 0, timeoutMs = PROTECTED_ARGS_TIMEOUT_MS): Promise<ProtectedArgsRead> {
  const buffer = Buffer.alloc(64 * 1024 + 1);
  let length = 0;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<ProtectedArgsRead>((resolve) => {
    timer = setTimeout(() => resolve(failed(`the protected arguments did not all arrive within ${timeoutMs / 1000} s`)), timeoutMs);
  });
  // The whole arguments read so far: what a refusal's record keeps of them.
  const partial = () =>
    buffer
      .subarray(0, buffer.lastIndexOf(0, length - 1) + 1)
      .toString('utf8')
      .split('\0')
      .slice(0, -1);
  const failed = (detail: string): ProtectedArgsRead => ({ ok: false, detail, partial: length === 0 ? [] : partial() });
  const reading = (async (): Promise<ProtectedArgsRead> => {
    for (;;) {
      if (length >= buffer.length) return failed('the protected arguments are longer than 64 KiB');
      const got = await readByte(fd, buffer, length);
      if (got === 0) return failed('the connection ended inside the protected arguments');
      length++;
      // Only a NUL can end them: look again only then.
      if (buffer[length - 1] !== 0) continue;
      const split = splitProtectedArgs(buffer.subarray(0, length));
      if (split === 'too-long') return failed('more protected arguments than a command may have');
      if (split !== 'more') return { ok: true, args: split };
    }
  })().catch((error: NodeJS.ErrnoException) => failed(`reading them failed: ${error.code ?? error.message}`));
  try {
    return await Promise.race([reading, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
