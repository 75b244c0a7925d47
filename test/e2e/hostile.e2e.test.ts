/**
 * The hostile-input corpus (test/hostile-corpus.ts) end to end. Every row is decided in-process
 * by explain's code in test/cli/hostile.test.ts; here a handful go through the built binary's
 * `explain --json` (the CLI path: flags, exit status, stdout) and a sample through the real sshd,
 * whose recorded decision must be the corpus's.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientKey } from '../../src/lab/throwaway-sshd.js';
import { B, legitimate, rows, writeHostilePolicy, type Row } from '../hostile-corpus.js';
import { startLab, type Lab } from './lab.js';
import { runBundle } from './run-bundle.js';

let dir: string;
let policy: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ssh-dispatch-hostile-'));
  policy = writeHostilePolicy(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a handful through the built binary: explain --json', () => {
  // Every 40th row (allows and refusals of each kind), and a session that sent no command.
  const handful: Row[] = [...[...rows, ...legitimate].filter((_, i) => i % 40 === 0), ['', 'no-command'], ['receive db.tar', 'allow']];
  it.each(handful.map(([command, expected]) => ({ command, expected })))('$command → $expected', ({ command, expected }) => {
    const result = runBundle(['explain', '--json', '--id', 'h', '--policy', policy, '--', command]);
    const out = JSON.parse(result.stdout) as { decision: string; reason: string | null };
    expect(out.decision === 'allow' ? 'allow' : out.reason).toBe(expected);
    expect(result.code).toBe(expected === 'allow' ? 0 : 1);
  });
});

describe('a sample through the real sshd', () => {
  let lab: Lab;
  let key: ClientKey;
  beforeAll(async () => {
    lab = await startLab();
    lab.writePolicy(readPolicyWithAudit(lab));
    key = await lab.sshd.newClientKey('hostile');
    lab.sshd.authorize([lab.dispatchLine(key, 'h')]);
  });
  afterAll(async () => {
    await lab?.stop();
  });

  const sample = rows
    .filter((_, i) => i % 15 === 0)
    .filter(([command]) => command.length < 4000 && command.trim() !== '' && !/^\s*scp\b/.test(command));
  it.each(sample.map(([command, expected]) => ({ command, expected })))(
    '$command → $expected (as explain says)',
    async ({ command, expected }) => {
      await lab.sshd.ssh(key, command, { input: Buffer.alloc(0) });
      const decision = lab.lastDecision();
      expect(decision.decision === 'allow' ? 'allow' : decision.reason).toBe(expected);
    },
  );
});

describe('bounded records, through the real sshd', () => {
  let lab: Lab;
  let key: ClientKey;
  beforeAll(async () => {
    const many = join(dir, 'restore', 'many');
    mkdirSync(many);
    for (let i = 0; i < 10_000; i++) writeFileSync(join(many, `${'f'.repeat(50)}-${String(i).padStart(5, '0')}`), '');
    lab = await startLab();
    lab.writePolicy(readPolicyWithAudit(lab));
    key = await lab.sshd.newClientKey('hostile-records');
    lab.sshd.authorize([lab.dispatchLine(key, 'h')]);
  }, 60_000);
  afterAll(async () => {
    await lab?.stop();
  });

  it('a 35-byte pull of many/* writes a record of at most 16 KiB (660 KB before), with the count and digest of its argv', async () => {
    await lab.sshd.ssh(key, `rsync --server --sender ${B} . many/*`, { input: Buffer.alloc(0) });
    const lines = readFileSync(lab.auditFile, 'utf8').trim().split('\n');
    const line = lines.findLast((l) => l.includes('"event":"decision"'))!;
    expect(line.length).toBeLessThanOrEqual(16 * 1024);
    const record = JSON.parse(line) as Record<string, unknown>;
    expect(record).toMatchObject({
      decision: 'allow',
      rule: 'pull',
      argv_count: expect.any(Number),
      argv_sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(record.argv_count as number).toBeGreaterThan(10_000);
  });
});

/**
 * The corpus policy with the lab's log, for the real sshd. Its scp-in rule runs scp outside a
 * sandbox, which apply refuses (UNSAFE: a decision-table fixture, not a policy to serve), so
 * that rule stays out, and the sample sends no scp.
 */
function readPolicyWithAudit(lab: Lab): string {
  return readFileSync(policy, 'utf8')
    .replace(/audit: \{ file: [^}]+\}/, `audit: { file: ${lab.auditFile} }`)
    .replace(/^ {6}- \{ name: scp-in, .*\n/m, '');
}
