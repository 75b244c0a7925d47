/**
 * A pull wildcard whose expansion costs too much (too many directory entries read, or too long)
 * is refused as rsync-wildcard-too-costly, through the decision explain and the forced command
 * share. The real bounds (200000 entries, 2 s) are lowered here by replacing the budget's
 * defaults, so that a small tree reaches them; test/host/expand-wildcards.test.ts covers the
 * bounds themselves.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

const limits = vi.hoisted(() => ({ current: {} as { maxNamesRead?: number; clock?: () => number } }));
vi.mock('../../src/host/expand-wildcards.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/host/expand-wildcards.js')>();
  return {
    ...real,
    ExpansionBudget: class extends real.ExpansionBudget {
      constructor() {
        super(limits.current);
      }
    },
  };
});

const { decideOnHost } = await import('../../src/host/decide-on-host.js');
const { loadPolicy } = await import('../../src/policy/load.js');

let dir: string;
let policy: import('../../src/policy/schema.js').Policy;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ssh-dispatch-wildcard-cost-'));
  const restore = join(dir, 'restore');
  mkdirSync(join(restore, 'many'), { recursive: true });
  for (let i = 0; i < 20; i++) writeFileSync(join(restore, 'many', `f-${i}`), '');
  const file = join(dir, 'policy.yaml');
  writeFileSync(
    file,
    `version: 1\naudit: { file: ${join(dir, 'audit.jsonl')} }\nidentities:\n  h:\n    rules:\n      - { name: pull, rsync: { root: ${restore}, access: read } }\n`,
    { mode: 0o600 },
  );
  const loaded = await loadPolicy(file);
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
  policy = loaded.policy;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function decide(command: string) {
  const account = userInfo();
  return decideOnHost(policy, {
    identity: 'h',
    command,
    client: null,
    keys: null,
    user: account.username,
    home: account.homedir,
    sshConnection: null,
    now: new Date(),
  });
}

const pull = (pattern: string) => `rsync --server --sender -logDtpre.iLsfxCIvu . ${pattern}`;

describe('a pull wildcard that costs too much', () => {
  it('within the bounds: allowed (the control)', () => {
    limits.current = { maxNamesRead: 100 };
    expect(decide(pull('many/f-1*'))).toMatchObject({ decision: 'allow', rule: { name: 'pull' } });
  });

  it('more directory entries read than the bound: rsync-wildcard-too-costly', () => {
    limits.current = { maxNamesRead: 5 };
    expect(decide(pull('many/*x'))).toMatchObject({
      decision: 'deny',
      reason: 'rsync-wildcard-too-costly',
      detail: expect.stringContaining('directory entries'),
    });
  });

  it('past the deadline (a clock that jumps a second a call): rsync-wildcard-too-costly', () => {
    let now = 0;
    limits.current = { clock: () => (now += 1000) };
    expect(decide(pull('many/*x'))).toMatchObject({ decision: 'deny', reason: 'rsync-wildcard-too-costly' });
  });
});
