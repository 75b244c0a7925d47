/**
 * The memory an idle sftp session holds, through a real sshd on 127.0.0.1: OpenSSH's sftp client
 * connects, runs `pwd` (or puts and gets 200 MiB), and then sends nothing (the case: an
 * idle session lives until the rule's idle-timeout, 10 minutes by default). Measured per process of the session: the
 * supervising dispatcher, bwrap, and the file server (node ssh-dispatch-files.cjs), RSS and PSS
 * (/proc/PID/smaps_rollup: shared pages split between the processes that map them), 1 s and 10 s
 * after its server started (after the transfer ended); against OpenSSH's sftp-server as the forced
 * command of another key.
 * Run: npm run build && node scripts/run-ts.mjs bench/sftp-idle.ts [ROUNDS]   (root)
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { authorizedKeyLine, ThrowawaySshd, type ClientKey } from '../src/lab/throwaway-sshd.js';

const rounds = Number(process.argv[2] ?? 5);
const NODE = process.execPath;
const LAUNCHER = fileURLToPath(new URL('../dist/ssh-dispatch.cjs', import.meta.url));
const SFTP_SERVER = '/usr/lib/openssh/sftp-server';
const data = mkdtempSync(join(tmpdir(), 'ssh-dispatch-bench-idle-'));
chmodSync(data, 0o755);

interface Proc {
  pid: number;
  ppid: number;
  cmdline: string;
}

function processes(): Proc[] {
  const found: Proc[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'latin1').split('\0').join(' ');
      found.push({ pid: Number(entry), ppid, cmdline });
    } catch {
      // Gone while we looked.
    }
  }
  return found;
}

/** The process whose command line has `marker`, and every descendant. */
function tree(marker: string): Proc[] {
  const all = processes();
  const top = all.filter((p) => p.cmdline.includes(marker));
  const members = new Map(top.map((p) => [p.pid, p]));
  for (let grown = true; grown; ) {
    grown = false;
    for (const p of all) if (!members.has(p.pid) && members.has(p.ppid)) members.set(p.pid, p), (grown = true);
  }
  return [...members.values()];
}

type Kind = 'rss' | 'pss' | 'own';

/**
 * RSS, PSS and what the process alone holds (Private_Dirty: its heap and stacks; the node
 * binary's code is clean page cache that every Node process shares), in KiB.
 */
