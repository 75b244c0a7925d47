/**
 * A gateway whose key can only relay, through two real sshds on 127.0.0.1: the gateway runs
 * ssh-dispatch as the forced command, the target is a second sshd. What users do:
 * `ssh -o ProxyCommand='ssh gw nc %h %p' target` through the line `authorized-key` prints, rsync across
 * the hop, and tunnel-only keys (ssh -W and ssh -R: hops.e2e.test.ts).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorizedKeyLine, SSH, ThrowawaySshd, type ClientKey } from '../../src/lab/throwaway-sshd.js';
import { runBundle } from './run-bundle.js';
import { startLab, type Lab } from './lab.js';
import { waitFor } from './wait.js';

let gateway: Lab;
let target: ThrowawaySshd;
let gwKey: ClientKey;
let tunnelKey: ClientKey;
let targetKey: ClientKey;
let rsyncKey: ClientKey;
let silent: Server;
let silentPort: number;

beforeAll(async () => {
  [gateway, target] = await Promise.all([startLab(), ThrowawaySshd.start()]);
  silent = createServer((socket) => socket.on('error', () => {}));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
  silentPort = (silent.address() as { port: number }).port;
  gateway.writePolicy(`version: 1
audit:
  file: {{AUDIT}}
identities:
  hop:
    rules:
      - name: to-target
        relay:
          to: ["127.0.0.1:${target.port}"]
      - name: to-silent
        relay:
          to: ["127.0.0.1:${silentPort}"]
          idle-timeout: 1s
  tunnel:
    rules:
      - name: db-tunnel
        relay:
          to: ["127.0.0.1:${target.port}"]
`);
  gwKey = await gateway.sshd.newClientKey('gw');
  tunnelKey = await gateway.sshd.newClientKey('tunnel');
  targetKey = await target.newClientKey('target');
  rsyncKey = await target.newClientKey('rsync');
  const tunnelLine = runBundle([
    'authorized-key',
    '--id',
    'tunnel',
    '--policy',
    gateway.policyDir,
    '--tunnel-only',
    `${tunnelKey.privateKeyFile}.pub`,
  ]);
  if (tunnelLine.code !== 0) throw new Error(tunnelLine.stderr);
  // The gateway key's line as authorized-key prints it: nc %h %p must work through it too.
  const hopLine = runBundle(['authorized-key', '--id', 'hop', '--policy', gateway.policyDir, `${gwKey.privateKeyFile}.pub`]);
  if (hopLine.code !== 0) throw new Error(hopLine.stderr);
  gateway.sshd.authorize([hopLine.stdout.trim(), tunnelLine.stdout.trim()]);
  // The target is a plain sshd: a fixed forced command for the rsync push (root may log in only
  // with forced commands there, as on the gateway).
  target.authorize([
    authorizedKeyLine('restrict', ['/bin/echo', 'reached-target'], targetKey),
    authorizedKeyLine('restrict', ['/usr/bin/rsync', '--server', '-logDtpre.iLsfxCIvu', '.', join(target.dir, 'hop-dest/')], rsyncKey),
  ]);
});

afterAll(async () => {
  silent?.close();
  await Promise.all([gateway?.stop(), target?.stop()]);
});

const proxy = (port: number) => `ProxyCommand=${[SSH, ...gateway.sshd.sshArgs(gwKey)].join(' ')} nc 127.0.0.1 ${port}`;

describe('relay through a gateway', () => {
  it('ssh -o ProxyCommand="ssh gw nc %h %p" target runs the command on the target', async () => {
    const result = await target.ssh(targetKey, 'anything', { extraArgs: ['-o', proxy(target.port)] });
    expect(result.stdout.toString()).toBe('reached-target\n');
    expect(result.code).toBe(0);
    const decision = gateway.lastDecision();
    expect(decision).toMatchObject({ decision: 'allow', rule: 'to-target', relay: { host: '127.0.0.1', port: target.port } });
    // The relay's end record is written once both directions have closed, just after ssh exits.
    const end = await waitFor('the relay end record', () => gateway.recordsOf(String(decision.session)).find((r) => r.event === 'end'));
    expect(end).toMatchObject({ outcome: 'closed', address: '127.0.0.1' });
    expect(end!.bytes_in as number).toBeGreaterThan(0);
    expect(end!.bytes_out as number).toBeGreaterThan(0);
  });

  it('a relay to a port that is not allowed is refused and recorded', async () => {
    const result = await target.ssh(targetKey, 'anything', { extraArgs: ['-o', proxy(target.port + 1)] });
    expect(result.code).not.toBe(0);
    expect(result.stdout.toString()).toBe('');
    expect(gateway.lastDecision()).toMatchObject({ decision: 'deny', reason: 'relay-refused', command: `nc 127.0.0.1 ${target.port + 1}` });
  });

  it('rsync works across the hop', () => {
    const src = join(gateway.sshd.dir, 'hop-src');
    mkdirSync(src);
    writeFileSync(join(src, 'across.txt'), 'across the hop\n');
    const dest = join(target.dir, 'hop-dest');
    const { shell, host } = target.rsyncRemoteShell(rsyncKey);
    const remoteShell = shell.replace(SSH, `${SSH} -o '${proxy(target.port)}'`);
    const result = spawnSync('/usr/bin/rsync', ['-e', remoteShell, '-a', `${src}/`, `${host}:${dest}/`], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(result.status, result.stderr).toBe(0);
    expect(readFileSync(join(dest, 'across.txt'), 'utf8')).toBe('across the hop\n');
  });

  it('an idle relay ends at its idle timeout, recorded as such', async () => {
    const started = Date.now();
    const client = spawn(SSH, [...gateway.sshd.sshArgs(gwKey), 'nc', '127.0.0.1', String(silentPort)], {
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    const code = await new Promise((r) => client.once('close', r));
    client.stdin.end();
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(code).toBe(1);
    const end = gateway.recordsOf(String(gateway.lastDecision().session)).find((r) => r.event === 'end');
    expect(end).toMatchObject({ outcome: 'idle-timeout', rule: 'to-silent' });
  });
});

describe('a tunnel-only key', () => {
  async function banner(local: string): Promise<string> {
    return new Promise((resolve) => {
      const socket = connect({ path: local });
      let text = '';
      socket.on('data', (d) => {
        text += d.toString();
        socket.destroy();
      });
      socket.on('error', () => resolve(''));
      socket.on('close', () => resolve(text));
      setTimeout(() => socket.destroy(), 3000);
    });
  }

  /**
   * The local end of the tunnel is a Unix socket in the lab's dir: a TCP port picked here and
   * handed to ssh could be taken by someone else before ssh binds it.
   */
  async function withTunnel(remotePort: number, check: (local: string) => Promise<void>): Promise<void> {
    const local = join(gateway.sshd.dir, `tunnel-${remotePort}.sock`);
    rmSync(local, { force: true });
    const tunnel = spawn(
      SSH,
      ['-N', '-o', 'ExitOnForwardFailure=yes', '-L', `${local}:127.0.0.1:${remotePort}`, ...gateway.sshd.sshArgs(tunnelKey)],
      { stdio: 'ignore' },
    );
    // From the start: if ssh ends early, its close event must not be missed.
    const closed = new Promise((r) => tunnel.once('close', r));
    try {
      await waitFor(
        'the tunnel to listen',
        async () => {
          if (tunnel.exitCode !== null) throw new Error(`ssh -L exited (${tunnel.exitCode})`);
          return new Promise<boolean>((r) => {
            const s = connect({ path: local }, () => (s.destroy(), r(true)));
            s.on('error', () => r(false));
          });
        },
        { timeoutMs: 10_000 },
      );
      await check(local);
    } finally {
      tunnel.kill('SIGTERM');
      await closed;
    }
  }

  it('the generated line is restrict, port-forwarding, permitopen from its relay rule, no listener and the forced command', () => {
    const line = readFileSync(join(gateway.sshd.dir, 'authorized_keys'), 'utf8').split('\n')[1]!;
    expect(line).toMatch(
      new RegExp(
        `^restrict,port-forwarding,permitopen="127\\.0\\.0\\.1:${target.port}",permitlisten="NONE:1",command=".* --id tunnel --policy .*" ssh-ed25519 `,
      ),
    );
  });

  it('forwards to its permitted port', async () => {
    await withTunnel(target.port, async (local) => {
      expect(await banner(local)).toMatch(/^SSH-2\.0-/);
    });
  });

  it('cannot forward anywhere else', async () => {
    await withTunnel(gateway.sshd.port, async (local) => {
      expect(await banner(local)).toBe('');
    });
  });

  it('cannot run any command but its relay: denied and recorded', async () => {
    const result = await gateway.sshd.ssh(tunnelKey, 'id');
    expect(result.code).toBe(126);
    expect(gateway.lastDecision()).toMatchObject({ id: 'tunnel', decision: 'deny', reason: 'no-rule-matched' });
    expect(existsSync(gateway.auditFile)).toBe(true);
  });
});

describe('the audit log', () => {
  it('every record written validates against schema/audit.schema.json', () => {
    const checked = gateway.checkRecords();
    expect(checked.invalid).toEqual([]);
    expect(checked.records).toBeGreaterThan(3);
  });
});
