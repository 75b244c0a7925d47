/**
 * The handles an SFTP session has open: what each one is (a file, with the state that keeps
 * history whole while it is written, or a directory being listed) and the table that names them.
 * The table is capped (MAX_HANDLES) so that a client cannot hold every descriptor the process has.
 */
import type { Dir } from 'node:fs';
import { Answer } from './sftp-answer.js';
import { FX } from './sftp-wire.js';

export const MAX_HANDLES = 256;

export interface FileHandle {
  kind: 'file';
  fd: number;
  client: string;
  host: string;
  readable: boolean;
  writable: boolean;
  /** The file is new: made by this open, or the new inode of a replacement. */
  created: boolean;
  /** Opened with TRUNC: what was there is gone, whatever is written after. */
  truncated: boolean;
  /**
   * Replacing a stored file (overwrite): the client writes into a new inode at `temp` in the same
   * directory, renamed over `host` when the handle is closed; `key` is its inode, checked first.
   */
  replacing: { temp: string; key: string } | null;
  /**
   * A write open of a stored file without TRUNC: `fd` is the stored file, opened for reading,
   * until the first change makes a copy of it (materialise), which becomes the replacement.
   */
  copy: { append: boolean; mode: number } | null;
  /**
   * A copy made lazily (a write-only handle, not appending: OpenSSH's sftp put and scp over SFTP,
   * which write a whole file over a stored one): the stored file stays open as `fd`, and only the
   * ranges the client did not write (`written`, sorted, merged) below `size` are copied from it,
   * when the handle is read, synced or closed (fillFromBasis). A whole-file put copies nothing.
   */
  basis: { fd: number; size: number; written: [number, number][] } | null;
  /**
   * A write through this handle was refused at the free-space floor: every later one is too,
   * so that a WRITE pipelined after it cannot land once space is freed and leave a hole of
   * zeros in the file. The client opens the file again to go on.
   */
  spaceRefused: boolean;
  /** Counted apart: a read-write handle that only reads is a read, not an upload (found in review). */
  bytesRead: number;
  bytesWritten: number;
  /** The client read to the end (an empty file is read too). */
  readToEnd: boolean;
}

export interface DirHandle {
  kind: 'dir';
  dir: Dir;
  client: string;
  host: string;
}

export type Handle = FileHandle | DirHandle;

/** Handles by the name the client was given; an unknown name is FAILURE, as in OpenSSH. */
export class HandleTable {
  private readonly open = new Map<string, Handle>();
  private next = 1;

  get full(): boolean {
    return this.open.size >= MAX_HANDLES;
  }

  get(raw: Buffer): Handle {
    const handle = this.open.get(raw.toString('latin1'));
    if (!handle) throw new Answer(FX.FAILURE);
    return handle;
  }

  file(raw: Buffer): FileHandle {
    const handle = this.get(raw);
    if (handle.kind !== 'file') throw new Answer(FX.FAILURE);
    return handle;
  }

  /** Names a new handle. */
  add(handle: Handle): string {
    const name = String(this.next++);
    this.open.set(name, handle);
    return name;
  }

  /** A handle the client closes: out of the table. */
  take(raw: Buffer): Handle {
    const handle = this.get(raw);
    this.open.delete(raw.toString('latin1'));
    return handle;
  }

  /** Every handle still open, the table emptied (the session ends). */
  drain(): Handle[] {
    const left = [...this.open.values()];
    this.open.clear();
    return left;
  }
}
