/**
 * `ssh-dispatch check`: loads the policy exactly as a connection would, compiles it for fast
 * connection starts, and reports what loads but is probably not meant (policy/lint.ts), what the
 * filesystem says about the rules' programs and directories, and what sshd's settings allow.
 */
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { printable } from '../audit/escape.js';
import { childProcess } from '../lazy-builtins.js';
import { formatPolicyError } from '../policy/errors.js';
import { lintPolicy, overlaps, writeTargets, type Finding } from '../policy/lint.js';
import { loadPolicy } from '../policy/load.js';
import { DEFAULT_POLICY_PATH, type Policy } from '../policy/schema.js';
import { probeRsync } from '../act/rsync-features.js';
import type { RsyncFeatures } from '../decide/rsync/rsync-rule.js';
import { parseFlags } from './args.js';
import { authorizedKeysFindings } from './check-keys.js';
import { readAccounts } from './passwd.js';

export const CHECK_HELP = `Usage: ssh-dispatch check [--policy PATH] [--sshd-config FILE] [--authorized-keys FILE]...

Loads the policy (a file, or every *.yaml / *.yml file of a directory) with the same strict
checks a connection applies, and prints each error as FILE:LINE: KEY: what was expected.
A policy that does not load denies every request. A policy that loads is also compiled into
.ssh-dispatch-cache/ beside it (where this user may write), which connections read instead of
parsing the YAML.

Then it reports, as FILE:LINE: warning: ... or FILE:LINE: UNSAFE: ...
  - rules that can never match (shadowed by an earlier rule, or of an expired identity);
  - exec rules with a bare * word, or whose program can run others (a shell, an interpreter,
    find, tar, less, git, ...); programs that are missing or not executable;
  - rsync roots and receive directories that are missing or writable by others, and an rsync
    older than 3.5.0 (no --confine-root, no --drop-D);
  - UNSAFE: write rules (rsync write, receive) whose directory is, contains or lies in a home
    directory's .ssh, is or contains a home directory, or overlaps the policy or log directory:
    a stolen key could then plant authorized_keys, ~/.ssh/rc or shell start-up files;
  - sshd settings (sshd -T, read when run as root, or from --sshd-config FILE):
    PermitUserEnvironment, ExposeAuthInfo, PermitRootLogin, AcceptEnv;
  - with --authorized-keys FILE (repeatable): ssh-dispatch lines without restrict, with
    environment=, or naming an identity the policy lacks; keys in the same file with no
    command=; and an account whose login shell is bash (it reads ~/.bashrc before the command).

Exit status: 0 the policy loads and nothing is UNSAFE, 1 otherwise.`;

function homeDirectories(): string[] {
  return readAccounts()
    .filter((a) => (a.uid === 0 || a.uid >= 1000) && a.home !== '/' && a.home !== '' && existsSync(a.home))
    .map((a) => a.home);
}

function filesystemFindings(policy: Policy, policyPath: string): Finding[] {
  const findings: Finding[] = [];
  const rsyncs = new Map<string, RsyncFeatures>();
  for (const identity of policy.identities.values()) {
    for (const rule of identity.rules) {
      const where = rule.where;
      if (rule.kind === 'rsync' && rule.root !== '/') {
        const features = rsyncs.get(rule.program) ?? probeRsync(rule.program);
        rsyncs.set(rule.program, features);
        if (!features.confineRoot || !features.dropD) {
          findings.push({ where, level: 'warning', message: `rule "${rule.name}": ${rule.program} (rsync ${features.version ?? 'of unknown version'}) lacks --confine-root and --drop-D (rsync 3.5.0): filter merge files can name files outside root, a root receiver can create devices, and symlinks swapped into a destination are followed; upgrade rsync` });
        }
      }
      const dirOf = rule.kind === 'rsync' ? rule.root : rule.kind === 'receive' ? rule.dir : rule.kind === 'exec' ? rule.cwd : null;
      if (rule.kind === 'exec') {
        try {
          accessSync(rule.program, constants.X_OK);
        } catch {
          findings.push({ where, level: 'warning', message: `rule "${rule.name}": ${rule.program} is missing or not executable` });
        }
      }
      if (dirOf) {
        try {
          const stats = statSync(dirOf);
          if (!stats.isDirectory()) findings.push({ where, level: 'warning', message: `rule "${rule.name}": ${dirOf} is not a directory` });
          else if ((stats.mode & 0o002) !== 0) findings.push({ where, level: 'warning', message: `rule "${rule.name}": ${dirOf} is writable by others: local users could plant files or symlinks there` });
        } catch {
          findings.push({ where, level: 'warning', message: `rule "${rule.name}": ${dirOf} does not exist (its requests will be refused or fail)` });
        }
      }
    }
  }
  const homes = homeDirectories();
  const policyDir = statSync(policyPath).isDirectory() ? policyPath : dirname(policyPath);
  for (const { rule, identity, dir } of writeTargets(policy)) {
    const unsafe = (why: string) => findings.push({ where: rule.where, level: 'unsafe', message: `rule "${rule.name}" of ${identity} writes to ${dir}, which ${why}` });
    for (const home of homes) {
      const ssh = overlaps(dir, `${home}/.ssh`);
      const relation = overlaps(dir, home);
      if (ssh) unsafe(ssh === 'inside' ? `lies in ${home}/.ssh` : `reaches ${home}/.ssh (authorized_keys, rc)`);
      else if (relation === 'same' || relation === 'contains') unsafe(`reaches the start-up files of ${home} (.bashrc, .profile)`);
    }
    if (overlaps(dir, policyDir)) unsafe(`overlaps the policy directory ${policyDir}`);
    const logDir = dirname(policy.audit.file);
    if (overlaps(dir, logDir)) unsafe(`overlaps the audit log directory ${logDir}`);
  }
  return findings;
}

