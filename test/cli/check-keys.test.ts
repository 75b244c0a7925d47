import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { authorizedKeysFindings, enabledFeatures, forcedIdentity, keyLineOptions } from '../../src/cli/check-keys.js';
import { policyFrom } from '../helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'ssh-dispatch-check-keys-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIC1aH2xXcAt0iZtZ6dWxJZ4pSY3sJ2C1Ar5TQfk4PDbT host1';
const policy = policyFrom(
  'version: 1\nidentities:\n  host1-backup:\n    rules:\n      - { name: t, exec: { command: "true", program: /bin/true } }\n' +
    '  hop:\n    rules:\n      - { name: r, relay: { to: ["target.internal:22", "db.internal:5432", "10.0.0.0/24:22"] } }\n',
);
const uid = process.getuid!();

function findings(lines: string[], shell = '/bin/sh'): string[] {
  const file = join(dir, 'authorized_keys');
  const passwd = join(dir, 'passwd');
  writeFileSync(file, `${lines.join('\n')}\n`);
  writeFileSync(passwd, `backup:x:${uid}:${uid}::/home/backup:${shell}\n`);
  return authorizedKeysFindings(file, policy, passwd).map((f) => f.text.replace(`${file}`, 'FILE'));
}

describe('keyLineOptions', () => {
  it.each([
    [KEY, null],
    [`restrict,command="/usr/local/bin/ssh-dispatch --id a" ${KEY}`, ['restrict', 'command="/usr/local/bin/ssh-dispatch --id a"']],
    [`from="10.0.0.1,10.0.0.2",command="x, y" ${KEY}`, ['from="10.0.0.1,10.0.0.2"', 'command="x, y"']],
    [`command="say \\"hi\\"",no-pty ${KEY}`, ['command="say \\"hi\\""', 'no-pty']],
  ])('%s', (line, expected) => expect(keyLineOptions(line)).toEqual(expected));
});

describe('check --authorized-keys', () => {
  const dispatch = (options: string, id = 'host1-backup') =>
    `${options}${options ? ',' : ''}command="/usr/local/bin/ssh-dispatch --id ${id}" ${KEY}`;

  it('a restricted line for a known identity, in an account with /bin/sh: nothing to say', () => {
    expect(findings([dispatch('restrict')])).toEqual([]);
  });

  it('restrict spelled out in full is as good', () => {
    expect(findings([dispatch('no-port-forwarding,no-agent-forwarding,no-X11-forwarding,no-pty,no-user-rc')])).toEqual([]);
  });

  it.each([
    ['no restrict', [dispatch('')], 'FILE:1: UNSAFE: besides running ssh-dispatch, the key can open tunnels'],
    [
      'restrict half spelled out',
      [dispatch('no-pty,no-port-forwarding')],
      'FILE:1: UNSAFE: besides running ssh-dispatch, the key can hand the server its agent',
    ],
    ['environment=', [dispatch('restrict,environment="NODE_OPTIONS=--inspect"')], 'FILE:1: UNSAFE: environment= sets variables'],
    ['an identity the policy lacks', [dispatch('restrict', 'host9')], 'FILE:1: warning: --id host9 is not an identity of the policy'],
    ['a key without command= beside it', [dispatch('restrict'), KEY], 'FILE:2: warning: a key with no command= in the same file'],
    ['no ssh-dispatch line at all', [KEY], 'FILE: warning: no line runs ssh-dispatch'],
  ])('%s', (_name, lines, expected) => {
    expect(findings(lines).join('\n')).toContain(expected);
  });

  it('an account whose login shell is bash', () => {
    expect(findings([dispatch('restrict')], '/bin/bash')).toEqual([
      expect.stringContaining("FILE: warning: backup's login shell is /bin/bash"),
    ]);
  });

  it('a file that cannot be read says so', () => {
    expect(authorizedKeysFindings(join(dir, 'missing'), policy)[0]!.text).toContain('could not be read (ENOENT)');
  });
});

