/**
 * `ssh-dispatch replay` over 1,000,000 generated decision records of the last week (and the end
 * records of the allowed ones, as a real log has them), in a temp dir: wall time and peak memory
 * (GNU time's maximum resident set). The traffic is what a backup server sees: 200 hosts each
 * pushing a dated rsync backup, pulling restores, uploading a tar and answering a monitoring
 * check; scanners sending shell commands (15 %, each a distinct refusal), and some records refused
 * by the host (max-sessions) or recorded in learn mode. Two edits are replayed:
 *
 * - typical: the monitoring rule removed from 20 hosts (a few thousand records change, 20 requests);
 * - worst case: every scanner's command allowed by a new catch-all rule (each record a distinct
 *   changed request, past the cap of 100,000: the list is cut, and memory is the cap's).
 *
 * Target: well under a minute and under 200 MB. Run: npm run bench:replay [-- ROUNDS [RECORDS]]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from './harness.js';

const rounds = Number(process.argv[2] ?? 3);
const RECORDS = Number(process.argv[3] ?? 1_000_000);
const HOSTS = 200;
const LAUNCHER = fileURLToPath(new URL('../dist/ssh-dispatch.cjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'ssh-dispatch-bench-replay-'));

/** The policy: every host's four rules; `edit` drops or adds some. */
function policy(audit: string, edit: 'none' | 'typical' | 'worst'): string {
  const lines = ['version: 1', `audit: { file: ${audit} }`, 'identities:'];
  for (let h = 0; h < HOSTS; h++) {
    lines.push(
      `  host${h}:`,
      `    from: [192.0.2.0/24]`,
      '    rules:',
      `      - { name: nightly, rsync: { root: ${dir}/srv/host${h}, access: write } }`,
      `      - { name: restore, rsync: { root: ${dir}/srv/host${h}, access: read } }`,
      `      - { name: upload, receive: { dir: ${dir}/srv/host${h}/tar, name: "backup-{timestamp}.tar" } }`,
    );
    if (!(edit === 'typical' && h < 20)) lines.push('      - { name: monitor, exec: { command: [check-disk], program: /bin/true } }');
    if (edit === 'worst') lines.push('      - { name: anything, exec: { command: [sh, -c, "..."], run: [/bin/true] } }');
  }
  return `${lines.join('\n')}\n`;
}

/** One host's traffic at record i: a push, a restore, an upload, a check; a scanner; a host refusal; learn mode. */
function record(i: number, ts: string): object[] {
  const session = i.toString(16).padStart(16, '0');
  const id = `host${Math.floor(i / 10) % HOSTS}`;
  const base = {
    ts,
    event: 'decision',
    session,
    id,
    user: 'root',
    client: `192.0.2.${(Math.floor(i / 10) % HOSTS) + 1}:${40000 + (i % 20000)}`,
    key: null,
  };
  const day = ts.slice(0, 10);
  const allow = (rule: string, command: string, plan: object) => [
    { ...base, command, decision: 'allow', rule, rule_at: '/etc/ssh-dispatch/policies/hosts.yaml:12', ...plan },
    { ts, event: 'end', session, id, rule, outcome: 'exited', exit: 0, duration_ms: 30000 + (i % 5000) },
  ];
  switch (i % 10) {
    case 0:
    case 1:
    case 2:
      return allow('nightly', `rsync --server -logDtpre.iLsfxCIvu --numeric-ids . ${day}/`, { argv: ['/usr/bin/rsync', '--server'] });
    case 3:
      return allow('restore', `rsync --server --sender -logDtpre.iLsfxCIvu . ${day}/etc/`, { argv: ['/usr/bin/rsync', '--server'] });
    case 4:
      return allow('upload', 'receive', { receive: { dir: '/srv/tar', name: `backup-${day}.tar` } });
    case 5:
    case 6:
      return allow('monitor', 'check-disk', { argv: ['/bin/true'] });
    case 7:
      return [
        { ...base, command: `sh -c 'cat /etc/shadow #${i}'`, decision: 'deny', reason: 'no-rule-matched', detail: '4 rule(s) tried' },
      ];
    case 8:
      return [
        { ...base, command: 'check-disk', decision: 'deny', reason: 'max-sessions', detail: `identity ${id} has 2 session(s) running` },
      ];
    default:
      if (i % 20 === 9) return [{ ...base, command: 'borg serve', decision: 'learn', would: 'deny: no-rule-matched' }];
      return [{ ...base, command: `sh -c 'ls /root #${i}'`, decision: 'deny', reason: 'no-rule-matched', detail: '4 rule(s) tried' }];
  }
}

