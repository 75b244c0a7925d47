/**
 * Spellings (rules/spelling.ts): every accepted spelling is decided exactly as its plain form,
 * with the client's spelling in the record; every refused one has its own reason.
 */
import { describe, expect, it } from 'vitest';
import { decisionFields } from '../../src/audit/record.js';
import { decide, type Decision } from '../../src/decide/decide.js';
import type { RsyncFeatures } from '../../src/rules/rsync/features.js';
import { readSpelling } from '../../src/rules/spelling.js';
import { policyFrom, requestFor } from '../helpers.js';

const ROOT = '/srv/backup/host1';
const policy = policyFrom(`
version: 1
identities:
  w:  { rules: [ { name: push, rsync: { root: ${ROOT}, access: write } } ] }
  r:  { rules: [ { name: pull, rsync: { root: ${ROOT}, access: read } } ] }
  gw: { rules: [ { name: hop, relay: { to: ["target.internal:22", "10.0.0.0/24:22"], idle-timeout: 5m } } ] }
  both:
    rules:
      - { name: own-sudo, exec: { command: "sudo /usr/local/bin/report", program: /usr/local/bin/report } }
      - { name: push, rsync: { root: ${ROOT}, access: write } }
`);
const V35: RsyncFeatures = { version: '3.5.0', confineRoot: true, dropD: true };
const facts = { rsync: new Map([['/usr/bin/rsync', V35]]) };
const B = '-logDtpre.iLsfxCIvu';
const PUSH = `--server ${B} . dst/`;
const PULL = `--server --sender ${B} . src/`;

const decideFor = (id: string, command: string): Decision => decide(policy, requestFor(id, command, { client: null, keys: null }), facts);
/** The decision as the record and explain --json show it, without the spelling. */
function recorded(decision: Decision): Record<string, unknown> {
  const { spelling: _spelling, ...fields } = decisionFields(decision) as Record<string, unknown>;
  return fields;
}

const RSYNC_PREFIXES = [
  'sudo',
  'sudo -n',
  'sudo --non-interactive',
  'sudo -u root',
  'sudo -uroot',
  'sudo --user=root',
  'sudo -n -u root',
  'sudo -u root -n',
  '/usr/bin/sudo -n',
  'nice',
  'nice -n 19',
  'nice -n19',
  'nice --adjustment=19',
  'nice --adjustment 10',
  'nice -19',
  'nice -n -5',
  'ionice -c3',
  'ionice -c 3',
  'ionice -c idle',
  'ionice -c 2 -n 7',
  'ionice -c2 -n7',
  'ionice --class=best-effort --classdata=4',
  'ionice -t -c3',
  'nice -n 19 ionice -c3',
  'ionice -c3 nice -n 19',
  'sudo -n nice -n 19 ionice -c 2 -n 7',
  'nice -n 19 sudo -n',
];
const RSYNC_PROGRAMS = ['rsync', '/usr/bin/rsync', '/usr/local/bin/rsync'];