function memory(pid: number): Record<Kind, number> {
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'latin1');
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+([0-9]+) kB`, 'm').exec(rollup)?.[1] ?? 0);
  return { rss: field('Rss'), pss: field('Pss'), own: field('Private_Dirty') };
}

const role = (p: Proc) =>
  p.cmdline.includes('ssh-dispatch-files.cjs')
    ? 'file server'
    : p.cmdline.includes(LAUNCHER)
      ? 'dispatcher'
      : p.cmdline.startsWith('bwrap') || p.cmdline.includes('/bwrap')
        ? 'bwrap'
        : p.cmdline.includes('sftp-server')
          ? 'sftp-server'
          : p.cmdline.split(' ')[0]!;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

let sshd: ThrowawaySshd | null = null;
try {
  const root = join(data, 'root');
  mkdirSync(root, { mode: 0o755 });
  const policies = join(data, 'policies');
  mkdirSync(policies, { mode: 0o755 });
  mkdirSync(join(data, 'log'), { mode: 0o755 });
  writeFileSync(
    join(policies, 'p.yaml'),
    `version: 1\naudit: { file: ${join(data, 'log', 'audit.jsonl')} }\nidentities:\n  files:\n    rules:\n      - { name: files, sftp: { root: ${root}, access: read-write } }\n`,
    { mode: 0o644 },
  );
  execFileSync(NODE, [LAUNCHER, 'apply', '--policy', policies], { stdio: 'ignore' });
  sshd = await ThrowawaySshd.start({ extraConfig: [`Subsystem sftp ${SFTP_SERVER}`] });
  const keys = { dispatch: await sshd.newClientKey('dispatch'), bare: await sshd.newClientKey('bare') };
  sshd.authorize([
    authorizedKeyLine('restrict', [NODE, LAUNCHER, '--id', 'files', '--policy', policies], keys.dispatch),
    authorizedKeyLine('restrict', [SFTP_SERVER, '-d', root], keys.bare),
  ]);

  /** One idle session: its processes' memory 1 s and 10 s after `pwd` answered. */
  const big = join(data, 'big.bin');
  execFileSync('/bin/sh', ['-c', `head -c ${200 * 1024 * 1024} /dev/urandom > ${big} && cp ${big} ${root}/stored.bin`]);
  const down = join(data, 'down.bin');
  const transfer = `put ${big} up.bin\nget stored.bin ${down}\n`;
  const transferred = () => existsSync(down) && statSync(down).size === 200 * 1024 * 1024;

  const idleSession = async (key: ClientKey, marker: string, commands = 'pwd\n', done = () => true) => {
    rmSync(down, { force: true });
    rmSync(join(root, 'up.bin'), { force: true });
    const args = sshd!.sshArgs(key);
    const host = args.pop()!;
    const client = spawn('/usr/bin/sftp', [...args.map((a) => (a === '-p' ? '-P' : a)), host], { stdio: ['pipe', 'pipe', 'ignore'] });
    let out = '';
    client.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    client.stdin.write(commands);
    // The client's stdout is a pipe, so its answer stays in its buffer: the server is waited for instead.
    const served = () => tree(marker).some((p) => role(p) === 'file server' || role(p) === 'sftp-server');
    for (const deadline = Date.now() + 60_000; !served() || !done(); ) {
      if (Date.now() > deadline) throw new Error(`no server started: ${out}`);
      await sleep(20);
    }
    const samples: Record<string, Record<string, Record<Kind, number>>> = {};
    let waited = 0;
    for (const at of [1000, 10_000]) {
      await sleep(at - waited);
      waited = at;
      const procs = tree(marker).filter((p) => p.cmdline !== '');
      samples[at] = Object.fromEntries(procs.map((p) => [role(p), memory(p.pid)]));
    }
    client.stdin.end('bye\n');
    await new Promise((r) => client.once('close', r));
    return samples;
  };

  const results: { name: string; runs: Record<string, Record<string, Record<Kind, number>>>[] }[] = [
    { name: 'ssh-dispatch sftp rule', runs: [] },
    { name: 'sftp-server as the forced command', runs: [] },
    { name: 'ssh-dispatch sftp rule, after a 200 MiB put and get', runs: [] },
    { name: 'sftp-server, after a 200 MiB put and get', runs: [] },
  ];
  for (let i = 0; i < rounds; i++) {
    results[0]!.runs.push(await idleSession(keys.dispatch, `${LAUNCHER} --id files`));
    results[1]!.runs.push(await idleSession(keys.bare, `${SFTP_SERVER} -d`));
    results[2]!.runs.push(await idleSession(keys.dispatch, `${LAUNCHER} --id files`, transfer, transferred));
    results[3]!.runs.push(await idleSession(keys.bare, `${SFTP_SERVER} -d`, transfer, transferred));
  }
  const mib = (kib: number) => (kib / 1024).toFixed(1);
  console.log(`Idle sftp session, ${rounds} rounds, Node ${process.version}: median MiB per process (RSS / PSS / private dirty)\n`);
  console.log('| session | process | RSS 1 s | PSS 1 s | own 1 s | RSS 10 s | PSS 10 s | own 10 s |\n|---|---|---|---|---|---|---|---|');
  for (const { name, runs } of results) {
    const roles = [...new Set(runs.flatMap((r) => Object.keys(r['1000']!)))];
    const total = (at: string, kind: Kind) => median(runs.map((r) => Object.values(r[at]!).reduce((sum, m) => sum + m[kind], 0)));
    for (const name2 of roles) {
      const of = (at: string, kind: Kind) => median(runs.map((r) => r[at]![name2]?.[kind] ?? 0));
      const row = ['1000', '10000'].flatMap((at) => (['rss', 'pss', 'own'] as const).map((kind) => mib(of(at, kind))));
      console.log(`| ${name} | ${name2} | ${row.join(' | ')} |`);
    }
    const row = ['1000', '10000'].flatMap((at) => (['rss', 'pss', 'own'] as const).map((kind) => mib(total(at, kind))));
    console.log(`| ${name} | **all** | ${row.join(' | ')} |`);
  }
} finally {
  await sshd?.stop();
  rmSync(data, { recursive: true, force: true });
}
