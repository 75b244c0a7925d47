/**
 * `check --authorized-keys FILE`: what the policy cannot see but a stolen key would use. The
 * forced command is only half of a key's line: without `restrict` the same key can forward ports
 * and agents, get a pty and have sshd run ~/.ssh/rc first; and sshd starts the command through
 * the account's login shell, which for bash means reading ~/.bashrc before ssh-dispatch runs.
 */
import { readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import type { Policy } from '../policy/schema.js';
import { readAccounts } from './passwd.js';

/** What `restrict` turns off, spelled out: a line with all of these is as closed. */
const RESTRICT_PARTS = ['no-port-forwarding', 'no-agent-forwarding', 'no-x11-forwarding', 'no-pty', 'no-user-rc'];

/** The options of an authorized_keys line (before the key type), split on commas outside quotes; null for a line without options. */
export function keyLineOptions(line: string): string[] | null {
  if (/^(ssh-|ecdsa-|sk-)/.test(line)) return null;
  const options: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === '\\' && quoted && line[i + 1] === '"') {
      current += '\\"';
      i++;
    } else if (c === '"') {
      quoted = !quoted;
      current += c;
    } else if (!quoted && c === ',') {
      options.push(current);
      current = '';
    } else if (!quoted && (c === ' ' || c === '\t')) {
      break;
    } else {
      current += c;
    }
  }
  options.push(current);
  return options;
}

export function authorizedKeysFindings(file: string, policy: Policy, passwdFile = '/etc/passwd'): string[] {
  let text: string;
  let owner: number;
  try {
    text = readFileSync(file, 'utf8');
    owner = statSync(file).uid;
  } catch (error) {
    return [`${file}: could not be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`];
  }
  const findings: string[] = [];
  let dispatchLines = 0;
  const lines = text.split('\n');
  const unforced: number[] = [];
  lines.forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const where = `${file}:${index + 1}`;
    const options = keyLineOptions(line) ?? [];
    const lower = options.map((o) => o.toLowerCase());
    const command = options.find((o) => /^command=/i.test(o));
    if (command === undefined) {
      unforced.push(index + 1);
      return;
    }
    if (!command.includes('ssh-dispatch')) return;
    dispatchLines++;
    if (!lower.includes('restrict') && !RESTRICT_PARTS.every((part) => lower.includes(part))) {
      findings.push(`${where}: warning: runs ssh-dispatch without restrict: the key can also forward ports and agents, get a pty, and have sshd run ~/.ssh/rc first (ssh-dispatch authorized-key writes restrict)`);
    }
    if (lower.some((o) => o.startsWith('environment='))) findings.push(`${where}: warning: environment= sets variables before ssh-dispatch runs; remove it`);
    const id = /--id[= ]([^\s"]+)/.exec(command)?.[1];
    if (id !== undefined && !policy.identities.has(id)) findings.push(`${where}: warning: --id ${id} is not an identity of the policy: every request with this key is denied`);
  });
  if (dispatchLines === 0) return [...findings, `${file}: warning: no line runs ssh-dispatch`];
  for (const line of unforced) findings.push(`${file}:${line}: warning: a key with no command= in the same file: it gets the account's shell, not ssh-dispatch`);
  const account = readAccounts(passwdFile).find((a) => a.uid === owner);
  if (account !== undefined && basename(account.shell) === 'bash') {
    findings.push(`${file}: warning: ${account.user}'s login shell is ${account.shell}: sshd starts the forced command through it, and bash reads ~/.bashrc first for ssh sessions; give the account /bin/sh`);
  }
  return findings;
}
