// Builds what ships, in dist/:
//   ssh-dispatch.cjs       the launcher sshd runs (src/entry.ts): guards signals, enables the
//                          compile cache, then loads one of the two bundles below by argv
//   ssh-dispatch-serve.cjs what sshd runs, alone (src/serve-main.ts): the forced command and the
//                          login commands, so that a connection loads only what it can use
//   ssh-dispatch-core.cjs  the program (src/main.ts and everything it uses), one bundled file
//   ssh-dispatch-files.cjs the SFTP and legacy scp server (src/serve-files.ts), which the
//                          dispatcher starts inside the sandbox: src/act/files/ alone
//   man/, completion/      the man pages and bash completion, from the --help texts and
//                          docs/policy.md (scripts/man.mjs)
//
// CommonJS in one file, because sshd starts it for every connection: measured on Node 24, the
// split ES-module build took 4 ms longer to start (module resolution of every chunk). Parts only
// some runs need (the YAML parser on a policy-cache miss, explain, check, demo) are dynamic
// imports, which esbuild wraps in initialisers: compiled with the file, never run unless used.
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { generate as generateDocs } from './man.mjs';

const DIST = fileURLToPath(new URL('../dist/', import.meta.url));
const SRC = fileURLToPath(new URL('../src/', import.meta.url));
export const BUNDLE = `${DIST}ssh-dispatch.cjs`;

/** A hash of the sources: compiled policy caches of another build are never read. */
function buildId() {
  const hash = createHash('sha256');
  for (const file of readdirSync(SRC, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.ts'))
    .sort()) {
    hash.update(`${file}\0`).update(readFileSync(`${SRC}${file}`));
  }
  return hash.digest('hex').slice(0, 16);
}

const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node22',
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
};

export async function buildBundle() {
  rmSync(DIST, { recursive: true, force: true });
  await buildCore(`${DIST}ssh-dispatch-core.cjs`);
  await buildServe(`${DIST}ssh-dispatch-serve.cjs`);
  await build({
    ...common,
    entryPoints: [`${SRC}entry.ts`],
    outfile: BUNDLE,
    external: ['./ssh-dispatch-core.cjs', './ssh-dispatch-serve.cjs'],
    banner: { js: '#!/usr/bin/env node' },
  });
  chmodSync(BUNDLE, 0o755);
  await buildFilesServer(`${DIST}ssh-dispatch-files.cjs`);
  generateDocs(`${DIST}ssh-dispatch-core.cjs`, DIST);
}

/** What both programs are told about the build (main.ts's --version, the policy cache's build id). */
function defines() {
  return {
    SSH_DISPATCH_BUILD_ID: JSON.stringify(buildId()),
    SSH_DISPATCH_VERSION: JSON.stringify(JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version),
  };
}

/** The program alone; tests of the man pages build it into a temp directory. */
export async function buildCore(outfile) {
  await build({ ...common, entryPoints: [`${SRC}main.ts`], outfile, define: defines() });
}

/**
 * What sshd runs, alone: the launcher calls its start() (src/serve-main.ts). Its first line is
 * the key of its code cache (src/code-cache.ts): a hash of what follows, so that no other build
 * reads this one's cache.
 */
export async function buildServe(outfile) {
  const [output] = (await build({ ...common, entryPoints: [`${SRC}serve-main.ts`], outfile, define: defines(), write: false })).outputFiles;
  mkdirSync(DIST, { recursive: true });
  const key = createHash('sha256').update(output.contents).digest('hex').slice(0, 32);
  writeFileSync(outfile, `/* code-cache-key: ${key} */\n${output.text}`);
}

/** The file server alone; tests build it into a temp directory. */
export async function buildFilesServer(outfile) {
  await build({ ...common, entryPoints: [`${SRC}serve-files.ts`], outfile });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await buildBundle();
