/**
 * The lab's sshd picks a free port and sshd binds it a moment later, in another process: a port
 * taken in between must cost a retry, not a failed test run.
 */
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ThrowawaySshd } from '../../src/lab/throwaway-sshd.js';

let squatter: Server;
let taken: number;

async function listening(server: Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return (server.address() as { port: number }).port;
}

async function freePort(): Promise<number> {
  const probe = createServer();
  const port = await listening(probe);
  await new Promise((r) => probe.close(r));
  return port;
}

beforeAll(async () => {
  // Someone else's listener on the port the first attempt is handed.
  squatter = createServer((socket) => socket.destroy());
  taken = await listening(squatter);
});
afterAll(() => squatter?.close());

describe('ThrowawaySshd.start', () => {
  it('starts again on another port when the one it picked was taken before sshd bound it', async () => {
    const picked: number[] = [];
    const sshd = await ThrowawaySshd.start({
      pickPort: async () => (picked.push(picked.length === 0 ? taken : await freePort()), picked.at(-1)!),
    });
    try {
      expect(picked).toHaveLength(2);
      expect(sshd.port).toBe(picked[1]);
      const key = await sshd.newClientKey();
      // Reaching it with its host key proves the sshd answering is ours, not the squatter.
      const result = await sshd.ssh(key, 'true');
      expect(result.stderr).toMatch(/Permission denied/);
    } finally {
      await sshd.stop();
    }
  });

  it("gives up after a few taken ports, with sshd's own words", async () => {
    let tries = 0;
    await expect(ThrowawaySshd.start({ pickPort: async () => (tries++, taken) })).rejects.toThrow(/Address already in use/);
    expect(tries).toBe(5);
  });
});
