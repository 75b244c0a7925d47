/**
 * The forced-command mode through a real OpenSSH sshd on 127.0.0.1: what a client with the key
 * can and cannot do, what it is told, and what the audit log keeps.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes, createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientKey } from '../../src/lab/throwaway-sshd.js';
import { BUNDLE, NODE, startLab, type Lab } from './lab.js';

let lab: Lab;
let key: ClientKey;
let stranger: ClientKey;

const POLICY = `version: 1
audit:
  file: {{AUDIT}}
identities:
  e2e:
    from: [127.0.0.1]
    rules:
      - name: exit-code
        exec:
          command: ["/bin/sh", "-c", "echo out; echo err >&2; exit 7"]
      - name: self-kill
        exec:
          command: ["/bin/sh", "-c", "kill -TERM $$"]
      - name: cat
        exec:
          command: "cat"
          program: /bin/cat
      - name: cat-execve
        exec:
          command: "cat -"
          program: /bin/cat
          supervise: false
      - name: env
        exec:
          command: "env"
          program: /usr/bin/env
          env: { BACKUP_SET: nightly }
      - name: pwd-umask
        exec:
          command: ["/bin/sh", "-c", "pwd; umask"]
          cwd: {{DIR}}/work
          umask: "0027"
      - name: slow
        exec:
          command: "sleep 30"
          program: /bin/sleep
          timeout: 1s
      - name: missing-program
        exec:
          command: "ghost"
          program: /nonexistent/ghost
  elsewhere:
    from: [192.0.2.10]
    rules:
      - name: t
        exec: { command: "/bin/true" }
  keyed:
    keys: ["SHA256:AAAAztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s"]
    rules:
      - name: t
        exec: { command: "/bin/true" }
`;

beforeAll(async () => {
  lab = await startLab();
  lab.writePolicy(POLICY);
  mkdirSync(join(lab.sshd.dir, 'work'));
  key = await lab.sshd.newClientKey('e2e');
  stranger = await lab.sshd.newClientKey('stranger');
  lab.sshd.authorize([lab.dispatchLine(key, 'e2e'), lab.dispatchLine(stranger, 'keyed')]);
});

afterAll(async () => {
  await lab?.stop();
});

describe('allowed commands', () => {
  it('run with their output and exit status preserved, and leave a decision and an end record', async () => {
    const result = await lab.sshd.ssh(key, "/bin/sh -c 'echo out; echo err >&2; exit 7'");
    expect(result.code).toBe(7);
    expect(result.stdout.toString()).toBe('out\n');
    expect(result.stderr).toBe('err\n');
    const decision = lab.lastDecision();
    expect(decision).toMatchObject({
      event: 'decision',
      decision: 'allow',
      rule: 'exit-code',
      id: 'e2e',
      argv: ['/bin/sh', '-c', 'echo out; echo err >&2; exit 7'],
    });
    expect(decision.client).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(decision.key).toBe(key.fingerprint);
    const end = lab.recordsOf(String(decision.session)).find((r) => r.event === 'end');
    expect(end).toMatchObject({ outcome: 'exited', exit: 7, rule: 'exit-code' });
    expect(typeof end!.duration_ms).toBe('number');
  });

  it('report a child killed by signal N as exit 128+N', async () => {
    const result = await lab.sshd.ssh(key, "/bin/sh -c 'kill -TERM $$'");
    expect(result.code).toBe(143);
    const end = lab.recordsOf(String(lab.lastDecision().session)).find((r) => r.event === 'end');
    expect(end).toMatchObject({ outcome: 'signaled', signal: 'SIGTERM', exit: 143 });
  });

  it('end at their timeout, recorded as such', async () => {
    const started = Date.now();
    const result = await lab.sshd.ssh(key, 'sleep 30');
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(result.code).toBe(143);
    const end = lab.recordsOf(String(lab.lastDecision().session)).find((r) => r.event === 'end');
    expect(end).toMatchObject({ outcome: 'timeout', exit: 143 });
  });

  it('run in the rule cwd with the rule umask', async () => {
    const result = await lab.sshd.ssh(key, "/bin/sh -c 'pwd; umask'");
    expect(result.stdout.toString()).toBe(`${join(lab.sshd.dir, 'work')}\n0027\n`);
  });

  it('get only the minimal environment plus the rule env', async () => {
    const result = await lab.sshd.ssh(key, 'env');
    const names = result.stdout
      .toString()
      .trim()
      .split('\n')
      .map((line) => line.split('=')[0])
      .sort();
    expect(names).toEqual(['BACKUP_SET', 'HOME', 'LANG', 'LOGNAME', 'PATH', 'SSH_CONNECTION', 'USER']);
  });

  it('fail with 127 and an end record when the program is missing', async () => {
    const result = await lab.sshd.ssh(key, 'ghost');
    expect(result.code).toBe(127);
    const end = lab.recordsOf(String(lab.lastDecision().session)).find((r) => r.event === 'end');
    expect(end).toMatchObject({ outcome: 'start-failed', exit: 127, error: 'ENOENT' });
  });
});

describe('the data stream', () => {
  const data = randomBytes(50 * 1024 * 1024);
  const digest = createHash('sha256').update(data).digest('hex');

  it.each([
    ['supervised (spawn)', 'cat'],
    ['replaced (execve)', 'cat -'],
  ])(
    'passes 50 MB byte-identical both ways, %s',
    async (_how, command) => {
      const result = await lab.sshd.ssh(key, command, { input: data, timeoutMs: 120_000 });
      expect(result.code).toBe(0);
      expect(result.stdout.length).toBe(data.length);
      expect(createHash('sha256').update(result.stdout).digest('hex')).toBe(digest);
    },
    120_000,
  );

  it('after execve, writes no end record (nothing is left to write it)', async () => {
    await lab.sshd.ssh(key, 'cat -', { input: Buffer.from('x') });
    const decision = lab.lastDecision();
    expect(decision).toMatchObject({ decision: 'allow', rule: 'cat-execve', handoff: 'execve' });
    expect(lab.recordsOf(String(decision.session)).map((r) => r.event)).toEqual(['decision']);
  });
});

describe('refused requests', () => {
  it.each([
    ['a shell', 'sh -c id', 'no-rule-matched'],
    ['an operator', 'cat; id', 'tokenize-operator'],
    ['a substitution', 'cat $(id)', 'tokenize-substitution'],
    ['a variable', 'cat $HOME/.ssh/authorized_keys', 'tokenize-variable'],
    ['the sftp subsystem', '/usr/lib/openssh/sftp-server', 'no-rule-matched'],
  ])('%s: the client learns only that it was denied, the log says why', async (_name, command, reason) => {
    const result = await lab.sshd.ssh(key, command);
    expect(result.code).toBe(126);
    expect(result.stderr).toMatch(/^ssh-dispatch: refused by the server's policy \(session [0-9a-f]{8}\); ask its administrator\n$/);
    expect(result.stdout.length).toBe(0);
    expect(lab.lastDecision()).toMatchObject({ decision: 'deny', reason, command });
  });

  it('a session with no command is denied and recorded with command null', async () => {
    const result = await lab.sshd.ssh(key, null);
    expect(result.code).toBe(126);
    expect(lab.lastDecision()).toMatchObject({ decision: 'deny', reason: 'no-command', command: null });
  });

  it('control characters are refused and never reach the log raw', async () => {
    const result = await lab.sshd.ssh(key, 'cat \u001b]0;owned\u0007 x\r\n{"decision":"allow"}');
    expect(result.code).toBe(126);
    const raw = (await import('node:fs')).readFileSync(lab.auditFile, 'utf8');
    expect(raw).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f]/);
    expect(lab.lastDecision()).toMatchObject({
      decision: 'deny',
      reason: 'tokenize-control-character',
      command: 'cat \u001b]0;owned\u0007 x\r\n{"decision":"allow"}',
    });
  });

  it('a key that is not in the identity keys list is denied', async () => {
    const result = await lab.sshd.ssh(stranger, 'true');
    expect(result.code).toBe(126);
    expect(lab.lastDecision()).toMatchObject({ id: 'keyed', decision: 'deny', reason: 'key-not-allowed', key: stranger.fingerprint });
  });

  it('a client address outside the from list is denied', async () => {
    lab.sshd.authorize([lab.dispatchLine(key, 'elsewhere')]);
    try {
      const result = await lab.sshd.ssh(key, '/bin/true');
      expect(result.code).toBe(126);
      expect(lab.lastDecision()).toMatchObject({ id: 'elsewhere', decision: 'deny', reason: 'from-not-allowed' });
    } finally {
      lab.sshd.authorize([lab.dispatchLine(key, 'e2e'), lab.dispatchLine(stranger, 'keyed')]);
    }
  });

  it('a world-writable policy file changes nothing served: the applied version serves on (issue 27: it denied every key)', async () => {
    const file = join(lab.policyDir, 'main.yaml');
    chmodSync(file, 0o666);
    try {
      const result = await lab.sshd.ssh(key, 'cat', { input: Buffer.from('x') });
      expect(result.code).toBe(0);
      expect(result.stdout.toString()).toBe('x');
      // The control: the files as they are now do not load (apply would refuse them).
      const checked = spawnSync(NODE, [BUNDLE, 'check', '--policy', lab.policyDir], { encoding: 'utf8' });
      expect(checked.stdout).toMatch(/writable by group or others/);
    } finally {
      chmodSync(file, 0o600);
    }
  });
});

describe('the audit log', () => {
  it('every record written validates against schema/audit.schema.json', () => {
    const checked = lab.checkRecords();
    expect(checked.invalid).toEqual([]);
    expect(checked.records).toBeGreaterThan(10);
  });
});
