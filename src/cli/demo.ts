/**
 * `ssh-dispatch demo`: a throwaway sshd on 127.0.0.1 wired to this very ssh-dispatch, one key,
 * one identity, a few real requests (allowed and refused), then the audit log they left.
 * Everything lives in a temp dir that is removed at the end; sshd is stopped by its pid.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { printable } from '../values/printable.js';
import { authorizedKeyLine, type ClientKey, SSH, ThrowawaySshd } from '../lab/throwaway-sshd.js';

export const DEMO_HELP = `Usage: ssh-dispatch demo

Starts a throwaway OpenSSH sshd on 127.0.0.1 (temp keys, temp config, nothing of /etc/ssh or
~/.ssh), sets ssh-dispatch as the forced command of a temp key, sends a real rsync backup and
refused requests through real ssh and rsync, and prints the audit records. Needs openssh-server,
openssh-client, rsync and bubblewrap (npm run demo installs them). Exit status: 0 when every request got the expected decision.`;

/** A request through ssh: a command (null: none), with a tarball on stdin, or through the gateway as a ProxyCommand hop. */
type SshStep = { ssh: string | null; tarball?: true; hop?: true };
type Step = { title: string; expect: 'allow' | 'deny' } & (SshStep | { rsync: string[] });

const ARCHIVE = 'host1-2026-11-23.tar.gz';

const STEPS: Step[] = [
  { title: 'The nightly backup pushes with rsync', rsync: ['-a', 'data/', 'HOST:2026-11-24/'], expect: 'allow' },
  {
    title: 'The next night links unchanged files to the previous one',
    rsync: ['-a', '--link-dest=../2026-11-24', 'data/', 'HOST:2026-11-25/'],
    expect: 'allow',
  },
  {
    title: 'An encrypted-tarball job uploads (tar c | ssh host receive); the receipt says what was stored',
    ssh: 'receive',
    tarball: true,
    expect: 'allow',
  },
  { title: 'The backup job verifies an archive', ssh: `sha256sum ${ARCHIVE}`, expect: 'allow' },
  {
    title: 'An admin reaches an inner host through the gateway (ProxyCommand ssh gw nc %h %p)',
    ssh: 'du -sh .',
    hop: true,
    expect: 'allow',
  },
  {
    title: "A stolen key tries to rewrite last night's backup (a push into an existing snapshot)",
    rsync: ['-a', 'data/', 'HOST:2026-11-25/'],
    expect: 'deny',
  },
  {
    title: 'It tries to wipe the backups (--delete with an empty source)',
    rsync: ['-a', '--delete', 'empty/', 'HOST:2026-11-24/'],
    expect: 'deny',
  },
  {
    title: 'It tries to read the backups back (a pull through a write-only rule)',
    rsync: ['-a', 'HOST:2026-11-24/', 'stolen/'],
    expect: 'deny',
  },
  { title: 'It tries to write outside the backup directory', rsync: ['-a', 'data/', 'HOST:../policies/'], expect: 'deny' },
  { title: 'It tries to upload into cron', ssh: 'receive ../../etc/cron.d/evil', tarball: true, expect: 'deny' },
  { title: 'It asks for a shell', ssh: 'sh -c id', expect: 'deny' },
  { title: 'It tries to hop to a host the gateway does not relay to', ssh: 'nc 10.0.0.1 22', expect: 'deny' },
  { title: 'It chains a second command', ssh: 'du -sh .; cat /etc/shadow', expect: 'deny' },
  { title: 'It smuggles a command substitution', ssh: `sha256sum $(id -u).tar.gz`, expect: 'deny' },
  { title: 'It opens an interactive session (no command)', ssh: null, expect: 'deny' },
];

function policyText(backups: string, auditFile: string, port: number): string {
  return `# The demo's policy: one identity, a write-only rsync backup and two harmless commands.
version: 1
audit:
  file: ${auditFile}
identities:
  demo-backup:
    from: [127.0.0.1]
    rules:
      - name: nightly
        rsync:
          root: ${backups}         # every client path stays inside it
          access: write            # push only: a stolen key cannot read backups back
          delete: false            # and cannot wipe them
          snapshot: true           # each night one new directory: yesterday's can never change
        expect-every: 26h
      - name: tarball
        receive:
          dir: ${backups}/tar
          name: "host1-{timestamp}.tar"   # never overwrites; a cut upload is never kept
          client-name: "weekly-*.tar"
          keep: 7                          # retention: the newest 7 uploads, and none younger than 7d
          keep-within: 7d
        expect-every: 26h
      - name: checksum
        exec:
          command: "sha256sum *.tar.gz"     # one glob per word; * never matches / or ..
          program: /usr/bin/sha256sum
          cwd: ${backups}
      - name: disk-usage
        exec:
          command: "du -sh ."
          program: /usr/bin/du
          cwd: ${backups}
      - name: hop
        relay:
          to: ["127.0.0.1:${port}"]        # the inner host (here: this same sshd)
`;
}

