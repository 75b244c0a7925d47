/**
 * Every finding ID `check` can print (values/finding-id.ts, which the type of a finding's `id`
 * is drawn from, so the compiler holds the code to the list) is emitted somewhere in src/ and
 * documented in docs/check.md, and the page documents no other: an ID nothing emits is a promise
 * in the docs that never comes true, and an ID the page lacks leaves an admin with a word to
 * grep for and nothing to find.
 *
 * "Emitted" is read from the source, as test/reason-codes.test.ts reads deny reasons: the ID as
 * a quoted literal in a src file other than the list.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loginFindings, sshdLoginFindings } from '../src/cli/check-fleet.js';
import { findingLine, ruleText } from '../src/cli/check/finding.js';
import { lintPolicy } from '../src/policy/lint.js';
import { DENY_REASONS } from '../src/values/deny-reason.js';
import { FINDING_IDS } from '../src/values/finding-id.js';
import { policyFrom } from './helpers.js';

const repo = fileURLToPath(new URL('..', import.meta.url));

const sources = readdirSync(join(repo, 'src'), { recursive: true, withFileTypes: true })
  .filter((e) => e.isFile() && e.name.endsWith('.ts'))
  .map((e) => ({ path: relative(repo, join(e.parentPath, e.name)), text: readFileSync(join(e.parentPath, e.name), 'utf8') }));
// The list names every ID: it is found by what it holds, so that moving it cannot make it count as an emitter.
const emitters = sources.filter((s) => !s.text.includes('export const FINDING_IDS'));
const quoted = (id: string) => new RegExp(`(['"\`])${id.replaceAll('-', '\\-')}\\1`);

/** The rows of docs/check.md's tables: ID and level. */
const page = readFileSync(join(repo, 'docs/check.md'), 'utf8');
const rows = [...page.matchAll(/^\| `([^`]+)` \| ([^|]+) \|[^|]+\|[^|]+\|$/gm)].map((m) => ({ id: m[1]!, level: m[2]!.trim() }));
const documented = rows.map((row) => row.id);

describe('finding IDs', () => {
  it('the list and the page are read (not vacuous)', () => {
    expect(FINDING_IDS.length).toBeGreaterThan(60);
    expect(rows.length).toBeGreaterThan(60);
    expect(emitters.length).toBe(sources.length - 1);
  });

  it('docs/check.md documents exactly the IDs of the list, each once', () => {
    expect(new Set(documented).size).toBe(documented.length);
    expect([...documented].sort()).toEqual([...FINDING_IDS].sort());
  });

  it('IDs are short kebab-case words, unique, and none is also a deny reason (a grep for one would find the other)', () => {
    expect(new Set(FINDING_IDS).size).toBe(FINDING_IDS.length);
    for (const id of FINDING_IDS) expect(id).toMatch(/^[a-z0-9]+(?:-[a-z0-9]+)*$/);
    expect(FINDING_IDS.filter((id) => id in DENY_REASONS)).toEqual([]);
  });

  it.each(rows.map((row) => [row.id, row.level]))('%s has a level (%s)', (_id, level) => {
    expect(level).toMatch(/^(?:UNSAFE|error|warning)\b/);
  });

  it.each([...FINDING_IDS])('%s is emitted in src/', (id) => {
    expect(
      emitters.filter((s) => quoted(id).test(s.text)).map((s) => s.path),
      `${id}: nothing in src/ emits it`,
    ).not.toEqual([]);
  });
});

describe('check prints the ID, and the page says the level the code gives', () => {
  const levelOf = (id: string) => rows.find((row) => row.id === id)?.level ?? '(undocumented)';
  const said = (level: 'warning' | 'unsafe' | 'error') => (level === 'unsafe' ? 'UNSAFE' : level);

  it('a rule finding ends with its ID, after the text it always had', () => {
    const [finding] = lintPolicy(
      policyFrom('version: 1\nidentities:\n  a:\n    rules:\n      - { name: x, exec: { command: "du -sh *", program: /usr/bin/du } }\n'),
      new Date(),
    );
    expect(findingLine(ruleText(finding!))).toBe(
      'test.yaml:5: warning: rule "x" has the word "*", which matches any name in the working directory (not dotfiles, not a path); name a directory (/srv/logs/*.log) [exec-glob-reach]',
    );
  });

  it('the findings of a policy that has many of them: each at a level its row names', () => {
    const policy = policyFrom(`
version: 1
identities:
  old:
    expires: 2020-01-01
    principals: [p]
    rules:
      - { name: sh, exec: { command: "*", program: /bin/sh } }
      - { name: sh2, exec: { command: "x", program: /bin/sh } }
      - { name: cat, exec: { command: "cat /**", program: /bin/cat } }
      - { name: patch, exec: { command: "patch -p1", program: /usr/bin/patch } }
      - { name: sftp, exec: { command: "internal-sftp", program: /usr/lib/openssh/sftp-server } }
      - { name: net, relay: { to: ["10.0.0.0/8:22"] } }
      - { name: a, rsync: { root: /srv/a, access: read } }
      - { name: b, rsync: { root: /srv/a, access: read } }
  twice:
    principals: [p]
    accounts: [root]
    from: []
    rules: []
`);
    const findings = [
      ...lintPolicy(policy, new Date(2026, 0, 1)).map(ruleText),
      ...loginFindings(policy),
      ...sshdLoginFindings(
        new Map([
          ['trustedusercakeys', ['/etc/ssh/ca.pub']],
          ['exposeauthinfo', ['no']],
        ]),
        policy,
      ),
    ];
    const ids = new Set(findings.map((f) => f.id));
    expect(ids.size, [...ids].join(' ')).toBeGreaterThan(8);
    for (const finding of findings) expect(levelOf(finding.id), `${finding.id}: ${finding.text}`).toContain(said(finding.level));
  });
});
