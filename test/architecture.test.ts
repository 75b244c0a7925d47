/**
 * The shape of the house, held against the code.
 *
 * 1. Folders import only the folders below them (the table FOLDERS says which): the data flows
 *    one way, request in, decision, action, record, and no arrow runs back up. Every relative
 *    import of every file under src/ is followed: static, `export ... from`, and `import()`.
 * 2. The decision core is pure: same input, same answer, no I/O (README, "Working on it"). Every way
 *    this code base has of reaching the system is looked for in those files: a static or dynamic
 *    import or a require() of an I/O built-in, process.getBuiltinModule, the lazy-builtins helpers
 *    that load one, and process.env/exit/chdir/kill/std*. The detector is itself tested against
 *    each spelling, so that a new idiom cannot slip past a check that only knew the old one.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = fileURLToPath(new URL('../src/', import.meta.url));
const files = readdirSync(src, { recursive: true })
  .map(String)
  .filter((f) => f.endsWith('.ts'));

/** A file's room: its top folder under src/, or the file itself for src/*.ts. */
const roomOf = (file: string) => (file.includes('/') ? file.split('/')[0]! : file.replace(/\.ts$/, ''));

/** What each room may import, besides itself. Read from the bottom up. */
const FOLDERS: Record<string, readonly string[]> = {
  'lazy-builtins': [],
  trust: [],
  keyline: [],
  values: [],
  args: [],
  request: ['values', 'lazy-builtins', 'trust'],
  'forced-mode': [],
  'code-cache': [],
  installed: [],
  entry: ['trust', 'forced-mode', 'code-cache', 'installed'],
  rules: ['values', 'request'],
  lab: ['keyline', 'request'],
  policy: ['values', 'request', 'rules', 'trust', 'installed'],
  decide: ['values', 'request', 'rules', 'policy'],
  host: ['values', 'request', 'rules', 'policy', 'decide', 'lazy-builtins', 'trust'],
  audit: ['values', 'request', 'rules', 'policy', 'decide', 'lazy-builtins'],
  act: ['values', 'request', 'rules', 'policy', 'host', 'audit', 'lazy-builtins', 'trust'],
  // The programs sshd runs, each a pipeline of stages: request in, decision, record, action.
  serve: ['values', 'request', 'rules', 'policy', 'decide', 'host', 'audit', 'act', 'keyline', 'args', 'lazy-builtins', 'trust'],
  cli: [
    'values',
    'request',
    'rules',
    'policy',
    'decide',
    'host',
    'audit',
    'act',
    'serve',
    'lab',
    'keyline',
    'args',
    'lazy-builtins',
    'trust',
  ],
  // What sshd runs (the forced command, the login commands), a bundle of its own.
  'serve-main': ['serve', 'args', 'audit', 'values', 'policy', 'forced-mode'],
  main: ['cli', 'serve', 'audit', 'values', 'args', 'forced-mode', 'serve-main'],
  // The file server's program: only act/files/, nothing heavy (it starts for every sftp session).
  'serve-files': ['act'],
};

/** The pure core: no I/O of any kind (host/, act/, cli/, audit's sinks and policy/load, policy/files are where effects live). */
const PURE = files.filter(
  (f) =>
    ['values', 'rules', 'decide'].includes(roomOf(f)) ||
    [
      'request/tokenize.ts',
      'request/lookalikes.ts',
      'request/request.ts',
      'policy/parse.ts',
      'policy/schema.ts',
      'policy/merge.ts',
      'policy/lint.ts',
      'policy/suggest.ts',
      'policy/suggest-yaml.ts',
      'audit/record.ts',
      'audit/escape.ts',
      'audit/review.ts',
      'audit/log-table.ts',
      'audit/success.ts',
      'audit/summary.ts',
      'audit/health.ts',
      'audit/provenance.ts',
      'audit/replay.ts',
      'audit/replay-request.ts',
      'audit/replay-table.ts',
    ].includes(f) ||
    // The record's types and the readers' check of it.
    ['audit/record-types.ts', 'audit/validate.ts'].includes(f),
);

function importsOf(text: string): string[] {
  return [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"](\.{1,2}\/[^'"]+)['"]/g)].map((m) => m[1]!);
}

const IO_MODULES =
  'fs|fs/promises|child_process|net|dgram|dns|dns/promises|tls|http|https|http2|worker_threads|os|readline|cluster|inspector|v8|vm';
