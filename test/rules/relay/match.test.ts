/** relay rules: exact destinations only, canonical spellings only, no nc option but -w. */
import { describe, expect, it } from 'vitest';
import { decide } from '../../../src/decide/decide.js';
import type { RelayPlan } from '../../../src/rules/plan.js';
import { parseRelayTarget } from '../../../src/rules/relay/match.js';
import { policyFrom, requestFor } from '../../helpers.js';

const policy = policyFrom(`
version: 1
identities:
  gw:
    rules:
      - name: hop
        relay:
          to: ["target.internal:22", "10.0.0.0/24:22", "192.0.2.7:5432", "[2001:db8::/64]:22", "[::1]:2222"]
          idle-timeout: 5m
`);

type Row = { command: string } & ({ host: string; port: number; resolve?: boolean; idle?: number } | { deny: string });
const rows: Row[] = [
  { command: 'nc target.internal 22', host: 'target.internal', port: 22, resolve: true },
  { command: 'nc TARGET.Internal 22', host: 'target.internal', port: 22, resolve: true },
  { command: 'nc -w 30 target.internal 22', host: 'target.internal', port: 22, idle: 30_000 },
  { command: 'nc -w 9999 target.internal 22', host: 'target.internal', port: 22, idle: 300_000 },
  { command: 'relay 10.0.0.5 22', host: '10.0.0.5', port: 22, resolve: false },
  { command: 'nc 10.0.0.255 22', host: '10.0.0.255', port: 22 },
  { command: 'nc 192.0.2.7 5432', host: '192.0.2.7', port: 5432 },
  { command: 'nc 2001:db8::5 22', host: '2001:db8::5', port: 22 },
  { command: 'nc [2001:db8::5] 22', deny: 'tokenize-glob' }, // ssh's %h gives IPv6 without brackets; an unquoted [ is a glob
  { command: "nc '[2001:db8::5]' 22", host: '2001:db8::5', port: 22 },
  { command: 'nc ::ffff:10.0.0.5 22', host: '::ffff:10.0.0.5', port: 22 },
  { command: 'nc ::1 2222', host: '::1', port: 2222 },
  { command: 'nc 0:0:0:0:0:0:0:1 2222', host: '0:0:0:0:0:0:0:1', port: 2222 },
  // wrong destinations
  { command: 'nc target.internal 23', deny: 'relay-refused' },
  { command: 'nc 10.0.1.5 22', deny: 'relay-refused' },
  { command: 'nc 192.0.2.7 22', deny: 'relay-refused' },
  { command: 'nc target.internal.evil.example 22', deny: 'relay-refused' },
  { command: 'nc target 22', deny: 'relay-refused' },
  { command: 'nc target.internal. 22', deny: 'relay-refused' },
  { command: 'nc localhost 22', deny: 'relay-refused' },
  { command: 'nc 127.0.0.1 22', deny: 'relay-refused' },
  { command: 'nc 0 22', deny: 'relay-refused' },
  { command: 'nc 0.0.0.0 22', deny: 'relay-refused' },
  { command: 'nc ::1 22', deny: 'relay-refused' },
  // other spellings of an allowed address are refused, not guessed
  { command: 'nc 10.5 22', deny: 'relay-refused' },
  { command: 'nc 167772165 22', deny: 'relay-refused' },
  { command: 'nc 0x0a000005 22', deny: 'relay-refused' },
  { command: 'nc 012.0.0.5 22', deny: 'relay-refused' },
  { command: 'nc fe80::1%eth0 22', deny: 'relay-refused' },
  { command: 'nc tаrget.internal 22', deny: 'relay-refused' }, // Cyrillic а
  // ports
  { command: 'nc target.internal ssh', deny: 'relay-refused' },
  { command: 'nc target.internal 022', deny: 'relay-refused' },
  { command: 'nc target.internal +22', deny: 'relay-refused' },
  { command: 'nc target.internal 65558', deny: 'relay-refused' },
  { command: 'nc target.internal 22-25', deny: 'relay-refused' },
  { command: 'nc target.internal 0', deny: 'relay-refused' },
  // nc options other than -w
  { command: 'nc -e /bin/sh target.internal 22', deny: 'relay-refused' },
  { command: 'nc -c id target.internal 22', deny: 'relay-refused' },
  { command: 'nc -l -p 4444', deny: 'relay-refused' },
  { command: 'nc -U /var/run/docker.sock', deny: 'relay-refused' },
  { command: 'nc -x proxy:1080 target.internal 22', deny: 'relay-refused' },
  { command: 'nc -u target.internal 22', deny: 'relay-refused' },
  { command: 'nc -z target.internal 22', deny: 'relay-refused' },
  { command: 'nc target.internal 22 -e /bin/sh', deny: 'relay-refused' },
  { command: 'nc -w 0 target.internal 22', deny: 'relay-refused' },
  { command: 'nc -w x target.internal 22', deny: 'relay-refused' },
  { command: 'nc target.internal', deny: 'relay-refused' },
  { command: 'ncat --sh-exec id target.internal 22', deny: 'relay-refused' },
  { command: 'socat - TCP:target.internal:22', deny: 'no-rule-matched' },
  { command: 'ssh target.internal', deny: 'no-rule-matched' },
];

describe('relay rules', () => {
  it.each(rows)('$command', (row) => {
    const decision = decide(policy, requestFor('gw', row.command));
    if ('host' in row) {
      expect(decision.decision === 'deny' ? `${decision.reason}: ${decision.detail}` : 'allow').toBe('allow');
      if (decision.decision !== 'allow') return;
      const plan = decision.plan as RelayPlan;
      expect([plan.host, plan.port]).toEqual([row.host, row.port]);
      if (row.resolve !== undefined) expect(plan.resolve).toBe(row.resolve);
      if (row.idle !== undefined) expect(plan.idleTimeoutMs).toBe(row.idle);
    } else {
      expect(decision.decision).toBe('deny');
      if (decision.decision === 'deny') expect(decision.reason).toBe(row.deny);
    }
  });

  it.each(['db.internal:5432', '10.0.0.0/24:22', '[2001:db8::1]:22', '[2001:db8::/64]:22', '192.0.2.7:1'])(
    'accepts the destination %s',
    (text) => {
      expect(parseRelayTarget(text)).not.toBeNull();
    },
  );
  it.each([
    'db.internal',
    'DB.internal:5432',
    'db.internal:ssh',
    'db.internal:0',
    '*.internal:22',
    '2001:db8::1:22',
    '127.1:22',
    '10.0.0.0/24:22-25',
    'db.internal.:22',
  ])('refuses the destination %s', (text) => {
    expect(parseRelayTarget(text)).toBeNull();
  });
});
