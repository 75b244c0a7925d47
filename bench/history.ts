/**
 * What keeping stored history costs a plain rsync push (host/stored-history.ts): before a push
 * into an existing directory, overwrite: true walks it for files hard-linked from outside, and
 * overwrite: false notes its directories. Side by side with rsync's own walk of the same tree
 * (an unchanged push, quick check, local: no ssh), which every such push pays anyway.
 * Run: npm run bench:history [-- FILES [ROUNDS]]   (default 100000 files in 1000 directories, 5 rounds)
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sharedInodeOutside, storedDirectories } from '../src/host/stored-history.js';
import { median } from './harness.js';

const files = Number(process.argv[2] ?? 100_000);
const rounds = Number(process.argv[3] ?? 5);
const perDir = 100;
const data = mkdtempSync(join(tmpdir(), 'ssh-dispatch-bench-history-'));
try {
  const tree = join(data, 'dest');
  for (let d = 0; d < files / perDir; d++) {
    const dir = join(tree, `d${d}`);
    mkdirSync(dir, { recursive: true });
    for (let f = 0; f < perDir; f++) writeFileSync(join(dir, `f${f}`), 'x');
  }
  execFileSync('/usr/bin/rsync', ['-a', `${tree}/`, join(data, 'src/')]);
  const time = (run: () => unknown): number => {
    const times: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const started = performance.now();
      run();
      times.push(performance.now() - started);
    }
    return median(times);
  };
  const rsync = time(() => execFileSync('/usr/bin/rsync', ['-a', `${join(data, 'src')}/`, `${tree}/`]));
  const shared = time(() => sharedInodeOutside(tree));
  const dirs = time(() => storedDirectories(tree));
  const row = (name: string, ms: number) => `| ${name} | ${ms.toFixed(0)} ms | ${(ms / rsync).toFixed(2)} |`;
  console.log(
    [
      `${files} files in ${files / perDir} directories, warm cache, median of ${rounds}; Node ${process.version}.`,
      '',
      "| what | median | ratio to rsync's own unchanged push |",
      '|---|---|---|',
      row('rsync -a of the unchanged tree into itself (local, quick check)', rsync),
      row('overwrite: true: walk for files hard-linked from outside', shared),
      row('overwrite: false: note every directory', dirs),
    ].join('\n'),
  );
} finally {
  rmSync(data, { recursive: true, force: true });
}
