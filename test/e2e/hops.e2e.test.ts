/**
 * One list for every hop (issue 29), through a real sshd on 127.0.0.1: the line `authorized-key`
 * prints for an identity with a relay rule lets `ssh -W` (ProxyJump's hop, which sshd serves
 * itself and never hands to ssh-dispatch) reach exactly the relay's destinations, as `nc HOST
 * PORT` through ssh-dispatch does, and lets `ssh -R` open no listener. The control is the line
 * `authorized-key --permit-open` printed before: `ssh -R` through it made sshd listen on the
 * gateway and carry a connection back to the client.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SSH, type ClientKey } from '../../src/lab/throwaway-sshd.js';
import { BUNDLE, NODE, startLab, type Lab } from './lab.js';
import { runBundle } from './run-bundle.js';
import { waitFor } from './wait.js';

let gateway: Lab;
let listenerA: Server;
let listenerB: Server;
let portA: number;
let portB: number;
let reachedB = 0;
let jumpKey: ClientKey;
let oldKey: ClientKey;
let noneKey: ClientKey;
let quietKey: ClientKey;
let printed: { line: string; stderr: string };

async function listen(banner: string, onConnection: () => void = () => {}): Promise<{ server: Server; port: number }> {
  const server = createServer((socket) => {
    onConnection();
    socket.on('error', () => {});
    socket.end(banner);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, port: (server.address() as { port: number }).port };
}

beforeAll(async () => {
  gateway = await startLab();
  ({ server: listenerA, port: portA } = await listen('listener-A\n'));
  ({ server: listenerB, port: portB } = await listen('listener-B\n', () => reachedB++));
  gateway.writePolicy(`version: 1
audit:
  file: {{AUDIT}}
identities:
  jump:
    tell-client: reason
    rules:
      - name: to-a
        relay:
          to: ["127.0.0.1:${portA}", "10.0.0.0/24:22"]
  quiet:
    rules:
      - name: to-a
        relay:
          to: ["127.0.0.1:${portA}"]
`);
  [jumpKey, oldKey, noneKey, quietKey] = (await Promise.all(
    ['jump', 'old', 'none', 'quiet'].map((name) => gateway.sshd.newClientKey(name)),
  )) as [ClientKey, ClientKey, ClientKey, ClientKey];
  const result = runBundle(['authorized-key', '--id', 'jump', '--policy', gateway.policyDir, `${jumpKey.privateKeyFile}.pub`]);
  if (result.code !== 0) throw new Error(result.stderr);
  printed = { line: result.stdout.trim(), stderr: result.stderr };
  const command = `command="${NODE} ${BUNDLE} --id jump --policy ${gateway.policyDir}"`;
  gateway.sshd.authorize([
    printed.line,
    // What `authorized-key --tunnel-only --permit-open 127.0.0.1:A` printed before issue 29.
    `restrict,port-forwarding,permitopen="127.0.0.1:${portA}",${command} ${oldKey.publicKey}`,
    // sshd(8)'s sshd_config keyword, tried in a key line: not a port, so the whole line is refused.
    `restrict,port-forwarding,permitopen="127.0.0.1:${portA}",permitlisten="none",${command} ${noneKey.publicKey}`,
    `restrict,command="${NODE} ${BUNDLE} --id quiet --policy ${gateway.policyDir}" ${quietKey.publicKey}`,
  ]);
});

afterAll(async () => {
  listenerA?.close();
  listenerB?.close();
  await gateway?.stop();
});

/** ssh with the lab's options (LogLevel INFO: ssh says which port sshd allocated for -R 0) and `extra`. */
function sshArgs(key: ClientKey, extra: string[], lab: Lab): string[] {
  return lab.sshd.sshArgs(key, extra).map((arg) => (arg === 'LogLevel=ERROR' ? 'LogLevel=INFO' : arg));
}

