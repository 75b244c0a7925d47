/**
 * One policy as the only list of keys (issue 19), through a real sshd configured with the lines
 * `ssh-dispatch authorized-key --sshd-config` prints: AuthorizedKeysFile none, the keys and
 * principals commands run as a dedicated account (made by install.sh --commands-user), and a
 * user CA made with ssh-keygen. ssh-dispatch is installed by install.sh under /run, where sshd
 * accepts the command's path (root's up to /; a checkout under /tmp is not).
 *
 * A listed key gets in, an unlisted one does not, nor a listed one from an address its from=
 * does not admit; a certificate with a listed principal gets in and its key id and serial are in
 * the records; another principal, an expired certificate, and a policy that does not load get
 * nothing. A relay identity's key reaches its destination with ssh -W and no other (issue 29:
 * the served line's permitopen). Every record also reaches a central rsyslogd over TLS (gtls). The control: the same CA trusted the way sshd allows without a principals command
 * gives a certificate naming root a root shell, which check calls UNSAFE.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SSH, ThrowawaySshd, type ClientKey } from '../../src/lab/throwaway-sshd.js';
import { makePki } from '../test-pki.js';
import { startTlsCollector, type TlsCollector } from './tls-collector.js';

const asRoot = process.getuid?.() === 0;
const KEYS_USER = 'sshd-e2e-keys';
const repo = fileURLToPath(new URL('../../', import.meta.url));
const ENV = { PATH: '/usr/bin:/bin:/usr/sbin:/sbin' };

let dir: string;
let prefix: string;
let policies: string;
let audit: string;
let sshd: ThrowawaySshd | null = null;
let control: ThrowawaySshd | null = null;
let userCreated = false;
let collector: TlsCollector | null = null;
let collectorCa: string;
const keys: Record<string, ClientKey> = {};

const command = () => join(prefix, 'bin', 'ssh-dispatch');
const dispatch = (...args: string[]) => spawnSync(command(), args, { encoding: 'utf8', env: ENV, timeout: 60_000 });
const records = () =>
  readFileSync(audit, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

/** Signs `key` with the test CA: a user certificate beside it (KEY-cert.pub), which ssh -i offers. */
function certify(key: ClientKey, options: { id: string; principals: string; serial: number; validity: string }): void {
  execFileSync('/usr/bin/ssh-keygen', [
    '-q',
    '-s',
    join(dir, 'ca'),
    '-I',
    options.id,
    '-n',
    options.principals,
    '-z',
    String(options.serial),
    '-V',
    options.validity,
    `${key.privateKeyFile}.pub`,
  ]);
}

function writePolicy(text: string): void {
  // 0640, group of the commands' account (docs/fleet.md): it reads the policy and the cache,
  // which takes the policy's modes and group; other local users read neither.
  const file = join(policies, 'main.yaml');
  writeFileSync(file, text, { mode: 0o640 });
  chmodSync(file, 0o640);
  chownSync(file, 0, Number(execFileSync('/usr/bin/id', ['-g', KEYS_USER], { encoding: 'utf8' }).trim()));
}

const goodPolicy = () => `version: 1
audit:
  file: ${audit}
  syslog: { tcp: "127.0.0.1:${collector!.ports.central}", tls: { ca: ${collectorCa} } }
identities:
  host1:
    keys: ["${keys.listed!.publicKey}"]
    accounts: [root]
    from: [127.0.0.0/8]
    rules:
      - { name: hello, exec: { command: "echo host1", program: /bin/echo } }
  far-away:
    keys: ["${keys.far!.fingerprint}"]
    accounts: [root]
    from: [192.0.2.0/24]
    rules:
      - { name: hello, exec: { command: "echo far", program: /bin/echo } }
  alice:
    principals: [alice]
    accounts: [root]
    rules:
      - { name: hello, exec: { command: "echo alice", program: /bin/echo } }
  hop:
    keys: ["${keys.hop!.fingerprint}"]
    accounts: [root]
    rules:
      - { name: to-sshd, relay: { to: ["127.0.0.1:${sshd!.port}"] } }
`;

