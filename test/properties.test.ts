/**
 * Properties, checked on generated inputs (fast-check) against independent oracles:
 * - the tokenizer gives back any list of words quoted the POSIX way, and refuses any command
 *   with an unquoted shell metacharacter;
 * - for any `rsync --server` argument list, an allowed plan has no refused or deleting option
 *   and every path it names resolves inside root (checked with path.posix, not our code);
 * - lexical confinement agrees with path.posix resolution.
 */
import fc from 'fast-check';
import { posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decide } from '../src/decide/decide.js';
import { resolveParts } from '../src/rules/rsync/confine.js';
import { LONG_OPTIONS } from '../src/rules/rsync/server-options.js';
import { parse as shellQuoteParse } from 'shell-quote';
import { PLAIN_WORDS, tokenize } from '../src/request/tokenize.js';
import { execPlan, policyFrom, requestFor } from './helpers.js';

const printable = fc.string({
  unit: fc.oneof(
    fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
    fc.constantFrom('é', 'ü', 'ß', '日', 'λ'),
  ),
  maxLength: 12,
});
const quote = (word: string) => `'${word.replaceAll("'", "'\\''")}'`;

describe('tokenizer properties', () => {
  it('quoting any list of words and tokenizing gives the list back', () => {
    fc.assert(
      fc.property(fc.array(printable, { minLength: 1, maxLength: 8 }), (words) => {
        const result = tokenize(words.map(quote).join(' '));
        expect(result).toEqual({ ok: true, words, globs: new Map() });
      }),
      { numRuns: 2000 },
    );
  });

  it('a command with an unquoted shell metacharacter is refused', () => {
    const safe = fc.stringMatching(/^[a-z0-9./_-]{1,8}$/);
    fc.assert(
      fc.property(
        safe,
        fc.constantFrom(';', '|', '&', '<', '>', '(', ')', '$', '`', '#', '{', '}', '!', '\n', '\r', '\u0000'),
        safe,
        fc.boolean(),
        (before, meta, after, spaced) => {
          const command = spaced ? `${before} ${meta} ${after}` : `${before}${meta}${after}`;
          expect(tokenize(command).ok).toBe(false);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

const ROOT = '/srv/backup/host1';
const policy = policyFrom(`
version: 1
identities:
  w: { rules: [ { name: w, rsync: { root: ${ROOT}, access: write } } ] }
  r: { rules: [ { name: r, rsync: { root: ${ROOT}, access: read } } ] }
  rw: { rules: [ { name: rw, rsync: { root: ${ROOT}, access: read-write, absolute-paths: true } } ] }
`);
const REFUSED = Object.entries(LONG_OPTIONS)
  .filter(([, o]) => 'refused' in o || ('gate' in o && o.gate === 'delete'))
  .map(([name]) => `--${name}`);
const segment = fc.constantFrom('a', 'b', '..', '.', '', 'srv', 'etc', '2026-11-24', '-rf', ROOT.slice(1));
const path = fc
  .tuple(fc.boolean(), fc.array(segment, { minLength: 1, maxLength: 5 }), fc.boolean())
  .map(([absolute, parts, slash]) => `${absolute ? '/' : ''}${parts.join('/')}${slash ? '/' : ''}`);
const option = fc.oneof(
  fc.constantFrom(
    '-logDtpre.iLsfxCIvu',
    '-logDtprze.iLsfxCIvu',
    '-lLogDtpr',
    '-slogDtpr',
    '-e',
    '-vvlogDtprc',
    '--inplace',
    '--partial',
    '--delete',
    '--delete-after',
    '--remove-source-files',
    '--rsh=sh',
    '--log-file=/x',
    '--debug=ALL',
    '--daemon',
    '--server',
    '--sender',
    '--no-munge-links',
    '--copy-as=root',
    '--max-alloc=0',
    '--bwlimit=10',
    '--mkpath',
  ),
  path.map((p) => `--link-dest=${p}`),
  path.map((p) => `--backup-dir=${p}`),
  path.map((p) => `--temp-dir=${p}`),
  path.map((p) => `--partial-dir=${p}`),
  path.map((p) => `--files-from=${p}`),
);

/** An independent oracle: where a path names, resolved as rsync would from cwd = root. */
function inside(resolved: string): boolean {
  return resolved === ROOT || resolved.startsWith(`${ROOT}/`);
}

describe('plain words skip the shell-quote cross-check: shell-quote reads them the same way', () => {
  const plainChar = fc.constantFrom(...'abcXYZ019._/=,:@%+-'.split(''));
  const plainWord = fc.string({ unit: plainChar, minLength: 1, maxLength: 10 });

  it('any words of the plain alphabet, one space apart: PLAIN_WORDS matches and both readers agree', () => {
    fc.assert(
      fc.property(fc.array(plainWord, { minLength: 1, maxLength: 8 }), (words) => {
        const command = words.join(' ');
        expect(PLAIN_WORDS.test(command)).toBe(true);
        expect(shellQuoteParse(command, (name) => ({ op: 'variable', name }) as unknown as string)).toEqual(words);
        expect(tokenize(command)).toMatchObject({ ok: true, words });
      }),
      { numRuns: 3000 },
    );
  });

  it.each([
    'a  b',
    ' a',
    'a ',
    'a\tb',
    "a'b'",
    'a"b"',
    'a\\ b',
    'a*',
    'a?',
    '[a]',
    '$a',
    'a#b',
    '~a',
    'a{b,c}',
    'a;b',
    'a|b',
    'a&b',
    'a>b',
    '(a)',
    '!a',
    'a\u00a0b',
  ])('%j is not plain', (command) => {
    expect(PLAIN_WORDS.test(command)).toBe(false);
  });
});

describe('rsync decision properties', () => {
  it('an allowed plan has no refused or deleting option, and all its paths resolve inside root', () => {
    let allowed = 0;
    fc.assert(
      fc.property(
        fc.constantFrom('w', 'r', 'rw'),
        fc.boolean(),
        fc.array(option, { maxLength: 5 }),
        fc.array(path, { minLength: 1, maxLength: 3 }),
        (id, sender, options, operands) => {
          const words = ['rsync', '--server', ...(sender ? ['--sender'] : []), ...options, '.', ...operands];
          const command = words.map((w) => (/^[A-Za-z0-9._/=,+-]+$/.test(w) ? w : quote(w))).join(' ');
          const decision = decide(policy, requestFor(id, command, { client: null, keys: null }), {
            rsync: new Map([['/usr/bin/rsync', { version: '3.5.0', confineRoot: true, dropD: true }]]),
          });
          if (decision.decision !== 'allow') return;
          allowed++;
          const argv = execPlan(decision).argv;
          const dot = argv.indexOf('.', argv.indexOf('--'));
          const dest = argv[dot + 1]!;
          // What the server adds itself (refused from a client) is the exception.
          const serverAdded = new Set([
            '--drop-D',
            `--confine-root=${ROOT}`,
            '--log-file=/proc/self/fd/3',
            '--log-file-format=explain %i %l %n',
            '--filter=P /.ssh-dispatch-report-explain',
          ]);
          for (const word of argv.slice(0, dot).filter((w) => !serverAdded.has(w))) {
            expect(
              REFUSED.some((r) => word === r || word.startsWith(`${r}=`)),
              word,
            ).toBe(false);
          }
          for (const operand of argv.slice(dot + 1)) expect(inside(posix.resolve(ROOT, operand)), operand).toBe(true);
          for (const [i, word] of argv.entries()) {
            const value = word.includes('=') ? word.slice(word.indexOf('=') + 1) : argv[i + 1];
            if (/^--(link-dest|backup-dir|temp-dir|compare-dest|copy-dest)/.test(word) && value) {
              // Relative to the destination (and, for a file destination, its parent): both inside.
              const base = posix.resolve(ROOT, dest);
              expect(inside(posix.resolve(base, value)), `${word} ${value} from ${dest}`).toBe(true);
            }
            if (/^--(files-from|partial-dir)/.test(word) && value && value.startsWith('/')) expect(inside(value), word).toBe(true);
          }
        },
      ),
      { numRuns: 5000 },
    );
    // Not vacuous: a fair share of the generated requests (about 8%) is allowed and checked.
    expect(allowed).toBeGreaterThan(150);
  });
});

describe('confinement properties', () => {
  it('resolveParts climbs out exactly when path.posix does', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('a', 'b', 'c'), { maxLength: 3 }), path, (base, p) => {
        const ours = resolveParts(base, p);
        const start = p.startsWith('/') ? ROOT : posix.join(ROOT, ...base);
        const theirs = posix.resolve(start, `./${p.replace(/^\/+/, '')}`);
        const escapes = !inside(theirs) || posix.relative(ROOT, posix.resolve(start, p.replace(/^\/+/, ''))).startsWith('..');
        if (ours === null) expect(escapes || /(^|\/)\.\.(\/|$)/.test(p)).toBe(true);
        else expect(posix.join(ROOT, ...ours)).toBe(theirs);
      }),
      { numRuns: 3000 },
    );
  });
});
