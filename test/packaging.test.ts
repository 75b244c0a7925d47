/**
 * What `npm pack` ships: package.json's "files" against a stand-in tree in a temp directory
 * (never the checkout's dist/, which the e2e project rebuilds), with what a build machine leaves
 * in dist/ besides the build: the Node compile cache the launcher writes beside the bundle.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';

const repo = fileURLToPath(new URL('../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'ssh-dispatch-pack-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('npm pack ships the build, man pages and completion, never the compile cache', () => {
  copyFileSync(join(repo, 'package.json'), join(dir, 'package.json'));
  for (const file of [
    'dist/ssh-dispatch.cjs',
    'dist/ssh-dispatch-core.cjs',
    'dist/ssh-dispatch-serve.cjs',
    'dist/ssh-dispatch-files.cjs',
    'dist/man/ssh-dispatch.8',
    'dist/man/ssh-dispatch-policy.5',
    'dist/completion/ssh-dispatch',
    'dist/.compile-cache/0/v24-x64-abcdef/ssh-dispatch-core.cjs.cache',
    'dist/.compile-cache/0/v24-x64-abcdef/ssh-dispatch-serve.cjs.cache',
    'dist/.compile-cache/65534/blob',
    'install.sh',
  ]) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), 'x\n');
  }
  // npm would leave a debug log in ~/.npm/_logs and its compile cache in TMPDIR, outside this
  // test's directory.
  const env = { ...process.env, npm_config_logs_max: '0', NODE_DISABLE_COMPILE_CACHE: '1' };
  const result = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: dir, encoding: 'utf8', env });
  expect(result.status, result.stderr).toBe(0);
  const [pack] = JSON.parse(result.stdout) as { files: { path: string }[] }[];
  const files = pack!.files.map((f) => f.path).sort();
  expect(files.filter((f) => f.includes('compile-cache'))).toEqual([]);
  expect(files).toEqual(
    expect.arrayContaining([
      'dist/ssh-dispatch.cjs',
      'dist/ssh-dispatch-core.cjs',
      'dist/ssh-dispatch-serve.cjs',
      'dist/ssh-dispatch-files.cjs',
      'dist/man/ssh-dispatch.8',
      'dist/man/ssh-dispatch-policy.5',
      'dist/completion/ssh-dispatch',
      'install.sh',
      'package.json',
    ]),
  );
});