describe.runIf(asRoot)('the policy as the only list of keys, through a real sshd', () => {
  beforeAll(async () => {
    // Under /run: sshd runs a command only where root owns every directory up to /.
    dir = mkdtempSync('/run/ssh-dispatch-fleet-');
    chmodSync(dir, 0o755);
    prefix = join(dir, 'usr');
    policies = join(dir, 'etc', 'ssh-dispatch', 'policies');
    audit = join(dir, 'log', 'audit.jsonl');
    userCreated = spawnSync('/usr/bin/id', ['-u', KEYS_USER]).status !== 0;
    mkdirSync(join(dir, 'etc', 'logrotate.d'), { recursive: true });
    const installed = spawnSync(
      'bash',
      [
        join(repo, 'install.sh'),
        '--prefix',
        prefix,
        '--etc',
        join(dir, 'etc', 'ssh-dispatch'),
        '--log-dir',
        join(dir, 'log'),
        '--logrotate-dir',
        join(dir, 'etc', 'logrotate.d'),
        '--commands-user',
        KEYS_USER,
      ],
      { encoding: 'utf8', env: ENV, timeout: 120_000 },
    );
    expect(installed.status, installed.stdout + installed.stderr).toBe(0);
    execFileSync('/usr/bin/ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'test-user-ca', '-f', join(dir, 'ca')]);
    // The central collector: rsyslogd over TLS, its certificate from a CA made by openssl.
    mkdirSync(join(dir, 'collector'));
    const pki = makePki(join(dir, 'collector'), { central: 'IP:127.0.0.1' });
    collectorCa = pki.ca;
    collector = await startTlsCollector(join(dir, 'collector'), { ca: pki.ca, cert: pki.servers.central!, inputs: { central: null } });

    const lines = dispatch(
      'authorized-key',
      '--sshd-config',
      '--ca',
      join(dir, 'ca.pub'),
      '--user',
      KEYS_USER,
      '--command',
      command(),
      '--policy',
      policies,
    );
    expect(lines.status, lines.stderr).toBe(0);
    // Forwarding as docs/rules/relay.md asks for the accounts relay identities log into (check: sshd-stream-forwarding).
    const forwarding = ['AllowTcpForwarding local', 'AllowStreamLocalForwarding no'];
    sshd = await ThrowawaySshd.start({ extraConfig: [...forwarding, ...lines.stdout.split('\n').filter((l) => l && !l.startsWith('#'))] });
    for (const name of ['listed', 'unlisted', 'far', 'alice', 'bob', 'expired', 'root-cert', 'hop'])
      keys[name] = await sshd.newClientKey(name);
    certify(keys.alice!, { id: 'alice@laptop', principals: 'alice', serial: 1001, validity: '-5m:+1h' });
    certify(keys.bob!, { id: 'bob@laptop', principals: 'bob', serial: 1002, validity: '-5m:+1h' });
    certify(keys.expired!, { id: 'alice@old-laptop', principals: 'alice', serial: 1003, validity: '20200101:20200102' });
    certify(keys['root-cert']!, { id: 'thief', principals: 'root', serial: 666, validity: '-5m:+1h' });
    writePolicy(goodPolicy());
    // The deploy step, as root: apply serves the policy, compiled for the commands' account, and
    // check reads sshd's side of it (the commands are tried as their account).
    expect(dispatch('apply', '--policy', policies).status).toBe(0);
    const checked = dispatch('check', '--policy', policies, '--sshd-config', join(sshd.dir, 'sshd_config'));
    expect(checked.stdout).not.toMatch(/UNSAFE|error/);
  }, 240_000);

  afterAll(async () => {
    await sshd?.stop();
    await control?.stop();
    await collector?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (userCreated) spawnSync('/usr/sbin/userdel', [KEYS_USER], { stdio: 'ignore' });
  });

  it('sshd is set up as printed: no authorized_keys files, the two commands as their own account', () => {
    const config = readFileSync(join(sshd!.dir, 'sshd_config'), 'utf8');
    expect(config).toContain('AuthorizedKeysFile none');
    expect(config).toContain(`AuthorizedKeysCommand ${command()} authorized-keys-command --policy ${policies} %u %t %k`);
    expect(config).toContain(`AuthorizedPrincipalsCommandUser ${KEYS_USER}`);
    expect(readFileSync(join(sshd!.dir, 'authorized_keys'), 'utf8').trim()).toBe('');
  });

  it("the applied version is readable by the commands' account and nobody else, like the policy", () => {
    const state = join(policies, '.ssh-dispatch-applied');
    const [hash] = readdirSync(state);
    const version = join(state, hash!, 'v', readFileSync(join(state, hash!, 'current'), 'utf8').trim());
    const [entry] = readdirSync(join(version, 'compiled'));
    const logins = statSync(join(version, 'compiled', entry!, 'logins', 'root', 'principals.json'));
    const gid = statSync(join(policies, 'main.yaml')).gid;
    expect([logins.mode & 0o777, logins.gid]).toEqual([0o640, gid]);
    expect(statSync(join(version, 'compiled', entry!)).mode & 0o777).toBe(0o750);
    expect([statSync(join(version, 'src', '0')).mode & 0o777, statSync(join(version, 'src', '0')).gid]).toEqual([0o640, gid]);
  });

  it('a key the policy lists gets in, runs only its rule, and is recorded', async () => {
    const result = await sshd!.ssh(keys.listed!, 'echo host1');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.toString()).toBe('host1\n');
    const decision = records()
      .filter((r) => r.event === 'decision')
      .pop();
    expect(decision).toMatchObject({ id: 'host1', decision: 'allow', key: keys.listed!.fingerprint, user: 'root' });
    const refused = await sshd!.ssh(keys.listed!, 'cat /etc/shadow');
    expect(refused.code).toBe(126);
  });

  it('a key the policy does not list gets nothing: sshd refuses it, no session begins', async () => {
    const before = records().length;
    const result = await sshd!.ssh(keys.unlisted!, 'echo host1');
    expect(result.code).toBe(255);
    expect(result.stderr).toContain('Permission denied (publickey)');
    expect(records()).toHaveLength(before);
  });

  it('a listed key from an address its from= does not admit is refused by sshd', async () => {
    const result = await sshd!.ssh(keys.far!, 'echo far');
    expect(result.code).toBe(255);
    expect(readFileSync(sshd!.logFile, 'utf8')).toMatch(
      /Authentication tried for root with correct key but not from a permitted host|not allowed to login from/,
    );
  });

  it('ssh -W through the line authorized-keys-command serves reaches the relay destination and nothing else', async () => {
    const hop = (port: number) =>
      new Promise<{ stdout: string; stderr: string }>((resolve) => {
        const child = spawn(SSH, sshd!.sshArgs(keys.hop!, ['-W', `127.0.0.1:${port}`]), { stdio: ['pipe', 'pipe', 'pipe'] });
        const out = { stdout: '', stderr: '' };
        child.stdout.on('data', (d: Buffer) => {
          out.stdout += d.toString();
          // The destination's banner: reached; ssh -W would wait for the client's version next.
          if (out.stdout.includes('\n')) child.kill('SIGTERM');
        });
        child.stderr.on('data', (d: Buffer) => (out.stderr += d.toString()));
        const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
        child.once('close', () => (clearTimeout(timer), resolve(out)));
      });
    expect((await hop(sshd!.port)).stdout).toMatch(/^SSH-2\.0-/);
    const refused = await hop(sshd!.port + 1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toContain('stdio forwarding failed');
    expect(readFileSync(sshd!.logFile, 'utf8')).toContain(
      `to connect to host 127.0.0.1 port ${sshd!.port + 1}, but the request was denied.`,
    );
  });

  it('a certificate naming a listed principal gets in; its key id and serial are in every record', async () => {
    const result = await sshd!.ssh(keys.alice!, 'echo alice');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.toString()).toBe('alice\n');
    const decision = records()
      .filter((r) => r.event === 'decision')
      .pop()!;
    expect(decision).toMatchObject({
      id: 'alice',
      decision: 'allow',
      cert_id: 'alice@laptop',
      cert_serial: '1001',
      cert_principals: ['alice'],
      key: keys.alice!.fingerprint,
    });
    const end = records().filter((r) => r.event === 'end' && r.session === decision.session);
    expect(end).toMatchObject([{ outcome: 'exited', exit: 0, cert_id: 'alice@laptop', cert_serial: '1001' }]);
    // logs finds a certificate's sessions by its serial, for whoever revokes it.
    const shown = dispatch('logs', '--log', audit, '--cert', '1001', '--json');
    expect(
      shown.stdout
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as Record<string, unknown>).event),
    ).toEqual(['decision', 'end']);
    // The central collector has them too, over TLS, certificate fields and all.
    const arrived = await collector!.arrivedFor(decision.session, 2);
    expect(arrived.map((a) => a.record)).toEqual(records().filter((r) => r.session === decision.session));
    expect(arrived.map((a) => [a.input, a.msgid, a.record.cert_id, a.record.cert_serial])).toEqual([
      ['central', 'decision', 'alice@laptop', '1001'],
      ['central', 'end', 'alice@laptop', '1001'],
    ]);
    // The plain key under that certificate is nobody's.
    rmSync(`${keys.alice!.privateKeyFile}-cert.pub`, { force: true });
    expect((await sshd!.ssh(keys.alice!, 'echo alice')).code).toBe(255);
  });

  it('a certificate naming another principal gets nothing', async () => {
    const result = await sshd!.ssh(keys.bob!, 'echo alice');
    expect(result.code).toBe(255);
  });

  it('an expired certificate gets nothing', async () => {
    const result = await sshd!.ssh(keys.expired!, 'echo alice');
    expect(result.code).toBe(255);
    expect(readFileSync(sshd!.logFile, 'utf8')).toMatch(/[Cc]ertificate invalid: expired/);
  });

  it('a certificate naming root gets nothing; trusting the CA without the principals command gives it a root shell (control), which check calls UNSAFE', async () => {
    expect((await sshd!.ssh(keys['root-cert']!, 'id -u')).code).toBe(255);
    control = await ThrowawaySshd.start({ extraConfig: [`TrustedUserCAKeys ${join(dir, 'ca.pub')}`, 'PermitRootLogin prohibit-password'] });
    const shell = await control.ssh(keys['root-cert']!, 'id -u');
    expect(shell.code, shell.stderr).toBe(0);
    expect(shell.stdout.toString()).toBe('0\n');
    const checked = dispatch('check', '--policy', policies, '--sshd-config', join(control.dir, 'sshd_config'));
    expect(checked.status).toBe(1);
    expect(checked.stdout).toMatch(/sshd: UNSAFE: TrustedUserCAKeys \S+ca\.pub without AuthorizedPrincipalsCommand/);
  });

  it("check reads Match blocks for the policy's accounts and addresses: a principals file for one network is UNSAFE there", () => {
    const config = join(sshd!.dir, 'sshd_config.match');
    writeFileSync(
      config,
      `${readFileSync(join(sshd!.dir, 'sshd_config'), 'utf8')}Match Address 192.0.2.0/24\n    AuthorizedPrincipalsFile /etc/ssh/principals/%u\n`,
    );
    const checked = dispatch('check', '--policy', policies, '--sshd-config', config);
    expect(checked.status).toBe(1);
    // far-away's from list names 192.0.2.0/24; the loopback connections are unaffected.
    expect(checked.stdout).toMatch(
      /sshd \(Match, for any account from 192\.0\.2\.0\): UNSAFE: AuthorizedPrincipalsFile \/etc\/ssh\/principals\/%u beside ssh-dispatch's principals command/,
    );
  });

  it('a deploy that breaks the policy: apply refuses it and says why, and every key is still served (issue 27: it accepted no key)', async () => {
    writePolicy(`${goodPolicy()}  broken: [\n`);
    try {
      const applied = dispatch('apply', '--policy', policies);
      expect(applied.status).toBe(1);
      expect(applied.stdout).toContain('main.yaml:');
      expect(applied.stdout).toMatch(/^refused: nothing changed; version \d+ .* is still served$/m);
      expect((await sshd!.ssh(keys.listed!, 'echo host1')).code).toBe(0);
    } finally {
      writePolicy(goodPolicy());
    }
  });

  it('a key removed from the policy is refused at the next connection', async () => {
    writePolicy(goodPolicy().replace(/ {2}host1:\n[\s\S]*? {2}far-away:/, '  far-away:'));
    try {
      // Edited, not applied: the key is still served.
      expect((await sshd!.ssh(keys.listed!, 'echo host1')).code).toBe(0);
      const applied = dispatch('apply', '--policy', policies);
      expect(applied.status, applied.stdout).toBe(0);
      expect(applied.stdout).toContain('identity host1 removed');
      expect((await sshd!.ssh(keys.listed!, 'echo host1')).code).toBe(255);
    } finally {
      writePolicy(goodPolicy());
      expect(dispatch('apply', '--policy', policies).status).toBe(0);
    }
  });
});
