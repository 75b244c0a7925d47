/**
 * What a --learn-run key starts for a request, inside its window (serve/learn-run.ts learnRunPlan):
 * the client's words as argv, never a shell's reading of them, in the sandbox with the key line's
 * paths only, stopped at the window's end; and what it refuses to start.
 */
import { mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { deny } from '../../src/decide/decision.js';
import { learnRunPlan } from '../../src/serve/learn-run.js';
import type { LearnRun } from '../../src/serve/learn-window.js';
import type { ExecPlan } from '../../src/rules/plan.js';
import { requestFor } from '../helpers.js';

// By its real path: the run refuses a path of the key line that leads through a link.
const dir = realpathSync(mkdtempSync(join(tmpdir(), 'ssh-dispatch-learn-run-')));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const NOW = new Date('2026-12-07T01:00:00.000Z');
const run: LearnRun = { until: new Date('2026-12-07T03:00:00.000Z'), write: [dir], read: ['/usr/share'] };
const noRule = deny('no-rule-matched', '0 rule(s) tried');
const plan = (command: string | null, options: { decision?: ReturnType<typeof deny>; home?: string; uid?: number; extra?: object } = {}) =>
  learnRunPlan(
    requestFor('learner', command, { home: options.home ?? '/home/backup', ...options.extra }),
    options.decision ?? noRule,
    run,
    NOW,
    options.uid ?? 1000,
  );

describe('learn-run: what starts', () => {
  it('the words as execve gets them, the program found on the fixed PATH, in the sandbox, until the window ends', () => {
    const started = plan(`rsync --server -logDtpre.iLsfxCIvu . ${dir}/host1/`) as ExecPlan;
    expect(started).toMatchObject({
      kind: 'exec',
      program: expect.stringMatching(/^\/(usr\/)?bin\/rsync$/),
      argv: [started.program, '--server', '-logDtpre.iLsfxCIvu', '.', `${dir}/host1/`],
      supervise: true,
      confine: null,
      // Two hours left in the window: a run still going then is stopped.
      timeoutMs: 2 * 3600_000,
      // Kept only when the account is root (act/sandbox.ts bwrapArgs): an rsync push's.
      sandbox: { read: ['/usr/share'], write: [dir], rootCaps: ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER', 'CAP_FSETID'] },
    });
    // Nothing of the session's environment but the fixed minimum.
    expect(Object.keys(started.env).sort()).toEqual(['HOME', 'LANG', 'LOGNAME', 'PATH', 'SSH_CONNECTION', 'USER']);
  });

  it('a quoted shell metacharacter is one literal word, not a second command', () => {
    expect((plan(`touch '${dir}/a;touch ${dir}/b'`) as ExecPlan).argv.slice(1)).toEqual([`${dir}/a;touch ${dir}/b`]);
  });

  it('it starts in the home when the sandbox holds it, else in /', () => {
    expect((plan('ls', { home: `${dir}/home` }) as ExecPlan).cwd).toBe(`${dir}/home`);
    expect((plan('ls') as ExecPlan).cwd).toBeNull();
  });

  it('as root without a write path: only the capability of an rsync pull', () => {
    const reading = learnRunPlan(requestFor('learner', 'ls'), noRule, { ...run, write: [] }, NOW, 0) as ExecPlan;
    expect(reading.sandbox!.rootCaps).toEqual(['CAP_DAC_OVERRIDE']);
  });

  it('a program by its absolute path', () => {
    expect((plan('/usr/bin/env') as ExecPlan).program).toBe('/usr/bin/env');
  });

  it('learning does not care what the policy would allow: a command it allows or denies runs the same way', () => {
    expect(typeof plan('ls', { decision: deny('unknown-identity', 'no identity "learner"') })).toBe('object');
    expect(typeof plan('ls', { decision: deny('policy-unloadable', 'x') })).toBe('object');
  });
});

describe('learn-run: what does not start (recorded, not run)', () => {
  it.each([
    ['an unquoted ;', `touch ${dir}/a;touch ${dir}/b`, /^tokenize-operator \(; at offset \d+\): no shell reads the command/],
    ['a substitution', 'echo $(id)', /^tokenize-substitution/],
    ['a variable', 'cat $HOME/.ssh/id_ed25519', /^tokenize-variable/],
    ['a pipe', 'ls | sh', /^tokenize-operator/],
    ['no command', null, /^the session sent no command$/],
    ['an empty command', '  ', /^the session sent no command$/],
    ['a program not on PATH', 'no-such-program-here', /^"no-such-program-here" is not an executable file on PATH/],
    ['a relative program', './run.sh', /^"\.\/run\.sh" is not an executable file/],
    ['a directory', '/usr/bin', /^"\/usr\/bin" is not an executable file/],
  ])('%s', (_what, command, why) => expect(plan(command)).toMatch(why));

  it.each([
    'identity-expired',
    'from-not-allowed',
    'key-not-allowed',
    'account-not-allowed',
    'certificate-principal-not-allowed',
    'unsafe-environment',
  ] as const)('the policy refusing who asks (%s) stops it: learning is for commands, not for callers', (reason) => {
    expect(plan('ls', { decision: deny(reason, 'x') })).toBe(`the policy refuses this session (${reason}), which learning does not change`);
  });

  it('rsync -s: its arguments were read off the connection for the record, and cannot be handed on', () => {
    expect(plan('rsync --server -s -logDtpre.iLsfxCIvu . .', { extra: { protectedArgs: ['dst/'] } })).toMatch(/^rsync -s/);
  });

  it('a path of the key line that leads through a link: the link, not the line, would choose what is bound', () => {
    symlinkSync('/etc', join(dir, 'etc-link'));
    const linked = learnRunPlan(requestFor('learner', 'ls'), noRule, { ...run, write: [join(dir, 'etc-link')] }, NOW, 1000);
    expect(linked).toBe(`${join(dir, 'etc-link')}: leads through a symbolic link to /etc: name the real path (a path of the key line)`);
  });

  it('a path of the key line that is not there', () => {
    const missing = learnRunPlan(requestFor('learner', 'ls'), noRule, { ...run, write: [join(dir, 'gone')] }, NOW, 1000);
    expect(missing).toBe(`${join(dir, 'gone')}: cannot be bound (ENOENT) (a path of the key line)`);
  });
});
