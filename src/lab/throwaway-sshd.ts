/**
 * A real OpenSSH sshd on 127.0.0.1 with throwaway keys and config in a temp dir: what the demo
 * and the end-to-end tests run against. It never reads /etc/ssh or ~/.ssh, listens only on
 * loopback, and is stopped by its pid.
 *
 * Works as root (logging in as root, allowed only with a forced command) and as an ordinary
 * user (logging in as that same user; sshd cannot switch users then, and needs not).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
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
import { keyLine } from '../keyline.js';
import { sshFingerprint } from '../request/ssh-key.js';

const run = promisify(execFile);
export const SSHD = '/usr/sbin/sshd';
export const SSH = '/usr/bin/ssh';
const SSH_KEYGEN = '/usr/bin/ssh-keygen';
/** How many ports sshd is tried on before giving up (each taken between probe and bind). */
const BIND_ATTEMPTS = 5;

export interface ClientKey {
  name: string;
  privateKeyFile: string;
  publicKey: string;
  fingerprint: string;
}

export interface SshResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
}

export interface SshOptions {
  /** Bytes for the remote command's stdin; stdin is closed (empty) when absent. */
  input?: Buffer | NodeJS.ReadableStream;
  /** More ssh(1) options, such as ['-A'] with an agent. */
  extraArgs?: string[];
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

export function authorizedKeyLine(options: string, command: string[], key: ClientKey): string {
  return keyLine({ options: options ? [options] : [], command, publicKey: key.publicKey });
}

async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export class ThrowawaySshd {
  private keys = 0;

  private constructor(
    readonly dir: string,
    readonly port: number,
    private readonly process: ChildProcess,
    /** The account clients log in as. */
    readonly user: string,
  ) {}

  get pid(): number {
    return this.process.pid!;
  }

  get logFile(): string {
    return join(this.dir, 'sshd.log');
  }

  /**
   * `user`: the account to log in as (default: the one running this; another one needs root).
   * `pickPort`: where the next attempt listens (default: a port the kernel just said was free).
   *
   * A free port is only free until someone else binds it, and sshd binds it a moment later in
   * another process: when sshd reports the port taken, it is started again on another one.
   */
  static async start(options: { extraConfig?: string[]; user?: string; pickPort?: () => Promise<number> } = {}): Promise<ThrowawaySshd> {
    for (const tool of [SSHD, SSH, SSH_KEYGEN]) {
      if (!existsSync(tool)) throw new Error(`${tool} is missing: apt-get install -y openssh-server openssh-client`);
    }
    const dir = mkdtempSync(join(tmpdir(), 'ssh-dispatch-lab-'));
    try {
      await run(SSH_KEYGEN, ['-q', '-t', 'ed25519', '-N', '', '-C', 'throwaway-host', '-f', join(dir, 'host_ed25519')]);
      // sshd as root wants its privilege separation directory; Debian creates it only when the
      // system service starts, which ours never does.
      if (process.getuid?.() === 0 && !existsSync('/run/sshd')) mkdirSync('/run/sshd', { mode: 0o755 });
      writeFileSync(join(dir, 'authorized_keys'), '', { mode: 0o600 });
      const user = options.user ?? userInfo().username;
      // sshd reads authorized_keys as the user logging in: another user needs a way in.
      if (user !== userInfo().username) chmodSync(dir, 0o711);
      for (let attempt = 1; ; attempt++) {
        const port = await (options.pickPort ?? freeLoopbackPort)();
        const started = await ThrowawaySshd.listen(dir, port, user, options.extraConfig ?? []);
        if (started instanceof ThrowawaySshd) return started;
        if (!started.portTaken || attempt >= BIND_ATTEMPTS) throw new Error(`sshd did not start: ${started.log}`);
      }
    } catch (error) {
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
  }

  /** One attempt: sshd on `port`, up and listening, or why not (and whether the port was taken). */
  private static async listen(
    dir: string,
    port: number,
    user: string,
    extraConfig: string[],
  ): Promise<ThrowawaySshd | { portTaken: boolean; log: string }> {
    // sshd takes the first value of a keyword: the caller's lines come first, so that they can
    // change the defaults below (AuthorizedKeysFile none, for the fleet's login commands). No
    // Match block, then: it would take in every line after it.
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
    writeFileSync(configFile, config.join('\n') + '\n', { mode: 0o600 });
    writeFileSync(join(dir, 'known_hosts'), `[127.0.0.1]:${port} ${readFileSync(join(dir, 'host_ed25519.pub'), 'utf8')}`);
    await run(SSHD, ['-t', '-f', configFile]);

    const logFile = join(dir, 'sshd.log');
    const log = openSync(logFile, 'w');
    const child = spawn(SSHD, ['-D', '-e', '-f', configFile], { stdio: ['ignore', log, log] });
    closeSync(log);
    const sshd = new ThrowawaySshd(dir, port, child, user);
    // sshd says when it listens (LogLevel VERBOSE); a connection alone could reach whoever took
    // the port instead.
    const listening = `Server listening on 127.0.0.1 port ${port}.`;
    const deadline = Date.now() + 10_000;
    while (!readFileSync(logFile, 'utf8').includes(listening) || !(await canConnect(port))) {
      if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
        await sshd.stop({ keepDir: true });
        const text = readFileSync(logFile, 'utf8');
        return { portTaken: text.includes('Address already in use'), log: text };
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    return sshd;
  }

  async newClientKey(name = `client${++this.keys}`): Promise<ClientKey> {
    const file = join(this.dir, `key_${name}`);
    await run(SSH_KEYGEN, ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', file]);
    const publicKey = readFileSync(`${file}.pub`, 'utf8').trim();
    const blob = Buffer.from(publicKey.split(' ')[1]!, 'base64');
    return { name, privateKeyFile: file, publicKey, fingerprint: sshFingerprint(blob) };
  }

  /** Replaces authorized_keys; sshd reads it afresh for every connection. */
  authorize(lines: string[]): void {
    const file = join(this.dir, 'authorized_keys');
    writeFileSync(file, lines.join('\n') + '\n', { mode: 0o600 });
    if (this.user !== userInfo().username) {
      const [uid, gid] = readFileSync('/etc/passwd', 'utf8')
        .split('\n')
        .find((l) => l.startsWith(`${this.user}:`))!
        .split(':')
        .slice(2, 4)
        .map(Number);
      chownSync(file, uid!, gid!);
    }
  }

  /** ssh(1) options that reach this server with `key`, ending with the destination. */
  sshArgs(key: ClientKey, extra: string[] = []): string[] {
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
  rsyncRemoteShell(key: ClientKey): { shell: string; host: string } {
    const args = this.sshArgs(key);
    const host = args.pop()!;
    return { shell: [SSH, ...args].join(' '), host };
  }

  /** Runs `ssh host COMMAND` (or, with null, a session with no command) and collects the result. */
  ssh(key: ClientKey, command: string | null, options: SshOptions = {}): Promise<SshResult> {
    const args = this.sshArgs(key, ['-T', ...(options.extraArgs ?? [])]);
    if (command !== null) args.push('--', command);
    return new Promise((resolve, reject) => {
      const child = spawn(SSH, args, {
        stdio: ['pipe', 'pipe', 'pipe'],
        env: options.env ?? { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      });
      const stdout: Buffer[] = [];
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
      child.stdin.on('error', () => {
        // The remote side may refuse before reading its input; that is a result, not an error.
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      child.once('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, stdout: Buffer.concat(stdout), stderr });
      });
      if (options.input === undefined) child.stdin.end();
      else if (Buffer.isBuffer(options.input)) child.stdin.end(options.input);
      else options.input.pipe(child.stdin);
    });
  }

  /** Stops sshd by its pid and removes the temp dir (unless `keepDir`). */
  async stop({ keepDir = false }: { keepDir?: boolean } = {}): Promise<void> {
    const child = this.process;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    if (!keepDir) rmSync(this.dir, { recursive: true, force: true });
  }
}
