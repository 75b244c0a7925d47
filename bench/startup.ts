/**
 * Dispatch overhead: one invocation of ssh-dispatch, as sshd makes it, deciding and launching
 * /bin/true, side by side with bare node, /bin/true and rrsync deciding the same request.
 * Run: npm run bench:startup [-- ROUNDS [BEFORE_LAUNCHER]]
 *   BEFORE_LAUNCHER: dist/ssh-dispatch.cjs of another build (git archive it, build it): its
 *   allowed, refused and -V cases join the same rounds, for before/after figures paired in one run.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compare, median, table, type Case, type Result } from './harness.js';

/** The median of round-by-round ratios a / b (the rounds are interleaved, so each pair shares its moment's load). */
const pairedRatio = (a: Result, b: Result): number => median(a.samples.map((s, i) => s / b.samples[i]!));

const rounds = Number(process.argv[2] ?? 60);
const NODE = process.execPath;
const LAUNCHER = fileURLToPath(new URL('../dist/ssh-dispatch.cjs', import.meta.url));
const BEFORE = process.argv[3];
const dir = mkdtempSync(join(tmpdir(), 'ssh-dispatch-bench-'));

try {
  const root = join(dir, 'root');
  mkdirSync(root);
  // The logs in a directory of their own: apply refuses a write rule whose directory holds the log.
  mkdirSync(join(dir, 'log'));
  const small = join(dir, 'small');
  const large = join(dir, 'large');
  mkdirSync(small, { mode: 0o755 });
  mkdirSync(large, { mode: 0o755 });
  writeFileSync(
    join(small, 'policy.yaml'),
    `version: 1
audit: { file: ${join(dir, 'log', 'audit-small.jsonl')} }
identities:
  t:
    rules:
      - { name: backup, rsync: { root: ${root}, access: write } }
      - { name: sizes, exec: { command: "du -sh /srv/backup/*", program: /usr/bin/du } }
      - { name: true-execve, exec: { command: "true", program: /bin/true, supervise: false } }
      - { name: true-spawn, exec: { command: "true -", program: /bin/true } }
      - { name: true-sandboxed, exec: { command: "true sandboxed", program: /bin/true, sandbox: { read: [${root}] } } }
      - { name: true-sandboxed-execve, exec: { command: "true sandboxed-execve", program: /bin/true, supervise: false, sandbox: { read: [${root}] } } }
`,
    { mode: 0o644 },
  );
  // 1,000 identities x 10 rules, in 10 files of 100 identities.
  for (let f = 0; f < 10; f++) {
    let yaml = `version: 1\n${f === 0 ? `audit: { file: ${join(dir, 'log', 'audit-large.jsonl')} }\n` : ''}identities:\n`;
    for (let i = f * 100; i < (f + 1) * 100; i++) {
      yaml += `  host${i}:\n    from: [192.0.2.${i % 250}, "2001:db8:${i}::/48"]\n    rules:\n`;
      for (let r = 0; r < 9; r++)
        yaml += `      - { name: r${r}, exec: { command: "tool${r} --flag /srv/host${i}/*", program: /usr/bin/tool${r} } }\n`;
      yaml += `      - { name: true-execve, exec: { command: "true", program: /bin/true, supervise: false } }\n`;
    }
    writeFileSync(join(large, `hosts-${f}.yaml`), yaml, { mode: 0o644 });
  }

  const env = (command: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
    PATH: '/usr/bin:/bin',
    SSH_ORIGINAL_COMMAND: command,
    SSH_CONNECTION: '192.0.2.10 51234 192.0.2.1 22',
    ...extra,
  });
  const dispatch = (policy: string, id: string, launcher = LAUNCHER): string[] => [NODE, launcher, '--id', id, '--policy', policy];
  // Keys serve only an applied policy: apply compiles it, as an admin's deploy does.
  for (const policy of [small, large]) execFileSync(NODE, [LAUNCHER, 'apply', '--policy', policy], { stdio: 'ignore' });
  const cases: Case[] = [
    { name: '`node -e 0`', argv: [NODE, '-e', '0'] },
    { name: '`/bin/true`', argv: ['/bin/true'] },
    { name: 'ssh-dispatch allows `true` (execve)', argv: dispatch(small, 't'), env: env('true') },
    { name: 'ssh-dispatch allows `true` (supervised, with end record)', argv: dispatch(small, 't'), env: env('true -') },
    { name: 'ssh-dispatch allows `true` in the sandbox (supervised)', argv: dispatch(small, 't'), env: env('true sandboxed') },
    {
      name: 'ssh-dispatch allows `true` in the sandbox (execve into bwrap)',
      argv: dispatch(small, 't'),
      env: env('true sandboxed-execve'),
    },
    { name: 'ssh-dispatch refuses `sh -c id`', argv: dispatch(small, 't'), env: env('sh -c id'), expectExit: 126 },
    { name: 'ssh-dispatch allows `true`, 1,000 identities x 10 rules', argv: dispatch(large, 'host10'), env: env('true') },
    { name: '`ssh-dispatch -V` (loads the program, decides nothing)', argv: [NODE, LAUNCHER, '-V'] },
  ];
  if (BEFORE) {
    // Its own policy directory: a build never reads another build's compiled cache.
    const beforePolicy = join(dir, 'small-before');
    mkdirSync(beforePolicy, { mode: 0o755 });
    writeFileSync(join(beforePolicy, 'policy.yaml'), readFileSync(join(small, 'policy.yaml')), { mode: 0o644 });
    cases.push(
      { name: 'before: ssh-dispatch allows `true` (execve)', argv: dispatch(beforePolicy, 't', BEFORE), env: env('true') },
      { name: 'before: ssh-dispatch refuses `sh -c id`', argv: dispatch(beforePolicy, 't', BEFORE), env: env('sh -c id'), expectExit: 126 },
      { name: 'before: `ssh-dispatch -V`', argv: [NODE, BEFORE, '-V'] },
    );
  }
  if (existsSync('/usr/bin/rrsync')) {
    cases.push({
      name: 'rrsync answers `true` (`rrsync -wo DIR`)',
      argv: ['/usr/bin/python3', '/usr/bin/rrsync', '-wo', root],
      env: env('true'),
    });
  }
  const results = await compare(cases, rounds);
  console.log(table(`Dispatch overhead (${rounds} rounds, Node ${process.version})`, results, '`node -e 0`'));
  const rrsync = results.find((r) => r.name.startsWith('rrsync'));
  const allowed = results[2]!;
  if (rrsync) console.log(`\nssh-dispatch (execve) / rrsync: ${(allowed.median / rrsync.median).toFixed(2)}`);
  const named = (prefix: string) => results.find((r) => r.name.startsWith(prefix))!;
  console.log(`1,000-identity policy / small policy: ${(named('ssh-dispatch allows `true`, 1,000').median / allowed.median).toFixed(2)}`);
  const spawned = named('ssh-dispatch allows `true` (supervised');
  const boxed = named('ssh-dispatch allows `true` in the sandbox (supervised)');
  const boxedExecve = named('ssh-dispatch allows `true` in the sandbox (execve');
  console.log(
    `sandbox cost: supervised ${(boxed.median - spawned.median).toFixed(1)} ms (${(boxed.median / spawned.median).toFixed(2)}x), execve ${(boxedExecve.median - allowed.median).toFixed(1)} ms (${(boxedExecve.median / allowed.median).toFixed(2)}x)`,
  );
  if (rrsync) console.log(`sandboxed ssh-dispatch (execve) / rrsync: ${(boxedExecve.median / rrsync.median).toFixed(2)}`);
  if (rrsync) console.log(`ssh-dispatch (execve) / rrsync, median of per-round ratios: ${pairedRatio(allowed, rrsync).toFixed(2)}`);
  if (BEFORE) {
    for (const [after, before] of [
      ['ssh-dispatch allows `true` (execve)', 'before: ssh-dispatch allows'],
      ['ssh-dispatch refuses', 'before: ssh-dispatch refuses'],
      ['`ssh-dispatch -V`', 'before: `ssh-dispatch -V`'],
    ] as const) {
      console.log(`${after} / ${before}: ${pairedRatio(named(after), named(before)).toFixed(2)}`);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
