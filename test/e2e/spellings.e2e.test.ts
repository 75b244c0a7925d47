/**
 * Spellings through the real sshd (rules/spelling.ts): `rsync --rsync-path='sudo -n rsync'` and
 * `--rsync-path='nice -n 19 rsync'` pushes land confined, run by the rule's rsync as the account
 * (no sudo is run, none need be installed) with the rule's own nice/ionice; Debian's
 * `ProxyCommand ssh gw nc -q0 %h %p` hops through a relay rule to a second sshd; `doas rsync` is
 * refused with its own reason.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorizedKeyLine, SSH, ThrowawaySshd, type ClientKey } from '../../src/lab/throwaway-sshd.js';
import { startLab, type Lab } from './lab.js';
import { waitFor } from './wait.js';

let lab: Lab;
let target: ThrowawaySshd;
let pushKey: ClientKey;
let hopKey: ClientKey;
let targetKey: ClientKey;
let root: string;
let src: string;

beforeAll(async () => {
  [lab, target] = await Promise.all([startLab(), ThrowawaySshd.start()]);
  root = join(lab.sshd.dir, 'backup');
  src = join(lab.sshd.dir, 'src');
  mkdirSync(root, { mode: 0o700 });
  mkdirSync(src);
  writeFileSync(join(src, 'a.txt'), 'spelled\n');
  lab.writePolicy(`version: 1
audit:
  file: {{AUDIT}}
identities:
  push:
    rules:
      - name: nightly
        rsync: { root: ${root}, access: write, nice: 19, ionice: idle }
  hop:
    rules:
      - name: to-target
        relay:
          to: ["127.0.0.1:${target.port}"]
`);
  pushKey = await lab.sshd.newClientKey('push');
  hopKey = await lab.sshd.newClientKey('hop');
  targetKey = await target.newClientKey('target');
  lab.sshd.authorize([lab.dispatchLine(pushKey, 'push'), lab.dispatchLine(hopKey, 'hop')]);
  target.authorize([authorizedKeyLine('restrict', ['/bin/echo', 'reached-target'], targetKey)]);
});

afterAll(async () => {
  await Promise.all([lab?.stop(), target?.stop()]);
});

function rsyncArgs(args: string[]): string[] {
  const { shell, host } = lab.sshd.rsyncRemoteShell(pushKey);
  return ['-e', shell, ...args.map((a) => a.replace('HOST:', `${host}:`))];
}

function rsync(args: string[]): { code: number | null; out: string } {
  const result = spawnSync('/usr/bin/rsync', rsyncArgs(args), { encoding: 'utf8', timeout: 60_000, cwd: lab.sshd.dir });
  return { code: result.status, out: result.stdout + result.stderr };
}

const uidOf = (user: string) =>
  Number(
    readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .find((l) => l.startsWith(`${user}:`))!
      .split(':')[2],
  );

/** The processes whose argv holds `marker`, with their program, uid and niceness. */
function processesWith(marker: string): { pid: number; argv: string[]; uid: number; nice: number }[] {
  const found = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').filter(Boolean);
      if (!argv.some((word) => word.includes(marker))) continue;
      const uid = Number(/^Uid:\s+([0-9]+)/m.exec(readFileSync(`/proc/${entry}/status`, 'utf8'))![1]);
      // Field 19 of stat is the niceness; fields are counted after the parenthesised name.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const nice = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
      found.push({ pid: Number(entry), argv, uid, nice });
    } catch {
      // Gone meanwhile.
    }
  }
  return found;
}

