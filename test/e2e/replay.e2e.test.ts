/**
 * `ssh-dispatch replay` through a real sshd (issue 27: "replay reports a rule removal before it
 * is applied"): a request allowed through sshd, then the policy file edited to remove its rule;
 * replay, run by the built bundle, lists it as allowed before (the served version) and refused
 * after and exits 1; once that edit is applied, "before" is it, and restoring the rule in the
 * files shows the reverse. The request's record is the one sshd's session wrote.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientKey } from '../../src/lab/throwaway-sshd.js';
import { startLab, type Lab } from './lab.js';
import { runBundle } from './run-bundle.js';

let lab: Lab;
let key: ClientKey;

const policy = (withReport: boolean) => `version: 1
audit:
  file: {{AUDIT}}
identities:
  e2e:
    from: [127.0.0.1]
    rules:
${withReport ? '      - { name: report, exec: { command: "echo nightly report", program: /bin/echo } }\n' : ''}      - { name: uptime, exec: { command: "uptime", program: /usr/bin/uptime } }
`;

beforeAll(async () => {
  lab = await startLab();
  lab.writePolicy(policy(true));
  key = await lab.sshd.newClientKey('e2e');
  lab.sshd.authorize([lab.dispatchLine(key, 'e2e')]);
}, 60_000);

afterAll(async () => {
  await lab?.stop();
});

/** An edit of the policy file, not applied: what replay is for. */
const edit = (text: string) => writeFileSync(join(lab.policyDir, 'main.yaml'), text.replace('{{AUDIT}}', lab.auditFile), { mode: 0o600 });

describe('replay through a real sshd', () => {
  it('lists a request an edit would refuse, before the edit serves anyone; nothing once the rule is back', async () => {
    const allowed = await lab.sshd.ssh(key, 'echo nightly report');
    expect([allowed.code, allowed.stdout.toString()]).toEqual([0, 'nightly report\n']);
    const refused = await lab.sshd.ssh(key, 'cat /etc/passwd');
    expect(refused.code).toBe(126);
    expect(
      lab
        .records()
        .filter((r) => r.event === 'decision')
        .map((r) => [r.decision, r.rule ?? r.reason]),
    ).toEqual([
      ['allow', 'report'],
      ['deny', 'no-rule-matched'],
    ]);

    // The control: the policy as it served the request changes nothing.
    const unchanged = runBundle(['replay', '--policy', lab.policyDir]);
    expect([unchanged.code, unchanged.stderr]).toEqual([0, '']);
    expect(unchanged.stdout).toContain('No recorded request would be decided differently.');

    edit(policy(false));
    const edited = runBundle(['replay', '--policy', lab.policyDir]);
    expect([edited.code, edited.stderr]).toEqual([1, '']);
    expect(edited.stdout).toContain(
      '1 request would be decided differently (1 record):\n\ne2e  echo nightly report\n  before  allow by rule report\n  after   deny: no-rule-matched\n  seen    1 time, first ',
    );
    const json = JSON.parse(runBundle(['replay', '--policy', lab.policyDir, '--json']).stdout);
    expect(json).toMatchObject({
      records: 2,
      replayed: 2,
      changes: [
        {
          id: 'e2e',
          command: 'echo nightly report',
          before: { decision: 'allow', rule: 'report' },
          after: { decision: 'deny', reason: 'no-rule-matched' },
          count: 1,
        },
      ],
    });

    // Before is what keys serve (the applied version), not the record: the edit applied, replay
    // of the same files lists nothing, though the record says allowed.
    expect(runBundle(['apply', '--policy', lab.policyDir]).code).toBe(0);
    const applied = runBundle(['replay', '--policy', lab.policyDir]);
    expect([applied.code, applied.stderr]).toEqual([0, '']);
    expect(applied.stdout).toMatch(/before is the served version 2\./);

    edit(policy(true));
    const restored = runBundle(['replay', '--policy', lab.policyDir]);
    expect(restored.code).toBe(1);
    expect(restored.stdout).toContain('  before  deny: no-rule-matched\n  after   allow by rule report\n');
  }, 60_000);
});
