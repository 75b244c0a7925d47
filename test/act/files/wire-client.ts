/**
 * A packet-level SFTP client for tests that talk to the server in process: it frames what the
 * server writes into replies, numbers requests, and takes the answers in order.
 */
import type { PassThrough } from 'node:stream';
import { FXP, PacketReader, PacketWriter } from '../../../src/act/files/sftp-wire.js';

export function packetClient(input: PassThrough, output: PassThrough) {
  let pending = Buffer.alloc(0);
  const replies: Buffer[] = [];
  output.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 4 && pending.length >= 4 + pending.readUInt32BE(0)) {
      replies.push(pending.subarray(4, 4 + pending.readUInt32BE(0)));
      pending = pending.subarray(4 + pending.readUInt32BE(0));
    }
  });
  let id = 0;
  /** The next answer: its type, and a reader at its request id. */
  const next = async () => {
    for (let i = 0; i < 100 && replies.length === 0; i++) await new Promise((r) => setImmediate(r));
    const reply = replies.shift();
    if (!reply) throw new Error('no reply');
    const reader = new PacketReader(reply);
    return { type: reader.u8(), reader };
  };
  const request = (type: number, build: (w: PacketWriter) => void) => {
    const w = new PacketWriter(type, ++id);
    build(w);
    input.write(w.done());
    return next();
  };
  /** A request answered by STATUS: its code; another answer: minus its type. */
  const status = async (type: number, build: (w: PacketWriter) => void) => {
    const { type: got, reader } = await request(type, build);
    if (got !== FXP.STATUS) return -got;
    reader.u32();
    return reader.u32();
  };
  return { next, request, status };
}
