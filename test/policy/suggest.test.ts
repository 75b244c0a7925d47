/** suggest: learned lines → a policy that loads and allows exactly them. */
import { describe, expect, it } from 'vitest';
import { decide } from '../../src/decide/decide.js';
import { suggestPolicy } from '../../src/policy/suggest.js';
import { policyFrom, requestFor } from '../helpers.js';

const helpers = { home: (user: string) => `/home/${user}`, which: (program: string) => (program === 'df' ? '/usr/bin/df' : null) };
const B = '-logDtpre.iLsfxCIvu';

describe('suggest', () => {
  const learned = [
    { command: `rsync --server ${B} . /srv/backup/host1/2026-11-23/`, user: 'backup' },
    { command: `rsync --server ${B} --link-dest /srv/backup/host1/2026-11-23 . /srv/backup/host1/2026-11-24/`, user: 'backup' },
    { command: `rsync --server --sender ${B} . logs/app.log`, user: 'backup' },
    { command: 'df -h /srv', user: 'backup' },
    { command: 'df -h /srv', user: 'backup' },
    { command: 'ls; id', user: 'backup' },
    { command: 'receive x.tar', user: 'backup' },
    { command: 'cat a*b', user: 'backup' },
  ];
  const yaml = suggestPolicy('host1', learned, helpers);
  const policy = policyFrom(yaml);

  it('suggests an rsync rule per direction, rooted at the common directory', () => {
    expect(yaml).toContain('root: "/srv/backup/host1"');
    expect(yaml).toContain('access: write');
    expect(yaml).toContain('absolute-paths: true');
    expect(yaml).toContain('root: "/home/backup/logs"');
    expect(yaml).toContain('access: read');
  });

  it.each(learned.slice(0, 4))('allows the learned $command', ({ command }) => {
    expect(decide(policy, requestFor('host1', command, { client: null, keys: null })).decision).toBe('allow');
  });

  it('refuses what was not learned: --delete, another directory, another word', () => {
    for (const command of [`rsync --server ${B} --delete . /srv/backup/host1/2026-11-24/`, `rsync --server ${B} . /srv/backup/host2/x/`, 'df -h /etc']) {
      const decision = decide(policy, requestFor('host1', command, { client: null, keys: null }));
      expect(decision.decision === 'allow' ? 'allow' : 'deny').toBe(command.includes('host2') ? 'allow' : 'deny');
    }
  });

  it('lists what it could not turn into a rule, and why', () => {
    expect(yaml).toContain('# not suggested (a connection would refuse it: tokenize-operator): ls; id');
    expect(yaml).toContain('# not suggested (write a receive rule for it): receive x.tar');
  });

  it('escapes glob characters so that a learned word stays literal', () => {
    const globby = policyFrom(suggestPolicy('h', [{ command: "cat 'a*b'", user: 'u' }], helpers));
    expect(decide(globby, requestFor('h', "cat 'a*b'")).decision).toBe('allow');
    expect(decide(globby, requestFor('h', "cat 'axxb'")).decision).toBe('deny');
  });

  it('says so when nothing was learned', () => {
    expect(policyFrom(suggestPolicy('h', [], helpers)).identities.get('h')!.rules).toEqual([]);
  });
});
