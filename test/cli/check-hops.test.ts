/**
 * check's sshd forwarding findings (cli/check/hops.ts sshdForwardingFindings), for the accounts
 * relay identities log into: their key lines have port-forwarding, so sshd_config is what else
 * stops ssh -R, and alone stops a Unix-socket ssh -R (through a real sshd: test/e2e/hops).
 */
import { describe, expect, it } from 'vitest';
import { sshdForwardingFindings } from '../../src/cli/check/hops.js';
import { policyFrom } from '../helpers.js';

const policy = policyFrom(`
version: 1
identities:
  hop:
    accounts: [gw]
    rules:
      - { name: r, relay: { to: ["db.internal:22"] } }
  ranges-only:
    accounts: [wide]
    rules:
      - { name: r, relay: { to: ["10.0.0.0/24:22"] } }
  plain:
    accounts: [backup]
    rules:
      - { name: t, exec: { command: "true", program: /bin/true } }
`);

const sshd = (settings: Record<string, string>) => new Map(Object.entries(settings).map(([k, v]) => [k, [v]]));
const ids = (settings: Record<string, string>, account = 'gw') =>
  sshdForwardingFindings(sshd(settings), policy, account).map((f) => `${f.level} ${f.id}`);

describe('sshd forwarding settings for an account whose keys forward', () => {
  it("sshd's defaults (yes, yes): ssh -R held by permitlisten alone, a socket -R by nothing", () => {
    expect(ids({ allowtcpforwarding: 'yes', allowstreamlocalforwarding: 'yes' })).toEqual([
      'warning sshd-remote-forwarding',
      'unsafe sshd-stream-forwarding',
    ]);
  });

  it.each(['remote', 'all'])('AllowTcpForwarding %s, AllowStreamLocalForwarding %s', (value) => {
    expect(ids({ allowtcpforwarding: value, allowstreamlocalforwarding: value })).toEqual([
      'warning sshd-remote-forwarding',
      'unsafe sshd-stream-forwarding',
    ]);
  });

  it('AllowStreamLocalForwarding local: a warning (permitopen holds ssh -L to a socket)', () => {
    expect(ids({ allowtcpforwarding: 'local', allowstreamlocalforwarding: 'local' })).toEqual(['warning sshd-stream-forwarding']);
  });

  it('local and no: nothing to say', () => {
    expect(ids({ allowtcpforwarding: 'local', allowstreamlocalforwarding: 'no' })).toEqual([]);
  });

  it('DisableForwarding yes: nothing forwards, nothing to say', () => {
    expect(ids({ allowtcpforwarding: 'yes', allowstreamlocalforwarding: 'yes', disableforwarding: 'yes' })).toEqual([]);
  });

  it.each([
    ['an account no relay identity logs into', 'backup'],
    ['an identity whose destinations are all ranges (its line has no port-forwarding)', 'wide'],
  ])('%s: nothing to say', (_name, account) => {
    expect(ids({ allowtcpforwarding: 'yes', allowstreamlocalforwarding: 'yes' }, account)).toEqual([]);
  });
});
