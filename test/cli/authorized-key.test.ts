/**
 * authorized-key's key line (cli/authorized-key.ts): the forwarding options come from the
 * identity's relay rules (issue 29), one list for nc and ssh -W; anything that cannot be known
 * gives `restrict` alone, with why on stderr; --permit-open narrows, never adds.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { runAuthorizedKey } from '../../src/cli/authorized-key.js';
import { applyFiles } from '../policy/apply-fixture.js';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIC1aH2xXcAt0iZtZ6dWxJZ4pSY3sJ2C1Ar5TQfk4PDbT host1';
let dir: string;
let policy: string;
let pub: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ssh-dispatch-authorized-key-'));
  policy = join(dir, 'policy.yaml');
  pub = join(dir, 'key.pub');
  writeFileSync(pub, `${KEY}\n`);
  writeFileSync(
    policy,
    `version: 1
audit: { file: ${join(dir, 'audit.jsonl')} }
identities:
  hop:
    rules:
      - { name: r, relay: { to: ["db.internal:22", "10.0.0.0/24:22", "192.0.2.5:5432"] } }
  wide:
    rules:
      - { name: r, relay: { to: ["10.0.0.0/24:22"] } }
  backup:
    rules:
      - { name: t, exec: { command: "true", program: /bin/true } }
`,
    { mode: 0o600 },
  );
  // The line is read from the served version, as keys are.
  await applyFiles(policy);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

async function line(...args: string[]): Promise<{ options: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((text: string) => void out.push(text));
  vi.spyOn(process.stderr, 'write').mockImplementation((text) => (err.push(String(text)), true));
  await runAuthorizedKey([...args, '--command', '/usr/local/bin/ssh-dispatch', pub]);
  return { options: out.join('\n').split(',command=')[0]!, stderr: err.join('') };
}

describe('authorized-key: the forwarding a line allows is its identity relay rules', () => {
  it('a relay identity: its destinations as permitopen, no listener; the range left out and said so', async () => {
    const { options, stderr } = await line('--id', 'hop', '--policy', policy);
    expect(options).toBe('restrict,port-forwarding,permitopen="db.internal:22",permitopen="192.0.2.5:5432",permitlisten="NONE:1"');
    expect(stderr).toContain('10.0.0.0/24:22: a range');
  });

  it.each([
    ['an identity without relay rules', ['--id', 'backup'], ''],
    ['an identity whose destinations are all ranges (port-forwarding alone would open every host)', ['--id', 'wide'], 'a range'],
    ['an identity the served version lacks', ['--id', 'nobody'], 'nobody is not in the served version 1 of'],
  ])('%s: restrict alone', async (_name, args, said) => {
    const { options, stderr } = await line(...args, '--policy', policy);
    expect(options).toBe('restrict');
    expect(stderr).toContain(said);
  });

  it('a policy that cannot be read: restrict alone, and stderr says the line allows no ssh -W', async () => {
    const { options, stderr } = await line('--id', 'hop', '--policy', join(dir, 'missing.yaml'));
    expect(options).toBe('restrict');
    expect(stderr).toContain('the served policy cannot be read, so the line allows no ssh -W');
  });

  it('nothing applied yet: restrict alone, and stderr says the key is refused until apply (an edit is never read)', async () => {
    const unapplied = join(dir, 'unapplied.yaml');
    writeFileSync(unapplied, 'version: 1\nidentities:\n  hop:\n    rules:\n      - { name: r, relay: { to: ["db.internal:22"] } }\n', {
      mode: 0o600,
    });
    const { options, stderr } = await line('--id', 'hop', '--policy', unapplied);
    expect(options).toBe('restrict');
    expect(stderr).toContain('nothing is applied at');
    expect(stderr).toContain('ssh-dispatch apply');
  });

  it('--permit-open (deprecated) narrows the line to some of the relay destinations', async () => {
    const { options } = await line('--id', 'hop', '--policy', policy, '--permit-open', '192.0.2.5:5432');
    expect(options).toBe('restrict,port-forwarding,permitopen="192.0.2.5:5432",permitlisten="NONE:1"');
  });

  it('--permit-open of a destination the relay rules lack is refused: it would be a second list', async () => {
    await expect(line('--id', 'hop', '--policy', policy, '--permit-open', 'mail.internal:25')).rejects.toThrow(
      /--permit-open mail\.internal:25: not a destination of hop's relay rules/,
    );
  });

  it('--tunnel-only refuses a line that opens nothing', async () => {
    await expect(line('--id', 'backup', '--policy', policy, '--tunnel-only')).rejects.toThrow(
      /--tunnel-only: backup has no relay destination/,
    );
    expect((await line('--id', 'hop', '--policy', policy, '--tunnel-only')).options).toContain('permitopen="db.internal:22"');
  });
});
