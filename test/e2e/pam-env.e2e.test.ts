/**
 * The administrators' environment through a real sshd with `UsePAM yes` (issue 27, item 6):
 * pam_env puts SSL_CERT_FILE and NODE_EXTRA_CA_CERTS into every session, as /etc/environment
 * does behind a TLS-inspecting proxy. Naming root's CA bundle, the request runs and the program
 * sees neither variable; the control, the same name pointing to a bundle under /tmp, is denied
 * with the variable and the reason in the record.
 *
 * sshd's PAM service is "sshd", read from /etc/pam.d, which a test must not write. So sshd runs
 * in a mount namespace of its own (unshare -m, private propagation) where a temp directory is
 * bound over /etc/pam.d: the machine's /etc/pam.d is never written and no mount is seen outside
 * (both asserted). pam_env reads the test's own files (envfile=, conffile=), not /etc/environment.
 * ThrowawaySshd (src/lab/) spawns sshd directly, so this file starts its own, as small.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorizedKeyLine, SSH, SSHD, type ClientKey } from '../../src/lab/throwaway-sshd.js';
import { walkPath } from '../../src/request/root-path.js';
import { judgeSessionEnv } from '../../src/request/session-env.js';
import { applyPolicy, BUNDLE, NODE } from './lab.js';
import { waitFor } from './wait.js';

/** Root's CA bundle on Debian: root owns it and every directory above it (asserted below). */
const ROOT_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';
const pamDigest = () => execFileSync('/bin/sh', ['-c', 'cat /etc/pam.d/* | sha256sum'], { encoding: 'utf8' });
const mountedOverPamD = () => readFileSync('/proc/self/mountinfo', 'utf8').includes(' /etc/pam.d ');

let dir: string;
let sshd: ChildProcess;
let port: number;
let key: ClientKey;
const pamBefore = pamDigest();

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** sshd in its own mount namespace with `pamDir` as /etc/pam.d; retried when its port was taken meanwhile. */
async function startSshd(pamDir: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    const config = join(dir, 'sshd_config');
    writeFileSync(
      config,
      [
        `Port ${port}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${join(dir, 'host')}`,
        `PidFile ${join(dir, 'sshd.pid')}`,
        `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
        'StrictModes no',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'UsePAM yes',
        'PermitRootLogin forced-commands-only',
        'PermitUserEnvironment no',
        'ExposeAuthInfo yes',
        'PrintMotd no',
        'UseDNS no',
        'LogLevel VERBOSE',
        'AllowUsers root',
      ].join('\n') + '\n',
      { mode: 0o600 },
    );
    const log = join(dir, `sshd.${attempt}.log`);
    writeFileSync(log, '');
    // unshare -m: a new mount namespace, propagation private by default, so the bind stays inside.
    const script = 'mount --bind "$0" /etc/pam.d && exec "$1" -D -e -f "$2" >>"$3" 2>&1';
    sshd = spawn('/usr/bin/unshare', ['--mount', '--propagation', 'private', '/bin/sh', '-c', script, pamDir, SSHD, config, log], {
      stdio: 'ignore',
      env: { PATH: '/usr/sbin:/usr/bin:/bin' },
    });
    const listening = `Server listening on 127.0.0.1 port ${port}.`;
    await waitFor('sshd to listen or exit', () => readFileSync(log, 'utf8').includes(listening) || sshd.exitCode !== null, {
      timeoutMs: 10_000,
    });
    if (sshd.exitCode === null) return;
    const text = readFileSync(log, 'utf8');
    if (!text.includes('Address already in use') || attempt >= 5) throw new Error(`sshd did not start: ${text}`);
  }
}

function ssh(command: string): { code: number | null; stdout: string } {
  const args = [
    ...['-F', '/dev/null', '-i', key.privateKeyFile, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes'],
    ...['-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${join(dir, 'known_hosts')}`, '-o', 'LogLevel=ERROR'],
    ...['-p', String(port), '-T', 'root@127.0.0.1', '--', command],
  ];
  try {
    return { code: 0, stdout: execFileSync(SSH, args, { encoding: 'utf8', env: { PATH: '/usr/bin:/bin' }, timeout: 30_000 }) };
  } catch (error) {
    const failed = error as { status: number | null; stdout: string };
    return { code: failed.status, stdout: failed.stdout };
  }
}

