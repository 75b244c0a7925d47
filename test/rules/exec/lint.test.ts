/** check's lint of exec rules (rules/exec/lint.ts): exec rules that give away more than they seem. */
import { describe, expect, it } from 'vitest';
import { lintPolicy, writeTargets } from '../../../src/policy/lint.js';
import { policyFrom } from '../../helpers.js';

const now = new Date(2026, 10, 24);
const rules = (body: string) => `version: 1\nidentities:\n  a:\n    rules:\n${body}`;

/** A stolen key that can become someone else is UNSAFE, not a warning (docs/threat-model.md, "Outside the policy"). */
describe('lintPolicy: exec rules a stolen key turns into a shell', () => {
  const exec = (command: string, program: string) =>
    rules(`      - { name: x, exec: { command: ${JSON.stringify(command)}, program: ${program} } }\n`);
  const levelOf = (yaml: string, about: RegExp) =>
    lintPolicy(policyFrom(yaml), now)
      .filter((f) => about.test(f.message))
      .map((f) => f.level);

  it.each([
    ['the first word is the glob, program a shell (ran `id` as root)', '*', '/bin/sh'],
    ['a glob after -c', 'sh -c *', '/bin/sh'],
    ['bash with a ? word', 'bash -c ?', '/bin/bash'],
    ['busybox', 'busybox *', '/bin/busybox'],
    ['python3', 'python3 /srv/scripts/*', '/usr/bin/python3'],
    ['python3.11', 'python3.11 *.py', '/usr/bin/python3.11'],
    ['perl5.36', 'perl5.36 *', '/usr/bin/perl5.36'],
    ['node', 'node *', '/usr/bin/node'],
    ['php8.2', 'php8.2 *', '/usr/bin/php8.2'],
    ['lua5.4', 'lua5.4 *', '/usr/bin/lua5.4'],
    ['env', 'env *', '/usr/bin/env'],
    ['sudo', 'sudo *', '/usr/bin/sudo'],
    ['awk', 'awk [a-z]*', '/usr/bin/awk'],
  ])('%s: UNSAFE', (_name, command, program) => {
    expect(levelOf(exec(command, program), /with the glob word/)).toEqual(['unsafe']);
  });

  it.each([
    ['a shell with literal words only', 'sh -c true', '/bin/sh'],
    ['a glob for a program that is no shell', 'du -sh /srv/*', '/usr/bin/du'],
  ])('%s: not UNSAFE', (_name, command, program) => {
    expect(lintPolicy(policyFrom(exec(command, program)), now).filter((f) => f.level === 'unsafe')).toEqual([]);
  });
});

/**
 * What a glob word reaches, under the exec matcher's contract: `*`, `?`, `[..]` match one
 * non-empty component that does not start with "."; `**` whole such components, so a word that
 * starts with `**` reaches everything below the working directory (the account's home when the
 * rule has no cwd), and one whose first component under `/` is a glob reaches the whole
 * filesystem, however it is spelt (`//**`, `/./**`, `--output=/**`; found in review).
 */
