/**
 * READ and WRITE: the data path, served synchronously. A READ is read straight into its answer's
 * buffer; a WRITE is admitted against the free-space floor before a byte lands, and a write to a
 * stored file lands in its copy (sftp-lazy-copy.ts), never in the stored inode.
 */
import { readSync, writeSync } from 'node:fs';
import { FLOOR_MESSAGE } from './free-space.js';
import { Answer } from './sftp-answer.js';
import type { SftpContext } from './sftp-context.js';
import { addSpan, fillFromBasis, materialise, MAX_SPANS } from './sftp-lazy-copy.js';
import { FX, FXP, MAX_DATA } from './sftp-wire.js';

export function read(ctx: SftpContext, id: number, raw: Buffer, offset: number, length: number): void {
  const handle = ctx.handles.file(raw);
  if (!handle.readable) throw new Answer(FX.PERMISSION_DENIED);
  const want = Math.min(length, MAX_DATA);
  // One buffer for the answer: the file is read straight into its data field.
  const { buffer: packet, done } = ctx.readBuffers.take(13 + want);
  let got: number;
  try {
    got = want === 0 ? 0 : readSync(handle.fd, packet, 13, want, offset);
  } catch (error) {
    done?.();
    throw error;
  }
  if (got === 0) {
    done?.();
    handle.readToEnd = true;
    return ctx.status(id, FX.EOF);
  }
  handle.bytesRead += got;
  packet.writeUInt32BE(9 + got, 0);
  packet[4] = FXP.DATA;
  packet.writeUInt32BE(id, 5);
  packet.writeUInt32BE(got, 9);
  if (ctx.finished) done?.();
  else ctx.send(packet.subarray(0, 13 + got), done);
}

export function write(ctx: SftpContext, id: number, raw: Buffer, offset: number, data: Buffer): void {
  const handle = ctx.handles.file(raw);
  if (!handle.writable) throw new Answer(FX.PERMISSION_DENIED);
  // Refused at the floor: SSH_FX_FAILURE, as OpenSSH's sftp-server answers ENOSPC. SFTP
  // version 3 has no status for a full disk (SSH_FX_NO_SPACE_ON_FILESYSTEM is version 5's).
  if (handle.spaceRefused) throw new Answer(FX.FAILURE, 'min-free', FLOOR_MESSAGE);
  materialise(ctx, handle, true);
  if (!ctx.space.admit(data.length)) {
    // The file keeps what was written before: the write record says how much. One refusal
    // record per handle: a client has dozens of WRITEs in flight, all refused alike.
    handle.spaceRefused = true;
    ctx.record.refused('write', handle.client, 'min-free');
    throw new Answer(FX.FAILURE, 'min-free', FLOOR_MESSAGE);
  }
  let done = 0;
  while (done < data.length) done += writeSync(handle.fd, data, done, data.length - done, offset + done);
  handle.bytesWritten += done;
  if (handle.basis !== null && done > 0 && addSpan(handle.basis.written, offset, offset + done) > MAX_SPANS) fillFromBasis(handle);
  ctx.status(id, FX.OK);
}
