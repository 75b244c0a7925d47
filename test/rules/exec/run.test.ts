/**
 * exec `run:` (issue 17): the argv that runs is the policy's, with `{N}` words filled from the
 * client's (word 1 = the program name it sent), and a pattern may end with `...` (any further
 * words, dropped) only when `run` is there to drop them.
 */
import { describe, expect, it } from 'vitest';
import { decide } from '../../../src/decide/decide.js';
import { lintPolicy } from '../../../src/policy/lint.js';
import { kindOf } from '../../../src/rules/kinds.js';
import { policyErrors, policyFrom, requestFor } from '../../helpers.js';

const header = 'version: 1\nidentities:\n  a:\n    rules:\n';
const rules = (body: string) => `${header}${body}`;
const now = new Date(2026, 10, 24);

const policy = policyFrom(`
version: 1
identities:
  borg:
    rules:
      - name: borg
        exec:
          command: [borg, serve, "..."]
          run: [/usr/bin/borg, serve, --restrict-to-repository, /srv/borg/host1, --append-only]
  git:
    rules:
      - name: pull
        exec:
          command: [git-upload-pack, "/srv/git/*.git"]
          run: [/usr/bin/git-upload-pack, --strict, "{2}"]
  literal:
    rules:
      - name: star
        exec: { command: [report, "..."], run: [/usr/bin/printf, "%s.", "*"] }
`);

function allowed(id: string, command: string) {
  const decision = decide(policy, requestFor(id, command));
  if (decision.decision !== 'allow') throw new Error(`denied: ${decision.reason}`);
  return decision;
}

describe('run: the argv that runs', () => {
  it.each([
    ['borg serve --umask=077', ['/usr/bin/borg', 'serve', '--restrict-to-repository', '/srv/borg/host1', '--append-only']],
    ['borg serve', ['/usr/bin/borg', 'serve', '--restrict-to-repository', '/srv/borg/host1', '--append-only']],
    // What borg 1.1 sends, and what a thief would like to: both dropped.
    [
      'borg serve --umask=077 --debug --restrict-to-path / --storage-quota 0',
      ['/usr/bin/borg', 'serve', '--restrict-to-repository', '/srv/borg/host1', '--append-only'],
    ],
  ])("%s runs the policy's argv", (command, argv) => {
    const decision = allowed('borg', command);
    expect(decision.plan).toMatchObject({ kind: 'exec', program: '/usr/bin/borg', argv, fixed: true });
  });

  it("fills {N} with the client's word N, after the pattern matched it", () => {
    expect(allowed('git', "git-upload-pack '/srv/git/project.git'").plan).toMatchObject({
      argv: ['/usr/bin/git-upload-pack', '--strict', '/srv/git/project.git'],
    });
    for (const command of [
      "git-upload-pack '/srv/git/../x.git'",
      'git-upload-pack --upload-pack=x',
      "git-upload-pack '/srv/git/a.git' extra",
      'git-upload-pack',
    ]) {
      expect(decide(policy, requestFor('git', command)).decision, command).toBe('deny');
    }
  });

  it('"..." needs the words before it, and only they are matched', () => {
    for (const command of ['borg', 'borg list', 'borgx serve', 'sh -c borg']) {
      expect(decide(policy, requestFor('borg', command)).decision, command).toBe('deny');
    }
    // An unquoted glob in a dropped word goes nowhere; in a matched word it is refused as before.
    expect(allowed('borg', 'borg serve *').plan).toMatchObject({
      argv: ['/usr/bin/borg', 'serve', '--restrict-to-repository', '/srv/borg/host1', '--append-only'],
    });
    expect(decide(policy, requestFor('borg', 'borg s*')).decision).toBe('deny');
  });

  it('a literal run word is literal, * included', () => {
    expect(allowed('literal', 'report --all').plan).toMatchObject({ argv: ['/usr/bin/printf', '%s.', '*'] });
  });

  it('explain shows the argv that runs and says the policy fixed it', () => {
    const decision = allowed('borg', 'borg serve --umask=077');
    const kind = kindOf(decision.rule.kind);
    expect(kind.lines(decision.plan).slice(0, 2)).toEqual([
      '  argv     ["/usr/bin/borg","serve","--restrict-to-repository","/srv/borg/host1","--append-only"]',
      "           (the rule's run: fixed by the policy; the client's words only where it says {N}, the rest dropped)",
    ]);
    expect(kind.fields(decision.plan)).toMatchObject({
      argv: ['/usr/bin/borg', 'serve', '--restrict-to-repository', '/srv/borg/host1', '--append-only'],
      argv_from: 'run',
    });
  });

  it("without run nothing changes: the program and the client's words after the first", () => {
    const plain = policyFrom(rules('      - { name: x, exec: { command: "du -sh /srv/*", program: /usr/bin/du } }\n'));
    const decision = decide(plain, requestFor('a', 'du -sh /srv/a'));
    expect(decision.decision === 'allow' && decision.plan).toMatchObject({ argv: ['/usr/bin/du', '-sh', '/srv/a'] });
    expect(decision.decision === 'allow' && 'fixed' in decision.plan).toBe(false);
  });
});

