/**
 * `history --json` prints one object per version (its --help says so): found in review, a version
 * whose record is unreadable or not trusted was left out without a trace, where the text output
 * says "unreadable or not trusted" (the control).
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { runHistory } from '../../src/cli/history.js';
import { applyFiles, stateDir } from '../policy/apply-fixture.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ssh-dispatch-history-json-'));
});
afterEach(() => {
  vi.restoreAllMocks();
  rmSync(dir, { recursive: true, force: true });
});

async function history(args: string[]): Promise<string> {
  let stdout = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true));
  vi.spyOn(console, 'log').mockImplementation((...words) => void (stdout += `${words.join(' ')}\n`));
  try {
    expect(await runHistory(args)).toBe(0);
    return stdout;
  } finally {
    vi.restoreAllMocks();
  }
}

it('a version whose record is not trusted is a line too, marked unreadable', async () => {
  const policy = join(dir, 'p.yaml');
  const write = (program: string) =>
    writeFileSync(
      policy,
      `version: 1\nidentities:\n  a:\n    rules:\n      - { name: t, exec: { command: "true", program: ${program} } }\n`,
      {
        mode: 0o600,
      },
    );
  write('/bin/true');
  await applyFiles(policy);
  write('/bin/echo');
  await applyFiles(policy);
  chmodSync(join(stateDir(policy), 'v', '1', 'version.json'), 0o666);
  expect(await history(['--policy', policy])).toMatch(/^1 {2}unreadable or not trusted$/m);
  const lines = (await history(['--policy', policy, '--json']))
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
  expect(lines).toEqual([expect.objectContaining({ version: 2, served: true }), { version: 1, unreadable: true, served: false }]);
});
