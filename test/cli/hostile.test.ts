/**
 * The hostile corpus (test/hostile-corpus.ts), every row decided in-process by the code
 * `ssh-dispatch explain --json` runs: the policy loaded by loadPolicy, a Request built as explain
 * builds it, decideOnHost (the forced-command mode's decision too), explain's JSON. A subprocess
 * per row would prove nothing more; test/e2e/hostile.e2e.test.ts keeps a handful through the
 * built binary and a sample through the real sshd.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { explainJson } from '../../src/cli/explain.js';
import { decideOnHost } from '../../src/host/decide-on-host.js';
import { loadPolicy } from '../../src/policy/load.js';
import type { Policy } from '../../src/policy/schema.js';
import type { Request } from '../../src/request/request.js';
import { legitimate, rows, writeHostilePolicy } from '../hostile-corpus.js';

let dir: string;
let policy: Policy;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ssh-dispatch-hostile-'));
  const loaded = await loadPolicy(writeHostilePolicy(dir));
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
  policy = loaded.policy;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `explain --json --id h -- COMMAND`, as src/cli/explain.ts runs it (no --from, no --key). */
function explain(command: string): { decision: string; reason: string | null } {
  const account = userInfo();
  const request: Request = {
    identity: 'h',
    command: command === '' ? null : command,
    client: null,
    keys: null,
    user: account.username,
    home: account.homedir,
    sshConnection: null,
    now: new Date(),
  };
  return JSON.parse(explainJson(decideOnHost(policy, request), false)) as { decision: string; reason: string | null };
}

describe('the hostile corpus, through explain in-process', () => {
  it('has at least 150 hostile rows', () => expect(rows.length).toBeGreaterThanOrEqual(150));

  it.each(
    [...rows, ...legitimate].map(([command, expected], i) => ({
      i,
      command,
      expected,
      label: JSON.stringify(command.length > 70 ? `${command.slice(0, 70)}...` : command),
    })),
  )('$i $label → $expected', ({ command, expected }) => {
    const out = explain(command);
    expect(out.decision === 'allow' ? 'allow' : out.reason).toBe(expected);
  });
});
