/** check: pattern words that micromatch read differently are flagged as changed (issue 14). */
import { describe, expect, it } from 'vitest';
import { lintPolicy } from '../../src/policy/lint.js';
import { patternWordChanges } from '../../src/rules/pattern-words.js';
import { policyFrom } from '../helpers.js';

describe('patternWordChanges', () => {
  it.each([
    ['/srv/x/logs/!(*.key)', 'extended glob'],
    ['/srv/x/@(*)', 'extended glob'],
    ['/srv/x/+(a)', 'extended glob'],
    ['/srv/x/*(a)', 'extended glob'],
    ['/srv/a|b', 'not alternatives'],
    ['count(1)', 'not alternatives'],
    ['/srv/{a,b}', 'not a brace list'],
    ['SELECT count(*) FROM orders', 'literal as a whole'],
    ['/srv/[[:alpha:]]', 'not a character class'],
  ])('%j: %s', (word, expected) => {
    expect(patternWordChanges(word).join('; ')).toContain(expected);
  });

  it.each([
    ['/srv/x'],
    ['/srv/x/*.gz'],
    ['--since=*'],
    ['*'],
    ['/srv/\\(x\\)'],
    ['q1 report.pdf'],
    ['-sh'],
    ['/srv/[ab]'],
    ['/srv/x/spool/*'],
    ['/srv/*/data'],
    ['/srv/data/**'],
    ['/srv/**/x'],
  ])('%j means what it meant', (word) => {
    expect(patternWordChanges(word)).toEqual([]);
  });
});

describe('lintPolicy reports changed pattern words', () => {
  it('as warnings naming the rule, the word and what changed, for exec words and client-name', () => {
    const policy = policyFrom(`version: 1
identities:
  a:
    rules:
      - { name: sql, exec: { command: ["psql", "-c", "SELECT count(*) FROM orders"], program: /usr/bin/psql } }
      - { name: up, receive: { dir: /srv/up, name: u, client-name: "*.{tar,gz}" } }
      - { name: plain, exec: { command: "du -sh /srv/x/*.gz", program: /usr/bin/du } }
`);
    const findings = lintPolicy(policy, new Date(2026, 10, 24)).filter((f) => f.message.includes('micromatch'));
    expect(findings.map((f) => [f.level, f.where.line, f.message.split(' means ')[0]])).toEqual([
      ['warning', 5, 'rule "sql" word 3 "SELECT count(*) FROM orders"'],
      ['warning', 6, 'rule "up" client-name "*.{tar,gz}"'],
    ]);
  });
});
