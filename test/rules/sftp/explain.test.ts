/** What explain shows of an sftp plan, from the kind's own lines: a write rule names its free-space floor and idle timeout. */
import { describe, expect, it } from 'vitest';
import { decide } from '../../../src/decide/decide.js';
import { kindOf } from '../../../src/rules/kinds.js';
import { policyFrom, requestFor } from '../../helpers.js';

const policy = policyFrom(`
version: 1
identities:
  sw: { rules: [ { name: drop, sftp: { root: /srv/drop, access: write } } ] }
  st: { rules: [ { name: tight, sftp: { root: /srv/tight, access: read-write, min-free: "0", idle-timeout: 90s } } ] }
  sr: { rules: [ { name: shelf, sftp: { root: /srv/shelf, access: read, idle-timeout: "0" } } ] }
`);

describe('explain lines of an sftp plan', () => {
  it.each([
    [
      'sw',
      'internal-sftp',
      `  limits   a write that would leave less than ${2 ** 30} bytes free on the filesystem of /srv/drop is refused; ended after 600 s with nothing from the client`,
    ],
    [
      'sw',
      'scp -t /in',
      `  limits   a write that would leave less than ${2 ** 30} bytes free on the filesystem of /srv/drop is refused; ended after 600 s with nothing from the client`,
    ],
    ['st', 'internal-sftp', '  limits   no free-space floor (min-free: "0"); ended after 90 s with nothing from the client'],
    ['sr', 'internal-sftp', '  limits   nothing is written; no idle timeout'],
  ])('[%s] %s', (id, command, limits) => {
    const decision = decide(policy, requestFor(id, command));
    expect(decision.decision).toBe('allow');
    if (decision.decision !== 'allow') return;
    expect(
      kindOf(decision.rule.kind)
        .lines(decision.plan)
        .find((line) => line.startsWith('  limits')),
    ).toBe(limits);
  });
});