describe('rsync spellings: the same decision as plain rsync, the spelling recorded', () => {
  const cases = [
    ...RSYNC_PREFIXES.flatMap((prefix) => RSYNC_PROGRAMS.map((program) => `${prefix} ${program}`)),
    '/usr/bin/rsync',
    '/usr/local/bin/rsync',
  ];
  it.each(cases)('%s --server ...', (spelling) => {
    for (const [id, args] of [
      ['w', PUSH],
      ['r', PULL],
    ] as const) {
      const plain = decideFor(id, `rsync ${args}`);
      const spelled = decideFor(id, `${spelling} ${args}`);
      expect(plain.decision).toBe('allow');
      expect(spelled.decision === 'deny' ? `${spelled.reason}: ${spelled.detail}` : 'allow').toBe('allow');
      expect(recorded(spelled)).toEqual(recorded(plain));
      expect((decisionFields(spelled) as Record<string, unknown>).spelling).toBe(spelling);
      expect((decisionFields(plain) as Record<string, unknown>).spelling).toBeUndefined();
      // The rule's rsync runs, never the client's wrapper.
      if (spelled.decision === 'allow' && spelled.plan.kind === 'exec') expect(spelled.plan.argv[0]).toBe('/usr/bin/rsync');
    }
  });

  it('a refusal of the rsync rule stays its own: sudo rsync --delete is an option refused', () => {
    const decision = decideFor('w', `sudo -n rsync --server ${B} --delete . dst/`);
    expect(decision.decision === 'deny' && decision.reason).toBe('rsync-option-refused');
  });

  it('the direction still counts: sudo rsync --sender against a write rule', () => {
    const decision = decideFor('w', `sudo rsync ${PULL}`);
    expect(decision.decision === 'deny' && decision.reason).toBe('rsync-direction-refused');
  });

  it('an exec rule sees the words as sent: its own sudo spelling is its business', () => {
    const decision = decideFor('both', 'sudo /usr/local/bin/report');
    expect(decision.decision === 'allow' && decision.rule.name).toBe('own-sudo');
    expect(decision.decision === 'allow' && decision.spelling).toBeUndefined();
    expect(decideFor('both', `sudo -n rsync ${PUSH}`).decision).toBe('allow');
  });

  it("a pull wildcard behind a wrapper is still the rsync rule's to expand", () => {
    const decision = decideFor('r', `nice -n 19 rsync --server --sender ${B} . logs/*.gz`);
    expect(decision.decision).toBe('allow');
    if (decision.decision === 'allow' && decision.plan.kind === 'exec')
      expect(decision.plan.confine?.wildcards).toEqual([{ argvIndex: decision.plan.argv.length - 1, pattern: 'logs/*.gz' }]);
  });
});

const REFUSED = [
  'doas rsync',
  'env rsync',
  'env LANG=C rsync',
  'stdbuf -o0 rsync',
  'timeout 60 rsync',
  'chrt -i 0 rsync',
  'nohup rsync',
  'sudo -E rsync',
  'sudo -H rsync',
  'sudo -u other rsync',
  'sudo -u backup rsync',
  'sudo --user=other rsync',
  'sudo -u rsync',
  'sudo -- rsync',
  'sudo -n -n rsync',
  'sudo -nu root rsync',
  'sudo sudo rsync',
  'sudo -s rsync',
  'sudo -i rsync',
  'sudo -C 3 rsync',
  'nice -n 20 rsync',
  'nice -n -21 rsync',
  'nice -n x rsync',
  'nice -n 19 -n 10 rsync',
  'nice --5 rsync',
  'nice -n 19 nice rsync',
  'ionice -c 4 rsync',
  'ionice -c3 -n 8 rsync',
  'ionice -p 1 rsync',
  'ionice -P 1 rsync',
  'ionice -u 0 rsync',
  'nice -n 19 sh',
  'nice -n 19 bash -c',
  'sudo /bin/sh -c',
  'sudo',
  'ionice -c3',
  'nice -n 19 /tmp/rsync.sh',
  'sudo -n rsync.sh',
];

describe('refused spellings: spelling-refused, not no-rule-matched', () => {
  it.each(REFUSED)('%s --server ...', (spelling) => {
    for (const id of ['w', 'r', 'gw', 'both']) {
      const decision = decideFor(id, `${spelling} ${PUSH}`);
      expect(decision.decision === 'deny' ? decision.reason : 'allow').toBe('spelling-refused');
    }
  });

  it.each([
    'doas nc target.internal 22',
    'timeout 5 nc target.internal 22',
    'sudo nc target.internal 22',
    'nice nc -q0 target.internal 22',
    'sudo du -sh /etc',
  ])('%s', (command) => {
    const decision = decideFor('gw', command);
    expect(decision.decision === 'deny' ? decision.reason : 'allow').toBe('spelling-refused');
  });

  it('the detail says what was refused', () => {
    const decision = decideFor('w', `sudo -u other rsync ${PUSH}`);
    expect(decision.decision === 'deny' && decision.detail).toMatch(
      /sudo: "-u" is not an option taken here; only `sudo \[-n\] \[-u root\]`/,
    );
    const doas = decideFor('w', `doas rsync ${PUSH}`);
    expect(doas.decision === 'deny' && doas.detail).toMatch(/"doas" in front of rsync/);
  });

  it('a command with neither wrapper, rsync nor nc is still no-rule-matched', () => {
    for (const command of ['du -sh /srv', 'rsync.sh --server', 'echo rsync', 'env du -sh /srv']) {
      const decision = decideFor('w', command);
      expect(decision.decision === 'deny' && decision.reason).toBe('no-rule-matched');
    }
  });
});