const IO_NAME = `['"\`](?:node:)?(?:${IO_MODULES})['"\`]`;
const SPELLINGS: [string, RegExp][] = [
  ['a static import of an I/O built-in', new RegExp(`\\bfrom\\s*${IO_NAME}|\\bimport\\s+${IO_NAME}`)],
  ['a dynamic import of an I/O built-in', new RegExp(`\\bimport\\s*\\(\\s*${IO_NAME}`)],
  ['a require() of an I/O built-in', new RegExp(`\\brequire\\s*\\(\\s*${IO_NAME}`)],
  ['process.getBuiltinModule', /\bgetBuiltinModule\b/],
  [
    'a lazy-builtins helper that loads an I/O module',
    /\bimport\s*\{[^}]*\b(?:childProcess|net|tls|dns)\b[^}]*\}\s*from\s*['"][./]*lazy-builtins\.js['"]/,
  ],
  ['process state or effects', /\bprocess\s*\.\s*(?:env|exit|exitCode|chdir|cwd|kill|umask|stdout|stderr|stdin|on|execve|getuid|pid)\b/],
];

/** Every I/O spelling in a source text, by name. */
function ioSpellings(text: string): string[] {
  return SPELLINGS.filter(([, pattern]) => pattern.test(text)).map(([name]) => name);
}

describe('folders import only the folders below them', () => {
  it('the table itself has no circle', () => {
    const visiting = new Set<string>();
    const done = new Set<string>();
    const visit = (room: string, path: string[]): void => {
      if (done.has(room)) return;
      expect(visiting.has(room), `circle: ${[...path, room].join(' -> ')}`).toBe(false);
      visiting.add(room);
      for (const below of FOLDERS[room] ?? []) visit(below, [...path, room]);
      visiting.delete(room);
      done.add(room);
    };
    for (const room of Object.keys(FOLDERS)) visit(room, []);
  });

  it('every file lives in a room of the table', () => {
    expect(files.map(roomOf).filter((room) => !(room in FOLDERS))).toEqual([]);
  });

  it.each(files)('src/%s', (file) => {
    const room = roomOf(file);
    const wrong = importsOf(readFileSync(join(src, file), 'utf8'))
      .map((spec) => relative(src, normalize(join(dirname(join(src, file)), spec))).replace(/\.js$/, '.ts'))
      .filter((target) => roomOf(target) !== room && !FOLDERS[room]!.includes(roomOf(target)));
    expect(wrong, `${room}/ may import only ${FOLDERS[room]!.join(', ')}`).toEqual([]);
  });
});

describe('the decision core does no I/O', () => {
  it('covers the core', () => expect(PURE.length).toBeGreaterThan(30));

  it.each(PURE)('src/%s', (file) => {
    expect(ioSpellings(readFileSync(join(src, file), 'utf8'))).toEqual([]);
  });

  it.each([
    [`import { readFileSync } from 'node:fs';`],
    [`import * as fs from "fs";`],
    [`import fs from 'node:fs/promises';`],
    [`import 'node:child_process';`],
    [`const fs = require('node:fs');`],
    [`const cp = require("child_process");`],
    [`const cp = await import('node:child_process');`],
    ['const m = await import(`node:net`);'],
    [`const fs = process.getBuiltinModule('node:fs');`],
    [`const get = process.getBuiltinModule; get('fs');`],
    [`import { childProcess } from '../lazy-builtins.js';`],
    [`import { sha256, net } from '../../lazy-builtins.js';`],
    [`import { tls } from '../lazy-builtins.js';`],
    [`const home = process.env.HOME;`],
    [`process.exit(1);`],
    [`process.chdir('/');`],
    [`import { userInfo } from 'node:os';`],
  ])('the detector finds %s', (spelling) => {
    expect(ioSpellings(spelling)).not.toEqual([]);
  });

  it('a digest through lazy-builtins is no I/O; even a type import of an I/O module counts', () => {
    expect(ioSpellings(`import { sha256 } from '../lazy-builtins.js';\nimport type { Stats } from 'node:fs';`)).toEqual([
      'a static import of an I/O built-in',
    ]);
    expect(ioSpellings(`import { sha256 } from '../lazy-builtins.js';`)).toEqual([]);
  });
});