interface Ssh {
  /** What it printed so far, and its exit status once it exited. */
  out: { stdout: string; stderr: string; code: number | null; exited: boolean };
  done: Promise<void>;
  stop(): Promise<void>;
}

function ssh(key: ClientKey, extra: string[], lab = gateway): Ssh {
  const child = spawn(SSH, sshArgs(key, extra, lab), { stdio: ['pipe', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '', code: null as number | null, exited: false };
  child.stdout.on('data', (d: Buffer) => (out.stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out.stderr += d.toString()));
  child.stdin.end();
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const done = new Promise<void>((resolve) =>
    child.once('close', (code) => {
      clearTimeout(timer);
      Object.assign(out, { code, exited: true });
      resolve();
    }),
  );
  return {
    out,
    done,
    stop: async () => {
      if (!out.exited) child.kill('SIGTERM');
      await done;
    },
  };
}

/** What a connection to 127.0.0.1:port (or a Unix socket) reads until the far end closes. */
function read(port: number | string): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    const socket = typeof port === 'number' ? connect(port, '127.0.0.1') : connect({ path: port });
    socket.on('data', (d) => (text += d.toString()));
    socket.on('error', (error) => resolve(`${text}${error.message}`));
    socket.on('close', () => resolve(text));
  });
}

/** `ssh -N -R LISTEN:127.0.0.1:A`, until sshd allocated a port on the gateway (ssh says which) or ssh gave up. */
async function remoteForward(key: ClientKey, listen: string): Promise<{ allocated: number | null; session: Ssh }> {
  const session = ssh(key, ['-N', '-o', 'ExitOnForwardFailure=yes', '-R', `${listen}:127.0.0.1:${portA}`]);
  const allocated = await waitFor(`ssh -R ${listen} to listen or exit`, () => {
    const port = /Allocated port (\d+) for remote forward/.exec(session.out.stderr)?.[1];
    return port ? { port: Number(port) } : session.out.exited && { port: null };
  });
  return { allocated: allocated.port, session };
}

const sshdLog = () => readFileSync(gateway.sshd.logFile, 'utf8');

