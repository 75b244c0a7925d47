// The unit project starts no programs (vitest.config.ts): a unit file that does is moved to the
// spawn project's list, so that `npm run test:unit` stays seconds. This makes a start fail the
// test that made it, with that advice, instead of slowing every run unnoticed.
import { createRequire, syncBuiltinESMExports } from 'node:module';

const childProcess = createRequire(import.meta.url)('node:child_process') as Record<string, unknown>;
const STARTERS = ['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork'];

if (!STARTERS.every((name) => (childProcess[name] as { refused?: boolean }).refused)) {
  for (const name of STARTERS) {
    const refuse = (program: unknown) => {
      throw new Error(
        `a unit test started a program (child_process.${name} ${String(program)}): list its file in vitest.config.ts's SPAWN`,
      );
    };
    childProcess[name] = Object.assign(refuse, { refused: true });
  }
  syncBuiltinESMExports();
}
