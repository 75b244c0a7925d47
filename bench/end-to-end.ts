/**
 * End to end through a real sshd on 127.0.0.1, side by side in one run:
 *   1. `ssh host true`: forced /bin/true, ssh-dispatch, rrsync deciding the same `true`;
 *   2. rsync push of a 200 MB tree: a plain key (the shell runs rsync) against ssh-dispatch;
 *   3. what a write-only rule's --whole-file costs: a push of an unchanged tree with --ignore-times
 *      (plain and rrsync run the delta algorithm, ssh-dispatch sends every file whole), a
 *      --link-dest incremental of an unchanged tree (hard links, no data) under snapshot: true
 *      (the only rules that take --link-dest), and a quick-check push into the same directory (a
 *      plain rule walks it for hard links first);
 *   4. resident memory of a supervising ssh-dispatch while its program runs.
 * Every ssh-dispatch rsync row is the sandboxed rule (the default); rows marked "sandbox: false"
 * run the same rule without bubblewrap, so the sandbox's cost is the difference.
 *
 * sshd runs every forced command through the account's login shell, and bash reads ~/.bashrc
 * when sshd starts it. So that no rc file sits inside the figures, the bench logs in as a
 * throwaway system account whose shell is /bin/sh (created when run as root, removed after);
 * run as another user, it says which shell that user's figures include.
 * Run: npm run bench:e2e [-- ROUNDS [rsync]]   (root recommended; "rsync": the rsync sections only)
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { authorizedKeyLine, SSH, ThrowawaySshd } from '../src/lab/throwaway-sshd.js';
import { compare, median, table } from './harness.js';

const rounds = Number(process.argv[2] ?? 30);
const rsyncOnly = process.argv[3] === 'rsync';
const NODE = process.execPath;
const DIST = fileURLToPath(new URL('../dist/', import.meta.url));
const LAUNCHER = join(DIST, 'ssh-dispatch.cjs');
const BENCH_USER = 'ssh-dispatch-bench';
const asRoot = process.getuid?.() === 0;

let user = userInfo().username;
let createdUser = false;
if (asRoot) {
  try {
    execFileSync(
      '/usr/sbin/useradd',
      ['--system', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/bin/sh', '--password', '*', BENCH_USER],
      { stdio: 'ignore' },
    );
    createdUser = true;
  } catch {
    // Left over from an interrupted run: use it as it is. (A "*" password: no password login,
    // but not locked, which sshd would refuse.)
  }
  user = BENCH_USER;
}
const account = execFileSync('/usr/bin/getent', ['passwd', user], { encoding: 'utf8' }).trim().split(':');
const [uid, gid, shell] = [Number(account[2]), Number(account[3]), account[6]!];

const data = mkdtempSync(join(tmpdir(), 'ssh-dispatch-bench-e2e-'));
chmodSync(data, 0o755);
let sshd: ThrowawaySshd | null = null;
try {
  const owned = (path: string) => {
    mkdirSync(path, { recursive: true, mode: 0o755 });
    if (asRoot) chownSync(path, uid, gid);
    return path;
  };
  const root = owned(join(data, 'backup'));
  const rrsyncRoot = owned(join(data, 'rrsync'));
  const logs = owned(join(data, 'log'));
  const policies = join(data, 'policies');
  mkdirSync(policies, { mode: 0o755 });
  writeFileSync(
    join(policies, 'bench.yaml'),
    `version: 1
audit: { file: ${join(logs, 'audit.jsonl')} }
identities:
  bench:
    rules:
      - { name: backup, rsync: { root: ${root}, access: write } }
      - { name: connectivity, exec: { command: "true", program: /bin/true, supervise: false } }
  bench-nobox:
    rules:
      - { name: backup, rsync: { root: ${root}, access: write, sandbox: false } }
  bench-snapshot:
    rules:
      - { name: nightly, rsync: { root: ${root}, access: write, snapshot: true } }
`,
    { mode: 0o644 },
  );
  // As an installer would: compile the policy as root, and give the bench account its own
  // compile cache directory (install.sh --account), which it cannot create itself.
  execFileSync(NODE, [LAUNCHER, 'apply', '--policy', policies], { stdio: 'ignore' });
  if (asRoot) {
    const mine = join(DIST, '.compile-cache', String(uid));
    mkdirSync(mine, { recursive: true, mode: 0o700 });
    chownSync(mine, uid, gid);
  }

  const src = join(data, 'src');
  mkdirSync(src);
  for (let i = 0; i < 200; i++) writeFileSync(join(src, `file-${i}.bin`), randomBytes(1024 * 1024));
  chmodSync(src, 0o755);

  sshd = await ThrowawaySshd.start({ user });
  const keys = {
    bare: await sshd.newClientKey('bare'),
    dispatch: await sshd.newClientKey('dispatch'),
    nobox: await sshd.newClientKey('nobox'),
    snapshot: await sshd.newClientKey('snapshot'),
    rrsync: await sshd.newClientKey('rrsync'),
    plain: await sshd.newClientKey('plain'),
  };
  sshd.authorize([
    authorizedKeyLine('restrict', ['/bin/true'], keys.bare),
    authorizedKeyLine('restrict', [NODE, LAUNCHER, '--id', 'bench', '--policy', policies], keys.dispatch),
    authorizedKeyLine('restrict', [NODE, LAUNCHER, '--id', 'bench-nobox', '--policy', policies], keys.nobox),
    authorizedKeyLine('restrict', [NODE, LAUNCHER, '--id', 'bench-snapshot', '--policy', policies], keys.snapshot),
    authorizedKeyLine('restrict', ['/usr/bin/rrsync', '-wo', rrsyncRoot], keys.rrsync),
    `restrict ${keys.plain.publicKey}`,
  ]);
  const ssh = (key: keyof typeof keys, command: string): string[] => [SSH, ...sshd!.sshArgs(keys[key]), command];

  const out: string[] = [`Logged in as ${user} (login shell ${shell}); OpenSSH sshd on 127.0.0.1; Node ${process.version}.`, ''];
  const sshTrue = rsyncOnly
    ? []
    : await compare(
        [
          { name: 'forced `/bin/true`', argv: ssh('bare', 'true') },
          { name: 'ssh-dispatch (exec rule, execve)', argv: ssh('dispatch', 'true') },
          { name: 'rrsync `-wo DIR` (answers `true` itself)', argv: ssh('rrsync', 'true') },
        ],
        rounds,
      );
  if (!rsyncOnly) out.push(table(`\`ssh host true\` (${rounds} rounds)`, sshTrue, 'forced `/bin/true`'), '');

  const rsyncArgs = (key: keyof typeof keys, dest: string): string[] => {
    const { shell: remoteShell, host } = sshd!.rsyncRemoteShell(keys[key]);
    return ['/usr/bin/rsync', '-e', remoteShell, '-a', '--whole-file', '--ignore-times', `${src}/`, `${host}:${dest}`];
  };
  // A one-file push: what a connection costs to start, rsync included, with and without the sandbox.
  writeFileSync(join(data, 'one.txt'), 'one\n');
  const onePush = (key: keyof typeof keys, dest: string): string[] => {
    const { shell: remoteShell, host } = sshd!.rsyncRemoteShell(keys[key]);
    return ['/usr/bin/rsync', '-e', remoteShell, '-a', '--ignore-times', join(data, 'one.txt'), `${host}:${dest}`];
  };
  const gone = (path: string) => () => rmSync(path, { force: true });
  const small = await compare(
    [
      // A new file each time (rrsync 3.5.0's -wo fails to replace an existing one: "could not make way").
      { name: 'plain key', argv: onePush('plain', `${root}/one.txt`), before: gone(join(root, 'one.txt')) },
      { name: 'ssh-dispatch rsync rule (sandbox)', argv: onePush('dispatch', 'one-box.txt'), before: gone(join(root, 'one-box.txt')) },
      {
        name: 'ssh-dispatch rsync rule, sandbox: false',
        argv: onePush('nobox', 'one-nobox.txt'),
        before: gone(join(root, 'one-nobox.txt')),
      },
      { name: 'rrsync `-wo DIR`', argv: onePush('rrsync', 'one.txt'), before: gone(join(rrsyncRoot, 'one.txt')) },
    ],
    rounds,
  );
  out.push(table(`rsync push of one small file: the whole connection (${rounds} rounds)`, small, 'plain key'));
  const [, boxedOne, noboxOne, rrsyncOne] = small;
  out.push(
    '',
    `sandbox / no sandbox: ${(boxedOne!.median / noboxOne!.median).toFixed(3)} (+${(boxedOne!.median - noboxOne!.median).toFixed(1)} ms); sandboxed ssh-dispatch / rrsync: ${(boxedOne!.median / rrsyncOne!.median).toFixed(3)}`,
    '',
  );

  const rsyncRounds = Math.max(5, Math.round(rounds / 4));
  const throughput = await compare(
    [
      { name: 'plain key (the login shell runs `rsync --server`)', argv: rsyncArgs('plain', `${root}/plain/`) },
      { name: 'ssh-dispatch rsync rule (sandbox)', argv: rsyncArgs('dispatch', 'dispatched/') },
      { name: 'ssh-dispatch rsync rule, sandbox: false', argv: rsyncArgs('nobox', 'dispatched-nobox/') },
      { name: 'rrsync `-wo DIR`', argv: rsyncArgs('rrsync', 'rrsynced/') },
    ],
    rsyncRounds,
    1,
  );
  out.push(table(`rsync push, 200 x 1 MiB, every file sent again (${rsyncRounds} rounds)`, throughput, 'plain key'));
  const [plain, dispatched, unboxed, rrsynced] = throughput;
  const mibs = (r: { median: number }) => ((200 / r.median) * 1000).toFixed(0);
  out.push(
    '',
    `throughput / plain: ssh-dispatch ${(plain!.median / dispatched!.median).toFixed(3)} (${mibs(dispatched!)} MiB/s), sandbox: false ${(plain!.median / unboxed!.median).toFixed(3)} (${mibs(unboxed!)} MiB/s), rrsync ${(plain!.median / rrsynced!.median).toFixed(3)} (${mibs(rrsynced!)} MiB/s), plain ${mibs(plain!)} MiB/s`,
    '',
  );

  const pushArgs = (key: keyof typeof keys, options: string[], dest: string): string[] => {
    const { shell: remoteShell, host } = sshd!.rsyncRemoteShell(keys[key]);
    return ['/usr/bin/rsync', '-e', remoteShell, '-a', ...options, `${src}/`, `${host}:${dest}`];
  };
  const unchanged = await compare(
    [
      { name: 'plain key (delta: every block matches)', argv: pushArgs('plain', ['--ignore-times'], `${root}/plain/`) },
      {
        name: 'ssh-dispatch rsync rule, access: write (--whole-file imposed)',
        argv: pushArgs('dispatch', ['--ignore-times'], 'dispatched/'),
      },
      { name: 'rrsync `-wo DIR` (delta)', argv: pushArgs('rrsync', ['--ignore-times'], 'rrsynced/') },
    ],
    rsyncRounds,
    1,
  );
  out.push(
    table(
      `rsync push of the same 200 x 1 MiB again, \`--ignore-times\` (every file compared) (${rsyncRounds} rounds)`,
      unchanged,
      'plain key',
    ),
    '',
  );
  // A plain rule's push into an existing directory walks it first (host/stored-history.ts); before
  // the incrementals below, whose hard links into it would (rightly) have the push refused.
  const again = await compare(
    [
      { name: 'plain key', argv: pushArgs('plain', [], `${root}/plain/`) },
      {
        name: 'ssh-dispatch rsync rule, access: write (destination walked for shared inodes)',
        argv: pushArgs('dispatch', [], 'dispatched/'),
      },
      { name: 'rrsync `-wo DIR`', argv: pushArgs('rrsync', [], 'rrsynced/') },
    ],
    rsyncRounds,
    1,
  );
  out.push(
    table(`push of the unchanged 200 x 1 MiB tree into the same directory, quick check (${rsyncRounds} rounds)`, again, 'plain key'),
    '',
  );
  const fresh = (path: string) => () => rmSync(path, { recursive: true, force: true });
  const incremental = await compare(
    [
      {
        name: 'plain key',
        argv: pushArgs('plain', ['--link-dest=../plain'], `${root}/plain-inc/`),
        before: fresh(join(root, 'plain-inc')),
      },
      {
        name: 'ssh-dispatch rsync rule, snapshot: true',
        argv: pushArgs('snapshot', ['--link-dest=../dispatched'], 'snap/'),
        before: fresh(join(root, 'snap')),
      },
      {
        name: 'rrsync `-wo DIR` (refuses `..`: anchored at its root)',
        argv: pushArgs('rrsync', ['--link-dest=/rrsynced'], 'inc/'),
        before: fresh(join(rrsyncRoot, 'inc')),
      },
    ],
    rsyncRounds,
    1,
  );
  out.push(
    table(
      `\`--link-dest\` incremental of an unchanged 200 x 1 MiB tree into a new directory (${rsyncRounds} rounds)`,
      incremental,
      'plain key',
    ),
    '',
  );

  if (!rsyncOnly) out.push(await residentMemory(data));
  console.log(out.join('\n'));
} finally {
  await sshd?.stop();
  rmSync(data, { recursive: true, force: true });
  if (createdUser) execFileSync('/usr/sbin/userdel', [BENCH_USER], { stdio: 'ignore' });
}

/** VmRSS of a process, in MiB. */
function rss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
}

