/**
 * The fleet's login (docs: `authorized-key --sshd-config`): with AuthorizedKeysFile none, sshd
 * runs `ssh-dispatch authorized-keys-command %u %t %k` for every key a client offers, before
 * authentication, as the commands' account. Side by side in one run, round-robin:
 *
 *   1. `ssh host true` through real throwaway sshds on 127.0.0.1, the forced command the same
 *      ssh-dispatch exec rule running /bin/true that bench/end-to-end.ts measures:
 *        - plain: AuthorizedKeysFile with the line `ssh-dispatch authorized-key` prints;
 *        - fleet: AuthorizedKeysFile none + AuthorizedKeysCommand, the lines
 *          `ssh-dispatch authorized-key --sshd-config` prints, the policy listing the key;
 *        - each with the client offering 3 unlisted keys before the right one
 *          (-o IdentitiesOnly=yes -i k1 -i k2 -i k3 -i right);
 *        - a control: the plain sshd's file plus AuthorizedKeysCommand /usr/bin/true, which
 *          sshd runs for the 3 unlisted keys: what sshd spends on running any keys command;
 *   2. the command alone, outside sshd, as sshd runs it (the commands' account, sshd's
 *      environment): a listed key (hit) and an unlisted one (miss), on a one-identity policy and
 *      on 1,000 identities with keys and accounts, against `node -e 0` and `/bin/true`; with
 *      the code cache off (NODE_DISABLE_COMPILE_CACHE=1), without the /bin/sh launcher install.sh writes, and
 *      `ssh-dispatch --version` (the program loaded, no policy read).
 * Every sshd logs at DEBUG3, so that the report can say how sshd padded each authentication
 * request (each sshd has its own minimum, drawn from its host key: see paddedRequests).
 * Then, if strace is installed, one traced login of each fleet case counts how often sshd ran the
 * command and whether it read the commands' account's compile cache (.compile-cache/UID).
 *
 * Needs root: ssh-dispatch is installed by install.sh under /run (sshd runs a command only where
 * root owns every directory up to /; a checkout under /tmp is refused), with a commands' account
 * (--commands-user) and the login account (--account, its compile cache and audit log). The
 * login account is the throwaway /bin/sh account of bench/end-to-end.ts, so that no rc file sits
 * inside the figures. Every account, sshd and directory made here is removed after.
 * Run: npm run bench:fleet [-- ROUNDS]   (ROUNDS through sshd, default 30; 3 x ROUNDS alone)
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SSH, ThrowawaySshd, type ClientKey } from '../src/lab/throwaway-sshd.js';
import { compare, median, table, type Case, type Result } from './harness.js';

const rounds = Number(process.argv[2] ?? 30);
const aloneRounds = rounds * 3;
const REPO = fileURLToPath(new URL('../', import.meta.url));
const BENCH_USER = 'ssh-dispatch-bench';
const KEYS_USER = 'ssh-dispatch-bench-keys';
const PATH = '/usr/bin:/bin:/usr/sbin:/sbin';
const STRACE = '/usr/bin/strace';
const DEBUG = 'LogLevel DEBUG3';

if (process.getuid?.() !== 0) {
  console.error('bench/fleet.ts needs root: install.sh --commands-user, and sshd switching to the bench account');
  process.exit(2);
}

const exists = (user: string) => spawnSync('/usr/bin/id', ['-u', user], { stdio: 'ignore' }).status === 0;
const ids = (user: string) => execFileSync('/usr/bin/getent', ['passwd', user], { encoding: 'utf8' }).trim().split(':');

// The login account, as bench/end-to-end.ts makes it (a "*" password: no password login, but not
// locked, which sshd would refuse).
const createdBenchUser = !exists(BENCH_USER);
if (createdBenchUser) {
  execFileSync(
    '/usr/sbin/useradd',
    ['--system', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/bin/sh', '--password', '*', BENCH_USER],
    { stdio: 'ignore' },
  );
}
const createdKeysUser = !exists(KEYS_USER); // install.sh --commands-user creates it
const dir = mkdtempSync('/run/ssh-dispatch-bench-fleet-');
chmodSync(dir, 0o755);
const prefix = join(dir, 'usr');
const libdir = join(prefix, 'lib', 'ssh-dispatch');
const command = join(prefix, 'bin', 'ssh-dispatch');
const etc = join(dir, 'etc', 'ssh-dispatch');
const small = join(etc, 'policies');
const large = join(etc, 'large');
const sshds: ThrowawaySshd[] = [];

try {
  mkdirSync(join(dir, 'etc', 'logrotate.d'), { recursive: true });
  const installed = spawnSync(
    'bash',
    [
      join(REPO, 'install.sh'),
      '--prefix',
      prefix,
      '--etc',
      etc,
      '--log-dir',
      join(dir, 'log'),
      '--logrotate-dir',
      join(dir, 'etc', 'logrotate.d'),
      '--account',
      BENCH_USER,
      '--commands-user',
      KEYS_USER,
    ],
    { encoding: 'utf8', env: { PATH } },
  );
  if (installed.status !== 0) throw new Error(`install.sh failed: ${installed.stdout}${installed.stderr}`);
  const [keysUid, keysGid] = ids(KEYS_USER).slice(2, 4).map(Number) as [number, number];
  const runtime = readFileSync(command, 'utf8').split('\n')[1]!.split(' ')[1]!; // exec RUNTIME LAUNCHER "$@"
  const dispatch = (...args: string[]) => execFileSync(command, args, { encoding: 'utf8', env: { PATH } });

  // Three sshds logging in as the bench account: the plain one reads the lab's authorized_keys,
  // the fleet one has the lines authorized-key --sshd-config prints first (they override it),
  // and the control (below).
  // LogLevel DEBUG3 in every sshd alike: sshd then logs how long each authentication request
  // took and how long it was delayed (below), which the report reads back.
  const plainSshd = await ThrowawaySshd.start({ user: BENCH_USER, extraConfig: [DEBUG] });
  sshds.push(plainSshd);
  const sshdConfig = dispatch('authorized-key', '--sshd-config', '--user', KEYS_USER, '--command', command, '--policy', small)
    .split('\n')
    .filter((l) => l && !l.startsWith('#'));
  const fleetSshd = await ThrowawaySshd.start({ user: BENCH_USER, extraConfig: [DEBUG, ...sshdConfig] });
  sshds.push(fleetSshd);
  // The control: the plain sshd's authorized_keys, and a keys command that does nothing
  // (/usr/bin/true as the same account). sshd reads the file first and runs the command only
  // for a key the file does not list: what sshd itself spends on running any keys command.
  const nullSshd = await ThrowawaySshd.start({
    user: BENCH_USER,
    extraConfig: [DEBUG, 'AuthorizedKeysCommand /usr/bin/true %u %t %k', `AuthorizedKeysCommandUser ${KEYS_USER}`],
  });
  sshds.push(nullSshd);
  const right = await plainSshd.newClientKey('right');
  const others: ClientKey[] = [];
  for (const name of ['other1', 'other2', 'other3']) others.push(await plainSshd.newClientKey(name));

  const audit = join(dir, 'log', 'audit.jsonl');
  const rule = '      - { name: connectivity, exec: { command: "true", program: /bin/true, supervise: false } }\n';
  writeFileSync(
    join(small, 'bench.yaml'),
    `version: 1\naudit: { file: ${audit} }\nidentities:\n  bench:\n    keys: ["${right.publicKey}"]\n    accounts: [${BENCH_USER}]\n    rules:\n${rule}`,
    { mode: 0o644 },
  );
  // 1,000 identities in 10 files, each with a key and the account; the right key is the last
  // one's, so a hit walks the whole list of the account's logins.
  mkdirSync(large, { mode: 0o755 });
  const fakeFingerprint = () => `SHA256:${randomBytes(32).toString('base64').replace(/=+$/, '')}`;
  for (let f = 0; f < 10; f++) {
    let yaml = `version: 1\n${f === 0 ? `audit: { file: ${audit} }\n` : ''}identities:\n`;
    for (let i = f * 100; i < (f + 1) * 100; i++) {
      const key = i === 999 ? right.publicKey : fakeFingerprint();
      yaml += `  host${i}:\n    keys: ["${key}"]\n    accounts: [${BENCH_USER}, svc${i % 10}]\n    from: [127.0.0.0/8, "2001:db8:${i}::/48"]\n    rules:\n${rule}`;
    }
    writeFileSync(join(large, `hosts-${f}.yaml`), yaml, { mode: 0o644 });
  }
  // The deploy step, as root: apply serves both policies compiled (the login index the command
  // reads), and check reads the fleet sshd's side (the command is tried as its account).
  dispatch('apply', '--policy', small);
  dispatch('apply', '--policy', large);
  const checked = spawnSync(command, ['check', '--policy', small, '--sshd-config', join(fleetSshd.dir, 'sshd_config')], {
    encoding: 'utf8',
    env: { PATH },
  });
  if (checked.status !== 0 || /UNSAFE|error/.test(checked.stdout)) throw new Error(`check: ${checked.stdout}${checked.stderr}`);

  // The plain way: the line authorized-key prints, in the lab's authorized_keys.
  writeFileSync(join(dir, 'right.pub'), `${right.publicKey}\n`);
  const plainLine = dispatch('authorized-key', '--id', 'bench', '--policy', small, join(dir, 'right.pub')).trim();
  plainSshd.authorize([plainLine]);
  nullSshd.authorize([plainLine]);

  // The command alone, as sshd runs it: its account, no supplementary groups, sshd's environment.
  const asKeysUser = { uid: keysUid, gid: keysGid, env: { PATH, USER: KEYS_USER, LOGNAME: KEYS_USER, HOME: '/nonexistent' } };
  const [type, base64] = right.publicKey.split(' ') as [string, string];
  const [otherType, otherBase64] = others[0]!.publicKey.split(' ') as [string, string];
  const keysCommand = (policy: string, t: string, k: string, launcher = [command]) => [
    ...launcher,
    'authorized-keys-command',
    '--policy',
    policy,
    BENCH_USER,
    t,
    k,
  ];
  const served = (argv: string[], env: NodeJS.ProcessEnv = asKeysUser.env) =>
    execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8', uid: keysUid, gid: keysGid, env });
  // The fleet serves the same forced command the plain line has, so the sessions are alike.
  const hit = served(keysCommand(small, type, base64)).trim();
  if (hit !== plainLine.replace(/ right$/, '')) throw new Error(`the served line differs from authorized-key's:\n${hit}\n${plainLine}`);
  const largeHit = served(keysCommand(large, type, base64)).trim();
  if (!largeHit.includes(' --id host999 ') || !largeHit.endsWith(right.publicKey.replace(/ right$/, '')) || largeHit.includes('\n'))
    throw new Error(`unexpected answer from the 1,000-identity policy: ${largeHit}`);
  for (const policy of [small, large])
    if (served(keysCommand(policy, otherType, otherBase64)) !== '') throw new Error('an unlisted key was served');

  const out: string[] = [
    `Logged in as ${BENCH_USER} (login shell /bin/sh); the keys command as ${KEYS_USER}; OpenSSH sshd on 127.0.0.1; ssh-dispatch installed under /run by install.sh; Node ${execFileSync(runtime, ['--version'], { encoding: 'utf8' }).trim()}.`,
    '',
  ];

  const ssh = (sshd: ThrowawaySshd, extraKeys: ClientKey[]): string[] => [
    SSH,
    ...extraKeys.flatMap((k) => ['-i', k.privateKeyFile]),
    ...sshd.sshArgs(right),
    'true',
  ];
  const logins = await compare(
    [
      { name: 'plain: AuthorizedKeysFile, the line `authorized-key` prints', argv: ssh(plainSshd, []) },
      { name: 'fleet: AuthorizedKeysCommand (1 key offered)', argv: ssh(fleetSshd, []) },
      { name: 'plain, 3 unlisted keys offered first', argv: ssh(plainSshd, others) },
      { name: 'fleet, 3 unlisted keys offered first', argv: ssh(fleetSshd, others) },
      { name: 'control: plain + AuthorizedKeysCommand `/usr/bin/true`, 3 unlisted keys first', argv: ssh(nullSshd, others) },
    ],
    rounds,
  );
  out.push(table(`\`ssh host true\`, plain against fleet (${rounds} rounds)`, logins, 'plain'), '');
  const [plain, fleet, plain3, fleet3, null3] = logins as [Result, Result, Result, Result, Result];
  const diff = (a: Result, b: Result) => median(a.samples.map((s, i) => s - b.samples[i]!));
  // sshd runs the keys command once for each key it refuses and twice for the one it accepts
  // (the client's query, then its signed request): 2 runs with one key, 5 with four (the
  // traced logins below count them); the control runs /usr/bin/true for the 3 unlisted keys only.
  out.push(
    `paired medians of differences: fleet − plain ${diff(fleet, plain).toFixed(1)} ms (2 runs of the command: ${(diff(fleet, plain) / 2).toFixed(1)} ms a run); ` +
      `fleet +3 − plain +3 ${diff(fleet3, plain3).toFixed(1)} ms (5 runs: ${(diff(fleet3, plain3) / 5).toFixed(1)} ms a run); ` +
      `plain +3 − plain ${diff(plain3, plain).toFixed(1)} ms (3 refused keys, no command: ${(diff(plain3, plain) / 3).toFixed(1)} ms a key); ` +
      `control +3 − plain +3 ${diff(null3, plain3).toFixed(1)} ms (3 runs of /usr/bin/true: ${(diff(null3, plain3) / 3).toFixed(1)} ms a run, sshd's own share)`,
    '',
  );
  // sshd (auth2.c, ensure_minimum_time_since) makes every authentication request but "none"
  // take at least a delay of its own, d: 5 ms plus 0-4.2 ms drawn from a hash of the host keys,
  // the config and the user. A request that took longer is padded to the next d x 2^k, so a
  // keys command's time reaches the login rounded up, by up to twice.
  for (const [name, sshd] of [
    ['plain', plainSshd],
    ['fleet', fleetSshd],
    ['control', nullSshd],
  ] as const) {
    const { d, ran, other } = paddedRequests(sshd);
    const levels = (rs: Padded[]) => {
      const counts = new Map<number, number>();
      for (const r of rs) {
        const k = Math.max(0, Math.round(Math.log2((r.elapsed + r.delayed) / d)));
        counts.set(k, (counts.get(k) ?? 0) + 1);
      }
      return [...counts]
        .sort((a, b) => a[0] - b[0])
        .map(([k, n]) => `${n} to ${(d * 2 ** k).toFixed(1)}`)
        .join(', ');
    };
    const summary = (rs: Padded[]) =>
      rs.length ? `${rs.length} requests, median ${median(rs.map((r) => r.elapsed)).toFixed(1)} ms, padded: ${levels(rs)} ms` : 'none';
    out.push(`sshd ${name}: d = ${d.toFixed(2)} ms; requests that ran the keys command: ${summary(ran)}; the others: ${summary(other)}`);
  }
  out.push('');

  const alone: Case[] = [
    { name: '`node -e 0` (the installed runtime)', argv: [runtime, '-e', '0'], ...asKeysUser },
    { name: '`/bin/true`', argv: ['/bin/true'], ...asKeysUser },
    { name: '`ssh-dispatch --version` (the whole program: the core bundle; reads no policy)', argv: [command, '--version'], ...asKeysUser },
    { name: 'hit: a listed key, 1 identity', argv: keysCommand(small, type, base64), ...asKeysUser },
    { name: 'miss: an unlisted key, 1 identity', argv: keysCommand(small, otherType, otherBase64), ...asKeysUser },
    { name: 'hit, 1,000 identities (the last one lists it)', argv: keysCommand(large, type, base64), ...asKeysUser },
    { name: 'miss, 1,000 identities', argv: keysCommand(large, otherType, otherBase64), ...asKeysUser },
    {
      name: 'hit, 1 identity, code cache off (NODE_DISABLE_COMPILE_CACHE=1)',
      argv: keysCommand(small, type, base64),
      ...asKeysUser,
      env: { ...asKeysUser.env, NODE_DISABLE_COMPILE_CACHE: '1' },
    },
    {
      name: 'hit, 1 identity, runtime and launcher without the /bin/sh script',
      argv: keysCommand(small, type, base64, [runtime, join(libdir, 'ssh-dispatch.cjs')]),
      ...asKeysUser,
    },
  ];
  const aloneResults = await compare(alone, aloneRounds);
  out.push(
    table(
      `\`ssh-dispatch authorized-keys-command USER TYPE KEY\` alone, as ${KEYS_USER} (${aloneRounds} rounds)`,
      aloneResults,
      '`node -e 0`',
    ),
    '',
  );
  const named = (prefix: string) => aloneResults.find((r) => r.name.startsWith(prefix))!;
  const node = aloneResults[0]!;
  const pairedDiff = (a: Result, b: Result) => median(a.samples.map((s, i) => s - b.samples[i]!));
  out.push(
    `paired medians of differences: hit − \`node -e 0\` ${pairedDiff(named('hit: '), node).toFixed(1)} ms, against loading the whole program (\`--version\`, the core bundle, − \`node -e 0\`) ${pairedDiff(named('`ssh-dispatch --version`'), node).toFixed(1)} ms; miss − hit ${pairedDiff(named('miss: '), named('hit: ')).toFixed(1)} ms; 1,000 identities − 1 (hit) ${pairedDiff(named('hit, 1,000'), named('hit: ')).toFixed(1)} ms; code cache off − on ${pairedDiff(named('hit, 1 identity, code cache off'), named('hit: ')).toFixed(1)} ms; /bin/sh script − none ${pairedDiff(named('hit: '), named('hit, 1 identity, runtime')).toFixed(1)} ms`,
    `the compiled logins of the bench account, 1,000 identities: ${loginsFiles(large).files} files, ${loginsFiles(large).bytes} bytes in all, one read per key offered (1 identity: ${loginsFiles(small).files} file)`,
    '',
  );

  // The compile cache of the commands' account: install.sh made the directory; is it filled and read?
  const cacheDir = join(libdir, '.compile-cache', String(keysUid));
  const cached = readdirSync(cacheDir, { recursive: true })
    .map(String)
    .filter((f) => statSync(join(cacheDir, f)).isFile());
  out.push(
    `compile cache of ${KEYS_USER} (${cacheDir}): ${cached.length ? cached.map((f) => `${f} ${statSync(join(cacheDir, f)).size} bytes`).join(', ') : 'empty'}`,
  );
  if (existsSync(STRACE)) {
    for (const [name, extra] of [
      ['1 key offered', []],
      ['3 unlisted keys first', others],
    ] as const) {
      const trace = await traced(fleetSshd, ssh(fleetSshd, [...extra]));
      const runs = trace.filter((l) => l.includes(`execve("${command}"`) && l.includes('authorized-keys-command')).length;
      const cacheReads = trace.filter(
        (l) => l.includes(`${cacheDir}/`) && /openat\(.*O_RDONLY.*\) = \d+$/.test(l) && !l.includes('O_DIRECTORY'),
      ).length;
      out.push(
        `traced fleet login, ${name}: sshd ran authorized-keys-command ${runs} times; it opened its compile cache for reading ${cacheReads} times`,
      );
    }
  }
  console.log(out.join('\n'));
} finally {
  for (const sshd of sshds) await sshd.stop();
  rmSync(dir, { recursive: true, force: true });
  if (createdKeysUser && exists(KEYS_USER)) execFileSync('/usr/sbin/userdel', [KEYS_USER], { stdio: 'ignore' });
  if (createdBenchUser) execFileSync('/usr/sbin/userdel', [BENCH_USER], { stdio: 'ignore' });
}

interface Padded {
  elapsed: number;
  delayed: number;
}

/** Each authentication request sshd logged at DEBUG3: its time and its padding, and whether it ran the keys command. */
function paddedRequests(sshd: ThrowawaySshd): { d: number; ran: Padded[]; other: Padded[] } {
  const ran: Padded[] = [];
  const other: Padded[] = [];
  let d = Number.NaN;
  let command = false;
  for (const line of readFileSync(sshd.logFile, 'utf8').split('\n')) {
    if (line.includes('subprocess: AuthorizedKeysCommand pid')) command = true;
    const m = /ensure_minimum_time_since: elapsed ([\d.]+)ms, delaying ([\d.]+)ms \(requested ([\d.]+)ms\)/.exec(line);
    if (!m) continue;
    d = Number(m[3]);
    (command ? ran : other).push({ elapsed: Number(m[1]), delayed: Number(m[2]) });
    command = false;
  }
  return { d, ran, other };
}