describe('lintPolicy: glob words that reach files outside the rule', () => {
  const exec = (command: string, program: string, extra = '') =>
    rules(`      - { name: x, exec: { command: ${JSON.stringify(command)}, program: ${program}${extra} } }\n`);
  const found = (yaml: string) => lintPolicy(policyFrom(yaml), now).filter((f) => !/can never match/.test(f.message));

  it.each([
    [
      'cat **',
      'cat **',
      '/bin/cat',
      'unsafe',
      /"\*\*", which matches any path below the working directory \(the account's home, since the rule has no cwd\)/,
    ],
    ['cat **/*.log', 'cat **/*.log', '/bin/cat', 'unsafe', /matches any path below the working directory/],
    ['rm /**', 'rm /**', '/bin/rm', 'unsafe', /matches any absolute path/],
    ['cat //** (an empty component names the same)', 'cat //**', '/bin/cat', 'unsafe', /matches any absolute path/],
    ['cat /./**', 'cat /./**', '/bin/cat', 'unsafe', /matches any absolute path/],
    ['sort --output=/** (an option value)', 'sort --output=/** -', '/usr/bin/sort', 'unsafe', /matches any absolute path/],
    ['dd of=/** (no dashes, still a path)', 'dd of=/**', '/bin/dd', 'unsafe', /matches any absolute path/],
    ['cp /* with a file program', 'cp /* /srv/x', '/bin/cp', 'unsafe', /any name at the top of the filesystem/],
    ['head /** with cwd: absolute paths outside it', 'head /**', '/usr/bin/head', 'unsafe', /outside \/srv\/x/],
    ['head ** with cwd: below it', 'head **', '/usr/bin/head', 'unsafe', /below the working directory \(\/srv\/x\)/],
    ['du ** (reads no file contents)', 'du -sh **', '/usr/bin/du', 'warning', /matches any path below the working directory/],
    ['du * (the working directory only)', 'du -sh *', '/usr/bin/du', 'warning', /matches any name in the working directory/],
  ] as const)('%s', (name, command, program, level, message) => {
    const f = found(exec(command, program, name.includes('cwd') ? ', cwd: /srv/x' : ''));
    expect(f.map((x) => x.level)).toContain(level);
    if (level === 'warning') expect(f.map((x) => x.level)).not.toContain('unsafe');
    expect(f.map((x) => x.message).join('\n')).toMatch(message);
  });

  it.each([
    ['a directory of its own', 'cat /srv/logs/*.log', '/bin/cat'],
    ['a ** under a directory of its own', 'cat /srv/logs/**', '/bin/cat'],
    ['a relative glob that starts with a literal name', 'cat logs/**', '/bin/cat'],
  ])('%s: nothing to say', (_name, command, program) => {
    expect(found(exec(command, program))).toEqual([]);
  });
});

describe('lintPolicy: a shell or interpreter by any name (found in review: each ran `id` as root)', () => {
  const exec = (command: string, program: string) =>
    `version: 1\nidentities:\n  a:\n    rules:\n      - { name: x, exec: { command: ${JSON.stringify(command)}, program: ${program} } }\n`;
  it.each([
    ['perl with its build suffix', 'report -e *', '/usr/bin/perl5.36-x86_64-linux-gnu'],
    ['ex, vim in ex mode', 'edit -c * /srv/notes.txt', '/usr/bin/ex'],
    ['the dynamic loader, which runs any program', 'run /bin/* *', '/usr/lib64/ld-linux-x86-64.so.2'],
    ['a Debian alternative that is vim', 'edit *', '/usr/bin/editor'],
  ])('%s: UNSAFE', (_name, command, program) => {
    // /usr/bin/editor is a link; check follows it (realpath), as this resolver stands in for.
    const resolveProgram = (path: string) => (path === '/usr/bin/editor' ? '/usr/bin/vim.basic' : path);
    const findings = lintPolicy(policyFrom(exec(command, program)), now, { resolveProgram });
    expect(
      findings
        .filter((f) => f.level === 'unsafe')
        .map((f) => f.message)
        .join('\n'),
    ).toMatch(/runs .* with the glob word/);
  });
});

describe('lintPolicy: programs that write where their input says are write rules (found in review: patch wrote .ssh/authorized_keys)', () => {
  const exec = (extra: string) =>
    `version: 1\nidentities:\n  a:\n    rules:\n      - { name: x, exec: { command: "patch -p1", program: /usr/bin/patch${extra} } }\n`;
  it("with no cwd (the account's home): UNSAFE", () => {
    expect(
      lintPolicy(policyFrom(exec('')), now)
        .filter((f) => f.level === 'unsafe')
        .map((f) => f.message)
        .join('\n'),
    ).toMatch(/writes files where its input says, with no cwd/);
  });
  it('with a cwd of its own: nothing unsafe', () => {
    expect(lintPolicy(policyFrom(exec(', cwd: /srv/patches')), now).filter((f) => f.level === 'unsafe')).toEqual([]);
  });
  it("its cwd is a write target, held to the write rules' standard by check", () => {
    expect(writeTargets(policyFrom(exec(', cwd: /root'))).map((t) => t.dir)).toEqual(['/root']);
  });
});

describe('writeTargets: exec rules that write the paths their words name (found in review: tee /etc/cron.d/* was only a warning)', () => {
  const targets = (command: string, program: string) =>
    writeTargets(
      policyFrom(
        `version: 1\nidentities:\n  a:\n    rules:\n      - { name: x, exec: { command: ${JSON.stringify(command)}, program: ${program} } }\n`,
      ),
    ).map((t) => t.dir);
  it.each([
    ['tee /etc/cron.d/*', '/usr/bin/tee', ['/etc/cron.d']],
    ['dd of=/etc/cron.d/job', '/bin/dd', ['/etc/cron.d/job']],
    ['sort --output=/root/.ssh/authorized_keys -', '/usr/bin/sort', ['/root/.ssh/authorized_keys']],
    ['cp /etc/hosts /srv/copy', '/bin/cp', ['/srv/copy']], // the source is read, not written
    ['sort /etc/passwd', '/usr/bin/sort', []], // reading is not writing
    ['cat /etc/hostname', '/bin/cat', []],
    ['rm //etc/./cron.d/*', '/bin/rm', ['/etc/cron.d']],
  ])('%s → %j', (command, program, expected) => expect(targets(command, program)).toEqual(expected));
});

describe('lintPolicy: exec rules that serve files are sftp rules in disguise (issue 16: sftp-server as root gave scp host:/etc/shadow)', () => {
  const levels = (yaml: string) => lintPolicy(policyFrom(yaml), now).map((f) => `${f.level}: ${f.message}`);
  it.each([
    [
      'sftp-server',
      '{ name: s, exec: { command: "/usr/lib/openssh/sftp-server" } }',
      /^unsafe: rule "s" runs \/usr\/lib\/openssh\/sftp-server, which serves every file the account can reach.*use an sftp rule/,
    ],
    [
      'sftp-server with -d',
      '{ name: s, exec: { command: ["internal-sftp"], program: /usr/lib/openssh/sftp-server } }',
      /^unsafe: .*use an sftp rule/,
    ],
    [
      'scp -t',
      '{ name: s, exec: { command: "scp -t /srv/in", program: /usr/bin/scp } }',
      /^unsafe: rule "s" runs \/usr\/bin\/scp, which as scp -t\/-f writes and reads every file.*use an sftp rule/,
    ],
  ])('%s: UNSAFE, pointing at the sftp rule', (_name, rule, message) => {
    const found = levels(rules(`      - ${rule}\n`));
    expect(found.join('\n')).toMatch(message);
    // One finding about it, not the generic "can run other programs" warning as well.
    expect(found.filter((f) => f.includes('can run other programs'))).toEqual([]);
  });

  it('in a sandbox: a warning (confined, still no per-file record)', () => {
    expect(
      levels(
        rules('      - { name: s, exec: { command: "scp -t /srv/in", program: /usr/bin/scp, sandbox: { write: [/srv/in] } } }\n'),
      ).join('\n'),
    ).toMatch(/^warning: .*here only within its sandbox paths.*use an sftp rule/m);
  });
});

describe('lintPolicy and writeTargets: a sandbox bounds where an exec rule reads and writes', () => {
  it('a glob that reaches any absolute path is UNSAFE without a sandbox, a warning in one', () => {
    const bare = lintPolicy(policyFrom(rules('      - { name: c, exec: { command: "cat /**", program: /bin/cat } }\n')), now);
    const boxed = lintPolicy(
      policyFrom(rules('      - { name: c, exec: { command: "cat /**", program: /bin/cat, sandbox: { read: [/srv/logs] } } }\n')),
      now,
    );
    expect(bare.filter((f) => f.level === 'unsafe')).toHaveLength(1);
    expect(boxed.filter((f) => f.level === 'unsafe')).toEqual([]);
    expect(boxed.map((f) => f.message).join('\n')).toMatch(/matches any absolute path/);
  });

  it('an extractor without cwd is UNSAFE without a sandbox (it runs in the home), not in one', () => {
    const bare = lintPolicy(policyFrom(rules('      - { name: x, exec: { command: "tar -x", program: /bin/tar } }\n')), now);
    const boxed = lintPolicy(
      policyFrom(rules('      - { name: x, exec: { command: "tar -x", program: /bin/tar, sandbox: { write: [/srv/in] } } }\n')),
      now,
    );
    expect(bare.some((f) => f.level === 'unsafe' && /writes files where its input says/.test(f.message))).toBe(true);
    expect(boxed.some((f) => /writes files where its input says/.test(f.message))).toBe(false);
  });

  it('its write targets are its sandbox.write paths, whatever its words say', () => {
    const policy = policyFrom(
      rules('      - { name: t, exec: { command: "tee /etc/cron.d/x", program: /usr/bin/tee, sandbox: { write: [/srv/out] } } }\n'),
    );
    expect(writeTargets(policy).map((t) => t.dir)).toEqual(['/srv/out']);
  });
});

describe('lintPolicy: a shell or interpreter that reads its program from the client (found in review)', () => {
  const levels = (rule: string) => lintPolicy(policyFrom(rules(`      - ${rule}\n`)), now).map((f) => `${f.level}: ${f.message}`);
  it.each([
    ['run: [/bin/sh] behind a ... pattern', '{ name: s, exec: { command: [backup, "..."], run: [/bin/sh] } }'],
    ['a bare bash', '{ name: s, exec: { command: [/bin/bash] } }'],
    ['python3 -', '{ name: s, exec: { command: [python3, "-"], program: /usr/bin/python3 } }'],
    ['sh -s', '{ name: s, exec: { command: [sh, "-s"], program: /bin/sh } }'],
  ])('%s: UNSAFE', (_name, rule) => {
    expect(levels(rule).join('\n')).toMatch(/^unsafe: .*reads its program from the client's stdin/m);
  });

  it.each([
    ['sh -c with literal code', '{ name: s, exec: { command: [sh, "-c", "true"], program: /bin/sh } }'],
    ['a script', '{ name: s, exec: { command: [sh, /usr/local/lib/backup.sh], program: /bin/sh } }'],
  ])('%s: a warning only', (_name, rule) => {
    expect(levels(rule).join('\n')).not.toMatch(/^unsafe/m);
  });
});
