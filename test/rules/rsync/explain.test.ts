/** What explain shows of a plan, from the kind's own lines: an rsync push and an sftp write rule name their free-space floor. */
import { describe, expect, it } from 'vitest';
import { decide } from '../../src/decide/decide.js';
import { kindOf } from '../../src/rules/kinds.js';
import { policyFrom, requestFor } from '../helpers.js';

const policy = policyFrom(`
version: 1
identities:
  w: { rules: [ { name: push, rsync: { root: /srv/backup/h1, access: write, min-free: 2GiB } } ] }
  r: { rules: [ { name: pull, rsync: { root: /srv/backup/h1, access: read } } ] }
  sw: { rules: [ { name: drop, sftp: { root: /srv/drop, access: write } } ] }
  st: { rules: [ { name: tight, sftp: { root: /srv/tight, access: read-write, min-free: "0", idle-timeout: 90s } } ] }
  sr: { rules: [ { name: shelf, sftp: { root: /srv/shelf, access: read, idle-timeout: "0" } } ] }
`);

describe('explain lines of an rsync plan', () => {
  it.each([
    ['w', 'rsync --server -logDtpre.iLsfxCIvu . d/', `  floor    stopped before less than ${2 * 2 ** 30} bytes stay free on the filesystem of /srv/backup/h1`],
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

describe('explain lines of an sftp plan', () => {
  it.each([
    ['sw', 'internal-sftp', `  limits   a write that would leave less than ${2 ** 30} bytes free on the filesystem of /srv/drop is refused; ended after 600 s with nothing from the client`],
    ['sw', 'scp -t /in', `  limits   a write that would leave less than ${2 ** 30} bytes free on the filesystem of /srv/drop is refused; ended after 600 s with nothing from the client`],
    ['st', 'internal-sftp', '  limits   no free-space floor (min-free: "0"); ended after 90 s with nothing from the client'],
    ['sr', 'internal-sftp', '  limits   nothing is written; no idle timeout'],
  ])('[%s] %s', (id, command, limits) => {
    const decision = decide(policy, requestFor(id, command));
    expect(decision.decision).toBe('allow');
    if (decision.decision !== 'allow') return;
    expect(kindOf(decision.rule.kind).lines(decision.plan).find((line) => line.startsWith('  limits'))).toBe(limits);
  });
});
