/**
 * sshd's settings that reach past ssh-dispatch (sshd -T, read when run as root, or from
 * --sshd-config FILE): variables set before it runs, keys it cannot see, root's logins, and
 * (sshd-match.ts) the login commands' side, for every account and address.
 */
import { existsSync } from 'node:fs';
import type { Policy } from '../../policy/schema.js';
import type { TextFinding } from './finding.js';
import { readSshdSettings } from './sshd-settings.js';
import { loginSettingsFindings } from './sshd-match.js';

/** Variables that, set before ssh-dispatch starts, are code in it: what PermitUserEnvironment must not let through. */
const CODE_VARIABLES = ['NODE_OPTIONS', 'LD_PRELOAD', 'LD_LIBRARY_PATH', 'LD_AUDIT', 'BASH_ENV', 'ENV', 'PATH', 'GLIBC_TUNABLES'];

/** Whether an sshd pattern-list (`*` and `?`, `!` negation) lets a variable name through. */
export function patternListAllows(list: string, name: string): boolean {
  let allowed = false;
  for (const item of list
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const negated = item.startsWith('!');
    const body = (negated ? item.slice(1) : item)
      .replace(/[.+^$|\\(){}[\]]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.');
    const glob = new RegExp(`^${body}$`);
    if (glob.test(name)) {
      if (negated) return false;
      allowed = true;
    }
  }
  return allowed;
}

export function sshdFindings(configFile: string | undefined, policy: Policy): TextFinding[] {
  const usesKeys = [...policy.identities.values()].some((identity) => identity.keys !== null);
  if (configFile === undefined && (process.getuid?.() !== 0 || !existsSync('/usr/sbin/sshd') || !existsSync('/etc/ssh/sshd_config')))
    return [];
  const settings = readSshdSettings(configFile);
  if (typeof settings === 'string')
    return [{ level: 'warning', id: 'sshd-unreadable', text: `sshd -T: could not read the sshd settings (${settings})` }];
  const findings: TextFinding[] = [];
  const warn = (id: TextFinding['id'], text: string) => findings.push({ level: 'warning', id, text });
  const first = (key: string) => settings.get(key)?.[0] ?? '';
  const userEnvironment = first('permituserenvironment');
  if (userEnvironment !== 'no' && userEnvironment !== '') {
    // yes, or a pattern list: either way what it lets through is set before ssh-dispatch runs.
    const code = userEnvironment === 'yes' ? CODE_VARIABLES : CODE_VARIABLES.filter((name) => patternListAllows(userEnvironment, name));
    if (code.length > 0)
      findings.push({
        level: 'unsafe',
        id: 'sshd-user-environment-code',
        text: `sshd: UNSAFE: PermitUserEnvironment ${userEnvironment}: a key's environment= or ~/.ssh/environment can set ${code.join(', ')} before ssh-dispatch runs, which is code execution ahead of every check; set it to no`,
      });
    else
      warn(
        'sshd-user-environment',
        `sshd: warning: PermitUserEnvironment ${userEnvironment}: keys may set these variables for ssh-dispatch and what it starts; set it to no`,
      );
  }
  if (usesKeys && first('exposeauthinfo') !== 'yes')
    warn(
      'sshd-keys-not-exposed',
      'sshd: warning: ExposeAuthInfo is not yes: identities with a keys list will deny every request (no key is exposed)',
    );
  if (first('permitrootlogin') === 'yes')
    warn(
      'sshd-root-login',
      'sshd: warning: PermitRootLogin yes: root keys need not have a forced command; forced-commands-only keeps root keys to ssh-dispatch',
    );
  const accepted = (settings.get('acceptenv') ?? [])
    .flatMap((v) => v.split(/\s+/))
    .filter((v) => v && !/^(LANG|LC_\*|LC_[A-Z_]+|LANGUAGE|GIT_PROTOCOL)$/.test(v));
  if (accepted.length > 0)
    warn(
      'sshd-accept-env',
      `sshd: warning: AcceptEnv ${accepted.join(' ')}: clients may set these for ssh-dispatch and the programs it starts; keep AcceptEnv to LANG LC_* (and GIT_PROTOCOL for exec rules with pass-env)`,
    );
  findings.push(...loginSettingsFindings(configFile, settings, policy));
  return findings;
}