describe('run: policy errors, with file:line', () => {
  it.each([
    [
      '"..." without run',
      '      - name: x\n        exec:\n          command: [borg, serve, "..."]\n          program: /usr/bin/borg\n',
      'p.yaml:7: identities.a.rules[0].exec.command: "..." (any further words) needs run',
    ],
    [
      '"..." not last',
      '      - name: x\n        exec:\n          command: [borg, "...", serve]\n          run: [/usr/bin/borg, serve]\n',
      'p.yaml:7: identities.a.rules[0].exec.command: "..." (any further words) can only be the last word',
    ],
    [
      '"..." alone',
      '      - name: x\n        exec:\n          command: ["..."]\n          run: [/usr/bin/borg, serve]\n',
      '"..." needs a word before it',
    ],
    [
      '{N} into "..."',
      '      - name: x\n        exec:\n          command: [borg, serve, "..."]\n          run:\n            - /usr/bin/borg\n            - serve\n            - "{3}"\n',
      'p.yaml:11: identities.a.rules[0].exec.run[2]: {3} would be one of the words "..." stands for, which are never passed on: only the 2 words before "..." can be',
    ],
    [
      '{N} past the command',
      '      - name: x\n        exec:\n          command: [cat, /srv/a]\n          run: [/bin/cat, "{3}"]\n',
      'exec.run[1]: the command has 2 words: there is no word 3 to pass on',
    ],
    [
      '{0}',
      '      - name: x\n        exec:\n          command: [cat, /srv/a]\n          run: [/bin/cat, "{0}"]\n',
      'exec.run[1]: words are counted from 1',
    ],
    [
      '{N} inside a word',
      '      - name: x\n        exec:\n          command: [cat, "*"]\n          run: [/bin/cat, "/srv/{2}"]\n',
      'exec.run[1]: {N} stands for a whole word',
    ],
    [
      'a relative program',
      '      - name: x\n        exec:\n          command: [cat, "*"]\n          run: [cat, "{2}"]\n',
      'exec.run[0]: expected the program, a literal absolute path',
    ],
    [
      "the client's word as program",
      '      - name: x\n        exec:\n          command: ["/bin/*"]\n          run: ["{1}"]\n',
      'exec.run[0]: expected the program',
    ],
    [
      'an empty run',
      '      - name: x\n        exec:\n          command: [cat]\n          run: []\n',
      'exec.run: expected at least one word',
    ],
    ['a string run', '      - name: x\n        exec:\n          command: [cat]\n          run: /bin/cat\n', 'exec.run: expected a list'],
    [
      'program and run apart',
      '      - name: x\n        exec:\n          command: [cat]\n          program: /bin/tac\n          run: [/bin/cat]\n',
      "p.yaml:8: identities.a.rules[0].exec.program: run's first word /bin/cat is what runs, and program names another (/bin/tac): drop program",
    ],
  ])('%s', (_name, body, expected) => {
    expect(policyErrors(rules(body)).join('\n')).toContain(expected);
  });

  it('program equal to run[0] is allowed, and the first word need not be absolute', () => {
    expect(policyErrors(rules('      - name: x\n        exec: { command: [cat], program: /bin/cat, run: [/bin/cat, /srv/a] }\n'))).toEqual(
      [],
    );
  });

  it('a literal "..." stays available, escaped', () => {
    const escaped = policyFrom(rules('      - { name: x, exec: { command: [echo, "\\\\..."], program: /bin/echo } }\n'));
    expect(decide(escaped, requestFor('a', 'echo ...')).decision).toBe('allow');
    expect(decide(escaped, requestFor('a', 'echo a b')).decision).toBe('deny');
  });
});

