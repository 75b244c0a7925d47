/**
 * What `check` says about hops sshd serves itself (`ssh -W`, ProxyJump, `ssh -L`, `ssh -R`),
 * which never reach ssh-dispatch (docs/rules/relay.md): a key line that lets `ssh -R` listen, one
 * whose permitopen list is not its identity's relay destinations, and sshd settings that let a
 * forwarding key listen on the server for the accounts the relay identities log into.
 */
import type { Policy } from '../../policy/schema.js';
import { identityHops } from '../../rules/hops.js';
import type { TextFinding } from './finding.js';

/** The value of a `name="..."` option as sshd reads it: within the quotes, \" is a quote. */
export function optionValue(option: string): string {
  const raw = option.slice(option.indexOf('=') + 1);
  return (raw.startsWith('"') && raw.endsWith('"') && raw.length >= 2 ? raw.slice(1, -1) : raw).replace(/\\"/g, '"');
}

/**
 * A line that runs ssh-dispatch for `identity` with port forwarding on and a permitopen list:
 * without permitlisten, `ssh -R` makes sshd listen on the server and carry connections back to
 * the client; a permitopen destination the relay rules lack is a hop ssh-dispatch never sees,
 * and one they list that permitopen lacks is reachable by `nc` only.
 */
export function keyHopFindings(where: string, options: readonly string[], identity: string, policy: Policy): TextFinding[] {
  const findings: TextFinding[] = [];
  const valuesOf = (name: string) => options.filter((o) => o.toLowerCase().startsWith(`${name}=`)).map(optionValue);
  const permitOpen = valuesOf('permitopen');
  if (valuesOf('permitlisten').length === 0)
    findings.push({
      level: 'unsafe',
      id: 'key-line-listens',
      text: `${where}: UNSAFE: port-forwarding without permitlisten: ssh -R makes sshd listen on this server and carry connections back to the key's holder; add permitlisten="NONE:1", as ssh-dispatch authorized-key writes it`,
    });
  const known = policy.identities.get(identity);
  if (known === undefined) return findings;
  const open = identityHops(known.rules).open;
  const extra = permitOpen.filter((target) => !open.includes(target));
  const missing = open.filter((target) => !permitOpen.includes(target));
  if (extra.length > 0)
    findings.push({
      level: 'unsafe',
      id: 'key-permitopen-extra',
      text: `${where}: UNSAFE: permitopen ${extra.join(', ')}: not a destination of ${identity}'s relay rules: ssh -W and ssh -L reach it, unrecorded by ssh-dispatch; list it in a relay rule of ${identity}, or print the line again with ssh-dispatch authorized-key`,
    });
  if (missing.length > 0)
    findings.push({
      level: 'warning',
      id: 'key-permitopen-missing',
      text: `${where}: warning: ${identity}'s relay rules list ${missing.join(', ')}, which the line's permitopen lacks: nc %h %p reaches it, ssh -W and ProxyJump do not; print the line again with ssh-dispatch authorized-key`,
    });
  return findings;
}

/**
 * sshd -T's forwarding settings for one account (Match blocks applied), where a relay identity
 * logs into it: its key line has port-forwarding, so sshd_config is what stops `ssh -R`
 * besides permitlisten, and the only thing that stops a Unix-socket `ssh -R`, which permitlisten
 * does not govern (channels.c remote_open_match matches any socket path).
 */
export function sshdForwardingFindings(settings: Map<string, string[]>, policy: Policy, account: string): TextFinding[] {
  const first = (key: string) => settings.get(key)?.[0] ?? '';
  const relays = [...policy.identities.values()].filter(
    (identity) => (identity.accounts === null || identity.accounts.includes(account)) && identityHops(identity.rules).open.length > 0,
  );
  if (relays.length === 0 || first('disableforwarding') === 'yes') return [];
  const names = relays.map((identity) => identity.name).join(', ');
  const findings: TextFinding[] = [];
  const tcp = first('allowtcpforwarding');
  if (['yes', 'all', 'remote'].includes(tcp))
    findings.push({
      level: 'warning',
      id: 'sshd-remote-forwarding',
      text: `sshd: warning: AllowTcpForwarding ${tcp} for ${account}, whose keys forward (relay identities ${names}): only the key line's permitlisten keeps ssh -R from listening on this server; set AllowTcpForwarding local in a Match User block`,
    });
  const stream = first('allowstreamlocalforwarding');
  if (stream !== '' && stream !== 'no')
    findings.push({
      level: stream === 'local' ? 'warning' : 'unsafe',
      id: 'sshd-stream-forwarding',
      text:
        stream === 'local'
          ? `sshd: warning: AllowStreamLocalForwarding local for ${account} (relay identities ${names}): ssh -L to a Unix socket is held by the key's permitopen alone; set it to no in a Match User block`
          : `sshd: UNSAFE: AllowStreamLocalForwarding ${stream} for ${account} (relay identities ${names}): a forwarding key's ssh -R /path:host:port makes sshd create a socket on this server that carries connections back to the key's holder, whatever permitlisten says; set AllowStreamLocalForwarding no in a Match User block`,
    });
  return findings;
}