function sshdFindings(configFile: string | undefined, policy: Policy): string[] {
  const usesKeys = [...policy.identities.values()].some((identity) => identity.keys !== null);
  if (configFile === undefined && (process.getuid?.() !== 0 || !existsSync('/usr/sbin/sshd') || !existsSync('/etc/ssh/sshd_config'))) return [];
  const result = childProcess().spawnSync('/usr/sbin/sshd', ['-T', ...(configFile ? ['-f', configFile] : [])], { encoding: 'utf8', timeout: 10_000 });
  if (result.status !== 0) return [`sshd -T: could not read the sshd settings (${(result.stderr ?? '').trim().split('\n')[0] ?? 'failed'})`];
  const settings = new Map<string, string[]>();
  for (const line of result.stdout.split('\n')) {
    const [key, ...value] = line.trim().split(/\s+/);
    if (key) settings.set(key.toLowerCase(), [...(settings.get(key.toLowerCase()) ?? []), value.join(' ')]);
  }
  const findings: string[] = [];
  const first = (key: string) => settings.get(key)?.[0] ?? '';
  if (first('permituserenvironment') !== 'no') findings.push(`sshd: PermitUserEnvironment ${first('permituserenvironment')}: a key's environment could set NODE_OPTIONS or LD_PRELOAD before ssh-dispatch runs; set it to no`);
  if (usesKeys && first('exposeauthinfo') !== 'yes') findings.push('sshd: ExposeAuthInfo is not yes: identities with a keys list will deny every request (no key is exposed)');
  if (first('permitrootlogin') === 'yes') findings.push('sshd: PermitRootLogin yes: root keys need not have a forced command; forced-commands-only keeps root keys to ssh-dispatch');
  const accepted = (settings.get('acceptenv') ?? []).flatMap((v) => v.split(/\s+/)).filter((v) => v && !/^(LANG|LC_\*|LC_[A-Z_]+|LANGUAGE)$/.test(v));
  if (accepted.length > 0) findings.push(`sshd: AcceptEnv ${accepted.join(' ')}: clients may set these for ssh-dispatch and the programs it starts; keep AcceptEnv to LANG LC_*`);
  return findings;
}

export async function runCheck(args: string[]): Promise<number> {
  const { values } = parseFlags(args, { policy: { type: 'string' }, 'sshd-config': { type: 'string' }, 'authorized-keys': { type: 'string', multiple: true }, help: { type: 'boolean', short: 'h' } });
  if (values.help) {
    console.log(CHECK_HELP);
    return 0;
  }
  const policyPath = values.policy ?? DEFAULT_POLICY_PATH;
  const loaded = await loadPolicy(policyPath, { writeCache: true });
  if (!loaded.ok) {
    for (const error of loaded.errors) process.stdout.write(`${printable(formatPolicyError(error))}\n`);
    process.stdout.write(`${loaded.errors.length} error(s): every request would be denied\n`);
    return 1;
  }
  const { policy } = loaded;
  const findings = [...lintPolicy(policy, new Date()), ...filesystemFindings(policy, policyPath)];
  for (const finding of findings) {
    process.stdout.write(`${printable(`${finding.where.file}:${finding.where.line}: ${finding.level === 'unsafe' ? 'UNSAFE' : 'warning'}: ${finding.message}`)}\n`);
  }
  const sshd = [...sshdFindings(values['sshd-config'], policy), ...(values['authorized-keys'] ?? []).flatMap((file) => authorizedKeysFindings(file, policy))];
  for (const line of sshd) process.stdout.write(`${printable(line)}\n`);
  const rules = [...policy.identities.values()].reduce((n, identity) => n + identity.rules.length, 0);
  const unsafe = findings.filter((f) => f.level === 'unsafe').length;
  const warnings = findings.length - unsafe + sshd.length;
  process.stdout.write(`${unsafe > 0 ? `${unsafe} UNSAFE finding(s)` : 'ok'}: ${policy.identities.size} identities, ${rules} rules in ${policy.files.length} file(s); audit log ${policy.audit.file}${warnings > 0 ? `; ${warnings} warning(s)` : ''}\n`);
  if (loaded.cache === 'not written') process.stdout.write('note: the compiled cache could not be written beside the policy; connections will parse the YAML each time\n');
  return unsafe > 0 ? 1 : 0;
}