function lastDecision(auditFile: string): Record<string, unknown> | null {
  const lines = readFileSync(auditFile, 'utf8').trim().split('\n').reverse();
  for (const line of lines) {
    const record = JSON.parse(line) as Record<string, unknown>;
    if (record.event === 'decision') return record;
  }
  return null;
}

export async function runDemo(): Promise<number> {
  const bundle = realpathSync(process.argv[1]!);
  const sshd = await ThrowawaySshd.start();
  try {
    const { policies, auditFile, policy } = makeDemoTree(sshd);
    // Keys serve only an applied policy: the demo applies it as an admin would.
    const applied = spawnSync(process.execPath, [bundle, 'apply', '--policy', policies, '--message', 'the demo'], {
      encoding: 'utf8',
    });
    if (applied.status !== 0) throw new Error(`apply refused the demo's policy:\n${applied.stdout}${applied.stderr}`);
    const key = await sshd.newClientKey('demo');
    const line = authorizedKeyLine('restrict', [process.execPath, bundle, '--id', 'demo-backup', '--policy', policies], key);
    sshd.authorize([line]);
    const client: Client = { sshd, key, ...sshd.rsyncRemoteShell(key) };
    printSetup(sshd, line, policy);
    console.log(`\n$ ssh-dispatch apply\n${applied.stdout.trimEnd()}`.replaceAll(sshd.dir, '$DEMO'));

    let surprises = 0;
    for (const [i, step] of STEPS.entries()) {
      const run = 'rsync' in step ? runRsync(client, step.rsync) : await runSsh(client, step);
      if (!printStep(i + 1, step, run, lastDecision(auditFile), sshd.dir)) surprises++;
    }
    printAuditLog(auditFile, sshd.dir);
    console.log(
      surprises === 0 ? '\nEvery request got the expected decision.' : `\n${surprises} request(s) did not get the expected decision.`,
    );
    return surprises === 0 ? 0 : 1;
  } finally {
    await sshd.stop();
  }
}

/**
 * The demo's files in the sshd's temp dir: the data the backup saves, an empty source, an archive
 * to verify, the backup and log directories, and the policy (returned as text to print it).
 */
function makeDemoTree(sshd: ThrowawaySshd): { policies: string; auditFile: string; policy: string } {
  const backups = join(sshd.dir, 'backups');
  const policies = join(sshd.dir, 'policies');
  const auditFile = join(sshd.dir, 'log', 'audit.jsonl');
  mkdirSync(join(sshd.dir, 'log'), { mode: 0o700 });
  mkdirSync(join(backups, 'tar'), { recursive: true, mode: 0o700 });
  mkdirSync(policies, { mode: 0o700 });
  mkdirSync(join(sshd.dir, 'data', 'etc'), { recursive: true });
  mkdirSync(join(sshd.dir, 'empty'));
  writeFileSync(join(sshd.dir, 'data', 'etc', 'hosts'), '127.0.0.1 localhost\n');
  writeFileSync(join(sshd.dir, 'data', 'notes.txt'), 'what the nightly backup saves\n');
  writeFileSync(join(backups, ARCHIVE), gzipSync('pretend this is a tarball\n'));
  const policy = policyText(backups, auditFile, sshd.port);
  writeFileSync(join(policies, 'demo.yaml'), policy, { mode: 0o600 });
  return { policies, auditFile, policy };
}

/** What the demo shows before its requests: the sshd, the key's line (shortened) and the policy. */
function printSetup(sshd: ThrowawaySshd, line: string, policy: string): void {
  const out: string[] = [];
  out.push(`ssh-dispatch demo: a throwaway sshd (pid ${sshd.pid}) on 127.0.0.1:${sshd.port}, logging in as ${sshd.user}`);
  out.push('', 'authorized_keys:', `  ${line.replace(/(ssh-ed25519 \S{20})\S+/, '$1...')}`, '', 'policy (demo.yaml):');
  out.push(
    ...policy
      .trimEnd()
      .split('\n')
      .map((l) => `  ${l}`),
  );
  console.log(out.join('\n').replaceAll(sshd.dir, '$DEMO'));
}

