// Runs a TypeScript file of this project (bench/, tools) with the project's Node: bundles it with
// esbuild into a temp file (dependencies stay external) and imports that. Production never runs
// TypeScript; this is for scripts people run by hand.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [file, ...args] = process.argv.slice(2);
if (!file) {
  console.error('usage: node scripts/run-ts.mjs FILE.ts [ARGS...]');
  process.exit(2);
}
// Beside the source, so that its import.meta.url (new URL('../dist/...')) means what it says.
const out = join(dirname(resolve(file)), `.${basename(file, '.ts')}.${process.pid}.mjs`);
try {
  await build({
    entryPoints: [file],
    outfile: out,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    packages: 'external',
    logLevel: 'warning',
  });
  process.argv = [process.argv[0], resolve(file), ...args];
  await import(pathToFileURL(out).href);
} finally {
  rmSync(out, { force: true });
}
