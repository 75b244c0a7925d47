// Bundles src/main.ts into the one file that ships: dist/ssh-dispatch.mjs.
// One file, because sshd starts it for every connection and module resolution costs time.
import { build } from 'esbuild';
import { chmodSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const BUNDLE = fileURLToPath(new URL('../dist/ssh-dispatch.mjs', import.meta.url));

export async function buildBundle() {
  await build({
    entryPoints: [fileURLToPath(new URL('../src/main.ts', import.meta.url))],
    outfile: BUNDLE,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    minify: true,
    legalComments: 'none',
    logLevel: 'warning',
    // CommonJS dependencies (micromatch, shell-quote) call require() for Node built-ins.
    banner: { js: '#!/usr/bin/env node\nimport { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);' },
  });
  chmodSync(BUNDLE, 0o755);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await buildBundle();