describe('what every connection loads', () => {
  /** Files loaded when a connection's bundle starts: static, non-type imports from src/serve-main.ts (dynamic ones load on demand). */
  function loadedAtStart(): Set<string> {
    const seen = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = readFileSync(join(src, file), 'utf8');
      for (const m of text.matchAll(/^(?:import|export)\s+(?!type\b)[^;]*?from\s+['"](\.{1,2}\/[^'"]+)['"]/gm)) {
        visit(relative(src, normalize(join(dirname(join(src, file)), m[1]!))).replace(/\.js$/, '.ts'));
      }
    };
    visit('serve-main.ts');
    return seen;
  }

  it('is not the YAML parser: a policy-cache hit never loads it (about 5 ms of every start)', () => {
    const loaded = [...loadedAtStart()];
    expect(loaded).toContain('serve/forced-command.ts');
    expect(loaded.filter((file) => /^import\s+(?!type\b)[^;]*from\s+['"]yaml['"]/m.test(readFileSync(join(src, file), 'utf8')))).toEqual(
      [],
    );
  });

  it("is not node:tls: only a record sent over TLS loads it (about 5 ms, with OpenSSL's contexts), through lazy-builtins", () => {
    const loaded = [...loadedAtStart()];
    expect(loaded).toContain('audit/syslog.ts');
    expect(
      loaded.filter((file) => /^import\s+(?:(?!type\b)[^;]*from\s+)?['"](?:node:)?tls['"]/m.test(readFileSync(join(src, file), 'utf8'))),
    ).toEqual([]);
  });
});

describe('a rule kind is a row of the kinds tables, not a branch', () => {
  /**
   * Code outside src/rules/ that asks "is this rule (or plan) an rsync one?" is where a new kind
   * goes missing (sftp once missed the sandbox check that way). It asks the kind's row instead:
   * rules/kinds.ts, host/kinds.ts. The one dispatch that carries a plan out may branch.
   */
  const KIND_NAMES = '(?:exec|rsync|receive|relay|sftp|files)';
  const BRANCHES: RegExp[] = [
    new RegExp(`\\.(?:kind|serves)\\s*[!=]==?\\s*['"\`]${KIND_NAMES}['"\`]`),
    new RegExp(`['"\`]${KIND_NAMES}['"\`]\\s*[!=]==?\\s*[\\w.]+\\.(?:kind|serves)\\b`),
  ];
  const ALLOWED = ['act/carry-out.ts'];

  /** The branches on a kind's name in a source text: comparisons, and the cases of a switch on `.kind`/`.serves`. */
  function kindBranches(text: string): string[] {
    const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
    const found = BRANCHES.flatMap((pattern) => [...code.matchAll(new RegExp(pattern, 'g'))].map((m) => m[0]));
    for (const m of code.matchAll(/switch\s*\(([^)]*)\)\s*\{/g)) {
      if (!/\.(?:kind|serves)\s*$/.test(m[1]!)) continue;
      let depth = 1;
      let end = m.index! + m[0].length;
      while (depth > 0 && end < code.length) (depth += code[end] === '{' ? 1 : code[end] === '}' ? -1 : 0), end++;
      found.push(...[...code.slice(m.index, end).matchAll(new RegExp(`case\\s+['"\`]${KIND_NAMES}['"\`]`, 'g'))].map((c) => c[0]));
    }
    return found;
  }

  it.each([
    [`if (rule.kind === 'rsync') return;`],
    [`const x = plan.kind !== "files" ? 1 : 2;`],
    [`if ('sftp' === rule.kind) {}`],
    [`return spelled.kind === 'spelled' && spelled.serves === 'rsync';`],
    [`switch (plan.kind) {\n  case 'receive':\n    return 1;\n  default:\n    return 2;\n}`],
  ])('the detector finds %s', (text) => {
    expect(kindBranches(text)).not.toEqual([]);
  });

  it.each([
    [`if (handle.kind === 'file') {}`],
    [`const input = spelled.kind === 'spelled' && spelled.serves === rule.kind ? spelled : null;`],
    [`switch (programKind(program)) {\n  case 'rsync':\n    return 'x';\n}`],
    [`// a comment: rule.kind === 'rsync'`],
    [`return { kind: 'rsync', root };`],
  ])('the detector passes %s', (text) => {
    expect(kindBranches(text)).toEqual([]);
  });

  const outside = files.filter((f) => roomOf(f) !== 'rules' && !ALLOWED.includes(f));
  it.each(outside)('src/%s asks the kinds tables', (file) => {
    expect(kindBranches(readFileSync(join(src, file), 'utf8'))).toEqual([]);
  });
});
