/** sftp rules: which words reach the file server, with what plan, and every way they are refused. */
import { describe, expect, it } from 'vitest';
import { decide } from '../../../src/decide/decide.js';
import type { FilesPlan } from '../../../src/rules/plan.js';
import { parseScpWords } from '../../../src/rules/sftp/match.js';
import { policyFrom, requestFor } from '../../helpers.js';

const policy = policyFrom(`
version: 1
identities:
  exchange:
    rules:
      - name: exchange
        sftp: { root: /srv/exchange, access: read-write }
  drop:
    rules:
      - name: drop
        sftp: { root: /srv/drop, access: write, overwrite: false, umask: "0027" }
  shelf:
    rules:
      - name: shelf
        sftp: { root: /srv/shelf, access: read, min-free: 5GiB }
  tight:
    rules:
      - name: tight
        sftp: { root: /srv/tight, access: write, min-free: 4MiB, idle-timeout: 2s }
`);

const decideFor = (identity: string, command: string) => decide(policy, requestFor(identity, command));
const planOf = (identity: string, command: string) => {
  const decision = decideFor(identity, command);
  if (decision.decision !== 'allow') throw new Error(`denied: ${decision.reason} ${decision.detail}`);
  return decision.plan as FilesPlan;
};

describe('the sftp subsystem, as sshd names it under a forced command', () => {
  it.each([
    ['internal-sftp'],
    ['/usr/lib/openssh/sftp-server'],
    ['/usr/libexec/openssh/sftp-server'],
    ['/usr/lib/openssh/sftp-server -l INFO -f AUTHPRIV'],
    ['/usr/lib/openssh/sftp-server -e'],
  ])('%s is served by our file server, confined to root', (command) => {
    expect(planOf('exchange', command)).toEqual({
      kind: 'files',
      protocol: 'sftp',
      policy: {
        root: '/srv/exchange',
        access: 'read-write',
        delete: false,
        overwrite: true,
        umask: 0o077,
        minFreeBytes: 2 ** 30,
        idleTimeoutMs: 600_000,
      },
      scp: null,
      sandbox: { read: [], write: ['/srv/exchange'], rootCaps: ['CAP_DAC_OVERRIDE', 'CAP_FOWNER'] },
    });
  });

  it('a read rule’s root is read-only in the sandbox; a write rule’s policy is what the server enforces', () => {
    expect(planOf('shelf', 'internal-sftp').sandbox).toMatchObject({ read: ['/srv/shelf'], write: [] });
    expect(planOf('drop', 'internal-sftp').policy).toEqual({
      root: '/srv/drop',
      access: 'write',
      delete: false,
      overwrite: false,
      umask: 0o027,
      minFreeBytes: 2 ** 30,
      idleTimeoutMs: 600_000,
    });
  });

  it('min-free and idle-timeout go to the server, for sftp and scp; a read rule writes nothing, so keeps no floor', () => {
    expect(planOf('tight', 'internal-sftp').policy).toMatchObject({ minFreeBytes: 4 * 2 ** 20, idleTimeoutMs: 2000 });
    expect(planOf('tight', 'scp -t /in').policy).toMatchObject({ minFreeBytes: 4 * 2 ** 20, idleTimeoutMs: 2000 });
    expect(planOf('shelf', 'internal-sftp').policy).toMatchObject({ minFreeBytes: 0, idleTimeoutMs: 600_000 });
  });

  it.each([
    ['/usr/lib/openssh/sftp-server -d /etc', /flag "-d" is not served/],
    ['/usr/lib/openssh/sftp-server -R', /flag "-R" is not served/],
    ['/usr/lib/openssh/sftp-server -l', /-l without its value/],
    ['internal-sftp -P remove', /flag "-P" is not served/],
  ])('%s is refused as sftp-refused, saying why', (command, why) => {
    const decision = decideFor('exchange', command);
    expect(decision).toMatchObject({ decision: 'deny', reason: 'sftp-refused' });
    expect(decision.decision === 'deny' && decision.detail).toMatch(why);
  });

  it.each([['/usr/bin/sftp-server'], ['sftp-server'], ['sftp'], ['/bin/sh -c internal-sftp']])(
    '%s is not the subsystem: no rule matches',
    (command) => {
      expect(decideFor('exchange', command)).toMatchObject({ decision: 'deny', reason: 'no-rule-matched' });
    },
  );
});

describe('legacy scp (scp -O)', () => {
  it.each([
    [['scp', '-t', 'dir/'], { direction: 'to-server', recursive: false, preserveTimes: false, targetMustBeDir: false, path: 'dir/' }],
    [
      ['scp', '-r', '-p', '-d', '-t', '--', '/up'],
      { direction: 'to-server', recursive: true, preserveTimes: true, targetMustBeDir: true, path: '/up' },
    ],
    [['scp', '-prt', 'x'], { direction: 'to-server', recursive: true, preserveTimes: true, targetMustBeDir: false, path: 'x' }],
    [['scp', '-v', '-f', 'a b'], { direction: 'from-server', recursive: false, preserveTimes: false, targetMustBeDir: false, path: 'a b' }],
    [
      ['/usr/bin/scp', '-f', '--', '-dash'],
      { direction: 'from-server', recursive: false, preserveTimes: false, targetMustBeDir: false, path: '-dash' },
    ],
  ])('%j is read as %j', (words, request) => {
    expect(parseScpWords(words)).toEqual(request);
  });

  it.each([
    [['scp', '-S', '/tmp/evil', '-t', 'x'], /-S is not served/],
    [['scp', '-oProxyCommand=sh', '-t', 'x'], /-o is not served/],
    [['scp', '-F', 'cfg', '-t', 'x'], /-F is not served/],
    [['scp', '-t', '-f', 'x'], /more than one of -t and -f/],
    [['scp', '-tf', 'x'], /more than one of -t and -f/],
    [['scp', 'x'], /without -t or -f/],
    [['scp', '-r', 'x'], /without -t or -f/],
    [['scp', '-t', 'a', 'b'], /2 paths/],
    [['scp', '-t'], /0 paths/],
    [['scp', '-t', ''], /empty path/],
    [['scp', '-3', '-t', 'x'], /-3 is not served/],
  ])('%j is refused: %s', (words, why) => {
    expect(parseScpWords(words)).toMatch(why);
  });

  it('an upload and a download, each with its request in the plan', () => {
    expect(planOf('exchange', 'scp -r -t /in')).toMatchObject({
      protocol: 'scp',
      scp: { direction: 'to-server', recursive: true, path: '/in' },
    });
    expect(planOf('exchange', 'scp -f report.pdf')).toMatchObject({
      protocol: 'scp',
      scp: { direction: 'from-server', path: 'report.pdf' },
    });
  });

  it('scp -t to a read rule and scp -f from a write rule are refused as sftp-refused', () => {
    expect(decideFor('shelf', 'scp -t x')).toMatchObject({ decision: 'deny', reason: 'sftp-refused' });
    expect(decideFor('drop', 'scp -f x')).toMatchObject({ decision: 'deny', reason: 'sftp-refused' });
    expect(planOf('shelf', 'scp -f x').scp?.direction).toBe('from-server');
  });

  it('shell syntax never reaches the rule (the tokenizer refuses it first)', () => {
    expect(decideFor('exchange', 'scp -t `touch /tmp/pwned`')).toMatchObject({ decision: 'deny', reason: 'tokenize-substitution' });
    expect(decideFor('exchange', 'scp -t x; id')).toMatchObject({ decision: 'deny', reason: 'tokenize-operator' });
  });
});
