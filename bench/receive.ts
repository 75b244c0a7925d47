/**
 * Receive throughput: a 1 GiB stream into a receive rule against `cat > file` with the same
 * fsync policy (the receiver fsyncs the file and its directory; the baseline runs `sync` on
 * both), on the same disk, side by side. Locally (the dispatcher started as sshd would, stdin a
 * file) and through a real sshd (ssh's cipher is then the bottleneck).
 * Run: npm run bench:receive [-- ROUNDS]   (root recommended, as for bench:e2e)
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { authorizedKeyLine, SSH, ThrowawaySshd } from '../src/lab/throwaway-sshd.js';
import { compare, table } from './harness.js';

const rounds = Number(process.argv[2] ?? 5);
const NODE = process.execPath;
const LAUNCHER = fileURLToPath(new URL('../dist/ssh-dispatch.cjs', import.meta.url));
const GiB = 1024 * 1024 * 1024;
const data = mkdtempSync(join(tmpdir(), 'ssh-dispatch-bench-receive-'));
chmodSync(data, 0o755);
let sshd: ThrowawaySshd | null = null;
try {
  const input = join(data, 'input.bin');
  // Incompressible, so nothing along the way can shortcut it; written once, read from cache.
  execFileSync('/bin/sh', ['-c', `head -c ${GiB} /dev/urandom > ${input}`]);
  const up = join(data, 'up');
  const cat = join(data, 'cat');
  mkdirSync(up, { mode: 0o755 });
  mkdirSync(cat, { mode: 0o755 });
  const policies = join(data, 'policies');
  mkdirSync(policies, { mode: 0o755 });
  // The log in a directory of its own: apply refuses a write rule whose directory holds the log.
  mkdirSync(join(data, 'log'), { mode: 0o755 });
  writeFileSync(
    join(policies, 'p.yaml'),
    `version: 1\naudit: { file: ${join(data, 'log', 'audit.jsonl')} }\nidentities:\n  up:\n    rules:\n      - { name: up, receive: { dir: ${up}, name: "upload-{timestamp}.bin", max-bytes: 2GiB, min-free: 1GiB } }\n`,
    { mode: 0o644 },
  );
  execFileSync(NODE, [LAUNCHER, 'apply', '--policy', policies], { stdio: 'ignore' });
  const empty = (dir: string) => () => {
    for (const name of readdirSync(dir)) rmSync(join(dir, name), { force: true });
  };
  const catCommand = `cat > ${cat}/upload.bin && sync ${cat}/upload.bin ${cat}`;

  const out: string[] = [`Node ${process.version}; 1 GiB of random data per run.`, ''];
  const local = await compare(
    [
      { name: '`cat > file && sync file dir`', argv: ['/bin/sh', '-c', catCommand], stdinFile: input, before: empty(cat) },
      {
        name: 'ssh-dispatch `receive`',
        argv: [NODE, LAUNCHER, '--id', 'up', '--policy', policies],
        env: { PATH: '/usr/bin:/bin', SSH_ORIGINAL_COMMAND: 'receive' },
        stdinFile: input,
        before: empty(up),
      },
    ],
    rounds,
    1,
  );
  out.push(
    table(`Locally, stdin a file (${rounds} rounds)`, local, '`cat > file`'),
    '',
    `receive / cat throughput: ${(local[0]!.median / local[1]!.median).toFixed(3)}`,
    '',
  );

  sshd = await ThrowawaySshd.start();
  const dispatchKey = await sshd.newClientKey('dispatch');
  const plainKey = await sshd.newClientKey('plain');
  const hashingKey = await sshd.newClientKey('hashing');
  // A shell receiver that also computes the sha256 the receipt carries: what the hash costs.
  const hashingCommand = `tee ${cat}/upload.bin | sha256sum > ${cat}/upload.sha256 && sync ${cat}/upload.bin ${cat}`;
  sshd.authorize([
    authorizedKeyLine('restrict', [NODE, LAUNCHER, '--id', 'up', '--policy', policies], dispatchKey),
    `restrict,command="${catCommand}" ${plainKey.publicKey}`,
    `restrict,command="${hashingCommand}" ${hashingKey.publicKey}`,
  ]);
  const viaSsh = await compare(
    [
      { name: 'forced `cat > file && sync file dir`', argv: [SSH, ...sshd.sshArgs(plainKey), 'x'], stdinFile: input, before: empty(cat) },
      { name: 'ssh-dispatch `receive`', argv: [SSH, ...sshd.sshArgs(dispatchKey), 'receive'], stdinFile: input, before: empty(up) },
      {
        name: 'forced `tee file | sha256sum && sync`',
        argv: [SSH, ...sshd.sshArgs(hashingKey), 'x'],
        stdinFile: input,
        before: empty(cat),
      },
    ],
    rounds,
    1,
  );
  out.push(
    table(`Through sshd as ${userInfo().username} (${rounds} rounds)`, viaSsh, 'forced `cat > file`'),
    '',
    `receive / cat throughput through ssh: ${(viaSsh[0]!.median / viaSsh[1]!.median).toFixed(3)}; receive / tee|sha256sum: ${(viaSsh[2]!.median / viaSsh[1]!.median).toFixed(3)}`,
  );
  console.log(out.join('\n'));
} finally {
  await sshd?.stop();
  rmSync(data, { recursive: true, force: true });
}
