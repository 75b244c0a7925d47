/**
 * sftp throughput through a real sshd on 127.0.0.1: 1 GiB of random data up (put) and down (get)
 * with OpenSSH's sftp client, served by an sftp rule (ssh-dispatch's own file server in the
 * sandbox, a record per file) against OpenSSH's sftp-server as the forced command of another
 * key on the same sshd (unconfined: the whole filesystem), side by side, round-robin.
 * Also the start of a session: `sftp -b` of one `pwd`, the whole connection.
 * Run: npm run bench:sftp [-- ROUNDS]   (root recommended, as for bench:e2e)
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { authorizedKeyLine, ThrowawaySshd, type ClientKey } from '../src/lab/throwaway-sshd.js';
import { compare, table } from './harness.js';

const rounds = Number(process.argv[2] ?? 3);
const NODE = process.execPath;
const LAUNCHER = fileURLToPath(new URL('../dist/ssh-dispatch.cjs', import.meta.url));
const SFTP_SERVER = '/usr/lib/openssh/sftp-server';
const GiB = 1024 * 1024 * 1024;
const data = mkdtempSync(join(tmpdir(), 'ssh-dispatch-bench-sftp-'));
chmodSync(data, 0o755);
let sshd: ThrowawaySshd | null = null;
try {
  const root = join(data, 'root');
  const bare = join(data, 'bare');
  mkdirSync(root, { mode: 0o755 });
  mkdirSync(bare, { mode: 0o755 });
  const input = join(data, 'input.bin');
  // Incompressible, written once, read from the page cache; the copy to download is in each root.
  execFileSync('/bin/sh', [
    '-c',
    `head -c ${GiB} /dev/urandom > ${input} && cp ${input} ${root}/stored.bin && cp ${input} ${bare}/stored.bin`,
  ]);
  const policies = join(data, 'policies');
  mkdirSync(policies, { mode: 0o755 });
  mkdirSync(join(data, 'log'), { mode: 0o755 });
  writeFileSync(
    join(policies, 'p.yaml'),
    `version: 1\naudit: { file: ${join(data, 'log', 'audit.jsonl')} }\nidentities:\n  files:\n    rules:\n      - { name: files, sftp: { root: ${root}, access: read-write, delete: true } }\n`,
    { mode: 0o644 },
  );
  execFileSync(NODE, [LAUNCHER, 'apply', '--policy', policies], { stdio: 'ignore' });

  sshd = await ThrowawaySshd.start({ extraConfig: [`Subsystem sftp ${SFTP_SERVER}`] });
  const keys = { dispatch: await sshd.newClientKey('dispatch'), bare: await sshd.newClientKey('bare') };
  sshd.authorize([
    authorizedKeyLine('restrict', [NODE, LAUNCHER, '--id', 'files', '--policy', policies], keys.dispatch),
    authorizedKeyLine('restrict', [SFTP_SERVER, '-d', bare], keys.bare),
  ]);
  const batchFile = (name: string, lines: string[]) => {
    const path = join(data, name);
    writeFileSync(path, `${lines.join('\n')}\n`);
    return path;
  };
  const sftp = (key: ClientKey, batch: string): string[] => {
    const args = sshd!.sshArgs(key);
    const host = args.pop()!;
    return ['/usr/bin/sftp', ...args.map((a) => (a === '-p' ? '-P' : a)), '-b', batch, host];
  };
  const put = batchFile('put', [`put ${input} up.bin`]);
  const get = batchFile('get', [`get stored.bin ${join(data, 'down.bin')}`]);
  const pwd = batchFile('pwd', ['pwd']);
  const clean = () => rmSync(join(data, 'down.bin'), { force: true });

  const out = [`OpenSSH sftp through sshd on 127.0.0.1; Node ${process.version}.`, ''];
  const start = await compare(
    [
      { name: 'sftp-server as the forced command (unconfined)', argv: sftp(keys.bare, pwd) },
      { name: 'ssh-dispatch sftp rule (sandbox, own server)', argv: sftp(keys.dispatch, pwd) },
    ],
    Math.max(10, rounds * 5),
  );
  out.push(
    table(
      `A session that runs \`pwd\`: connection, authentication, start of the server (${Math.max(10, rounds * 5)} rounds)`,
      start,
      'sftp-server',
    ),
    '',
  );
  const up = await compare(
    [
      { name: 'sftp-server put 1 GiB', argv: sftp(keys.bare, put) },
      { name: 'ssh-dispatch sftp rule put 1 GiB', argv: sftp(keys.dispatch, put) },
    ],
    rounds,
    1,
  );
  out.push(table(`put 1 GiB (${rounds} rounds)`, up, 'sftp-server'), '');
  const down = await compare(
    [
      { name: 'sftp-server get 1 GiB', argv: sftp(keys.bare, get), before: clean },
      { name: 'ssh-dispatch sftp rule get 1 GiB', argv: sftp(keys.dispatch, get), before: clean },
    ],
    rounds,
    1,
  );
  out.push(table(`get 1 GiB (${rounds} rounds)`, down, 'sftp-server'));
  const mibs = (ms: number) => (1024 / (ms / 1000)).toFixed(0);
  out.push(
    '',
    `MiB/s: put ${mibs(up[0]!.median)} (sftp-server) vs ${mibs(up[1]!.median)} (ssh-dispatch); get ${mibs(down[0]!.median)} vs ${mibs(down[1]!.median)}`,
  );
  console.log(out.join('\n'));
} finally {
  await sshd?.stop();
  rmSync(data, { recursive: true, force: true });
}
