/**
 * autossh tunnels (docs/recipes.md, "autossh"), with the real autossh through a real sshd: a
 * tunnel-only identity's line as `authorized-key --tunnel-only` prints it (permitopen from the
 * relay rule) carries `autossh -M 0 -N -L` to the relay's destination on 127.0.0.1 and not to
 * another listening port; autossh brings the tunnel back after its ssh is killed; a command sent
 * through the key is a recorded denial. The tunnels' local ends are Unix sockets (`-L PATH:H:P`):
 * sshd sees the same direct-tcpip channel, and no local port is raced for.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SSH, type ClientKey } from '../../src/lab/throwaway-sshd.js';
import { startLab, type Lab } from './lab.js';
import { runBundle } from './run-bundle.js';
import { waitFor } from './wait.js';

let lab: Lab;
let key: ClientKey;
let line: string;
const listeners: Server[] = [];
const ports = { a: 0, b: 0 };
let reachedB = 0;

async function listen(banner: string, onConnection: () => void = () => {}): Promise<number> {
  const server = createServer((socket) => {
    onConnection();
    socket.on('error', () => {});
    socket.end(banner);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  listeners.push(server);
  return (server.address() as { port: number }).port;
}

beforeAll(async () => {
  lab = await startLab();
  ports.a = await listen('service-A\n');
  ports.b = await listen('service-B\n', () => reachedB++);
  lab.writePolicy(`version: 1
audit:
  file: {{AUDIT}}
identities:
  db-tunnel:
    rules:
      - name: to-db
        relay: { to: ["127.0.0.1:${ports.a}"] }
`);
  key = await lab.sshd.newClientKey('autossh');
  const printed = runBundle([
    'authorized-key',
    '--id',
    'db-tunnel',
    '--tunnel-only',
    '--policy',
    lab.policyDir,
    `${key.privateKeyFile}.pub`,
  ]);
  if (printed.code !== 0) throw new Error(printed.stderr);
  line = printed.stdout.trim();
  lab.sshd.authorize([line]);
});

afterAll(async () => {
  for (const server of listeners) server.close();
  await lab?.stop();
});

/** What a connection to the Unix socket `path` reads until the far end closes. */
function read(path: string): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    const socket = connect({ path });
    socket.on('data', (d) => (text += d.toString()));
    socket.on('error', (error) => resolve(`${text}${error.message}`));
    socket.on('close', () => resolve(text));
  });
}

interface Autossh {
  child: ChildProcess;
  stderr: () => string;
  stop: () => Promise<void>;
}

/** `autossh -M 0 -N -L SOCKET:127.0.0.1:PORT` with the lab's ssh options, as the recipe runs it. */
function autossh(socket: string, port: number): Autossh {
  // StreamLocalBindUnlink: the socket a killed ssh left behind is replaced, not a bind failure.
  // LogLevel INFO: ssh reports a channel sshd refused.
  const options = ['-N', '-o', 'ExitOnForwardFailure=yes', '-o', 'ServerAliveInterval=5', '-o', 'StreamLocalBindUnlink=yes'];
  const args = lab.sshd
    .sshArgs(key, [...options, '-L', `${socket}:127.0.0.1:${port}`])
    .map((arg) => (arg === 'LogLevel=ERROR' ? 'LogLevel=INFO' : arg));
  const child = spawn('/usr/bin/autossh', ['-M', '0', ...args], {
    // AUTOSSH_GATETIME=0: restart ssh even when it dies in its first 30 s (the test kills it sooner).
    env: { PATH: '/usr/bin:/bin', AUTOSSH_PATH: SSH, AUTOSSH_GATETIME: '0', AUTOSSH_POLL: '5' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    stderr: () => stderr,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** The ssh autossh runs (its one child). */
function sshChild(pid: number): number | null {
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  return children ? Number(children.split(' ')[0]) : null;
}

describe('autossh through a tunnel-only key', () => {
  it('the printed line opens the relay destination only, and no command', () => {
    expect(line).toMatch(new RegExp(`^restrict,port-forwarding,permitopen="127\\.0\\.0\\.1:${ports.a}",permitlisten="NONE:1",command=`));
  });

  it('autossh -M 0 -N -L reaches the relay destination, and brings the tunnel back after its ssh is killed', async () => {
    const socket = join(lab.sshd.dir, 'tunnel-a.sock');
    const tunnel = autossh(socket, ports.a);
    try {
      await waitFor('the tunnel to carry service A', async () => existsSync(socket) && (await read(socket)) === 'service-A\n', {
        timeoutMs: 15_000,
      });
      const first = sshChild(tunnel.child.pid!);
      expect(first).not.toBeNull();
      process.kill(first!, 'SIGKILL');
      await waitFor('autossh to start another ssh', () => {
        const next = sshChild(tunnel.child.pid!);
        return next !== null && next !== first;
      });
      await waitFor('the new tunnel to carry service A', async () => existsSync(socket) && (await read(socket)) === 'service-A\n', {
        timeoutMs: 15_000,
      });
    } finally {
      await tunnel.stop();
    }
  }, 40_000);

  it('a tunnel to another port on 127.0.0.1, listening, is refused by sshd and reaches nothing', async () => {
    const socket = join(lab.sshd.dir, 'tunnel-b.sock');
    const tunnel = autossh(socket, ports.b);
    try {
      await waitFor('the local end of the tunnel', () => existsSync(socket));
      expect(await read(socket)).toBe('');
      await waitFor('ssh to report the refusal', () => tunnel.stderr().includes('administratively prohibited'));
      expect(reachedB).toBe(0);
    } finally {
      await tunnel.stop();
    }
  }, 30_000);

  it('a command sent through the key is a recorded denial', async () => {
    const result = await lab.sshd.ssh(key, 'cat /etc/hostname');
    expect(result.code).toBe(126);
    expect(result.stdout.toString()).toBe('');
    expect(lab.lastDecision()).toMatchObject({ id: 'db-tunnel', decision: 'deny' });
  });
});
