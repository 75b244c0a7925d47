/**
 * A forwarded agent never reaches what ssh-dispatch runs (docs/threat-model.md, "exec"). The key line here
 * deliberately lacks `restrict`, so sshd does forward the agent: the control key, whose forced
 * command is plain /usr/bin/env, proves SSH_AUTH_SOCK was there to leak.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { authorizedKeyLine, type ClientKey } from '../../src/lab/throwaway-sshd.js';
import { startLab, type Lab } from './lab.js';
import { waitFor } from './wait.js';

let lab: Lab;
let agent: ChildProcess;
let socket: string;
let dispatched: ClientKey;
let control: ClientKey;

beforeAll(async () => {
  lab = await startLab();
  lab.writePolicy(`version: 1
audit:
  file: {{AUDIT}}
identities:
  agent:
    rules:
      - name: env
        exec:
          command: "env"
          program: /usr/bin/env
`);
  dispatched = await lab.sshd.newClientKey('dispatched');
  control = await lab.sshd.newClientKey('control');
  lab.sshd.authorize([lab.dispatchLine(dispatched, 'agent', ''), authorizedKeyLine('', ['/usr/bin/env'], control)]);
  socket = join(lab.sshd.dir, 'agent.sock');
  agent = spawn('/usr/bin/ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' });
  await waitFor('ssh-agent to listen', () => existsSync(socket), { timeoutMs: 10_000 });
  const added = spawnSync('/usr/bin/ssh-add', [dispatched.privateKeyFile, control.privateKeyFile], {
    env: { SSH_AUTH_SOCK: socket },
    encoding: 'utf8',
  });
  if (added.status !== 0) throw new Error(`ssh-add failed: ${added.stderr}`);
});

afterAll(async () => {
  if (agent?.pid) agent.kill('SIGTERM');
  await lab?.stop();
});

const withAgent = () => ({ extraArgs: ['-A', '-o', `IdentityAgent=${socket}`], env: { PATH: '/usr/bin:/bin', SSH_AUTH_SOCK: socket } });

it('sshd does forward the agent to a plain forced command (the control)', async () => {
  const result = await lab.sshd.ssh(control, 'ignored', withAgent());
  expect(result.stdout.toString()).toMatch(/^SSH_AUTH_SOCK=/m);
});

it('ssh-dispatch does not pass SSH_AUTH_SOCK to the program', async () => {
  const result = await lab.sshd.ssh(dispatched, 'env', withAgent());
  expect(result.code).toBe(0);
  expect(result.stdout.toString()).not.toMatch(/SSH_AUTH_SOCK/);
  expect(lab.lastDecision()).toMatchObject({ decision: 'allow', rule: 'env' });
});
