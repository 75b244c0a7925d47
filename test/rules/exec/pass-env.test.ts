/** exec `pass-env:` (values/passable-env.ts): a fixed list of session variables, each value checked. */
import { describe, expect, it } from 'vitest';
import { decisionFields } from '../../../src/audit/record.js';
import { decide } from '../../../src/decide/decide.js';
import { parsePolicyText } from '../../../src/policy/parse.js';
import { execPlan, policyFrom, requestFor } from '../../helpers.js';

const policy = policyFrom(`
version: 1
identities:
  git:
    rules:
      - { name: upload-pack, exec: { command: [git-upload-pack, "/srv/git/*.git"], program: /usr/bin/git-upload-pack, pass-env: [GIT_PROTOCOL] } }
  plain:
    rules:
      - { name: upload-pack, exec: { command: [git-upload-pack, "/srv/git/*.git"], program: /usr/bin/git-upload-pack } }
`);
const COMMAND = "git-upload-pack '/srv/git/repo.git'";

describe('pass-env', () => {
  it.each([
    ['version=2', 'version=2'],
    ['version=1', 'version=1'],
    ['version=2:object-format=sha256', 'version=2:object-format=sha256'],
    ['', null],
    ['version=2; id', null],
    ['version=2\nx', null],
    ['$(id)', null],
    ['/etc/passwd', null],
    ['x'.repeat(65), null],
    [undefined, null],
  ])('GIT_PROTOCOL=%j is passed as %j', (value, passed) => {
    const decision = decide(policy, requestFor('git', COMMAND, value === undefined ? {} : { env: { GIT_PROTOCOL: value } }));
    const plan = execPlan(decision);
    expect(plan.env.GIT_PROTOCOL).toBe(passed ?? undefined);
    expect((decisionFields(decision) as Record<string, unknown>).pass_env).toEqual(passed === null ? undefined : { GIT_PROTOCOL: passed });
  });

  it('a rule without pass-env passes nothing, whatever the session has', () => {
    const plan = execPlan(decide(policy, requestFor('plain', COMMAND, { env: { GIT_PROTOCOL: 'version=2' } })));
    expect(plan.env.GIT_PROTOCOL).toBeUndefined();
    expect(Object.keys(plan.env).sort()).toEqual(['HOME', 'LANG', 'LOGNAME', 'PATH', 'SSH_CONNECTION', 'USER']);
  });

  it.each([
    ['pass-env: [LD_PRELOAD]', /one of GIT_PROTOCOL/],
    ['pass-env: [SSH_AUTH_SOCK]', /one of GIT_PROTOCOL/],
    ['pass-env: [PATH]', /one of GIT_PROTOCOL/],
    ['pass-env: GIT_PROTOCOL', /pass-env/],
    ['pass-env: [GIT_PROTOCOL], env: { GIT_PROTOCOL: version=2 }', /also set by env/],
  ])('refuses %s', (keys, message) => {
    const parsed = parsePolicyText(
      'p.yaml',
      `version: 1\nidentities:\n  a: { rules: [ { name: x, exec: { command: /usr/bin/git-upload-pack, ${keys} } } ] }\n`,
    );
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.errors.map((e) => `${e.key}: ${e.message}`).join('\n')).toMatch(message);
  });
});
