/**
 * Issue 14's exec-pattern attacks through decide(): each was allowed under micromatch; the
 * patterns are the ones an admin wrote, the commands what a stolen key sent.
 */
import { describe, expect, it } from 'vitest';
import { decide } from '../../../src/decide/decide.js';
import { policyFrom, requestFor } from '../../helpers.js';

const policy = policyFrom(`
version: 1
identities:
  h:
    rules:
      - { name: spool, exec: { command: "rm -rf /srv/x/spool/*", program: /bin/rm } }
      - { name: data, exec: { command: "du -s /srv/*/data", program: /usr/bin/du } }
      - { name: logs, exec: { command: "cat /srv/x/logs/!(*.key)", program: /bin/cat } }
      - { name: at, exec: { command: ["ls", "/srv/x/@(*)"], program: /bin/ls } }
      - { name: or, exec: { command: ["stat", "/srv/a|b"], program: /usr/bin/stat } }
      - { name: sql, exec: { command: ["psql", "-d", "shop", "-c", "SELECT count(*) FROM orders"], program: /usr/bin/psql } }
      - { name: tarball, exec: { command: "sha256sum /srv/backup/backup-*-*-*-*.tar.gz", program: /usr/bin/sha256sum } }
`);

const rows: { command: string; expected: string }[] = [
  { command: 'rm -rf /srv/x/spool/old', expected: 'allow' },
  { command: 'rm -rf /srv/x/spool/', expected: 'no-rule-matched' },
  { command: 'rm -rf /srv/x/spool//', expected: 'no-rule-matched' },
  { command: 'rm -rf /srv/x/spool/.lock', expected: 'no-rule-matched' },
  { command: 'du -s /srv/a/data', expected: 'allow' },
  { command: 'du -s /srv//data', expected: 'no-rule-matched' },
  { command: 'cat /srv/x/logs/.htpasswd', expected: 'no-rule-matched' },
  { command: 'cat /srv/x/logs/access.log', expected: 'no-rule-matched' },
  { command: "cat '/srv/x/logs/!(*.key)'", expected: 'allow' }, // only the literal word itself
  { command: 'ls /srv/x/.ssh', expected: 'no-rule-matched' },
  { command: 'stat b', expected: 'no-rule-matched' },
  { command: "stat '/srv/a|b'", expected: 'allow' },
  { command: "psql -d shop -c 'SELECT count(*) FROM orders'", expected: 'allow' },
  { command: "psql -d shop -c 'SELECT count(*) FROM orders; DELETE FROM orders; SELECT 1 FROM orders'", expected: 'no-rule-matched' },
  {
    command: "psql -d shop -c 'SELECT count(1) FROM orders; DELETE FROM orders; SELECT count(1) FROM orders'",
    expected: 'no-rule-matched',
  },
  { command: 'sha256sum /srv/backup/backup-h-2026-11-24-0300.tar.gz', expected: 'allow' },
  { command: `sha256sum /srv/backup/backup-${'-'.repeat(1000)}`, expected: 'no-rule-matched' },
];

describe('exec patterns mean what they say (issue 14)', () => {
  it.each(rows)('$command → $expected', ({ command, expected }) => {
    const started = performance.now();
    const decision = decide(policy, requestFor('h', command, {}));
    expect(decision.decision === 'allow' ? 'allow' : decision.reason).toBe(expected);
    // Every decision is bounded in time: 27.7 s for the dashes under micromatch.
    expect(performance.now() - started).toBeLessThan(200);
  });
});
