/**
 * Policy patterns (values/pattern.ts): what a pattern word matches, what it no longer matches
 * that micromatch did (issue 14), and that matching takes linear time on crafted words.
 */
import { describe, expect, it } from 'vitest';
import { compileNamePattern, compilePattern, matchPattern } from '../../src/values/pattern.js';

/** [pattern, word, matches] */
const rows: [string, string, boolean][] = [
  // literal words
  ['/srv/x', '/srv/x', true],
  ['/srv/x', '/srv/y', false],
  // * within one component, never empty
  ['/srv/x/spool/*', '/srv/x/spool/a', true],
  ['/srv/x/spool/*', '/srv/x/spool/', false],
  ['/srv/x/spool/*', '/srv/x/spool//', false],
  ['/srv/x/spool/*', '/srv/x/spool/a/b', false],
  ['/srv/*/data', '/srv/a/data', true],
  ['/srv/*/data', '/srv//data', false],
  ['/srv/*/data', '/srv/a/b/data', false],
  ['a*', 'a', true],
  ['*.gz', '.gz', false],
  ['backup-*.tar.gz', 'backup-2026.tar.gz', true],
  ['backup-*-*.tar.gz', 'backup-a-b.tar.gz', true],
  ['backup-*-*.tar.gz', 'backup-ab.tar.gz', false],
  ['*a*b*', 'xxaxxbxx', true],
  ['*a*b*', 'xxbxxaxx', false],
  ['*ab', 'aab', true],
  ['a*a', 'a', false],
  // dotfiles, ".", ".."
  ['/srv/*', '/srv/.ssh', false],
  ['/srv/?ssh', '/srv/.ssh', false],
  ['/srv/[.]ssh', '/srv/.ssh', false],
  ['/srv/.*', '/srv/.ssh', true],
  ['/srv/.*', '/srv/..', false],
  ['/srv/.*', '/srv/.', false],
  ['/srv/\\.*', '/srv/.ssh', true],
  ['/srv/*', '/srv/..', false],
  ['/srv/x.*', '/srv/x.y', true],
  // ? and classes
  ['/srv/?', '/srv/a', true],
  ['/srv/?', '/srv/ab', false],
  ['/srv/?', '/srv/é', true],
  ['/srv/[ab]', '/srv/b', true],
  ['/srv/[a-c]x', '/srv/bx', true],
  ['/srv/[!a-c]x', '/srv/dx', true],
  ['/srv/[!a-c]x', '/srv/bx', false],
  ['/srv/[^a-c]x', '/srv/bx', false],
  ['/srv/[]]', '/srv/]', true],
  ['/srv/[!/]x', '/srv//x', false],
  ['/srv/[ab', '/srv/[ab', true], // an unclosed [ is literal
  // ** : whole components, never empty, never hidden, never ..; at least one when last
  ['/srv/data/**', '/srv/data/a', true],
  ['/srv/data/**', '/srv/data/a/b/c.txt', true],
  ['/srv/data/**', '/srv/data', false],
  ['/srv/data/**', '/srv/data/', false],
  ['/srv/data/**', '/srv/data/a//b', false],
  ['/srv/data/**', '/srv/data/a/.ssh/authorized_keys', false],
  ['/srv/data/**', '/srv/data/a/../../etc/shadow', false],
  ['/srv/**/x.log', '/srv/a/b/x.log', true],
  ['/srv/**/x.log', '/srv/x.log', true],
  ['/srv/**/x.log', '/srv//x.log', false],
  ['/srv/**/x.log', '/srv/.a/x.log', false],
  ['**/x.log', 'x.log', true],
  ['**/x.log', 'a/b/x.log', true],
  ['**', 'a', true],
  ['**', '', false],
  ['**', '.ssh', false],
  ['/srv/**/*.log', '/srv/a/.x.log', false],
  ['/srv/**/.cache/*', '/srv/a/.cache/b', true],
  ['/srv/**/**', '/srv/a', true],
  ['/srv/**/**', '/srv', false],
  ['/srv/**/**', '/srv/a/b', true],
  ['/srv/a**', '/srv/abc', true], // inside a component ** is *
  ['/srv/a**', '/srv/a/b', false],
  // everything else is literal
  ['/srv/x/logs/!(*.key)', '/srv/x/logs/.htpasswd', false],
  ['/srv/x/logs/!(*.key)', '/srv/x/logs/a.txt', false],
  ['/srv/x/logs/!(*.key)', '/srv/x/logs/!(a.key)', true],
  ['@(*)', '.ssh', false],
  ['+(*)', '.ssh', false],
  ['@(*)', 'x', false],
  ['@(*)', '@(x)', true],
  ['/srv/a|b', 'b', false],
  ['/srv/a|b', '/srv/a|b', true],
  ['/srv/{a,b}', '/srv/a', false],
  ['/srv/{a,b}', '/srv/{a,b}', true],
  ['/srv/x+', '/srv/xx', false],
  // backslash escapes
  ['/srv/\\*', '/srv/*', true],
  ['/srv/\\*', '/srv/x', false],
  ['/srv/a\\?', '/srv/ab', false],
  // a word with a space is literal through and through (only list-form commands have one)
  ['SELECT count(*) FROM orders', 'SELECT count(*) FROM orders', true],
  ['SELECT count(*) FROM orders', 'SELECT count(*) FROM orders; DELETE FROM orders; SELECT 1 FROM orders', false],
  ['SELECT count(*) FROM orders', 'SELECT count(1) FROM orders; DELETE FROM orders; SELECT count(1) FROM orders', false],
  ['SELECT count(\\*) FROM orders', 'SELECT count(*) FROM orders', true],
  ['q1 report?.pdf', 'q1 report1.pdf', false],
];

