/** What `apply` and `history` say changed between two versions: by name, never by where it was written. */
import { describe, expect, it } from 'vitest';
import { policyDiff } from '../../src/policy/applied/diff.js';
import { mergeFragments } from '../../src/policy/merge.js';
import { parsePolicyText } from '../../src/policy/parse.js';
import type { Policy } from '../../src/policy/schema.js';

function policy(text: string): Policy {
  const parsed = parsePolicyText('/p/main.yaml', text);
  if (!parsed.ok) throw new Error(parsed.errors.map((e) => e.message).join('; '));
  const merged = mergeFragments([parsed.fragment]);
  if (!merged.ok) throw new Error('merge');
  return merged.policy;
}

const BASE = `version: 1
identities:
  a:
    rules:
      - name: t
        exec: { command: /bin/true }
      - name: u
        exec: { command: /bin/false }
  b:
    rules:
      - name: r
        rsync: { root: /srv, access: read }
`;

describe('policyDiff', () => {
  it.each<[string, string, string[]]>([
    ['nothing changed', BASE, []],
    ['a comment and blank lines added (rules move down a file): nothing served changes', `# note\n\n${BASE}`, []],
    ['a rule removed', BASE.replace('      - name: u\n        exec: { command: /bin/false }\n', ''), ['identity a: rule u removed']],
    ['a rule added', `${BASE}      - name: w\n        rsync: { root: /srv, access: write }\n`, ['identity b: rule w added']],
    ['a rule narrowed', BASE.replace('access: read', 'access: write'), ['identity b: rule r changed']],
    ['rules reordered', BASE.replace(/( {6}- name: t\n.*\n)( {6}- name: u\n.*\n)/, '$2$1'), ['identity a: rules reordered']],
    ['an identity added', `${BASE}  c:\n    rules: []\n`, ['identity c added (0 rules)']],
    ['an identity removed', BASE.slice(0, BASE.indexOf('  b:')), ['identity b removed']],
    ['an identity restricted by address', BASE.replace('  b:\n', '  b:\n    from: [192.0.2.0/24]\n'), ['identity b: from changed']],
    ['the audit settings', BASE.replace('identities:', 'audit: { file: /var/log/x.jsonl }\nidentities:'), ['audit settings changed']],
  ])('%s', (_what, after, lines) => {
    expect(policyDiff(policy(BASE), policy(after))).toEqual(lines);
  });

  it('the first version says what it serves', () => {
    expect(policyDiff(null, policy(BASE))).toEqual(['first version: 2 identities, 3 rules']);
  });
});
