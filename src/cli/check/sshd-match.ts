/**
 * The login commands' side of sshd, for every account the policy's identities log into (and
 * root), from the loopback address and from each network of the identities' from lists: plain
 * sshd -T leaves Match blocks out, and a Match block can trust a CA or read principals files for
 * one account or address only (found in review). A finding for some of them only says which.
 * Match criteria other than user and address (Host, LocalPort, ...) are not tried.
 */
import type { Policy } from '../../policy/schema.js';
import { networkText } from '../../values/address.js';
import { sshdLoginFindings } from '../check-fleet.js';
import type { TextFinding } from './finding.js';
import { readSshdSettings } from './sshd-settings.js';
import { sshdForwardingFindings } from './hops.js';

interface Context {
  account: string;
  address: string;
}

export function loginSettingsFindings(configFile: string | undefined, global: Map<string, string[]>, policy: Policy): TextFinding[] {
  const identities = [...policy.identities.values()];
  const accounts = [...new Set(['root', ...identities.flatMap((identity) => identity.accounts ?? [])])];
  const addresses = [
    ...new Set(['127.0.0.1', ...identities.flatMap((identity) => (identity.from ?? []).map((range) => networkText(range).split('/')[0]!))]),
  ].slice(0, 16);
  const contexts = accounts.flatMap((account) => addresses.map((address) => ({ account, address })));
  const found = new Map<string, { finding: TextFinding; contexts: Context[] }>();
  const unread: string[] = [];
  for (const context of contexts) {
    const connection = `user=${context.account},host=localhost,addr=${context.address}`;
    const read = readSshdSettings(configFile, connection);
    if (typeof read === 'string') unread.push(`${connection} (${read})`);
    const settings = typeof read === 'string' ? global : read;
    for (const finding of [...sshdLoginFindings(settings, policy), ...sshdForwardingFindings(settings, policy, context.account)]) {
      const entry = found.get(finding.text) ?? { finding, contexts: [] };
      entry.contexts.push(context);
      found.set(finding.text, entry);
    }
  }
  const findings = [...found.values()].map(({ finding, contexts: these }) =>
    these.length === contexts.length ? finding : forSome(finding, these, accounts, addresses),
  );
  if (unread.length > 0)
    findings.push({
      level: 'warning',
      id: 'sshd-match-unreadable',
      text: `sshd -T -C: could not read the settings for ${unread.slice(0, 3).join('; ')}${unread.length > 3 ? ` and ${unread.length - 3} more` : ''}: the global settings were checked for them instead`,
    });
  return findings;
}

/** A finding that holds for some accounts or addresses only, saying which. */
function forSome(finding: TextFinding, these: readonly Context[], accounts: readonly string[], addresses: readonly string[]): TextFinding {
  const users = [...new Set(these.map((c) => c.account))];
  const from = [...new Set(these.map((c) => c.address))];
  const where = `${users.length === accounts.length ? 'any account' : users.join(', ')}${from.length === addresses.length ? '' : ` from ${from.join(', ')}`}`;
  return { ...finding, text: finding.text.replace(/^sshd: /, `sshd (Match, for ${where}): `) };
}
