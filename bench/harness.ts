/**
 * A small benchmark harness: runs commands round-robin (A, B, C, A, B, C, ...) so that whatever
 * else the machine does hits every command alike, and reports each command's median with paired
 * ratios against a baseline (the median of run-by-run ratios, as BASELINES.md measures them).
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';

export interface Case {
  name: string;
  /** argv of the command; stdio is /dev/null unless `input` is given. */
  argv: string[];
  env?: NodeJS.ProcessEnv;
  /** Run as this user and group (root only), as sshd runs a command as its account; no supplementary groups. */
  uid?: number;
  gid?: number;
  input?: () => NodeJS.ReadableStream;
  /** A file the command reads as its stdin, given as its descriptor (no copy through the harness). */
  stdinFile?: string;
  /** Run before every timed run, untimed (remove what the last one wrote). */
  before?: () => void;
  /** Check the run did what it should (exit status, output): a fast failure is no result. */
  expectExit?: number;
}

export interface Result {
  name: string;
  samples: number[];
  median: number;
  /** Median of per-round ratios against the baseline case. */
  ratio: number;
}

function timeOnce(c: Case): Promise<number> {
  c.before?.();
  const stdinFd = c.stdinFile ? openSync(c.stdinFile, 'r') : null;
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(c.argv[0]!, c.argv.slice(1), {
      env: c.env ?? process.env,
      uid: c.uid,
      gid: c.gid,
      stdio: [stdinFd ?? (c.input ? 'pipe' : 'ignore'), 'ignore', 'pipe'],
    });
    if (stdinFd !== null) closeSync(stdinFd);
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    if (c.input) c.input().pipe(child.stdin!);
    child.once('error', reject);
    child.once('close', (code) => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      if (code !== (c.expectExit ?? 0))
        reject(new Error(`${c.name}: exit ${code}, expected ${c.expectExit ?? 0}: ${stderr.slice(0, 500)}`));
      else resolve(ms);
    });
  });
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export async function compare(cases: Case[], rounds: number, warmup = 3): Promise<Result[]> {
  for (let i = 0; i < warmup; i++) for (const c of cases) await timeOnce(c);
  const samples = cases.map(() => [] as number[]);
  for (let round = 0; round < rounds; round++) {
    for (const [i, c] of cases.entries()) samples[i]!.push(await timeOnce(c));
  }
  const base = samples[0]!;
  return cases.map((c, i) => ({
    name: c.name,
    samples: samples[i]!,
    median: median(samples[i]!),
    ratio: median(samples[i]!.map((s, round) => s / base[round]!)),
  }));
}

export function table(title: string, results: Result[], baseline: string): string {
  const lines = [`### ${title}`, '', `| command | median | ratio to ${baseline} |`, '|---|---|---|'];
  for (const r of results) lines.push(`| ${r.name} | ${r.median.toFixed(1)} ms | ${r.ratio.toFixed(2)} |`);
  return lines.join('\n');
}