const records = () =>
  readFileSync(join(dir, 'audit.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((r) => r.event === 'decision');

beforeAll(async () => {
  expect(process.getuid?.(), 'sshd with UsePAM and a mount namespace need root').toBe(0);
  dir = mkdtempSync(join(tmpdir(), 'ssh-dispatch-pam-env-'));
  const pamDir = join(dir, 'pam.d');
  mkdirSync(pamDir);
  // Public-key logins use PAM's account and session stacks only; pam_env sets the variables.
  writeFileSync(
    join(pamDir, 'sshd'),
    [
      'auth required pam_deny.so',
      'account required pam_permit.so',
      `session required pam_env.so readenv=1 user_readenv=0 envfile=${join(dir, 'environment')} conffile=${join(dir, 'pam_env.conf')}`,
      'session required pam_permit.so',
      'password required pam_deny.so',
    ].join('\n') + '\n',
  );
  writeFileSync(join(dir, 'pam_env.conf'), '');
  execFileSync('/usr/bin/ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host')]);
  execFileSync('/usr/bin/ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'client')]);
  key = {
    name: 'client',
    privateKeyFile: join(dir, 'client'),
    publicKey: readFileSync(join(dir, 'client.pub'), 'utf8').trim(),
    fingerprint: '',
  };
  const policy = join(dir, 'policy.yaml');
  writeFileSync(
    policy,
    `version: 1\naudit:\n  file: ${join(dir, 'audit.jsonl')}\nidentities:\n  t:\n    rules:\n      - name: env\n        exec:\n          command: ["/usr/bin/env"]\n`,
    { mode: 0o600 },
  );
  applyPolicy(policy);
  writeFileSync(join(dir, 'authorized_keys'), `${authorizedKeyLine('restrict', [NODE, BUNDLE, '--id', 't', '--policy', policy], key)}\n`, {
    mode: 0o600,
  });
  await startSshd(pamDir);
  writeFileSync(join(dir, 'known_hosts'), `[127.0.0.1]:${port} ${readFileSync(join(dir, 'host.pub'), 'utf8')}`);
}, 30_000);

afterAll(async () => {
  if (sshd && sshd.exitCode === null) {
    const exited = new Promise((resolve) => sshd.once('exit', resolve));
    sshd.kill('SIGTERM');
    await exited;
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('pam_env through sshd with UsePAM yes', () => {
  it("runs with root's CA bundle in SSL_CERT_FILE and NODE_EXTRA_CA_CERTS, and the program sees neither", () => {
    // The meaning of this case: the machine's bundle is root's all the way up.
    const env = { SSL_CERT_FILE: ROOT_BUNDLE, NODE_EXTRA_CA_CERTS: ROOT_BUNDLE };
    expect(judgeSessionEnv(env, (p) => walkPath(p))).toEqual({ ok: true, accepted: ['NODE_EXTRA_CA_CERTS', 'SSL_CERT_FILE'] });
    writeFileSync(join(dir, 'environment'), `SSL_CERT_FILE=${ROOT_BUNDLE}\nNODE_EXTRA_CA_CERTS="${ROOT_BUNDLE}"\n`);
    const result = ssh('/usr/bin/env');
    expect(result.code).toBe(0);
    expect(records().at(-1)).toMatchObject({ decision: 'allow', rule: 'env' });
    const names = result.stdout
      .trim()
      .split('\n')
      .map((line) => line.split('=')[0]);
    expect(names).toContain('PATH');
    expect(names).not.toContain('SSL_CERT_FILE');
    expect(names).not.toContain('NODE_EXTRA_CA_CERTS');
  });

  it('control: the same variable naming a bundle under /tmp is denied, the record naming it and why', () => {
    const bundle = join(dir, 'corp.pem');
    writeFileSync(bundle, readFileSync(ROOT_BUNDLE));
    writeFileSync(join(dir, 'environment'), `SSL_CERT_FILE=${bundle}\n`);
    const result = ssh('/usr/bin/env');
    expect(result.code).toBe(126);
    expect(result.stdout).toBe('');
    const record = records().at(-1)!;
    expect(record).toMatchObject({ decision: 'deny', reason: 'unsafe-environment' });
    expect(record.detail).toMatch(/^set: SSL_CERT_FILE \(\/tmp is writable by group or others \(mode 1777\)/);
  });

  it('control: a variable outside the CA family set by pam_env still denies as before', () => {
    writeFileSync(join(dir, 'environment'), `SSL_CERT_FILE=${ROOT_BUNDLE}\nOPENSSL_CONF=/dev/null\n`);
    expect(ssh('/usr/bin/env').code).toBe(126);
    expect(records().at(-1)).toMatchObject({ decision: 'deny', reason: 'unsafe-environment', detail: 'set: OPENSSL_CONF' });
  });

  it("left the machine's /etc/pam.d as it was, with nothing mounted over it here", () => {
    expect(existsSync(join(dir, 'pam.d', 'sshd'))).toBe(true);
    expect(pamDigest()).toBe(pamBefore);
    expect(mountedOverPamD()).toBe(false);
    expect(createHash('sha256').update(readFileSync('/etc/pam.d/sshd')).digest('hex')).not.toBe(
      createHash('sha256')
        .update(readFileSync(join(dir, 'pam.d', 'sshd')))
        .digest('hex'),
    );
  });
});
