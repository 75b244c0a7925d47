/** What explain shows of an rsync plan, from the kind's own lines: a push names its free-space floor (test/rules/sftp/explain.test.ts: sftp's). */
import { describe, expect, it } from 'vitest';
import { decide } from '../../../src/decide/decide.js';
import { kindOf } from '../../../src/rules/kinds.js';
import { policyFrom, requestFor } from '../../helpers.js';

const policy = policyFrom(`
version: 1
identities:
  w: { rules: [ { name: push, rsync: { root: /srv/backup/h1, access: write, min-free: 2GiB } } ] }
  r: { rules: [ { name: pull, rsync: { root: /srv/backup/h1, access: read } } ] }
`);

describe('explain lines of an rsync plan', () => {
  it.each([
    [
      'w',
      'rsync --server -logDtpre.iLsfxCIvu . d/',
      `  floor    stopped before less than ${2 * 2 ** 30} bytes stay free on the filesystem of /srv/backup/h1`,
    ],
    ['r', 'rsync --server --sender -logDtpre.iLsfxCIvu . d/', null],
  ])('[%s] %s', (id, command, floor) => {
    const decision = decide(policy, requestFor(id, command));
    expect(decision.decision).toBe('allow');
    if (decision.decision !== 'allow') return;
    const lines = kindOf(decision.rule.kind).lines(decision.plan);
    expect(lines[0]).toMatch(/^ {2}argv {5}\["\/usr\/bin\/rsync","--server"/);
    expect(lines.find((line) => line.startsWith('  floor')) ?? null).toBe(floor);
  });
});