async function sampleRss(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const child = spawn(argv[0]!, argv.slice(1), { env, stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 700));
  const value = rss(child.pid!);
  await new Promise((r) => child.once('close', r));
  return value;
}

async function residentMemory(data: string): Promise<string> {
  const policy = join(data, 'rss.yaml');
  writeFileSync(
    policy,
    `version: 1\naudit: { file: ${join(data, 'rss-audit.jsonl')} }\nidentities:\n  rss:\n    rules:\n      - { name: sleep, exec: { command: "sleep 1.5", program: /bin/sleep } }\n`,
    { mode: 0o644 },
  );
  execFileSync(NODE, [LAUNCHER, 'apply', '--policy', policy], { stdio: 'ignore' });
  const env = { PATH: '/usr/bin:/bin', SSH_ORIGINAL_COMMAND: 'sleep 1.5' };
  const samples = { dispatcher: [] as number[], node: [] as number[] };
  for (let i = 0; i < 5; i++) {
    samples.dispatcher.push(await sampleRss([NODE, LAUNCHER, '--id', 'rss', '--policy', policy], env));
    samples.node.push(await sampleRss([NODE, '-e', 'setTimeout(() => {}, 1500)'], env));
  }
  return [
    '### Resident memory while the program runs (median of 5, VmRSS)',
    '',
    '| process | RSS |',
    '|---|---|',
    `| ssh-dispatch supervising \`sleep\` (supervise: true) | ${median(samples.dispatcher).toFixed(1)} MiB |`,
    `| \`node -e 'setTimeout(...)'\` (bare runtime, idle) | ${median(samples.node).toFixed(1)} MiB |`,
    '| ssh-dispatch with `supervise: false` | 0: execve leaves only the program |',
  ].join('\n');
}