/** The demo's way in: its key, and the remote shell and host rsync is given for it. */
interface Client {
  sshd: ThrowawaySshd;
  key: ClientKey;
  shell: string;
  host: string;
}

/** A step as it ran: the command line as a reader would type it, its exit status and its output. */
interface StepRun {
  shown: string;
  code: number | null;
  output: string;
}

function runRsync({ sshd, shell, host }: Client, rsync: readonly string[]): StepRun {
  const args = rsync.map((a) => a.replace('HOST:', `${host}:`));
  const shown = `rsync ${rsync.join(' ').replace('HOST:', `${sshd.user}@127.0.0.1:`)}`;
  const ran = spawnSync('/usr/bin/rsync', ['-e', shell, ...args], { cwd: sshd.dir, encoding: 'utf8', timeout: 60_000 });
  return { shown, code: ran.status, output: ran.stdout + ran.stderr };
}

async function runSsh({ sshd, key }: Client, step: SshStep): Promise<StepRun> {
  let shown = step.ssh === null ? `ssh ${sshd.user}@127.0.0.1` : `ssh ${sshd.user}@127.0.0.1 '${step.ssh}'`;
  const input = step.tarball
    ? execFileSync('/usr/bin/tar', ['-c', '-C', join(sshd.dir, 'data'), '.'], { maxBuffer: 64 * 1024 * 1024 })
    : undefined;
  if (step.tarball) shown = `tar -c -C data . | ${shown}`;
  if (step.hop) shown = shown.replace('ssh ', `ssh -o ProxyCommand='ssh gw nc %h %p' `);
  const hop = step.hop ? { extraArgs: ['-o', `ProxyCommand=${[SSH, ...sshd.sshArgs(key)].join(' ')} nc 127.0.0.1 ${sshd.port}`] } : {};
  const ran = await sshd.ssh(key, step.ssh, { ...hop, ...(input ? { input } : {}) });
  return { shown, code: ran.code, output: ran.stdout.toString('utf8') + ran.stderr };
}

/** A step's lines: what ran, the first of its output, and the decision the audit log holds; true when it was the one expected. */
function printStep(number: number, step: Step, run: StepRun, decision: Record<string, unknown> | null, dir: string): boolean {
  const got = decision?.decision === 'allow' ? 'allow' : 'deny';
  console.log(`\n${number}. ${step.title} (expected: ${step.expect})\n   $ ${printable(run.shown)}`);
  const lines = run.output.trimEnd().split('\n').filter(Boolean);
  for (const l of lines.slice(0, 4)) console.log(`   ${printable(l.replaceAll(dir, '$DEMO'))}`);
  if (lines.length > 4) console.log(`   ... (${lines.length - 4} more lines)`);
  const why = decision
    ? decision.decision === 'allow'
      ? `by rule ${String(decision.rule)}`
      : `${String(decision.reason)}: ${String(decision.detail ?? '')}`
    : 'no record';
  console.log(
    `   exit status ${run.code}; ${got} ${printable(why.replaceAll(dir, '$DEMO'))}${got === step.expect ? '' : '   <-- NOT AS EXPECTED'}`,
  );
  return got === step.expect;
}

/** The audit log the requests left, a line per record. */
function printAuditLog(auditFile: string, dir: string): void {
  console.log(`\nThe audit log (${auditFile.replace(dir, '$DEMO')}), one decision record per connection, an end record per program run:`);
  for (const text of readFileSync(auditFile, 'utf8').split('\n').filter(Boolean)) {
    const r = JSON.parse(text) as Record<string, unknown>;
    const time = String(r.ts).slice(11, 19);
    if (r.event === 'decision') {
      const why = r.decision === 'allow' ? `rule ${String(r.rule)}` : String(r.reason);
      const command = r.command === null ? '(no command)' : JSON.stringify(r.command);
      console.log(
        `  ${time}  ${String(r.session).slice(0, 8)}  ${String(r.decision).padEnd(5)}  ${why.padEnd(24)}  ${printable(command.replaceAll(dir, '$DEMO'))}`,
      );
    } else {
      console.log(`  ${time}  ${String(r.session).slice(0, 8)}  end    exit ${String(r.exit).padEnd(19)}  ${String(r.duration_ms)} ms`);
    }
  }
}
