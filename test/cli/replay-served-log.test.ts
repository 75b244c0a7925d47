/**
 * `replay` reads the records keys wrote: the log the served version names, not the one an edit
 * moves it to (found in review: an edit that named a new, empty log, and removed a rule, was
 * replayed against that empty log and reported "nothing would change").
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { runReplay } from '../../src/cli/replay.js';
import { applyFiles } from '../policy/apply-fixture.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ssh-dispatch-replay-served-'));
});
afterEach(() => {
  vi.restoreAllMocks();
  rmSync(dir, { recursive: true, force: true });
});

async function captured(args: string[]) {
  let stdout = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  vi.spyOn(console, 'log').mockImplementation((...words) => void (stdout += `${words.join(' ')}\n`));
  try {
    return { code: await runReplay(args), stdout };
  } finally {
    vi.restoreAllMocks();
  }
}

const DISK = '      - { name: disk, exec: { command: "df -h", program: /bin/df } }\n';
const PING = '      - { name: ping, exec: { command: "true", program: /bin/true } }\n';

it('an edit that moves the log and removes a rule: the served log is replayed, and the change shown', async () => {
  const policy = join(dir, 'policy', 'p.yaml');
  const [served, moved] = [join(dir, 'log1'), join(dir, 'log2')].map((d) => (mkdirSync(d), join(d, 'audit.jsonl')));
  mkdirSync(join(dir, 'policy'));
  const write = (log: string, rules: string) =>
    writeFileSync(policy, `version: 1\naudit: { file: ${log} }\nidentities:\n  host1:\n    rules:\n${rules}`, { mode: 0o600 });
  write(served!, DISK + PING);
  await applyFiles(policy);
  const ts = new Date(Date.now() - 3600_000).toISOString();
  const record = { ts, event: 'decision', session: 's1', id: 'host1', user: 'root', client: '192.0.2.10:40000', key: null };
  writeFileSync(served!, `${JSON.stringify({ ...record, command: 'df -h', decision: 'allow', rule: 'disk', rule_at: 'p.yaml:5' })}\n`);
  writeFileSync(moved!, '');
  // The control: the edit alone (the same log) shows the change.
  write(served!, PING);
  expect((await captured(['--policy', policy])).code).toBe(1);
  write(moved!, PING);
  const r = await captured(['--policy', policy]);
  expect(r.code).toBe(1);
  expect(r.stdout).toContain('host1  df -h');
});