try {
  const log = join(dir, 'log', 'audit.jsonl');
  mkdirSync(join(dir, 'log'));
  const fd = openSync(log, 'w');
  const end = Date.now() - 60_000;
  const start = end - 6.9 * 86_400_000;
  let lines = 0;
  let batch = '';
  for (let i = 0; i < RECORDS; i++) {
    for (const r of record(i, new Date(start + ((end - start) * i) / RECORDS).toISOString())) {
      batch += `${JSON.stringify(r)}\n`;
      lines++;
    }
    if (batch.length > 1 << 20) {
      writeSync(fd, batch);
      batch = '';
    }
  }
  writeSync(fd, batch);
  closeSync(fd);
  const size = Number(execFileSync('stat', ['-c', '%s', log], { encoding: 'utf8' }));
  const policies = Object.fromEntries(
    (['none', 'typical', 'worst'] as const).map((edit) => {
      const path = join(dir, `${edit}.yaml`);
      writeFileSync(path, policy(log, edit), { mode: 0o600 });
      return [edit, path];
    }),
  );

  const measure = (edit: string, expectExit: number): { seconds: number; mib: number; out: string } => {
    const result = spawnSync(
      '/usr/bin/time',
      ['-f', '%e %M', process.execPath, LAUNCHER, 'replay', '--policy', policies[edit]!, '--json'],
      {
        encoding: 'utf8',
        maxBuffer: 1 << 28,
      },
    );
    const [seconds, kib] = result.stderr.trim().split('\n').pop()!.split(' ').map(Number);
    if (result.status !== expectExit) throw new Error(`replay under ${edit}: exit ${result.status}: ${result.stderr}`);
    return { seconds: seconds!, mib: kib! / 1024, out: result.stdout };
  };
  const cases = [
    { name: 'unchanged policy', edit: 'none', exit: 0 },
    { name: 'typical edit: a rule removed from 20 hosts', edit: 'typical', exit: 1 },
    { name: 'worst case: every scanner command allowed (cut at 100,000)', edit: 'worst', exit: 1 },
  ];
  const samples = new Map(cases.map((c) => [c.name, [] as { seconds: number; mib: number }[]]));
  const shape = new Map<string, string>();
  for (let r = 0; r < rounds; r++) {
    for (const c of cases) {
      const m = measure(c.edit, c.exit);
      samples.get(c.name)!.push(m);
      const out = JSON.parse(m.out) as { records: number; replayed: number; changes: { count: number }[]; truncated: number };
      const changed = out.changes.reduce((sum, change) => sum + change.count, 0) + out.truncated;
      shape.set(
        c.name,
        `${out.replayed.toLocaleString('en')} replayed; ${out.changes.length.toLocaleString('en')} listed, ${changed.toLocaleString('en')} records changed`,
      );
    }
  }
  console.log(
    [
      `### replay over ${RECORDS.toLocaleString('en')} decision records (${lines.toLocaleString('en')} lines with the end records, ${(size / 2 ** 20).toFixed(0)} MiB), ${HOSTS} identities, ${rounds} rounds, Node ${process.version}`,
      '',
      '| policy replayed | median time | median peak RSS | what it found |',
      '|---|---|---|---|',
      ...cases.map((c) => {
        const s = samples.get(c.name)!;
        return `| ${c.name} | ${median(s.map((x) => x.seconds)).toFixed(2)} s | ${median(s.map((x) => x.mib)).toFixed(0)} MiB | ${shape.get(c.name)} |`;
      }),
    ].join('\n'),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
