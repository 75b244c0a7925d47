/**
 * Keys serve the applied policy (issue 27), through a real sshd: before the first apply every
 * request is refused as policy-not-applied; apply makes the files live; a typo, a chmod g+w slip
 * and a refused apply (an UNSAFE rule) each leave the served version serving; an apply that
 * removes a rule takes effect; rollback undoes it; history says who did what.
 *
 * The control of each slip: `check` and `explain` read the files as they are, and show what a
 * dispatcher that served the files would have done (every request denied, or the rule gone).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientKey } from '../../src/lab/throwaway-sshd.js';
import { BUNDLE, NODE, startLab, type Lab } from './lab.js';

let lab: Lab;
let key: ClientKey;
let file: string;

const POLICY = (audit: string, extra = '') => `version: 1
audit: { file: ${audit} }
identities:
  job:
    rules:
      - name: hello
        exec: { command: "echo hello", program: /bin/echo }
      - name: date
        exec: { command: "date -u +%Y", program: /bin/date }
${extra}`;

/** An admin command by the built bundle, on the lab's policy. */
function admin(...args: string[]): { code: number | null; out: string } {
  const result = spawnSync(NODE, [BUNDLE, ...args, '--policy', lab.policyDir], { encoding: 'utf8', timeout: 60_000 });
  return { code: result.status, out: result.stdout + result.stderr };
}

const write = (text: string) => writeFileSync(file, text, { mode: 0o600 });

async function hello(): Promise<{ code: number | null; decision: Record<string, unknown> }> {
  const result = await lab.sshd.ssh(key, 'echo hello');
  return { code: result.code, decision: lab.lastDecision() };
}

beforeAll(async () => {
  lab = await startLab();
  file = join(lab.policyDir, 'main.yaml');
  key = await lab.sshd.newClientKey('job');
  lab.sshd.authorize([lab.dispatchLine(key, 'job')]);
});
afterAll(async () => {
  await lab?.stop();
});

