/**
 * `check` for the policy as the only list of keys (docs/fleet.md): what the policy's logins say
 * (keys:, accounts:, principals:) against what sshd is told (sshd -T). A wrong setting here
 * either locks every key out (a missed backup) or lets a certificate past ssh-dispatch (a shell).
 */
import { lstatSync } from 'node:fs';
import { dirname } from 'node:path';
import { childProcess } from '../lazy-builtins.js';
import type { Identity, Policy } from '../policy/schema.js';
import { nssAccounts } from '../host/accounts.js';
import type { TextFinding } from './check/finding.js';

/** sshd -T's settings: lower-case keyword → its values, in order. */
export type SshdSettings = ReadonlyMap<string, readonly string[]>;

/** What the policy asks of sshd's login commands, and where two identities compete for a login. */
export function loginFindings(policy: Policy): TextFinding[] {
  const findings: TextFinding[] = [];
  const seen = new Map<string, string>();
  for (const identity of policy.identities.values()) {
    const at = `${identity.where.file}:${identity.where.line}`;
    if (identity.principals !== null && identity.accounts === null) {
      findings.push({
        level: 'warning',
        id: 'principals-without-accounts',
        text: `${at}: warning: identity ${identity.name} has principals but no accounts: authorized-principals-command serves it to no account, so no certificate reaches it; list the accounts it logs into`,
      });
    }
    if (identity.accounts === null) continue;
    if (identity.from?.length === 0) {
      findings.push({
        level: 'warning',
        id: 'from-admits-none',
        text: `${at}: warning: identity ${identity.name} has from: [], which admits no address: the login commands never serve it and every connection is denied; remove from: or list the addresses`,
      });
      continue;
    }
    const logins =
      identity.principals !== null ? identity.principals.map((p) => `principal ${p}`) : (identity.keys ?? []).map((k) => `key ${k}`);
    for (const account of identity.accounts) {
      for (const login of logins) {
        const earlier = seen.get(`${account} ${login}`);
        if (earlier === undefined) seen.set(`${account} ${login}`, identity.name);
        else if (login.startsWith('key ')) {
          findings.push({
            level: 'warning',
            id: 'key-claimed-twice',
            text: `${at}: warning: identity ${identity.name}: ${login} into ${account} is also identity ${earlier}'s: sshd takes the first line whose from= admits the client (${earlier}'s, in policy order), so ${identity.name} gets it only from addresses ${earlier} does not admit`,
          });
        } else {
          // Principals lines are different (auth2-pubkeyfile.c auth_process_principals): sshd
          // keeps the first line naming one of the certificate's principals, and a from= there
          // that refuses the client refuses the certificate; no later line is tried.
          findings.push({
            level: 'warning',
            id: 'principal-claimed-twice',
            text: `${at}: warning: identity ${identity.name}: ${login} into ${account} is also identity ${earlier}'s: sshd uses only the first principals line naming it (${earlier}'s, in policy order), and refuses the certificate when that line's from= does not admit the client, so certificates naming it never reach ${identity.name}; give each identity principals of its own`,
          });
        }
      }
    }
  }
  return findings;
}

/** The words of a command setting, or null when it does not run ssh-dispatch's `subcommand`. */
function dispatchCommand(value: string | undefined, subcommand: string): string[] | null {
  if (value === undefined || value === 'none') return null;
  const words = value.split(/\s+/).filter(Boolean);
  return words.includes(subcommand) ? words : null;
}

/**
 * Why sshd would refuse to run `path` (auth.c safe_path): the file and every directory above it
 * must be owned by root and writable by nobody else; null when it would run it.
 */
export function unsafeCommandPath(path: string): string | null {
  if (!path.startsWith('/')) return `${path} is not an absolute path`;
  try {
    for (let at = path; ; at = dirname(at)) {
      const stats = lstatSync(at);
      if (at === path && !stats.isFile() && !stats.isSymbolicLink()) return `${path} is not a file`;
      if (!stats.isSymbolicLink() && (stats.uid !== 0 || (stats.mode & 0o022) !== 0))
        return `${at} is owned by uid ${stats.uid} with mode ${(stats.mode & 0o7777).toString(8)}: sshd wants root's, writable by nobody else`;
      if (at === '/') return null;
    }
  } catch (error) {
    return `${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`;
  }
}

/** A well-formed ed25519 public key that no policy lists, for trying the keys command. */
const PROBE_KEY = `ssh-ed25519 ${Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), Buffer.from([0, 0, 0, 32]), Buffer.alloc(32, 0x5a)]).toString('base64')}`;

/**
 * The keys command as sshd would run it (its user, its words, an environment as bare as sshd's),
 * with a key nobody lists: exit 0 means it loaded the policy as that account.
 */
const tried = new Map<string, string | null>();