describe('matchPattern', () => {
  it.each(rows)('%j against %j → %s', (pattern, word, expected) => {
    expect(matchPattern(compilePattern(pattern), word)).toBe(expected);
  });
});

describe('compilePattern tells literals from globs', () => {
  it.each([
    ['/srv/x', 'literal'],
    ['/srv/(x)|{y}', 'literal'],
    ['/srv/\\*', 'literal'],
    ['a b*', 'literal'],
    ['/srv/*', 'glob'],
    ['/srv/[ab]', 'glob'],
    ['/srv/[ab', 'literal'],
  ])('%j is %s', (pattern, kind) => {
    expect(compilePattern(pattern).kind).toBe(kind);
  });
});

describe('compileNamePattern (a pull wildcard segment)', () => {
  it.each([
    ['*.gz', 'a.gz', true],
    ['*.gz', '.a.gz', false],
    ['**', 'abc', true], // no globstar in one name: ** is *
    ['my file*', 'my file.txt', true], // spaces in a client's quoted pattern do not make it literal
    ['a\\*b?', 'a*b1', true],
  ])('%j against %j → %s', (pattern, name, expected) => {
    expect(matchPattern(compileNamePattern(pattern), name)).toBe(expected);
  });
});

describe('matching takes linear time (issue 14: 27.7 s and over 60 s before)', () => {
  const cases: [string, string, string, boolean][] = [
    ['backup-*-*-*-*.tar.gz vs backup- and 1000 dashes', 'backup-*-*-*-*.tar.gz', `backup-${'-'.repeat(1000)}`, false],
    ['backup-*-*-*-*.tar.gz vs 4000 dashes', 'backup-*-*-*-*.tar.gz', `backup-${'-'.repeat(4000)}`, false],
    ['?*?*...Z vs a long name without Z', `${'?*'.repeat(100)}Z`, 'a'.repeat(4000), false],
    ['*a*a*a*a*a*a*b vs a^4000', '*a*a*a*a*a*a*b', 'a'.repeat(4000), false],
    ['**/**/**/**/x vs 2000 components', '/**/**/**/**/**/**/x', '/a'.repeat(2000), false],
    ['[a-z]*[a-z]*...! vs 4000 letters', '[a-z]*'.repeat(30) + '!', 'q'.repeat(4000), false],
  ];
  it.each(cases)('%s', (_, pattern, word, expected) => {
    const compiled = compilePattern(pattern);
    const started = performance.now();
    expect(matchPattern(compiled, word)).toBe(expected);
    expect(performance.now() - started).toBeLessThan(100);
  });
});
