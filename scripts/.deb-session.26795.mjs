// src/lab/throwaway-sshd.ts
import { execFile, spawn } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  closeSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

// src/values/sha256.ts
var K = Uint32Array.of(
  1116352408,
  1899447441,
  3049323471,
  3921009573,
  961987163,
  1508970993,
  2453635748,
  2870763221,
  3624381080,
  310598401,
  607225278,
  1426881987,
  1925078388,
  2162078206,
  2614888103,
  3248222580,
  3835390401,
  4022224774,
  264347078,
  604807628,
  770255983,
  1249150122,
  1555081692,
  1996064986,
  2554220882,
  2821834349,
  2952996808,
  3210313671,
  3336571891,
  3584528711,
  113926993,
  338241895,
  666307205,
  773529912,
  1294757372,
  1396182291,
  1695183700,
  1986661051,
  2177026350,
  2456956037,
  2730485921,
  2820302411,
  3259730800,
  3345764771,
  3516065817,
  3600352804,
  4094571909,
  275423344,
  430227734,
  506948616,
  659060556,
  883997877,
  958139571,
  1322822218,
  1537002063,
  1747873779,
  1955562222,
  2024104815,
  2227730452,
  2361852424,
  2428436474,
  2756734187,
  3204031479,
  3329325298,
);
var H0 = Uint32Array.of(1779033703, 3144134277, 1013904242, 2773480762, 1359893119, 2600822924, 528734635, 1541459225);
var rotr = (x, n) => (x >>> n) | (x << (32 - n));
function sha256(data) {
  const blocks = Math.ceil((data.length + 9) / 64);
  const padded = new Uint8Array(blocks * 64);
  padded.set(data);
  padded[data.length] = 128;
  const view = new DataView(padded.buffer);
  view.setUint32(padded.length - 8, Math.floor(data.length / 2 ** 29));
  view.setUint32(padded.length - 4, (data.length * 8) >>> 0);
  const h = Uint32Array.from(H0);
  const w = new Uint32Array(64);
  for (let block = 0; block < blocks; block++) {
    for (let t = 0; t < 16; t++) w[t] = view.getUint32(block * 64 + t * 4);
    for (let t = 16; t < 64; t++) {
      const s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >>> 3);
      const s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >>> 10);
      w[t] = (w[t - 16] + s0 + w[t - 7] + s1) >>> 0;
    }
    let [a, b, c, d, e, f, g, hh] = h;
    for (let t = 0; t < 64; t++) {
      const t1 = (hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[t] + w[t]) >>> 0;
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) >>> 0;
      hh = g;
      g = f;
      f = e;
      e = (d + t1) >>> 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) >>> 0;
    }
    h[0] = (h[0] + a) >>> 0;
    h[1] = (h[1] + b) >>> 0;
    h[2] = (h[2] + c) >>> 0;
    h[3] = (h[3] + d) >>> 0;
    h[4] = (h[4] + e) >>> 0;
    h[5] = (h[5] + f) >>> 0;
    h[6] = (h[6] + g) >>> 0;
    h[7] = (h[7] + hh) >>> 0;
  }
  const digest = new Uint8Array(32);
  const out = new DataView(digest.buffer);
  for (let i = 0; i < 8; i++) out.setUint32(i * 4, h[i]);
  return digest;
}

// src/request/ssh-key.ts
var KEY_FIELDS = {
  'ssh-ed25519': 1,
  'ssh-rsa': 2,
  'ssh-dss': 4,
  'ecdsa-sha2-nistp256': 2,
  'ecdsa-sha2-nistp384': 2,
  'ecdsa-sha2-nistp521': 2,
  'sk-ssh-ed25519@openssh.com': 2,
  'sk-ecdsa-sha2-nistp256@openssh.com': 3,
};
var CERT_TYPES = new Map(Object.keys(KEY_FIELDS).map((plain) => [`${plain.replace(/@openssh\.com$/, '')}-cert-v01@openssh.com`, plain]));
var MAX_BLOB_BYTES = 64 * 1024;
function sshFingerprint(plainBlob) {
  return 'SHA256:' + Buffer.from(sha256(plainBlob)).toString('base64').replace(/=+$/, '');
}