describe('the applied policy through a real sshd', () => {
  it('before the first apply: refused as policy-not-applied, recorded in the log the files name; check says nothing is served', async () => {
    write(POLICY(lab.auditFile));
    const refused = await hello();
    expect(refused.code).toBe(126);
    expect(refused.decision).toMatchObject({ decision: 'deny', reason: 'policy-not-applied' });
    const check = admin('check');
    expect(check.code).toBe(0);
    expect(check.out).toMatch(/^served: nothing; keys refuse every request until "ssh-dispatch apply" serves these files$/m);
  });

  it('apply makes the files live as version 1', async () => {
    const applied = admin('apply', '--message', 'first');
    expect(applied.code, applied.out).toBe(0);
    expect(applied.out).toMatch(
      /^apply: version 1 \(apply .* UTC by root\) is served from now on\n {2}first version: 1 identities, 2 rules$/m,
    );
    expect(await hello()).toMatchObject({ code: 0, decision: { decision: 'allow', rule: 'hello' } });
    expect(admin('check').out).toMatch(/^served: these files, version 1 /m);
    // Applying the same files again changes nothing.
    expect(admin('apply').out).toMatch(/^apply: these files are version 1 .*, already served; nothing changed$/m);
  });

  it('a typo keeps version 1 serving (control: the files as they are deny everything)', async () => {
    write(`${POLICY(lab.auditFile)}\tbroken: [\n`);
    const check = admin('check');
    expect(check.code).toBe(1);
    expect(check.out).toContain('"ssh-dispatch apply" would refuse these files');
    expect(check.out).toMatch(/^served: version 1 .*; these files differ from it/m);
    expect(await hello()).toMatchObject({ code: 0, decision: { decision: 'allow', rule: 'hello' } });
    // apply refuses it, and says what is still served.
    const applied = admin('apply');
    expect(applied.code).toBe(1);
    expect(applied.out).toMatch(/^refused: nothing changed; version 1 .* is still served$/m);
    expect(await hello()).toMatchObject({ code: 0, decision: { decision: 'allow' } });
    // The owner's review reads by what keys serve: the typo does not blind logs, summary or status
    // (they read the files before: "the policy does not load", and status UNKNOWN at night).
    const logs = admin('logs', '--json');
    expect(logs.code, logs.out).toBe(0);
    expect(logs.out).toContain('"rule":"hello"');
    expect(admin('summary').code).toBe(0);
    const status = admin('status', '--stale', '1h');
    expect(status.out).toMatch(/^SSH-DISPATCH (OK|WARNING|CRITICAL) /);
  });

  it('a chmod g+w slip keeps version 1 serving (control: the files as they are do not load)', async () => {
    write(POLICY(lab.auditFile));
    chmodSync(file, 0o664);
    const explained = spawnSync(NODE, [BUNDLE, 'explain', '--policy', lab.policyDir, '--id', 'job', '--', 'echo hello'], {
      encoding: 'utf8',
    });
    expect(explained.stdout + explained.stderr).toMatch(/writable by group or others/);
    expect(await hello()).toMatchObject({ code: 0, decision: { decision: 'allow', rule: 'hello' } });
    chmodSync(file, 0o600);
  });

  it('an apply refused for an UNSAFE rule changes nothing served', async () => {
    write(POLICY(lab.auditFile, '  thief:\n    rules:\n      - name: etc\n        rsync: { root: /etc, access: write }\n'));
    const applied = admin('apply');
    expect(applied.code).toBe(1);
    expect(applied.out).toMatch(/UNSAFE: rule "etc" of thief writes to \/etc/);
    expect(applied.out).toMatch(/^refused: nothing changed; version 1 /m);
    expect(admin('history').out).not.toMatch(/^2 /m);
  });

  it('an apply that removes a rule takes effect; rollback undoes it; history says who did what', async () => {
    write(POLICY(lab.auditFile).replace('      - name: hello\n        exec: { command: "echo hello", program: /bin/echo }\n', ''));
    const removed = admin('apply', '-m', 'hello is retired');
    expect(removed.code, removed.out).toBe(0);
    expect(removed.out).toMatch(/^apply: version 2 .* is served from now on\n {2}identity job: rule hello removed$/m);
    expect(await hello()).toMatchObject({ code: 126, decision: { decision: 'deny', reason: 'no-rule-matched' } });

    const rolled = admin('rollback');
    expect(rolled.code, rolled.out).toBe(0);
    expect(rolled.out).toMatch(
      /^rollback to version 1: version 3 \(rollback .*\) is served from now on\n {2}identity job: rule hello added$/m,
    );
    expect(await hello()).toMatchObject({ code: 0, decision: { decision: 'allow', rule: 'hello' } });
    // The files still say version 2's: check says so.
    expect(admin('check').out).toMatch(/^served: version 3 .*; these files differ from it/m);

    const history = admin('history').out.split('\n');
    expect(history[0]).toMatch(/^3 {2}\S+ \S+ {2}root {2}rollback to 1 {2}sha256:[0-9a-f]{12} {2}\(served\)$/);
    expect(history).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^2 {2}.* {2}root {2}apply {2}sha256:/),
        '    "hello is retired"',
        '    identity job: rule hello removed',
        expect.stringMatching(/^1 {2}.* {2}root {2}apply {2}sha256:/),
      ]),
    );
    const json = admin('history', '--json')
      .out.trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(json.map((v) => [v.version, v.action, v.restores, v.served])).toEqual([
      [3, 'rollback', 1, true],
      [2, 'apply', null, false],
      [1, 'apply', null, false],
    ]);
    // A second rollback steps back further: there is nothing before version 1.
    const again = admin('rollback');
    expect(again.code).toBe(1);
    expect(again.out).toContain("version 3 serves version 1's files, the first: there is nothing to roll back to");
  });

  it.each(['apply', 'rollback', 'reapply', 'history'])(
    '%s --help is text, line by line (it was printed escaped, \\x0a for each newline)',
    (command) => {
      const result = spawnSync(NODE, [BUNDLE, command, '--help'], { encoding: 'utf8' });
      expect(result.status).toBe(0);
      expect(result.stdout).toMatch(new RegExp(`^Usage: ssh-dispatch ${command} .*\n\n`));
      expect(result.stdout).not.toContain('\\x0a');
    },
  );

  it('every record of the session validates against the published schema', () => {
    expect(lab.checkRecords().invalid).toEqual([]);
  });
});