describe('run: check', () => {
  const levels = (yaml: string, match: RegExp) =>
    lintPolicy(policyFrom(yaml), now)
      .filter((f) => match.test(f.message))
      .map((f) => f.level);

  it.each([
    ['a shell given a glob word by {N}', '{ command: [run, "*"], run: [/bin/sh, -c, "{2}"] }'],
    ['an interpreter given a glob word by {N}', '{ command: [py, "*"], run: [/usr/bin/python3, "{2}"] }'],
    ['the first word passed on to a shell', '{ command: ["*", "..."], run: [/bin/bash, "{1}"] }'],
  ])('%s: UNSAFE', (_name, exec) => {
    expect(levels(rules(`      - { name: x, exec: ${exec} }\n`), /with the glob word/)).toEqual(['unsafe']);
  });

  it.each([
    [
      'a shell with literal run words, whatever the client sends',
      '{ command: [backup, "..."], run: [/bin/sh, /usr/local/sbin/backup.sh] }',
    ],
    ['a shell given a literal pattern word by {N}', '{ command: [backup, nightly], run: [/bin/sh, /usr/local/sbin/backup.sh, "{2}"] }'],
    ['a glob word the run does not pass on', '{ command: [backup, "*"], run: [/bin/sh, /usr/local/sbin/backup.sh] }'],
  ])('%s: a warning, not UNSAFE', (_name, exec) => {
    const findings = lintPolicy(policyFrom(rules(`      - { name: x, exec: ${exec} }\n`)), now);
    expect(findings.filter((f) => f.level === 'unsafe')).toEqual([]);
    expect(findings.map((f) => f.message).join('\n')).toContain('keep its words literal');
  });

  it('a glob word passed on to a program that reads files is judged by where it reaches', () => {
    expect(
      levels(rules('      - { name: x, exec: { command: [show, "/**"], run: [/bin/cat, "{2}"] } }\n'), /matches any absolute path/),
    ).toEqual(['unsafe']);
    expect(
      levels(
        rules('      - { name: x, exec: { command: [show, "/**"], run: [/bin/cat, /srv/report.txt] } }\n'),
        /matches any absolute path/,
      ),
    ).toEqual([]);
  });

  it("writes: run's absolute words, and {N} as the pattern word", () => {
    const rule = policyFrom(
      rules('      - { name: x, exec: { command: [save, "/srv/out/*"], run: [/usr/bin/tee, /etc/cron.d/x, "{2}"] } }\n'),
    ).identities.get('a')!.rules[0]!;
    expect(kindOf('exec').writesTo(rule)).toEqual(['/etc/cron.d/x', '/srv/out']);
  });

  it.each([
    ['a "..." rule covers a longer command', '[borg, serve, "..."]', '[borg, serve, --umask=077]', true],
    ['a "..." rule covers one with no further word', '[borg, serve, "..."]', '[borg, serve]', true],
    ['a "..." rule covers a later "..." rule below it', '[borg, "..."]', '[borg, serve, "..."]', true],
    ['a fixed-length rule does not cover a "..." one', '[borg, serve]', '[borg, serve, "..."]', false],
    ['a "..." rule does not cover a shorter command', '[borg, serve, "..."]', '[borg]', false],
  ])('%s', (_name, first, second, covered) => {
    const runOf = (command: string) => (command.includes('"..."') ? ', run: [/usr/bin/borg, serve]' : ', program: /usr/bin/borg');
    const yaml = rules(
      `      - { name: x, exec: { command: ${first}${runOf(first)} } }\n      - { name: y, exec: { command: ${second}${runOf(second)} } }\n`,
    );
    expect(lintPolicy(policyFrom(yaml), now).some((f) => f.message.includes('rule "y" can never match'))).toBe(covered);
  });
});
