/** receive rules: names from templates or clients, and every way a receive command is refused. */
import { describe, expect, it } from 'vitest';
import { decide } from '../../../src/decide/decide.js';
import type { ReceivePlan } from '../../../src/rules/plan.js';
import { renderName, reservedName, templatePattern, uniqueName } from '../../../src/rules/receive/match.js';
import { policyFrom, requestFor } from '../../helpers.js';

const now = new Date(2026, 10, 24, 7, 16, 53);

describe('names', () => {
  it('renders {timestamp} {date} {time} {id} in local time', () => {
    expect(renderName('backup-{timestamp}.tar.gz', now, 'host1')).toBe('backup-2026-11-24-071653.tar.gz');
    expect(renderName('{id}-{date}_{time}.gpg', now, 'host1')).toBe('host1-2026-11-24_071653.gpg');
  });

  it('makes a name unique before its first dot', () => {
    expect(uniqueName('backup-2026-11-24-071653.tar.gz', 0)).toBe('backup-2026-11-24-071653.tar.gz');
    expect(uniqueName('backup-2026-11-24-071653.tar.gz', 2)).toBe('backup-2026-11-24-071653-2.tar.gz');
    expect(uniqueName('plain', 3)).toBe('plain-3');
  });

  it.each([
    ['backup-{timestamp}.tar.gz', 'backup-2026-11-24-071653.tar.gz', true],
    ['backup-{timestamp}.tar.gz', 'backup-2026-11-24-071653-12.tar.gz', true],
    ['backup-{timestamp}.tar.gz', 'backup-2026-11-24-071653.tar.gz.bak', false],
    ['backup-{timestamp}.tar.gz', 'backup-latest.tar.gz', false],
    ['backup-{timestamp}.tar.gz', 'other-2026-11-24-071653.tar.gz', false],
    ['{id}.{date}', 'host1.2026-11-24', true],
    ['{id}.{date}', 'host1-4.2026-11-24', true],
    ['{id}.{date}', 'host2.2026-11-24', false],
    ['dump', 'dump-7', true],
  ])('the pattern of %s matches %s: %s', (template, name, matches) => {
    expect(new RegExp(templatePattern(template, 'host1')).test(name)).toBe(matches);
  });
});

const policy = policyFrom(`
version: 1
identities:
  tar:
    rules:
      - name: tarball
        receive: { dir: /srv/up, name: "backup-{timestamp}.tar.gz", client-name: "*.tar.gz", max-bytes: 1GiB, keep: 3 }
  plain:
    rules:
      - name: fixed
        receive: { dir: /srv/up, name: "{id}-{date}.dump", accept-empty: true }
`);

type Row = { id: string; command: string | null } & ({ name: string } | { deny: string; naming?: string });
const rows: Row[] = [
  { id: 'tar', command: 'receive', name: 'backup-2026-11-24-071653.tar.gz' },
  { id: 'tar', command: 'receive db.tar.gz', name: 'db.tar.gz' },
  { id: 'tar', command: 'receive 2026_db-v1.2+x.tar.gz', name: '2026_db-v1.2+x.tar.gz' },
  { id: 'tar', command: `receive db.tar.gz --size 100 --sha256 ${'A'.repeat(64)}`, name: 'db.tar.gz' },
  { id: 'tar', command: 'receive --size 5', name: 'backup-2026-11-24-071653.tar.gz' },
  { id: 'plain', command: null, name: 'plain-2026-11-24.dump' },
  { id: 'plain', command: '', name: 'plain-2026-11-24.dump' },
  { id: 'plain', command: 'receive', name: 'plain-2026-11-24.dump' },
  { id: 'tar', command: null, deny: 'no-command' },
  { id: 'plain', command: 'receive x.dump', deny: 'receive-refused', naming: 'no client-name' },
  { id: 'tar', command: 'receive db.sql', deny: 'receive-refused', naming: 'does not match client-name' },
  { id: 'tar', command: 'receive ../x.tar.gz', deny: 'receive-refused', naming: 'not a plain file name' },
  { id: 'tar', command: 'receive /etc/cron.d/x.tar.gz', deny: 'receive-refused', naming: 'not a plain file name' },
  { id: 'tar', command: 'receive a/b.tar.gz', deny: 'receive-refused', naming: 'not a plain file name' },
  { id: 'tar', command: 'receive .ssh.tar.gz', deny: 'receive-refused', naming: 'not a plain file name' },
  { id: 'tar', command: 'receive .receive-1-ab.part', deny: 'receive-refused', naming: 'not a plain file name' },
  { id: 'tar', command: "receive ''", deny: 'receive-refused', naming: 'not a plain file name' },
  { id: 'tar', command: "receive 'a b.tar.gz'", deny: 'receive-refused', naming: 'not a plain file name' },
  { id: 'tar', command: `receive ${'a'.repeat(250)}.tar.gz`, deny: 'receive-refused', naming: 'not a plain file name' },
  { id: 'tar', command: 'receive -rf', deny: 'receive-refused', naming: 'unexpected' },
  { id: 'tar', command: 'receive a.tar.gz b.tar.gz', deny: 'receive-refused', naming: 'unexpected' },
  { id: 'tar', command: 'receive a.tar.gz --size', deny: 'receive-refused', naming: 'needs a value' },
  { id: 'tar', command: 'receive a.tar.gz --size -1', deny: 'receive-refused', naming: 'not a byte count' },
  { id: 'tar', command: 'receive a.tar.gz --sha256 xyz', deny: 'receive-refused', naming: '64 hex digits' },
  // Names the template gives (any date, the next second, with the -N suffix): the client never takes them.
  { id: 'tar', command: 'receive backup-9999-12-31-235959.tar.gz', deny: 'receive-name-reserved', naming: 'only the server chooses those' },
  { id: 'tar', command: 'receive backup-2026-11-24-071654.tar.gz', deny: 'receive-name-reserved' },
  { id: 'tar', command: 'receive backup-2026-11-24-071653-1.tar.gz', deny: 'receive-name-reserved' },
  { id: 'tar', command: 'receive backup-99999-1-1-1.tar.gz', deny: 'receive-name-reserved' },
  { id: 'tar', command: 'receive backup-latest.tar.gz', name: 'backup-latest.tar.gz' },
  { id: 'tar', command: 'receive backup-2026-11-24.tar.gz', deny: 'receive-name-reserved' },
  { id: 'tar', command: 'receive backup-9.tar.gz', deny: 'receive-name-reserved' },
  { id: 'tar', command: 'receive *.tar.gz', deny: 'tokenize-glob' },
  { id: 'tar', command: 'receive x.tar.gz; id', deny: 'tokenize-operator' },
  { id: 'tar', command: 'cat > /srv/up/x', deny: 'tokenize-operator' },
  { id: 'tar', command: 'receiver', deny: 'no-rule-matched' },
];