describe('rsync spellings', () => {
  it.each([
    ['sudo -n rsync', 'sudo-n'],
    ['nice -n 19 rsync', 'nice-19'],
    ['sudo -u root rsync', 'sudo-u-root'],
    ['ionice -c3 /usr/bin/rsync', 'ionice'],
  ])("--rsync-path='%s': the push lands inside root, run by the rule's rsync", (spelling, dir) => {
    const result = rsync(['-rt', `--rsync-path=${spelling}`, `${src}/`, `HOST:${dir}/`]);
    expect(result.code, result.out).toBe(0);
    expect(readFileSync(join(root, dir, 'a.txt'), 'utf8')).toBe('spelled\n');
    // Without -o the file is owned by whoever ran the receiver: the account, never root by sudo.
    expect(statSync(join(root, dir, 'a.txt')).uid).toBe(uidOf(lab.sshd.user));
    const decision = lab.lastDecision();
    expect(decision).toMatchObject({
      decision: 'allow',
      rule: 'nightly',
      spelling,
      command: expect.stringMatching(new RegExp(`^${spelling.replaceAll('/', '\\/')} --server`)),
      priority: { nice: 19, ionice: 'idle' },
    });
    const argv = decision.argv as string[];
    expect(argv[0]).toBe('/usr/bin/rsync');
    expect(argv.slice(0, argv.indexOf('--')).join(' ')).not.toMatch(/sudo|nice/);
    // The installed rsync's features were asked for behind the wrapper too.
    expect(argv).toContain(`--confine-root=${root}`);
    const end = lab.recordsOf(String(decision.session)).find((r) => r.event === 'end');
    expect(end).toMatchObject({ outcome: 'exited', exit: 0 });
  });

  it("the running rsync is the account's, niced and idle by the rule, with no sudo anywhere", async () => {
    mkdirSync(join(src, 'slow'));
    writeFileSync(join(src, 'slow', 'big'), Buffer.alloc(400_000, 7));
    const client = spawn(
      '/usr/bin/rsync',
      rsyncArgs(['-rt', '--bwlimit=100', '--rsync-path=sudo -n nice -n 5 rsync', `${src}/slow/`, 'HOST:slow/']),
      { stdio: 'ignore', cwd: lab.sshd.dir },
    );
    const closed = new Promise<number | null>((r) => client.once('close', r));
    try {
      const server = await waitFor(
        'the server rsync',
        () => processesWith(`--confine-root=${root}`).find((p) => p.argv[0] === '/usr/bin/rsync' && p.argv.includes('--server')),
        { timeoutMs: 20_000 },
      );
      expect(server.uid).toBe(uidOf(lab.sshd.user));
      expect(server.nice).toBe(19); // the rule's nice: 19, not the client's -n 5
      const io = spawnSync('/usr/bin/ionice', ['-p', String(server.pid)], { encoding: 'utf8' });
      expect(io.stdout.trim()).toBe('idle');
      expect(processesWith('sudo').filter((p) => p.argv[0]?.endsWith('sudo'))).toEqual([]);
    } finally {
      expect(await closed).toBe(0);
    }
    expect(statSync(join(root, 'slow', 'big')).size).toBe(400_000);
  });

  it("--rsync-path='doas rsync' is refused with its own reason, nothing stored", () => {
    const result = rsync(['-rt', '--rsync-path=doas rsync', `${src}/`, 'HOST:doas/']);
    expect(result.code).not.toBe(0);
    expect(lab.lastDecision()).toMatchObject({
      decision: 'deny',
      reason: 'spelling-refused',
      command: expect.stringMatching(/^doas rsync --server/),
    });
    expect(() => statSync(join(root, 'doas'))).toThrow();
  });

  it("--rsync-path='sudo -u other rsync' is refused too", () => {
    const result = rsync(['-rt', '--rsync-path=sudo -u daemon rsync', `${src}/`, 'HOST:other/']);
    expect(result.code).not.toBe(0);
    expect(lab.lastDecision()).toMatchObject({ decision: 'deny', reason: 'spelling-refused' });
  });
});

describe('nc spellings through a relay rule', () => {
  const proxy = (nc: string) => `ProxyCommand=${[SSH, ...lab.sshd.sshArgs(hopKey)].join(' ')} ${nc} %h %p`;

  it.each(['nc -q0', 'nc -q 0', '/bin/nc -w 30', 'netcat -v'])(
    "ssh -o ProxyCommand='ssh gw %s HOST PORT' target reaches the target",
    async (nc) => {
      const result = await target.ssh(targetKey, 'anything', { extraArgs: ['-o', proxy(nc)] });
      expect(result.stdout.toString(), result.stderr).toBe('reached-target\n');
      expect(result.code).toBe(0);
      const decision = lab.lastDecision();
      expect(decision).toMatchObject({
        decision: 'allow',
        rule: 'to-target',
        spelling: nc,
        relay: { host: '127.0.0.1', port: target.port },
      });
      const end = await waitFor('the relay end record', () => lab.recordsOf(String(decision.session)).find((r) => r.event === 'end'));
      expect(end).toMatchObject({ outcome: 'closed' });
    },
  );
});