/** A key that can do more than run ssh-dispatch is a stolen key that can do more: UNSAFE, exit 1. */
describe('check --authorized-keys: what a key can do besides the forced command', () => {
  const line = (options: string) => `${options},command="/usr/local/bin/ssh-dispatch --id host1-backup" ${KEY}`;
  const unsafe = (options: string) => {
    const file = join(dir, 'ak-unsafe');
    writeFileSync(file, `${line(options)}\n`);
    return authorizedKeysFindings(file, policy, join(dir, 'no-passwd'))
      .filter((f) => f.level === 'unsafe')
      .map((f) => f.text.replace(file, 'FILE'));
  };

  it.each([
    ['port-forwarding re-enabled, no permitopen', 'restrict,port-forwarding', /open tunnels .* to any host.*permitopen/],
    ['pty re-enabled', 'restrict,pty', /get a terminal/],
    ['agent-forwarding re-enabled', 'restrict,agent-forwarding', /hand the server its agent/],
    ['X11-forwarding re-enabled', 'restrict,X11-forwarding', /forward X11/],
    ['user-rc re-enabled', 'restrict,user-rc', /~\/.ssh\/rc/],
    ['environment=', 'restrict,environment="LD_PRELOAD=/tmp/x.so"', /environment= sets variables/],
    ['no restrict at all', 'from="192.0.2.10"', /open tunnels/],
    ['permitopen="*:*", a tunnel to anywhere', 'restrict,port-forwarding,permitopen="*:*"', /open tunnels .* to any host/],
    ['permitopen="*:22"', 'restrict,port-forwarding,permitopen="*:22"', /open tunnels .* to any host/],
  ])('%s: UNSAFE', (_name, options, message) => {
    const found = unsafe(options);
    expect(found.length).toBeGreaterThan(0);
    expect(found.join('\n')).toMatch(message);
    expect(found[0]).toMatch(/^FILE:1: UNSAFE: /);
  });

  it.each([
    ['restrict', 'restrict'],
    ['pty turned on, then off again by restrict', 'pty,restrict'],
    ['every part spelled out', 'no-port-forwarding,no-agent-forwarding,no-X11-forwarding,no-pty,no-user-rc'],
  ])('%s: nothing UNSAFE', (_name, options) => expect(unsafe(options)).toEqual([]));

  it('reads options left to right, as sshd does', () => {
    expect(enabledFeatures(['restrict', 'pty'])).toEqual(['pty']);
    expect(enabledFeatures(['pty', 'restrict'])).toEqual([]);
    expect(enabledFeatures(['no-pty'])).not.toContain('pty');
  });
});

