import { readFileSync } from 'node:fs';
import { childProcess } from '../lazy-builtins.js';

/** Accounts as the passwd database lists them, for check's findings. */
export interface Account {
  user: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

/** passwd(5) lines → accounts; lines that do not have its seven fields are skipped. */
export function parsePasswd(text: string): Account[] {
  return text
    .split('\n')
    .map((line) => line.split(':'))
    .filter((fields) => fields.length >= 7 && /^[0-9]+$/.test(fields[2]!))
    .map((fields) => ({ user: fields[0]!, uid: Number(fields[2]), gid: Number(fields[3]), home: fields[5]!, shell: fields[6]! }));
}

/** The accounts of one passwd-format file; none when it cannot be read. */
export function readAccounts(file = '/etc/passwd'): Account[] {
  try {
    return parsePasswd(readFileSync(file, 'utf8'));
  } catch {
    return [];
  }
}

/**
 * Every account the system resolves, through NSS (`getent passwd`): accounts from LDAP, SSSD or
 * systemd-userdb are as able to log in as those in /etc/passwd, and /etc/passwd alone would miss
 * them. Falls back to /etc/passwd, saying why, when getent cannot be run (or the directory
 * refuses to enumerate).
 */
export function nssAccounts(getent = 'getent'): { accounts: Account[]; problem: string | null } {
  const result = childProcess().spawnSync(getent, ['passwd'], { encoding: 'utf8', timeout: 10_000, maxBuffer: 256 * 1024 * 1024 });
  if (result.error === undefined && result.status === 0) return { accounts: parsePasswd(result.stdout), problem: null };
  const why = result.error
    ? ((result.error as NodeJS.ErrnoException).code ?? result.error.message)
    : `exit ${result.status ?? result.signal}`;
  return { accounts: readAccounts(), problem: `${getent} passwd failed (${why}): accounts were read from /etc/passwd only` };
}
