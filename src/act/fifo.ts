/**
 * A FIFO for a child that opens its report descriptor by name: rsync's --log-file=/proc/self/fd/3.
 * Node's 'pipe' stdio is a socketpair, and a socket cannot be opened through /proc. And rsync 3.5
 * opens log files with its confined path walk: through /proc/self/fd/N it restarts at the link's
 * target, which must lie inside --confine-root and inside the sandbox. So the FIFO is made in
 * `dir` (the push's writable root) under a random dot name, opened at both ends, and its name
 * removed as soon as the child has it open (its first line), or at the end at the latest: nothing
 * else can open it in the meantime but a process that guesses the session's 16 random hex digits.
 */
import { closeSync, constants, openSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { childProcess, net } from '../lazy-builtins.js';
import { reportFifoName } from '../rules/rsync/match.js';

export interface Fifo {
  writeFd: number;
  /** The read end as a stream: its 'end' comes when every writer has closed. */
  reader(): NodeJS.ReadableStream;
  close(): void;
}

/** `tag`: the session's random id, so the name cannot be guessed ahead. */
export function openFifo(dir: string, tag: string): Fifo {
  const path = join(dir, reportFifoName(tag));
  // Node has no mkfifo(3); coreutils' is one short exec, made only for supervised pushes. mknod
  // never follows or replaces what is there.
  const made = childProcess().spawnSync('/usr/bin/mkfifo', ['-m', '600', '--', path], { stdio: 'ignore' });
  if (made.status !== 0) throw new Error(`mkfifo ${path} failed (${made.error?.message ?? `exit ${made.status}`})`);
  let named = true;
  const unname = () => {
    if (!named) return;
    named = false;
    try {
      unlinkSync(path);
    } catch {
      // Gone already (a --delete of root took it): nothing to undo.
    }
  };
  try {
    // The read end first, without waiting for a writer; then the write end, which finds it.
    const readFd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
    const writeFd = openSync(path, constants.O_WRONLY | constants.O_NOFOLLOW);
    let socket: import('node:net').Socket | null = null;
    return {
      writeFd,
      reader() {
        socket ??= new (net().Socket)({ fd: readFd, readable: true, writable: false });
        // rsync's first line ("receiving file list") means it has opened the FIFO.
        socket.once('data', unname);
        return socket;
      },
      close() {
        unname();
        if (socket) socket.destroy();
        else closeSync(readFd);
      },
    };
  } catch (error) {
    unname();
    throw error;
  }
}