describe('reservedName', () => {
  it.each([
    ['backup-{timestamp}.tar', 'backup-2026-11-24-071653.tar', true],
    ['backup-{timestamp}.tar', 'backup-9999-12-31-235959-3.tar', true],
    ['backup-{timestamp}.tar', 'backup-2.tar', true],
    ['backup-{timestamp}.tar', 'backup-latest.tar', false],
    ['backup-{timestamp}.tar', 'backups.tar', false],
    ['backup-{timestamp}.tar', 'site.tar', false],
    ['{timestamp}.tar', '2099.tar', true],
    ['{timestamp}.tar', 'site.tar', false],
    ['{id}-{date}.dump', 'host1-3000-01-01.dump', true],
    ['{id}-{date}.dump', 'host1x.dump', true],
    ['{id}-{date}.dump', 'host2-2026-01-01.dump', false],
    ['latest.tar', 'latest.tar', true],
    ['latest.tar', 'latest-4.tar', true],
    ['latest.tar', 'latest-x.tar', false],
  ])('%s reserves %s: %s', (template, name, reserved) => {
    expect(reservedName(template, 'host1', name)).toBe(reserved);
  });
});

describe('receive rules', () => {
  it.each(rows)('[$id] $command', (row) => {
    const decision = decide(policy, requestFor(row.id, row.command, { now }));
    if ('name' in row) {
      expect(decision.decision === 'deny' ? `${decision.reason}: ${decision.detail}` : 'allow').toBe('allow');
      if (decision.decision === 'allow') expect((decision.plan as ReceivePlan).name).toBe(row.name);
    } else {
      expect(decision.decision).toBe('deny');
      if (decision.decision === 'deny') {
        expect(decision.reason).toBe(row.deny);
        if (row.naming) expect(decision.detail).toContain(row.naming);
      }
    }
  });

  it('carries the limits and what the client announced', () => {
    const decision = decide(policy, requestFor('tar', `receive db.tar.gz --size 100 --sha256 ${'A'.repeat(64)}`, { now }));
    expect(decision.decision === 'allow' && decision.plan).toMatchObject({
      kind: 'receive',
      dir: '/srv/up',
      mode: 0o600,
      maxBytes: 2 ** 30,
      minFreeBytes: 2 ** 30,
      idleTimeoutMs: 600_000,
      keep: 3,
      chosen: true,
      retention: { clientName: '*.tar.gz', windowMs: 3 * 86_400_000, maxUploads: 6 },
      expect: { size: 100, sha256: 'a'.repeat(64) },
    });
    const template = decide(policy, requestFor('tar', 'receive', { now }));
    expect(template.decision === 'allow' && template.plan).toMatchObject({ chosen: false });
  });
});