// src/lab/throwaway-sshd.ts
var run = promisify(execFile);
var SSHD = '/usr/sbin/sshd';
var SSH = '/usr/bin/ssh';
var SSH_KEYGEN = '/usr/bin/ssh-keygen';
var BIND_ATTEMPTS = 5;
async function freeLoopbackPort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
function canConnect(port) {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
var ThrowawaySshd = class _ThrowawaySshd {
  constructor(dir, port, process2, user) {
    this.dir = dir;
    this.port = port;
    this.process = process2;
    this.user = user;
  }
  dir;
  port;
  process;
  user;
  keys = 0;
  get pid() {
    return this.process.pid;
  }
  get logFile() {
    return join(this.dir, 'sshd.log');
  }
  /**
   * `user`: the account to log in as (default: the one running this; another one needs root).
   * `pickPort`: where the next attempt listens (default: a port the kernel just said was free).
   *
   * A free port is only free until someone else binds it, and sshd binds it a moment later in
   * another process: when sshd reports the port taken, it is started again on another one.
   */
  static async start(options = {}) {
    for (const tool of [SSHD, SSH, SSH_KEYGEN]) {
      if (!existsSync(tool)) throw new Error(`${tool} is missing: apt-get install -y openssh-server openssh-client`);
    }
    const dir = mkdtempSync(join(tmpdir(), 'ssh-dispatch-lab-'));
    try {
      await run(SSH_KEYGEN, ['-q', '-t', 'ed25519', '-N', '', '-C', 'throwaway-host', '-f', join(dir, 'host_ed25519')]);
      if (process.getuid?.() === 0 && !existsSync('/run/sshd')) mkdirSync('/run/sshd', { mode: 493 });
      writeFileSync(join(dir, 'authorized_keys'), '', { mode: 384 });
      const user = options.user ?? userInfo().username;
      if (user !== userInfo().username) chmodSync(dir, 457);
      for (let attempt = 1; ; attempt++) {
        const port = await (options.pickPort ?? freeLoopbackPort)();
        const started = await _ThrowawaySshd.listen(dir, port, user, options.extraConfig ?? []);
        if (started instanceof _ThrowawaySshd) return started;
        if (!started.portTaken || attempt >= BIND_ATTEMPTS) throw new Error(`sshd did not start: ${started.log}`);
      }
    } catch (error) {
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
  }
  /** One attempt: sshd on `port`, up and listening, or why not (and whether the port was taken). */
  static async listen(dir, port, user, extraConfig) {
    const config = [
      ...extraConfig,
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(dir, 'host_ed25519')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      // The temp dir sits under /tmp, which StrictModes would refuse; the files are ours, 0600.
      'StrictModes no',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'PermitRootLogin forced-commands-only',
      'ExposeAuthInfo yes',
      'PermitUserEnvironment no',
      'AllowAgentForwarding yes',
      'AllowTcpForwarding yes',
      'X11Forwarding no',
      'UseDNS no',
      'PrintMotd no',
      'PrintLastLog no',
      'MaxStartups 256',
      'MaxSessions 64',
      'LogLevel VERBOSE',
      `AllowUsers ${user}`,
    ];
    const configFile = join(dir, 'sshd_config');
    writeFileSync(configFile, config.join('\n') + '\n', { mode: 384 });
    writeFileSync(join(dir, 'known_hosts'), `[127.0.0.1]:${port} ${readFileSync(join(dir, 'host_ed25519.pub'), 'utf8')}`);
    await run(SSHD, ['-t', '-f', configFile]);
    const logFile = join(dir, 'sshd.log');
    const log = openSync(logFile, 'w');
    const child = spawn(SSHD, ['-D', '-e', '-f', configFile], { stdio: ['ignore', log, log] });
    closeSync(log);
    const sshd2 = new _ThrowawaySshd(dir, port, child, user);
    const listening = `Server listening on 127.0.0.1 port ${port}.`;
    const deadline = Date.now() + 1e4;
    while (!readFileSync(logFile, 'utf8').includes(listening) || !(await canConnect(port))) {
      if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
        await sshd2.stop({ keepDir: true });
        const text = readFileSync(logFile, 'utf8');
        return { portTaken: text.includes('Address already in use'), log: text };
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    return sshd2;
  }
  async newClientKey(name = `client${++this.keys}`) {
    const file = join(this.dir, `key_${name}`);
    await run(SSH_KEYGEN, ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', file]);
    const publicKey = readFileSync(`${file}.pub`, 'utf8').trim();
    const blob = Buffer.from(publicKey.split(' ')[1], 'base64');
    return { name, privateKeyFile: file, publicKey, fingerprint: sshFingerprint(blob) };
  }
  /** Replaces authorized_keys; sshd reads it afresh for every connection. */
  authorize(lines) {
    const file = join(this.dir, 'authorized_keys');
    writeFileSync(file, lines.join('\n') + '\n', { mode: 384 });
    if (this.user !== userInfo().username) {
      const [uid, gid] = readFileSync('/etc/passwd', 'utf8')
        .split('\n')
        .find((l) => l.startsWith(`${this.user}:`))
        .split(':')
        .slice(2, 4)
        .map(Number);
      chownSync(file, uid, gid);
    }
  }
  /** ssh(1) options that reach this server with `key`, ending with the destination. */
  sshArgs(key, extra = []) {
    return [
      '-F',
      '/dev/null',
      '-i',
      key.privateKeyFile,
      '-o',
      'IdentitiesOnly=yes',
      '-o',
      'BatchMode=yes',
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      `UserKnownHostsFile=${join(this.dir, 'known_hosts')}`,
      '-o',
      'GlobalKnownHostsFile=/dev/null',
      '-o',
      'LogLevel=ERROR',
      '-o',
      'ConnectTimeout=10',
      '-p',
      String(this.port),
      ...extra,
      `${this.user}@127.0.0.1`,
    ];
  }
  /** For `rsync -e`: the ssh command line (options only; no path here has a space) and the host. */
  rsyncRemoteShell(key) {
    const args = this.sshArgs(key);
    const host = args.pop();
    return { shell: [SSH, ...args].join(' '), host };
  }
  /** Runs `ssh host COMMAND` (or, with null, a session with no command) and collects the result. */
  ssh(key, command, options = {}) {
    const args = this.sshArgs(key, ['-T', ...(options.extraArgs ?? [])]);
    if (command !== null) args.push('--', command);
    return new Promise((resolve, reject) => {
      const child = spawn(SSH, args, {
        stdio: ['pipe', 'pipe', 'pipe'],
        env: options.env ?? { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      });
      const stdout = [];
      let stderr = '';
      child.stdout.on('data', (chunk) => stdout.push(chunk));
      child.stderr.on('data', (chunk) => (stderr += chunk.toString('utf8')));
      child.stdin.on('error', () => {});
      const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 6e4);
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      child.once('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, stdout: Buffer.concat(stdout), stderr });
      });
      if (options.input === void 0) child.stdin.end();
      else if (Buffer.isBuffer(options.input)) child.stdin.end(options.input);
      else options.input.pipe(child.stdin);
    });
  }
  /** Stops sshd by its pid and removes the temp dir (unless `keepDir`). */
  async stop({ keepDir = false } = {}) {
    const child = this.process;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5e3);
      await exited;
      clearTimeout(timer);
    }
    if (!keepDir) rmSync(this.dir, { recursive: true, force: true });
  }
};

// scripts/deb-session.ts
var [id, allowed, expected, denied] = process.argv.slice(2);
if (!id || !allowed || expected === void 0 || !denied) {
  process.stderr.write('usage: deb-session.ts ID ALLOWED EXPECTED_OUTPUT DENIED\n');
  process.exit(2);
}
var sshd = await ThrowawaySshd.start({ user: 'root' });
var failures = 0;
try {
  const key = await sshd.newClientKey('deb-check');
  sshd.authorize([`restrict,command="/usr/bin/ssh-dispatch --id ${id}" ${key.publicKey}`]);
  const ok = await sshd.ssh(key, allowed);
  const out = ok.stdout.toString('utf8');
  if (ok.code === 0 && out === expected)
    process.stdout.write(`allowed: ${JSON.stringify(allowed)} exit 0, printed ${JSON.stringify(out)}
`);
  else {
    failures++;
    process.stderr.write(`allowed ${JSON.stringify(allowed)}: exit ${ok.code}, printed ${JSON.stringify(out)}, stderr ${JSON.stringify(ok.stderr)}
`);
  }
  const no = await sshd.ssh(key, denied);
  if (no.code === 126 && no.stderr.includes('request denied') && no.stdout.length === 0)
    process.stdout.write(`denied: ${JSON.stringify(denied)} exit 126, ${JSON.stringify(no.stderr.trim())}
`);
  else {
    failures++;
    process.stderr.write(`denied ${JSON.stringify(denied)}: exit ${no.code}, stdout ${JSON.stringify(no.stdout.toString())}, stderr ${JSON.stringify(no.stderr)}
`);
  }
} finally {
  await sshd.stop();
}
process.exit(failures === 0 ? 0 : 1);
