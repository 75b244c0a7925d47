/**
 * `ssh-dispatch summary` over 1,000,000 generated audit records, against an equivalent jq
 * pipeline (counts per identity, rule and decision), side by side: wall time and peak memory
 * (GNU time's maximum resident set). Target: at most 5 s and 150 MB, and faster than jq.
 * Run: npm run bench:summary [-- ROUNDS]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from './harness.js';

const rounds = Number(process.argv[2] ?? 3);
const RECORDS = 1_000_000;
const LAUNCHER = fileURLToPath(new URL('../dist/ssh-dispatch.cjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'ssh-dispatch-bench-summary-'));
try {
  const log = join(dir, 'audit.jsonl');
  const fd = openSync(log, 'w');
  const start = Date.parse('2026-11-01T00:00:00Z');
  let written = 0;
  let batch = '';
  for (let i = 0; written < RECORDS; i++) {
    const ts = new Date(start + i * 1000).toISOString();
    const session = i.toString(16).padStart(16, '0');
    const id = `host${i % 500}`;
    if (i % 10 === 9) {
      batch += `${JSON.stringify({ ts, event: 'decision', session, id, user: 'root', client: `198.51.100.${i % 250}:${40000 + (i % 20000)}`, key: null, command: i % 20 === 9 ? 'sh -c id' : `rsync --server -logDtpre.iLsfxCIvu --delete . dst${i % 7}/`, decision: 'deny', reason: i % 20 === 9 ? 'no-rule-matched' : 'rsync-option-refused', detail: 'rule nightly: --delete: deletes on the server' })}\n`;
      written++;
    } else {
      batch += `${JSON.stringify({ ts, event: 'decision', session, id, user: 'root', client: `192.0.2.${i % 250}:${40000 + (i % 20000)}`, key: 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s', command: 'rsync --server -logDtpre.iLsfxCIvu . 2026-11-24/', decision: 'allow', rule: 'nightly', rule_at: '/etc/ssh-dispatch/policies/hosts.yaml:12', argv: ['/usr/bin/rsync', '--server', '-logDtpre.iLsfxCIvu', '--munge-links', '--', '.', '2026-11-24/'] })}\n`;
      batch += `${JSON.stringify({ ts, event: 'end', session, id, rule: 'nightly', outcome: 'exited', exit: i % 97 === 0 ? 23 : 0, duration_ms: 30000 + (i % 5000) })}\n`;
      written += 2;
    }
    if (batch.length > 1 << 20) {
      writeSync(fd, batch);
      batch = '';
    }
  }
  writeSync(fd, batch);
  closeSync(fd);
  const size = Number(execFileSync('stat', ['-c', '%s', log], { encoding: 'utf8' }));

  const measure = (argv: string[]): { seconds: number; mib: number } => {
    const result = spawnSync('/usr/bin/time', ['-f', '%e %M', ...argv], { encoding: 'utf8', maxBuffer: 1 << 26 });
    const [seconds, kib] = result.stderr.trim().split('\n').pop()!.split(' ').map(Number);
    if (result.status !== 0) throw new Error(`${argv.join(' ')}: ${result.stderr}`);
    return { seconds: seconds!, mib: kib! / 1024 };
  };
  const ours: { seconds: number; mib: number }[] = [];
  const jq: { seconds: number; mib: number }[] = [];
  const jqPipeline = `jq -r 'select(.event=="decision") | [.id, (.rule // "-"), .decision] | @tsv' ${log} | sort | uniq -c > /dev/null`;
  for (let i = 0; i < rounds; i++) {
    ours.push(measure([process.execPath, LAUNCHER, 'summary', '--log', log, '--since', '3650d', '--json']));
    jq.push(measure(['/bin/sh', '-c', jqPipeline]));
  }
  const row = (name: string, samples: { seconds: number; mib: number }[]) =>
    `| ${name} | ${median(samples.map((s) => s.seconds)).toFixed(2)} s | ${median(samples.map((s) => s.mib)).toFixed(0)} MiB |`;
  console.log(
    [
      `### summary over ${RECORDS.toLocaleString('en')} records (${(size / 2 ** 20).toFixed(0)} MiB), ${rounds} rounds, Node ${process.version}`,
      '',
      '| command | median time | median peak RSS |',
      '|---|---|---|',
      row('`ssh-dispatch summary --json`', ours),
      row('`jq ... | sort | uniq -c` (counts only; jq itself)', jq),
    ].join('\n'),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