function tryAsCommandUser(words: readonly string[], user: string): string | null {
  const key = JSON.stringify([words, user]);
  if (!tried.has(key)) tried.set(key, tryOnce(words, user));
  return tried.get(key)!;
}

function tryOnce(words: readonly string[], user: string): string | null {
  const account = nssAccounts().accounts.find((a) => a.user === user);
  if (!account) return `the AuthorizedKeysCommandUser ${user} does not exist: sshd runs no command and accepts no key`;
  const [type, key] = PROBE_KEY.split(' ') as [string, string];
  const argv = words.map((w) => (w === '%u' ? 'root' : w === '%t' ? type : w === '%k' ? key : w));
  const result = childProcess().spawnSync(argv[0]!, argv.slice(1), {
    uid: account.uid,
    gid: account.gid,
    encoding: 'utf8',
    timeout: 15_000,
    env: { PATH: '/usr/bin:/bin:/usr/sbin:/sbin', USER: user, LOGNAME: user, HOME: account.home },
  });
  if (result.error) return `could not run it as ${user} (${(result.error as NodeJS.ErrnoException).code ?? result.error.message})`;
  if (result.status !== 0)
    return `run as ${user}, it exits ${result.status} (${(result.stderr ?? '').trim().split('\n')[0] || 'the policy does not load for that account: can it read the policy, or the cache check writes?'})`;
  return null;
}

/** One sshd -T setting's first value, by its lower-case keyword. */
type Setting = (keyword: string) => string | undefined;

/** Findings on sshd's settings, worded as sshd's own: `sshd: error: ...`, `sshd: warning: ...`, `sshd: UNSAFE: ...`. */
class SshdReport {
  readonly findings: TextFinding[] = [];

  error(id: TextFinding['id'], text: string): void {
    this.findings.push({ level: 'error', id, text: `sshd: error: ${text}` });
  }

  warn(id: TextFinding['id'], text: string): void {
    this.findings.push({ level: 'warning', id, text: `sshd: warning: ${text}` });
  }

  unsafe(id: TextFinding['id'], text: string): void {
    this.findings.push({ level: 'unsafe', id, text: `sshd: UNSAFE: ${text}` });
  }
}

/** sshd's side of the login commands, from sshd -T. */
export function sshdLoginFindings(settings: SshdSettings, policy: Policy): TextFinding[] {
  const report = new SshdReport();
  const first: Setting = (key) => settings.get(key)?.[0];
  const identities = [...policy.identities.values()];
  const usesPrincipals = identities.some((identity) => identity.principals !== null);
  const keysCommand = dispatchCommand(first('authorizedkeyscommand'), 'authorized-keys-command');
  if (keysCommand !== null) keysCommandFindings(report, keysCommand, first, identities);
  certificateFindings(report, first, usesPrincipals, keysCommand !== null);
  if (usesPrincipals && first('exposeauthinfo') !== 'yes')
    report.error(
      'certificate-not-exposed',
      'ExposeAuthInfo is not yes: identities with principals deny every request (certificate-missing: the session cannot see its certificate)',
    );
  return report.findings;
}

/** The AuthorizedKeysCommand that runs ssh-dispatch: its words, its path, its user, and the key files beside it. */
function keysCommandFindings(report: SshdReport, keysCommand: string[], first: Setting, identities: readonly Identity[]): void {
  if (keysCommand.slice(-3).join(' ') !== '%u %t %k')
    report.error(
      'keys-command-arguments',
      `AuthorizedKeysCommand ${keysCommand.join(' ')}: it must end with %u %t %k (the account, the key type, the key), or every key is refused`,
    );
  const unsafe = unsafeCommandPath(keysCommand[0]!);
  if (unsafe)
    report.error(
      'keys-command-path-unsafe',
      `AuthorizedKeysCommand: sshd will not run it (${unsafe}), so every key is refused; install.sh puts ssh-dispatch where it will`,
    );
  keysCommandUserFindings(report, keysCommand, first('authorizedkeyscommanduser') ?? 'none', !unsafe, identities);
  if (!identities.some((identity) => identity.accounts !== null))
    report.warn(
      'keys-command-no-accounts',
      'AuthorizedKeysCommand runs ssh-dispatch, and no identity lists accounts: it accepts no key; list the accounts each identity logs into',
    );
  const files = first('authorizedkeysfile') ?? 'none';
  if (files !== 'none')
    report.warn(
      'keys-file-beside-command',
      `AuthorizedKeysFile ${files}: keys in those files log in too, whatever the policy says; AuthorizedKeysFile none leaves the policy the only list (or keep it for admins' own keys, knowingly)`,
    );
}