describe('nc spellings: the same relay as the plain form', () => {
  it.each([
    ['nc -q0 target.internal 22', 'nc target.internal 22', 'nc -q0'],
    ['nc -q 0 target.internal 22', 'nc target.internal 22', 'nc -q 0'],
    ['nc -q 5 target.internal 22', 'nc target.internal 22', 'nc -q 5'],
    ['nc -v target.internal 22', 'nc target.internal 22', 'nc -v'],
    ['/bin/nc target.internal 22', 'nc target.internal 22', '/bin/nc'],
    ['/usr/bin/nc -q0 10.0.0.5 22', 'nc 10.0.0.5 22', '/usr/bin/nc -q0'],
    ['netcat target.internal 22', 'nc target.internal 22', 'netcat'],
    ['/bin/netcat -q0 target.internal 22', 'nc target.internal 22', '/bin/netcat -q0'],
    ['nc -w5 target.internal 22', 'nc -w 5 target.internal 22', 'nc -w5'],
    ['nc -w 5 -v target.internal 22', 'nc -w 5 target.internal 22', 'nc -w 5 -v'],
    ['nc -q0 -w 30 target.internal 22', 'nc -w 30 target.internal 22', 'nc -q0 -w 30'],
    ['nc -w30 -q0 -v target.internal 22', 'nc -w 30 target.internal 22', 'nc -w30 -q0 -v'],
  ])('%s', (command, plainCommand, spelling) => {
    const plain = decideFor('gw', plainCommand);
    const spelled = decideFor('gw', command);
    expect(plain.decision).toBe('allow');
    expect(spelled.decision === 'deny' ? `${spelled.reason}: ${spelled.detail}` : 'allow').toBe('allow');
    expect(recorded(spelled)).toEqual(recorded(plain));
    expect((decisionFields(spelled) as Record<string, unknown>).spelling).toBe(spelling);
  });

  it('the plain forms record no spelling', () => {
    for (const command of ['nc target.internal 22', 'nc -w 5 target.internal 22', 'relay 10.0.0.5 22'])
      expect((decisionFields(decideFor('gw', command)) as Record<string, unknown>).spelling).toBeUndefined();
  });

  it.each([
    'nc -q0 -q0 target.internal 22',
    'nc -v -v target.internal 22',
    'nc -vq0 target.internal 22',
    'nc -q -1 target.internal 22',
    'nc -q0 -e /bin/sh target.internal 22',
    'nc -q0 -l -p 4444',
    'nc -q0 target.internal',
    'nc -q0 target.internal 22 extra',
    'nc -w0 target.internal 22',
    '/bin/nc -q0 target.internal 23',
    'netcat -c id target.internal 22',
  ])('%s is refused by the relay rule, as before', (command) => {
    const decision = decideFor('gw', command);
    expect(decision.decision === 'deny' ? decision.reason : 'allow').toBe('relay-refused');
  });
});

describe('readSpelling', () => {
  it('leaves the plain forms and everything else alone', () => {
    for (const command of ['rsync --server', 'nc h 22', 'nc -w 5 h 22', 'relay h 22', 'du -sh /', 'ls', 'echo rsync']) {
      expect(readSpelling(command.split(' '), new Map())).toEqual({ kind: 'plain' });
    }
  });
  it('renumbers the wildcards of the words it keeps', () => {
    const reading = readSpelling(['nice', '-n', '19', 'rsync', '--server', '--sender', '.', 'a*'], new Map([[7, 'a*']]));
    expect(reading).toEqual({
      kind: 'spelled',
      serves: 'rsync',
      words: ['rsync', '--server', '--sender', '.', 'a*'],
      globs: new Map([[4, 'a*']]),
      spelling: 'nice -n 19 rsync',
    });
  });
});