describe('the line authorized-key prints for an identity with a relay rule', () => {
  it('is restrict, port-forwarding, one permitopen per relay destination, a permitlisten no listener matches', () => {
    expect(printed.line).toMatch(
      new RegExp(
        `^restrict,port-forwarding,permitopen="127\\.0\\.0\\.1:${portA}",permitlisten="NONE:1",command=".* --id jump --policy .*" ssh-ed25519 `,
      ),
    );
    // The range cannot be said to sshd: left out, and stderr says so.
    expect(printed.line).not.toContain('10.0.0.0');
    expect(printed.stderr).toContain('10.0.0.0/24:22: a range');
  });

  it('ssh -W reaches the relay destination A', async () => {
    const hop = ssh(jumpKey, ['-W', `127.0.0.1:${portA}`]);
    await hop.done;
    expect(hop.out.stdout).toBe('listener-A\n');
    expect(hop.out.code).toBe(0);
    // At LogLevel VERBOSE sshd records the login, not where the allowed hop went.
    expect(sshdLog()).not.toContain(`port ${portA}`);
  });

  it('ssh -W to port B, listening but not a relay destination, is refused by sshd, and sshd logs it at VERBOSE', async () => {
    const before = reachedB;
    const hop = ssh(jumpKey, ['-W', `127.0.0.1:${portB}`]);
    await hop.done;
    expect(hop.out.stdout).toBe('');
    expect(hop.out.stderr).toContain('administratively prohibited');
    expect(hop.out.code).toBe(255);
    expect(reachedB).toBe(before);
    expect(sshdLog()).toContain(`to connect to host 127.0.0.1 port ${portB}, but the request was denied.`);
  });

  it('nc through ssh-dispatch reaches the same list: A, not B (and tell-client: reason names why)', async () => {
    const toA = await gateway.sshd.ssh(jumpKey, `nc 127.0.0.1 ${portA}`);
    expect(toA.stdout.toString()).toBe('listener-A\n');
    const toB = await gateway.sshd.ssh(jumpKey, `nc 127.0.0.1 ${portB}`);
    expect(toB.code).toBe(126);
    const decision = gateway.lastDecision();
    expect(decision).toMatchObject({ id: 'jump', decision: 'deny', reason: 'relay-refused' });
    expect(toB.stderr).toBe(
      `ssh-dispatch: refused by the server's policy (session ${String(decision.session).slice(0, 8)}, reason relay-refused); ask its administrator\n`,
    );
  });

  it('control: an identity without tell-client is told the session only', async () => {
    const toB = await gateway.sshd.ssh(quietKey, `nc 127.0.0.1 ${portB}`);
    expect(toB.code).toBe(126);
    const decision = gateway.lastDecision();
    expect(decision).toMatchObject({ id: 'quiet', decision: 'deny', reason: 'relay-refused' });
    expect(toB.stderr).toBe(
      `ssh-dispatch: refused by the server's policy (session ${String(decision.session).slice(0, 8)}); ask its administrator\n`,
    );
  });

  it('control: ssh -R through the old --permit-open line opens a listener on the gateway that carries a connection back', async () => {
    const { allocated, session } = await remoteForward(oldKey, '127.0.0.1:0');
    try {
      expect(allocated, session.out.stderr).not.toBeNull();
      expect(await read(allocated!)).toBe('listener-A\n');
    } finally {
      await session.stop();
    }
  });

  it.each(['127.0.0.1:0', 'localhost:1', 'NONE:1', 'none:1', '*:1'])('ssh -R %s through the new line opens no listener', async (listen) => {
    const { allocated, session } = await remoteForward(jumpKey, listen);
    await session.stop();
    expect(allocated).toBeNull();
    expect(session.out.stderr).toContain('remote port forwarding failed');
    expect(session.out.code).toBe(255);
  });

  it('permitlisten="none" (sshd_config\'s keyword) is not a port in a key line: sshd refuses the whole line', async () => {
    const hop = ssh(noneKey, ['-W', `127.0.0.1:${portA}`]);
    await hop.done;
    expect(hop.out.stdout).toBe('');
    expect(hop.out.stderr).toContain('Permission denied');
  });
});

/** `ssh -N -R PATH:127.0.0.1:A`: whether sshd made the socket PATH on the gateway (it then carries a connection to A), or ssh gave up. */
async function socketForward(lab: Lab, key: ClientKey, path: string): Promise<{ carried: string | null; session: Ssh }> {
  const session = ssh(key, ['-N', '-o', 'ExitOnForwardFailure=yes', '-R', `${path}:127.0.0.1:${portA}`], lab);
  try {
    const outcome = await waitFor(`ssh -R ${path} to make the socket or exit`, async () => {
      if (existsSync(path)) {
        const text = await read(path);
        return text === '' || text.includes('ECONNREFUSED') ? null : { carried: text };
      }
      return session.out.exited && { carried: null };
    });
    return { carried: outcome.carried, session };
  } finally {
    await session.stop();
  }
}

describe('a Unix-socket ssh -R, which permitlisten does not govern', () => {
  it('residual: through the new line, with sshd_config left at its default, sshd makes the socket and it carries a connection back', async () => {
    const { carried, session } = await socketForward(gateway, jumpKey, join(gateway.sshd.dir, 'thief.sock'));
    expect(carried, session.out.stderr).toBe('listener-A\n');
  });
});