/** The account the keys command runs as: one of its own, set, and able to load the policy (tried when sshd would run the path). */
function keysCommandUserFindings(
  report: SshdReport,
  keysCommand: readonly string[],
  user: string,
  runnable: boolean,
  identities: readonly Identity[],
): void {
  const loginAccounts = new Set(identities.flatMap((identity) => identity.accounts ?? []));
  // Its sessions would share a uid with the command that answers for every account, root's too.
  if (loginAccounts.has(user))
    report.unsafe(
      'keys-command-user-logs-in',
      `AuthorizedKeysCommandUser ${user} is an account the policy's keys log into: a session of it could tamper with the command that answers for every account (same uid); use an account of its own (install.sh --commands-user ssh-dispatch)`,
    );
  if (user === 'none') {
    report.error(
      'keys-command-user-unset',
      'AuthorizedKeysCommandUser is not set: sshd refuses to run the command; set it to a dedicated account (install.sh --commands-user ssh-dispatch)',
    );
    return;
  }
  if (user === 'root' || user === 'nobody')
    report.warn(
      'keys-command-user-shared',
      `AuthorizedKeysCommandUser ${user}: use an account of its own (install.sh --commands-user ssh-dispatch); ${user === 'root' ? 'root needs not run it' : "other daemons' processes run as nobody and could tamper with its answer"}`,
    );
  if (runnable) {
    const failed = tryAsCommandUser(keysCommand, user);
    if (failed) report.error('keys-command-fails', `AuthorizedKeysCommand: ${failed}: every key is refused`);
  }
}

/** Certificates: a trusted CA must come with ssh-dispatch's principals command and nothing that logs in ahead of it. */
function certificateFindings(report: SshdReport, first: Setting, usesPrincipals: boolean, hasKeysCommand: boolean): void {
  const cas = first('trustedusercakeys') ?? 'none';
  if (cas === 'none') {
    if (usesPrincipals)
      report.warn(
        'ca-not-trusted',
        'TrustedUserCAKeys is not set: no certificate is accepted, so identities with principals are never reached; ssh-dispatch authorized-key --sshd-config --ca FILE prints the lines',
      );
    return;
  }
  const principalsCommand = dispatchCommand(first('authorizedprincipalscommand'), 'authorized-principals-command');
  const principalsFile = first('authorizedprincipalsfile') ?? 'none';
  // sshd reads the principals file first and the command only when it names none of the
  // certificate's principals (auth2-pubkey.c user_cert_trusted_ca): a principal in the file
  // logs in with that file's options, which need not hold a command= at all.
  if (principalsFile !== 'none' && principalsCommand !== null) {
    report.unsafe(
      'principals-file-first',
      `AuthorizedPrincipalsFile ${principalsFile} beside ssh-dispatch's principals command: sshd reads the file first, and a certificate naming a principal listed there logs in with that line's options (a shell, unless it says command=), never reaching ssh-dispatch; set AuthorizedPrincipalsFile none`,
    );
  } else if (principalsFile !== 'none' && usesPrincipals) {
    report.warn(
      'principals-file-not-policy',
      `AuthorizedPrincipalsFile ${principalsFile} and no ssh-dispatch principals command: certificates log in by that file's lines, not the policy's principals, which are never reached`,
    );
  }
  if (principalsCommand === null && principalsFile === 'none' && first('authorizedprincipalscommand') === 'none') {
    // OpenSSH before 9.4 drops an AuthorizedPrincipalsCommand written after AuthorizedKeysCommand (bz3574).
    const dropped = hasKeysCommand
      ? ' (if sshd_config has one, after AuthorizedKeysCommand: OpenSSH before 9.4 ignores it there, bz3574; move it above)'
      : '';
    report.unsafe(
      'ca-without-principals',
      `TrustedUserCAKeys ${cas} without AuthorizedPrincipalsCommand or AuthorizedPrincipalsFile${dropped}: any certificate of that CA whose principals name an account logs into it with a shell, never reaching ssh-dispatch; add the lines of ssh-dispatch authorized-key --sshd-config --ca ${cas}`,
    );
  }
  if (principalsCommand !== null) principalsCommandFindings(report, principalsCommand, first);
}

/** The AuthorizedPrincipalsCommand that runs ssh-dispatch: its words, its path, its user. */
function principalsCommandFindings(report: SshdReport, principalsCommand: readonly string[], first: Setting): void {
  if (principalsCommand[principalsCommand.length - 1] !== '%u')
    report.error(
      'principals-command-arguments',
      `AuthorizedPrincipalsCommand ${principalsCommand.join(' ')}: it must end with %u (the account), or no certificate is accepted`,
    );
  const unsafe = unsafeCommandPath(principalsCommand[0]!);
  if (unsafe)
    report.error(
      'principals-command-path-unsafe',
      `AuthorizedPrincipalsCommand: sshd will not run it (${unsafe}), so no certificate is accepted`,
    );
  if ((first('authorizedprincipalscommanduser') ?? 'none') === 'none')
    report.error(
      'principals-command-user-unset',
      'AuthorizedPrincipalsCommandUser is not set: sshd refuses to run the command; set it to the AuthorizedKeysCommandUser',
    );
}
