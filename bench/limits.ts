/**
 * What the per-identity limits cost a connection's start (docs/policy.md, "Limits"), paired
 * against the build before them: the same request, allowed, under a policy without the new keys
 * (nothing is looked at on disk), and under max-sessions (a slot file taken and given back, in
 * a directory beside the audit log), both for a supervised `true` (the slot is released at the
 * end) and an execve'd one (the slot stays with the pid, and the next start frees it as stale:
 * the dearest path). Each build and policy has its own compiled policy cache, written first.
 * Run: npm run build && node scripts/run-ts.mjs bench/limits.ts BEFORE_LAUNCHER [ROUNDS]
 *   BEFORE_LAUNCHER: dist/ssh-dispatch.cjs of the build to compare with (git archive it, build it).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compare, table, type Case } from './harness.js';

const before = process.argv[2];
if (!before) throw new Error('usage: bench/limits.ts BEFORE_LAUNCHER [ROUNDS]');
const rounds = Number(process.argv[3] ?? 100);
const NODE = process.execPath;
const AFTER = fileURLToPath(new URL('../dist/ssh-dispatch.cjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'ssh-dispatch-bench-limits-'));

try {
  const policy = (name: string, limits: string) => {
    const path = join(dir, name);
    mkdirSync(path, { mode: 0o755 });
    mkdirSync(join(dir, `log-${name}`), { mode: 0o700 });
    writeFileSync(
      join(path, 'p.yaml'),
      `version: 1\naudit: { file: ${join(dir, `log-${name}`, 'audit.jsonl')} }\nidentities:\n  t:\n${limits}    rules:\n      - { name: execve, exec: { command: "true", program: /bin/true, supervise: false } }\n      - { name: spawn, exec: { command: "true -", program: /bin/true } }\n`,
      { mode: 0o644 },
    );
    return path;
  };
  // One policy directory per build: each writes its own compiled cache (another build's is never read).
  const plainBefore = policy('plain-before', '');
  const plainAfter = policy('plain-after', '');
  const capped = policy('capped', '    max-sessions: 4\n');
  // Keys serve only an applied policy; a build from before apply compiled the files at check.
  for (const [launcher, path] of [
    [before, plainBefore],
    [AFTER, plainAfter],
    [AFTER, capped],
  ] as const)
    execFileSync(NODE, [launcher, launcher === AFTER ? 'apply' : 'check', '--policy', path], { stdio: 'ignore' });
  const env = (command: string): NodeJS.ProcessEnv => ({
    PATH: '/usr/bin:/bin',
    SSH_ORIGINAL_COMMAND: command,
    SSH_CONNECTION: '192.0.2.10 51234 192.0.2.1 22',
  });
  const run = (launcher: string, path: string) => [NODE, launcher, '--id', 't', '--policy', path];
  for (const [command, how] of [
    ['true', 'execve'],
    ['true -', 'supervised'],
  ] as const) {
    const cases: Case[] = [
      { name: `before the limits, \`${command}\` (${how})`, argv: run(before, plainBefore), env: env(command) },
      { name: 'with the limits, an identity without max-sessions', argv: run(AFTER, plainAfter), env: env(command) },
      { name: 'with the limits, max-sessions: 4', argv: run(AFTER, capped), env: env(command) },
    ];
    const results = await compare(cases, rounds);
    console.log(table(`${how} (${rounds} rounds, Node ${process.version})`, results, 'before'));
    console.log('');
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