describe('a gateway whose sshd_config has the fix (AllowStreamLocalForwarding no) and LogLevel DEBUG', () => {
  let debug: Lab;
  let key: ClientKey;

  beforeAll(async () => {
    debug = await startLab({ extraConfig: ['LogLevel DEBUG', 'AllowStreamLocalForwarding no'] });
    debug.writePolicy(readFileSync(join(gateway.policyDir, 'main.yaml'), 'utf8'));
    key = await debug.sshd.newClientKey('debug');
    const result = runBundle(['authorized-key', '--id', 'jump', '--policy', debug.policyDir, `${key.privateKeyFile}.pub`]);
    if (result.code !== 0) throw new Error(result.stderr);
    debug.sshd.authorize([result.stdout.trim()]);
  });

  afterAll(() => debug?.stop());

  it('the Unix-socket ssh -R is refused: no socket', async () => {
    const path = join(debug.sshd.dir, 'thief.sock');
    const { carried, session } = await socketForward(debug, key, path);
    expect(carried).toBeNull();
    expect(existsSync(path)).toBe(false);
    expect(session.out.stderr).toContain('remote port forwarding failed');
  });

  it('sshd records of an allowed ssh -W the destination, beside the key that logged in (one sshd process: syslog tags both with its pid)', async () => {
    const child = spawn(SSH, debug.sshd.sshArgs(key, ['-W', `127.0.0.1:${portA}`]), { stdio: ['pipe', 'pipe', 'ignore'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stdin.end();
    await new Promise((r) => child.once('close', r));
    expect(stdout).toBe('listener-A\n');
    const log = readFileSync(debug.sshd.logFile, 'utf8');
    const hop = new RegExp(`server_request_direct_tcpip: originator \\S+ port \\d+, target 127\\.0\\.0\\.1 port ${portA}`).exec(log);
    expect(hop).not.toBeNull();
    expect(log).toMatch(
      new RegExp(`Accepted publickey for \\S+ from 127\\.0\\.0\\.1 port \\d+ ssh2: ED25519 ${key.fingerprint.replace(/[+/]/g, '\\$&')}`),
    );
    expect(log).toContain(`connected to 127.0.0.1 port ${portA}`);
  });
});

describe('check: a forwarding key line and the sshd settings around it', () => {
  const check = (args: string[]) => runBundle(['check', '--policy', gateway.policyDir, ...args]);

  it('--authorized-keys flags the old line (port-forwarding without permitlisten), not the printed one', () => {
    const lines = readFileSync(join(gateway.sshd.dir, 'authorized_keys'), 'utf8').split('\n');
    const file = (name: string, line: string) => {
      const path = join(gateway.sshd.dir, name);
      writeFileSync(path, `${line}\n`, { mode: 0o600 });
      return path;
    };
    const old = check(['--authorized-keys', file('old_keys', lines[1]!)]);
    expect(old.stdout).toMatch(/old_keys:1: UNSAFE: port-forwarding without permitlisten: .* \[key-line-listens\]$/m);
    expect(old.code).toBe(1);
    const now = check(['--authorized-keys', file('new_keys', lines[0]!)]);
    expect(now.stdout).not.toMatch(/key-line-listens|key-permitopen/);
  });

  it("--sshd-config: AllowTcpForwarding and AllowStreamLocalForwarding for the relay identity's account, unless a Match block says no", () => {
    const config = join(gateway.sshd.dir, 'check_sshd_config');
    const base = `HostKey ${join(gateway.sshd.dir, 'host_ed25519')}\nAuthorizedKeysFile ${join(gateway.sshd.dir, 'authorized_keys')}\n`;
    writeFileSync(config, base);
    const defaults = check(['--sshd-config', config]);
    expect(defaults.stdout).toContain('sshd: warning: AllowTcpForwarding yes for root, whose keys forward (relay identities jump, quiet)');
    expect(defaults.stdout).toMatch(/sshd: UNSAFE: AllowStreamLocalForwarding yes for root .*\[sshd-stream-forwarding\]$/m);
    writeFileSync(config, `${base}Match User root\n    AllowTcpForwarding local\n    AllowStreamLocalForwarding no\n`);
    const matched = check(['--sshd-config', config]);
    expect(matched.stdout).not.toMatch(/sshd-remote-forwarding|sshd-stream-forwarding/);
  });
});