/** The bench account's logins in a policy's compiled cache (a file per account and key): how many files, and their bytes. */
function loginsFiles(policy: string): { files: number; bytes: number } {
  const root = join(policy, '.ssh-dispatch-cache');
  const keys = join('logins', BENCH_USER, 'keys');
  const entry = readdirSync(root).find((e) => /^[0-9a-f]+$/.test(e) && existsSync(join(root, e, keys)));
  if (entry === undefined) throw new Error(`no compiled ${keys} under ${root}`);
  const names = readdirSync(join(root, entry, keys));
  return { files: names.length, bytes: names.reduce((sum, name) => sum + statSync(join(root, entry, keys, name)).size, 0) };
}

/** One login with strace following sshd (its forks and their execs): the lines, for counting. */
async function traced(sshd: ThrowawaySshd, argv: string[]): Promise<string[]> {
  const file = join(dir, 'trace.txt');
  const strace = spawn(STRACE, ['-f', '-qq', '-s', '1024', '-e', 'trace=execve,openat', '-o', file, '-p', String(sshd.pid)], {
    stdio: 'ignore',
  });
  // strace writes nothing until a traced call happens; give it time to attach.
  await new Promise((r) => setTimeout(r, 500));
  const code = spawnSync(argv[0]!, argv.slice(1), { stdio: 'ignore' }).status;
  await new Promise((r) => setTimeout(r, 300));
  const exited = new Promise((r) => strace.once('close', r));
  strace.kill('SIGINT');
  await exited;
  if (code !== 0) throw new Error(`traced login failed: exit ${code}`);
  const lines = readFileSync(file, 'utf8').split('\n');
  rmSync(file, { force: true });
  return lines;
}