/** A forwarding line (ssh -W, ProxyJump, ssh -L): one list with the relay rules, and no listener (issue 29). */
describe('check --authorized-keys: a line that forwards', () => {
  const hopLine = (options: string, id = 'hop') =>
    `restrict,port-forwarding,${options},command="/usr/local/bin/ssh-dispatch --id ${id}" ${KEY}`;
  const found = (options: string, id?: string) => {
    const file = join(dir, 'ak-hop');
    writeFileSync(file, `${hopLine(options, id)}\n`);
    return authorizedKeysFindings(file, policy, join(dir, 'no-passwd')).map((f) => `${f.level} ${f.id}: ${f.text.replace(file, 'FILE')}`);
  };
  const printed = 'permitopen="target.internal:22",permitopen="db.internal:5432",permitlisten="NONE:1"';

  it('the line authorized-key prints: nothing to say (the range is not a permitopen value)', () => {
    expect(found(printed)).toEqual([]);
  });

  it('control: the line --permit-open printed before, with no permitlisten: UNSAFE, ssh -R listens', () => {
    expect(found('permitopen="target.internal:22",permitopen="db.internal:5432"')).toEqual([
      expect.stringMatching(/^unsafe key-line-listens: FILE:1: UNSAFE: port-forwarding without permitlisten: ssh -R /),
    ]);
  });

  it('a permitopen the relay rules lack: UNSAFE, a hop ssh-dispatch never sees', () => {
    expect(found(`${printed},permitopen="mail.internal:25"`)).toEqual([
      expect.stringMatching(/^unsafe key-permitopen-extra: .*permitopen mail\.internal:25: not a destination of hop's relay rules/),
    ]);
  });

  it('a relay destination the permitopen list lacks: a warning, ssh -W cannot reach it', () => {
    expect(found('permitopen="target.internal:22",permitlisten="NONE:1"')).toEqual([
      expect.stringMatching(
        /^warning key-permitopen-missing: .*hop's relay rules list db\.internal:5432, which the line's permitopen lacks/,
      ),
    ]);
  });

  it('an old tunnel-only line for an identity without relay rules: every permitopen is extra', () => {
    expect(found('permitopen="target.internal:22",permitlisten="NONE:1"', 'host1-backup')).toEqual([
      expect.stringMatching(/^unsafe key-permitopen-extra: .*target\.internal:22: not a destination of host1-backup's relay rules/),
    ]);
  });
});

describe("forcedIdentity: command= read by the forced mode's own parser", () => {
  it.each([
    ['/usr/local/bin/ssh-dispatch --id host1', { identity: 'host1' }],
    ['/usr/local/bin/ssh-dispatch --id=host1 --policy /etc/x', { identity: 'host1' }],
    ['/usr/local/bin/ssh-dispatch run --id host1', { identity: 'host1' }],
    ['/usr/bin/node /opt/ssh-dispatch.cjs --learn --id host1', { identity: 'host1' }],
    ['/usr/local/bin/ssh-dispatch --id host1 --id host2', { error: 'duplicate --id' }],
    ['/usr/local/bin/ssh-dispatch --policy /etc/x', { error: '--id ID is required' }],
    ['/usr/local/bin/ssh-dispatch --id host1 --verbose', { error: 'unexpected argument "--verbose"' }],
  ])('%s', (command, expected) => expect(forcedIdentity(command)).toEqual(expected));

  // sshd runs command= through the login shell: each of these ran `echo ... | ssh host x` as a
  // shell after ssh-dispatch denied the request (found in review, through a real sshd).
  it.each([
    ['/usr/local/bin/ssh-dispatch --id host1-backup || sh', '"||"'],
    ['/usr/local/bin/ssh-dispatch --id host1-backup; bash -i', '"host1-backup;"'],
    ['sh -c "$SSH_ORIGINAL_COMMAND" # /usr/local/bin/ssh-dispatch --id host1-backup', '"\\"$SSH_ORIGINAL_COMMAND\\""'],
    ['$SSH_ORIGINAL_COMMAND; /usr/local/bin/ssh-dispatch --id host1-backup', '"$SSH_ORIGINAL_COMMAND;"'],
    ['/bin/true /usr/local/bin/ssh-dispatch --id host1-backup', 'runs first'],
    ['env X=1 /usr/local/bin/ssh-dispatch --id host1-backup', 'runs first'],
  ])('command="%s": UNSAFE, the key can run more than ssh-dispatch', (command, naming) => {
    const file = join(dir, 'ak-shell');
    writeFileSync(file, `restrict,command="${command.replaceAll('"', '\\"')}" ${KEY}\n`);
    const found = authorizedKeysFindings(file, policy, join(dir, 'no-passwd'))
      .filter((f) => f.level === 'unsafe')
      .map((f) => f.text);
    expect(found).toHaveLength(1);
    expect(found[0]).toContain('UNSAFE: command= is not only ssh-dispatch and its flags');
    expect(found[0]).toContain(naming);
  });

  it('a line the forced mode would refuse is a finding', () => {
    const file = join(dir, 'ak-typo');
    writeFileSync(file, `restrict,command="/usr/local/bin/ssh-dispatch --id host1-backup --polcy /etc/x" ${KEY}\n`);
    expect(
      authorizedKeysFindings(file, policy, join(dir, 'no-passwd'))
        .map((f) => f.text)
        .join('\n'),
    ).toContain('would not start ssh-dispatch\'s forced mode (unexpected argument "--polcy")');
  });
});

/** A key in its learning window runs whatever its client sends: check says so, by the clock it is given. */
describe('check --authorized-keys: --learn-run', () => {
  const NOW = new Date('2026-12-07T01:00:00.000Z');
  const learning = (flags: string, id = 'host1-backup') => {
    const file = join(dir, 'ak-learn-run');
    writeFileSync(file, `restrict,command="/usr/local/bin/ssh-dispatch --id ${id} ${flags}" ${KEY}\n`);
    return authorizedKeysFindings(file, policy, join(dir, 'no-passwd'), NOW).map((f) => ({
      level: f.level,
      id: f.id,
      text: f.text.replace(file, 'FILE'),
    }));
  };

  it('an open window is UNSAFE, and names its end and what it may write', () => {
    expect(learning('--learn-run 2026-12-09T06:00Z --learn-write /srv/backup/host1')).toEqual([
      {
        level: 'unsafe',
        id: 'key-learn-run-active',
        text: 'FILE:1: UNSAFE: --learn-run: until 2026-12-09T06:00:00.000Z the key runs whatever its client sends, in the sandbox, writing /srv/backup/host1: turn the records into rules (ssh-dispatch suggest) and take --learn-run off the line',
      },
    ]);
  });

  it('for an identity the policy does not have yet (the usual case when learning), that alone', () => {
    expect(learning('--learn-run 2026-12-09T06:00Z', 'new-job').map((f) => f.id)).toEqual(['key-learn-run-active']);
  });

  it('a window that has ended is a warning: the line is left over', () => {
    expect(learning('--learn-run 2026-12-06T06:00Z')).toEqual([
      {
        level: 'warning',
        id: 'key-learn-run-expired',
        text: 'FILE:1: warning: the learning window (--learn-run) ended at 2026-12-06T06:00:00.000Z: the key records and runs nothing; take --learn-run and its paths off the line, or give it the rules suggest writes',
      },
    ]);
  });

  it('a window more than 7 days ahead is a line the forced mode refuses', () => {
    expect(learning('--learn-run 2026-12-20T00:00Z')).toEqual([
      expect.objectContaining({
        level: 'warning',
        id: 'key-command-refused',
        text: expect.stringContaining('a learning window is at most 7 days'),
      }),
    ]);
  });

  it('the control: the same line without --learn-run has nothing to say', () => {
    expect(learning('')).toEqual([]);
  });
});
