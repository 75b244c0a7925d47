/**
 * Parsing exec rules (rules/exec/parse.ts): the program, its words, environment, umask, timeout,
 * cwd and sandbox. Each invalid rule gives an error naming line, key and what was expected
 * (test/policy/parse.test.ts: the policy around the rules).
 */
import { describe, expect, it } from 'vitest';
import { parsePolicyText } from '../../../src/policy/parse.js';
import { policyErrors } from '../../helpers.js';

const header = 'version: 1\nidentities:\n  a:\n    rules:\n';

const invalid: [string, string, string][] = [
  [
    'an unknown exec key',
    `${header}      - name: x\n        exec: { command: /bin/true, shell: true }\n`,
    'identities.a.rules[0].exec.shell: unknown key',
  ],
  [
    'a relative program',
    `${header}      - name: x\n        exec: { command: ls -l }\n`,
    'the first word "ls" is not an absolute path: add program: /absolute/path/of/ls',
  ],
  [
    'a program with ..',
    `${header}      - name: x\n        exec: { command: ls, program: /bin/../tmp/ls }\n`,
    'exec.program: expected an absolute path without . or .. parts',
  ],
  [
    'a program that is a glob',
    `${header}      - name: x\n        exec: { command: ls, program: /bin/l* }\n`,
    'exec.program: expected a literal path, not a pattern',
  ],
  [
    'quotes in the string form',
    `${header}      - name: x\n        exec: { command: "cat 'a b'", program: /bin/cat }\n`,
    'write the command as a list of words instead',
  ],
  [
    'an empty command',
    `${header}      - name: x\n        exec: { command: "", program: /bin/cat }\n`,
    'exec.command: expected at least one word',
  ],
  [
    'an unquoted octal umask',
    `${header}      - name: x\n        exec: { command: /bin/true, umask: 0077 }\n`,
    'YAML reads an unquoted 77 as a decimal number',
  ],
  [
    'a bad umask',
    `${header}      - name: x\n        exec: { command: /bin/true, umask: "0999" }\n`,
    'exec.umask: expected an octal mask such as "0077", got "0999"',
  ],
  [
    'a bad timeout',
    `${header}      - name: x\n        exec: { command: /bin/true, timeout: 5 minutes }\n`,
    'exec.timeout: expected a duration such as 90s, 5m, 2h, got "5 minutes"',
  ],
  [
    'a timeout without supervision',
    `${header}      - name: x\n        exec: { command: /bin/true, timeout: 5m, supervise: false }\n`,
    'a timeout needs supervise: true',
  ],
  [
    'a string supervise',
    `${header}      - name: x\n        exec: { command: /bin/true, supervise: "no" }\n`,
    'exec.supervise: expected true or false, got "no"',
  ],
  [
    'LD_PRELOAD in env',
    `${header}      - name: x\n        exec: { command: /bin/true, env: { LD_PRELOAD: /tmp/x.so } }\n`,
    'exec.env.LD_PRELOAD: refused',
  ],
  [
    'NODE_OPTIONS in env',
    `${header}      - name: x\n        exec: { command: /bin/true, env: { NODE_OPTIONS: --require=x } }\n`,
    'exec.env.NODE_OPTIONS: refused',
  ],
  [
    'SSH_AUTH_SOCK in env',
    `${header}      - name: x\n        exec: { command: /bin/true, env: { SSH_AUTH_SOCK: /tmp/a } }\n`,
    'exec.env.SSH_AUTH_SOCK: refused',
  ],
  [
    '__proto__ in env (a plain object would drop it silently)',
    `${header}      - name: x\n        exec: { command: /bin/true, env: { __proto__: x } }\n`,
    'exec.env.__proto__: refused',
  ],
  [
    'BASH_ENV in env',
    `${header}      - name: x\n        exec: { command: /bin/true, env: { BASH_ENV: /tmp/a } }\n`,
    'exec.env.BASH_ENV: refused',
  ],
  [
    'a bad env name',
    `${header}      - name: x\n        exec: { command: /bin/true, env: { "A-B": x } }\n`,
    'exec.env.A-B: expected a variable name',
  ],
  ['a relative cwd', `${header}      - name: x\n        exec: { command: /bin/true, cwd: srv }\n`, 'exec.cwd: expected an absolute path'],
  [
    'an exec sandbox path listed twice',
    `${header}      - name: x\n        exec: { command: "du -sh /srv", sandbox: { read: [/srv], write: [/srv] } }\n`,
    'exec.sandbox: /srv is listed twice',
  ],
  [
    'an exec sandbox of the whole filesystem',
    `${header}      - name: x\n        exec: { command: "du -sh /srv", sandbox: { read: [/] } }\n`,
    'exec.sandbox: the whole filesystem (/) cannot be a sandbox path',
  ],
  [
    'an exec cwd outside its sandbox',
    `${header}      - name: x\n        exec: { command: "du -sh /srv", cwd: /tmp, sandbox: { read: [/srv] } }\n`,
    'exec.cwd: the program starts in cwd, so it must lie in one of sandbox.read or sandbox.write',
  ],
  [
    'an exec sandbox key unknown',
    `${header}      - name: x\n        exec: { command: "du -sh /srv", sandbox: { exec: [/srv] } }\n`,
    'exec.sandbox.exec: unknown key (expected one of: read, write, secrets)',
  ],
  [
    'an exec sandbox secrets value unknown',
    `${header}      - name: x\n        exec: { command: "du -sh /srv", sandbox: { read: [/etc], secrets: show } }\n`,
    'exec.sandbox.secrets: expected one of serve, withhold',
  ],
];

describe('parsing exec rules', () => {
  it.each(invalid)('reports %s', (_name, yaml, expected) => {
    expect(policyErrors(yaml).join('\n')).toContain(expected);
  });

  it('reads a full exec rule', () => {
    const parsed = parsePolicyText(
      'p.yaml',
      `${header}      - name: x\n        exec:\n          command: [cat, "a b"]\n          program: /bin/cat\n          env: { TZ: UTC }\n          cwd: /srv\n          umask: "0077"\n          timeout: 90s\n`,
    );
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.fragment.identities[0]!.rules[0]).toEqual({
      kind: 'exec',
      name: 'x',
      where: { file: 'p.yaml', line: 5 },
      pattern: ['cat', 'a b'],
      rest: false,
      program: '/bin/cat',
      run: null,
      env: { TZ: 'UTC' },
      passEnv: [],
      cwd: '/srv',
      umask: 0o077,
      timeoutMs: 90_000,
      supervise: true,
      sandbox: null,
      expectEvery: null,
      minBytes: null,
    });
  });
});
