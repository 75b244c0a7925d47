/**
 * `ssh-dispatch check`: loads the policy exactly as a connection would, compiles it for fast
 * connection starts, and reports what loads but is probably not meant (policy/lint.ts), what the
 * filesystem says about the rules' programs and directories, and what sshd's settings allow.
 */
import { accessSync, constants, existsSync, readdirSync, readFileSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { printable } from '../values/printable.js';
import { childProcess, crypto } from '../lazy-builtins.js';
import { formatPolicyError } from '../values/policy-error.js';
import { kindOf, type Rule } from '../rules/kinds.js';
import { missingGitDenies, receivePackRepository } from '../rules/exec/lint.js';
import { lintPolicy, protectedPaths, writeRootFindings, type Finding } from '../policy/lint.js';
import { loadPolicy } from '../policy/load.js';
import { DEFAULT_POLICY_PATH, type Policy } from '../policy/schema.js';
import { probeRsync } from '../host/rsync-features.js';
import { sandboxUnavailable } from '../host/sandbox-available.js';
import { BWRAP, ROOT_CAPS } from '../rules/sandbox.js';
import { bwrapArgs, hostLayout, SECRETS } from '../act/sandbox.js';
import type { RsyncFeatures } from '../rules/rsync/match.js';
import { parseFlags } from '../args.js';
import { authorizedKeysFindings, type TextFinding } from './check-keys.js';
import { loginFindings, sshdLoginFindings } from './check-fleet.js';
import { nssAccounts } from '../host/accounts.js';
import { accountLogFile } from '../audit/sink.js';
import { slotDirectory } from '../act/limits.js';
import { readCaFile } from '../audit/syslog.js';
import { runningUid, untrustedWriter } from '../trust.js';
import { isWithin } from '../values/paths.js';
import { networkText } from '../values/address.js';

export const CHECK_HELP = `Usage: ssh-dispatch check [--policy PATH] [--strict] [--as USER] [--sshd-config FILE] [--authorized-keys FILE]...

Loads the policy (a file, or every *.yaml / *.yml file of a directory) with the same strict
checks a connection applies, and prints each error as FILE:LINE: KEY: what was expected.
A policy that does not load denies every request. A policy that loads is also compiled into
.ssh-dispatch-cache/ beside it (where this user may write), which connections read instead of
parsing the YAML.

Then it reports, as FILE:LINE: warning: ... or FILE:LINE: UNSAFE: ...
  - UNSAFE: write rules (rsync write/read-write, receive) whose directory, symlinks resolved,
    is, lies in or contains: any account's home (every uid, read with getent passwd), /etc,
    /usr, /bin, /sbin, /lib*, /boot, /var/spool/cron, systemd's and sudoers' directories, the
    policy, the audit log, or where ssh-dispatch and its Node runtime are installed;
  - UNSAFE: exec rules whose program is a shell, an interpreter, sudo, env or another runner
    and any of whose words (the first included) is a glob; and a glob word that can be any
    absolute path (a leading **, or /* and /**) for a program that reads or writes files
    (outside a sandbox); exec rules that run sftp-server or scp outside a sandbox (an sftp rule
    serves them confined), or rdiff-backup server outside one (it unpickles the client's first
    message: code as this account; with writable sandbox paths, a warning);
  - errors (the rule's requests cannot be served): sandboxed rules (rsync by default, exec with
    sandbox:, sftp) where /usr/bin/bwrap is missing or cannot build a namespace, and exec
    sandbox paths that do not exist; a warning when other accounts than root could not have
    one (user namespaces switched off);
  - errors: an audit.syslog.tls ca file that cannot be read (as a connection reads it: a
    regular file of at most 1 MiB), holds no PEM certificate, has one that does not parse, or
    none valid today: no record would reach the syslog collector (the file log has them all);
  - warnings: git-receive-pack rules whose repository's config lacks receive.denyNonFastForwards
    or receive.denyDeletes (forced pushes and deletions are taken); borg serve rules whose
    repository's config is not a sandbox read path (borg key import replaces the repokey);
  - warnings: rules that can never match (shadowed, or of an expired identity); exec rules with
    a bare * word or a program that can run others with literal words; programs that are
    missing or not executable; rule directories that are missing, owned by another non-root
    account, or writable by group or others; write rules on the audit log's filesystem (a
    client filling it would deny every identity); an rsync older than 3.5.0;
  - sshd settings (sshd -T, read when run as root, or from --sshd-config FILE): UNSAFE for
    PermitUserEnvironment that lets NODE_OPTIONS, LD_PRELOAD and the like through, and for
    TrustedUserCAKeys without a principals command or file (a certificate naming an account
    gets its shell); warnings for ExposeAuthInfo, PermitRootLogin yes, AcceptEnv beyond LANG LC_*;
  - the policy as the only list of keys (docs/fleet.md): errors when sshd would refuse to run
    ssh-dispatch authorized-keys-command or authorized-principals-command (not %u %t %k / %u,
    no command user, a path not root's up to /), when the command fails run as its user (it
    cannot read the policy or the cache this check writes), and when identities with
    principals cannot see their certificate (ExposeAuthInfo); warnings for a shared command
    user (root, nobody), authorized_keys files still read beside the policy, identities with
    principals but no accounts, and a key or principal two identities claim for one account;
  - with --authorized-keys FILE (repeatable): UNSAFE for an ssh-dispatch line that leaves
    port forwarding on without permitopen=, or a pty, agent or X11 forwarding or ~/.ssh/rc on
    (no restrict, or re-enabled after it), or that has environment=; warnings for a command=
    the forced mode would refuse or an identity the policy lacks, keys in the same file with
    no command=, and an account whose login shell is bash.

  - with --as USER (as root), and for every account of the policy's accounts: lists that this
    host has: errors when that account, whose keys run ssh-dispatch, cannot
    read the policy or append to its own audit log (AUDIT_DIR/audit.USER.jsonl beside the
    policy's audit.file, which install.sh --account USER creates for it): every request of
    its keys would be denied; a warning when it cannot read audit.syslog.tls.ca (its records
    would not reach the collector); an error when the policy has max-sessions or single-run
    and the account cannot write AUDIT_DIR/sessions.USER/ (install.sh --account USER creates
    it), where their sessions are counted.

The summary line says "ok" only when there is no finding at all. When nothing fails, the policy
is also approved: keys whose command= line says --approved serve this version of it until check
passes on the next one.
--strict: warnings fail too.
Exit status: 0 the policy loads and nothing is UNSAFE or an error (with --strict: nothing at
all), 1 otherwise.`;

/**
 * A path with its symlinks resolved, as the kernel will follow them when a rule writes there.
 * A path that does not exist yet is its deepest existing ancestor, resolved, plus the rest: a
 * rule that creates it later lands where that ancestor points.
 */
export function resolvePath(path: string, depth = 0): string {
  try {
    return realpathSync(path);
  } catch {
    const parent = dirname(path);
    if (parent === path || depth > 40) return path;
    const resolvedParent = resolvePath(parent, depth + 1);
    try {
      // A dangling symlink: a write through it creates its target.
      return resolvePath(resolve(resolvedParent, readlinkSync(path)), depth + 1);
    } catch {
      return join(resolvedParent, basename(path));
    }
  }
}

/** Where this ssh-dispatch runs from: its bundle's directory, its Node runtime, and install.sh's default. */
function installDirectories(): string[] {
  const dirs = ['/usr/local/lib/ssh-dispatch', dirname(process.execPath)];
  if (process.argv[1]) dirs.push(dirname(resolvePath(process.argv[1])));
  return dirs;
}

/** A push rule's repository without git's refusals of forced pushes and deletions: its config, read now. */
function gitDenyFindings(name: string, where: Finding['where'], repository: string): Finding[] {
  const config = [join(repository, 'config'), join(repository, '.git', 'config')].find((file) => existsSync(file));
  let text: string;
  try {
    text = readFileSync(config ?? join(repository, 'config'), 'utf8');
  } catch {
    return [{ where, level: 'warning', message: `rule "${name}": cannot read ${repository}'s git config, so whether it refuses forced pushes and branch deletions is unknown` }];
  }
  const missing = missingGitDenies(text);
  if (missing === null || missing.length === 0) return [];
  const commands = missing.map((key) => `git --git-dir ${repository} config ${key} true`).join('; ');
  return [{ where, level: 'warning', message: `rule "${name}" pushes into ${repository}, which does not set ${missing.join(' or ')}: a stolen key can force-push over its history and delete its branches; ${commands} (docs/recipes.md, "git")` }];
}

function filesystemFindings(policy: Policy, policyPath: string): Finding[] {
  const findings: Finding[] = [];
  const rsyncs = new Map<string, RsyncFeatures>();
  const logDir = dirname(policy.audit.file);
  let logDevice: number | null = null;
  try {
    logDevice = statSync(logDir).dev;
  } catch {
    // No log directory yet: nothing to share a filesystem with.
  }
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
      const dirOf = rule.kind === 'rsync' || rule.kind === 'sftp' ? rule.root : rule.kind === 'receive' ? rule.dir : rule.kind === 'exec' ? rule.cwd : null;
      if (rule.kind === 'exec' && rule.sandbox) {
        for (const path of [...rule.sandbox.read, ...rule.sandbox.write]) {
          if (!existsSync(path)) findings.push({ where, level: 'error', message: `rule "${rule.name}": sandbox path ${path} does not exist: bwrap cannot bind it, so nothing will run (sandbox-failed)` });
        }
      }
      if (rule.kind === 'exec') {
        try {
          accessSync(rule.program, constants.X_OK);
        } catch {
          findings.push({ where, level: 'warning', message: `rule "${rule.name}": ${rule.program} is missing or not executable` });
        }
        const repository = receivePackRepository(rule, resolvePath(rule.program));
        if (repository) findings.push(...gitDenyFindings(rule.name, where, repository));
      }
      if (dirOf) {
        try {
          const stats = statSync(dirOf);
          if (!stats.isDirectory()) findings.push({ where, level: 'warning', message: `rule "${rule.name}": ${dirOf} is not a directory` });
          else {
            const why = untrustedWriter(stats, runningUid());
            if (why) findings.push({ where, level: 'warning', message: `rule "${rule.name}": ${dirOf} is ${why}: local users could plant files or symlinks there` });
            if (kindOf(rule.kind).writesTo(rule).length > 0 && stats.dev === logDevice) {
              findings.push({ where, level: 'warning', message: `rule "${rule.name}": ${dirOf} is on the same filesystem as the audit log (${logDir}): the rule's min-free floor is all that keeps a client from filling it, and a full log denies every identity; put the log on a filesystem no rule writes to` });
            }
          }
        } catch {
          findings.push({ where, level: 'warning', message: `rule "${rule.name}": ${dirOf} does not exist (its requests will be refused or fail)` });
        }
      }
    }
  }
  findings.push(...sandboxFindings(policy, policyPath));
  const nss = nssAccounts();
  if (nss.problem) findings.push({ where: { file: policyPath, line: 0 }, level: 'warning', message: `${nss.problem}; homes of other accounts were not checked` });
  const policyDir = statSync(policyPath).isDirectory() ? policyPath : dirname(policyPath);
  let topLevel: string[] = [];
  try {
    topLevel = readdirSync('/');
  } catch {
    // /lib, /lib64 and the like are then the only ones checked, through SYSTEM_PATHS' /usr.
  }
  const guarded = protectedPaths({ accounts: nss.accounts, topLevel, policyDir, logDir: dirname(policy.audit.file), installDirs: installDirectories() });
  findings.push(...writeRootFindings(policy, guarded, resolvePath));
  return findings;
}

/**
 * The CA file of syslog over TLS, read as a connection reads it (audit/syslog.ts): a connection
 * that cannot use it sends nothing to the collector and says nothing, so this is where it is
 * said. Node takes a file without a certificate in it silently (and then trusts nothing), so
 * the certificates are parsed here, each PEM block.
 */
function syslogTlsFindings(policy: Policy, now: Date): Finding[] {
  const tls = policy.audit.syslog?.tls;
  if (!tls) return [];
  const fail = (what: string): Finding[] => [{ where: tls.where, level: 'error', message: `audit.syslog.tls.ca: ${tls.ca} ${what}: no record will reach the syslog collector (the audit file still gets every one)` }];
  const read = readCaFile(tls.ca);
  if (!read.ok) return fail(read.problem);
  const blocks = read.pem.toString('latin1').match(/-----BEGIN CERTIFICATE-----[^-]*-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) return fail('holds no PEM certificate (-----BEGIN CERTIFICATE-----)');
  const certificates = [];
  for (const [i, block] of blocks.entries()) {
    try {
      certificates.push(new (crypto().X509Certificate)(block));
    } catch {
      return fail(`has a certificate that does not parse (number ${i + 1} of ${blocks.length})`);
    }
  }
  if (!certificates.some((c) => c.validFromDate <= now && now <= c.validToDate)) {
    return fail(`has no certificate valid now (${certificates.map((c) => `valid ${c.validFromDate.toISOString().slice(0, 10)} to ${c.validToDate.toISOString().slice(0, 10)}`).join(', ')})`);
  }
  return [];
}

/** Whether a rule starts its program in the sandbox. */
function sandboxed(rule: Rule): boolean {
  return rule.kind === 'sftp' || (rule.kind === 'rsync' && rule.sandbox) || (rule.kind === 'exec' && rule.sandbox !== null);
}

/** The secrets (act/sandbox.ts SECRETS) that are, hold or lie in one of `paths`. */
function secretsIn(paths: readonly string[]): string[] {
  return SECRETS.filter((secret) => paths.some((path) => isWithin(path, secret) || isWithin(secret, path)));
}

function listed(secrets: readonly string[]): string {
  return secrets.length <= 4 ? secrets.join(', ') : `${secrets.slice(0, 4).join(', ')} and ${secrets.length - 4} more`;
}

/**
 * What a sandboxed rule's paths hold of the secrets: a rule that reads them and does not say
 * `secrets:` (its pulls of them fail, by design: the owner should choose), one that serves them
 * (its clients read password hashes and host keys), one that writes or serves files over them
 * (the program sees them covered).
 */
export function secretsFindings(rule: Rule): Finding[] {
  const warn = (message: string): Finding[] => [{ where: rule.where, level: 'warning', message: `rule "${rule.name}": ${message}` }];
  const reading = rule.kind === 'exec' ? [...(rule.sandbox?.read ?? []), ...(rule.sandbox?.write ?? [])] : rule.kind === 'rsync' && rule.sandbox && rule.access !== 'write' ? (rule.paths ?? [rule.root]) : [];
  const said = rule.kind === 'exec' ? (rule.sandbox?.secrets ?? null) : rule.kind === 'rsync' ? rule.secrets : null;
  const held = secretsIn(reading);
  if (held.length > 0 && said === null) {
    return warn(`its paths (${reading.join(', ')}) hold ${listed(held)}, which the sandbox withholds: a request that reads them fails (rsync exits 23, "Permission denied"); say secrets: serve to back them up, or secrets: withhold to keep them out`);
  }
  if (held.length > 0 && said === 'serve') return warn(`secrets: serve hands its clients ${listed(held)} (password hashes, host keys, service keys): a stolen key reads them`);
  if (held.length > 0) return [];
  const others = rule.kind === 'rsync' && rule.access === 'write' ? (rule.paths ?? [rule.root]) : rule.kind === 'sftp' ? [rule.root] : [];
  const covered = secretsIn(others);
  return covered.length > 0 ? warn(`${others[0]} holds or lies in ${listed(covered)}, which the sandbox keeps covered: the program sees it empty`) : [];
}

/**
 * Whether the sandboxed rules can run here: bwrap is there and builds a namespace (tried, as the
 * running user), and whether another account could (user namespaces). A rule that cannot is an
 * error: every request for it is denied (sandbox-unavailable) or fails (sandbox-failed).
 */
function sandboxFindings(policy: Policy, policyPath: string): Finding[] {
  const rules = [...policy.identities.values()].flatMap((identity) => identity.rules).filter(sandboxed);
  if (rules.length === 0) return [];
  const where = rules[0]!.where;
  const names = rules.length === 1 ? `rule "${rules[0]!.name}"` : `${rules.length} rules (the first: "${rules[0]!.name}")`;
  const findings: Finding[] = rules.flatMap(secretsFindings);
  const missing = sandboxUnavailable(runningUid());
  if (missing) return [...findings, { where, level: 'error', message: `${names} run in the sandbox, and ${missing}: every request for them is denied (sandbox-unavailable)` }];
  // The namespace a pull gets, around /usr/bin/true.
  const args = bwrapArgs({ sandbox: { read: [], write: [], rootCaps: [...ROOT_CAPS.read] }, runtime: [], read: [], write: [], cwd: null, statusFd: null, argv: ['/usr/bin/true'] }, hostLayout());
  const probe = childProcess().spawnSync(BWRAP, args, { encoding: 'utf8', timeout: 10_000, env: { PATH: '/usr/bin:/bin' } });
  if (probe.status !== 0) {
    const said = (probe.stderr ?? '').trim().split('\n')[0] || (probe.error?.message ?? `exit ${probe.status}`);
    return [...findings, { where, level: 'error', message: `${names} run in the sandbox, and bwrap could not build one here (${said}): nothing will run (sandbox-failed)` }];
  }
  const otherAccounts = runningUid() === 0 ? sandboxUnavailable(1) : null;
  if (otherAccounts) findings.push({ where: { file: policyPath, line: 0 }, level: 'warning', message: `sandboxed rules work for root here, not for other accounts: ${otherAccounts}` });
  return findings;
}

/**
 * What an account whose keys run ssh-dispatch needs: to read every policy file, and to append to
 * its own audit log. Tried as that account, in a child process with its uid and gid: whatever
 * the modes, owners, ACLs or mount options say, this is what the kernel answers.
 */
function accountFindings(user: string, policy: Policy, label = `--as ${user}`): TextFinding[] {
  const account = nssAccounts().accounts.find((a) => a.user === user);
  if (!account) return [{ level: 'error', text: `${label}: no such account` }];
  const log = accountLogFile(policy.audit.file, account.uid, user);
  const probe = `const fs = require('fs'); const out = [];
for (const f of JSON.parse(process.argv[1])) { try { fs.closeSync(fs.openSync(f, 'r')); } catch (e) { out.push(f + ': cannot be read (' + e.code + ')'); } }
try { fs.closeSync(fs.openSync(process.argv[2], fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_NOFOLLOW)); } catch (e) { out.push(process.argv[2] + ': cannot be appended to (' + e.code + (e.code === 'ENOENT' ? ': install.sh --account ' + process.argv[3] + ' creates it' : '') + ')'); }
if (process.argv[4]) { try { fs.closeSync(fs.openSync(process.argv[4], 'r')); } catch (e) { out.push('ca:' + process.argv[4] + ': cannot be read (' + e.code + ')'); } }
if (process.argv[5]) { try { fs.accessSync(process.argv[5], fs.constants.W_OK | fs.constants.X_OK); } catch (e) { out.push('limits:' + process.argv[5] + ': cannot be written (' + e.code + (e.code === 'ENOENT' ? ': install.sh --account ' + process.argv[3] + ' creates it' : '') + ')'); } }
process.stdout.write(JSON.stringify(out));`;
  const ca = policy.audit.syslog?.tls?.ca ?? '';
  // max-sessions and single-run count sessions in the account's own directory (act/limits.ts).
  const limited = [...policy.identities.values()].some((identity) => identity.maxSessions || identity.rules.some((rule) => rule.kind === 'rsync' && rule.singleRun));
  const slots = limited ? slotDirectory(policy.audit.file, account.uid, user) : '';
  const result = childProcess().spawnSync(process.execPath, ['-e', probe, JSON.stringify(policy.files), log, user, ca, slots], { uid: account.uid, gid: account.gid, encoding: 'utf8', timeout: 10_000, env: { PATH: '/usr/bin:/bin' } });
  if (result.error) return [{ level: 'error', text: `${label}: could not run as the account (${(result.error as NodeJS.ErrnoException).code ?? result.error.message}; run check as root)` }];
  let problems: string[];
  try {
    problems = JSON.parse(result.stdout) as string[];
  } catch {
    return [{ level: 'error', text: `${label}: the probe failed (${(result.stderr ?? '').trim().split('\n')[0]})` }];
  }
  return problems.map((problem) =>
    problem.startsWith('ca:')
      ? { level: 'warning' as const, text: `${label}: warning: audit.syslog.tls.ca ${problem.slice(3)}: the records of this account's sessions will not reach the collector (the audit file still gets them)` }
      : problem.startsWith('limits:')
        ? { level: 'error' as const, text: `${label}: error: ${problem.slice(7)}: the sessions of identities with max-sessions, and of rsync rules with single-run, cannot be counted, so their requests would be denied (limits-unusable)` }
        : { level: 'error' as const, text: `${label}: error: ${problem}: every request of this account's keys would be denied` },
  );
}

/**
 * The accounts the policy's identities log into (`accounts:`), other than root and those named
 * with --as, tried as --as tries them, when run as root: a policy 0640 to the commands' group
 * serves the keys and then denies every session of an account outside that group (found in
 * review). An account this host does not have is skipped: one policy serves a fleet.
 */
function listedAccountFindings(policy: Policy, named: readonly string[]): TextFinding[] {
  if (runningUid() !== 0) return [];
  const known = new Set(nssAccounts().accounts.map((a) => a.user));
  const listed = new Set([...policy.identities.values()].flatMap((identity) => identity.accounts ?? []));
  return [...listed].filter((user) => user !== 'root' && !named.includes(user) && known.has(user)).flatMap((user) => accountFindings(user, policy, `account ${user} (in accounts:)`));
}

/** Variables that, set before ssh-dispatch starts, are code in it: what PermitUserEnvironment must not let through. */
const CODE_VARIABLES = ['NODE_OPTIONS', 'LD_PRELOAD', 'LD_LIBRARY_PATH', 'LD_AUDIT', 'BASH_ENV', 'ENV', 'PATH', 'GLIBC_TUNABLES'];

/** Whether an sshd pattern-list (`*` and `?`, `!` negation) lets a variable name through. */
export function patternListAllows(list: string, name: string): boolean {
  let allowed = false;
  for (const item of list.split(',').map((p) => p.trim()).filter(Boolean)) {
    const negated = item.startsWith('!');
    const body = (negated ? item.slice(1) : item).replace(/[.+^$|\\(){}[\]]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
    const glob = new RegExp(`^${body}$`);
    if (glob.test(name)) {
      if (negated) return false;
      allowed = true;
    }
  }
  return allowed;
}

function sshdFindings(configFile: string | undefined, policy: Policy): TextFinding[] {
  const usesKeys = [...policy.identities.values()].some((identity) => identity.keys !== null);
  if (configFile === undefined && (process.getuid?.() !== 0 || !existsSync('/usr/sbin/sshd') || !existsSync('/etc/ssh/sshd_config'))) return [];
  const settings = readSshdSettings(configFile);
  if (typeof settings === 'string') return [{ level: 'warning', text: `sshd -T: could not read the sshd settings (${settings})` }];
  const findings: TextFinding[] = [];
  const warn = (text: string) => findings.push({ level: 'warning', text });
  const first = (key: string) => settings.get(key)?.[0] ?? '';
  const userEnvironment = first('permituserenvironment');
  if (userEnvironment !== 'no' && userEnvironment !== '') {
    // yes, or a pattern list: either way what it lets through is set before ssh-dispatch runs.
    const code = userEnvironment === 'yes' ? CODE_VARIABLES : CODE_VARIABLES.filter((name) => patternListAllows(userEnvironment, name));
    if (code.length > 0) findings.push({ level: 'unsafe', text: `sshd: UNSAFE: PermitUserEnvironment ${userEnvironment}: a key's environment= or ~/.ssh/environment can set ${code.join(', ')} before ssh-dispatch runs, which is code execution ahead of every check; set it to no` });
    else warn(`sshd: warning: PermitUserEnvironment ${userEnvironment}: keys may set these variables for ssh-dispatch and what it starts; set it to no`);
  }
  if (usesKeys && first('exposeauthinfo') !== 'yes') warn('sshd: warning: ExposeAuthInfo is not yes: identities with a keys list will deny every request (no key is exposed)');
  if (first('permitrootlogin') === 'yes') warn('sshd: warning: PermitRootLogin yes: root keys need not have a forced command; forced-commands-only keeps root keys to ssh-dispatch');
  const accepted = (settings.get('acceptenv') ?? []).flatMap((v) => v.split(/\s+/)).filter((v) => v && !/^(LANG|LC_\*|LC_[A-Z_]+|LANGUAGE|GIT_PROTOCOL)$/.test(v));
  if (accepted.length > 0) warn(`sshd: warning: AcceptEnv ${accepted.join(' ')}: clients may set these for ssh-dispatch and the programs it starts; keep AcceptEnv to LANG LC_* (and GIT_PROTOCOL for exec rules with pass-env)`);
  findings.push(...loginSettingsFindings(configFile, settings, policy));
  return findings;
}

/** sshd -T's settings (for the connection `-C` describes, Match blocks applied), or why not. */
function readSshdSettings(configFile: string | undefined, connection?: string): Map<string, string[]> | string {
  const result = childProcess().spawnSync('/usr/sbin/sshd', ['-T', ...(configFile ? ['-f', configFile] : []), ...(connection ? ['-C', connection] : [])], { encoding: 'utf8', timeout: 10_000 });
  if (result.status !== 0) return (result.stderr ?? '').trim().split('\n')[0] || 'failed';
  const settings = new Map<string, string[]>();
  for (const line of result.stdout.split('\n')) {
    const [key, ...value] = line.trim().split(/\s+/);
    if (key) settings.set(key.toLowerCase(), [...(settings.get(key.toLowerCase()) ?? []), value.join(' ')]);
  }
  return settings;
}

/**
 * The login commands' side of sshd, for every account the policy's identities log into (and
 * root), from the loopback address and from each network of the identities' from lists: plain
 * sshd -T leaves Match blocks out, and a Match block can trust a CA or read principals files for
 * one account or address only (found in review). A finding for some of them only says which.
 * Match criteria other than user and address (Host, LocalPort, ...) are not tried.
 */
function loginSettingsFindings(configFile: string | undefined, global: Map<string, string[]>, policy: Policy): TextFinding[] {
  const identities = [...policy.identities.values()];
  const accounts = [...new Set(['root', ...identities.flatMap((identity) => identity.accounts ?? [])])];
  const addresses = [...new Set(['127.0.0.1', ...identities.flatMap((identity) => (identity.from ?? []).map((range) => networkText(range).split('/')[0]!))])].slice(0, 16);
  const contexts = accounts.flatMap((account) => addresses.map((address) => ({ account, address })));
  const found = new Map<string, { finding: TextFinding; contexts: { account: string; address: string }[] }>();
  const unread: string[] = [];
  for (const context of contexts) {
    const connection = `user=${context.account},host=localhost,addr=${context.address}`;
    const read = readSshdSettings(configFile, connection);
    if (typeof read === 'string') unread.push(`${connection} (${read})`);
    for (const finding of sshdLoginFindings(typeof read === 'string' ? global : read, policy)) {
      const entry = found.get(finding.text) ?? { finding, contexts: [] };
      entry.contexts.push(context);
      found.set(finding.text, entry);
    }
  }
  const findings = [...found.values()].map(({ finding, contexts: these }) => {
    if (these.length === contexts.length) return finding;
    const users = [...new Set(these.map((c) => c.account))];
    const from = [...new Set(these.map((c) => c.address))];
    const where = `${users.length === accounts.length ? 'any account' : users.join(', ')}${from.length === addresses.length ? '' : ` from ${from.join(', ')}`}`;
    return { ...finding, text: finding.text.replace(/^sshd: /, `sshd (Match, for ${where}): `) };
  });
  if (unread.length > 0) findings.push({ level: 'warning', text: `sshd -T -C: could not read the settings for ${unread.slice(0, 3).join('; ')}${unread.length > 3 ? ` and ${unread.length - 3} more` : ''}: the global settings were checked for them instead` });
  return findings;
}

export async function runCheck(args: string[]): Promise<number> {
  const { values } = parseFlags(args, { policy: { type: 'string' }, as: { type: 'string', multiple: true }, 'sshd-config': { type: 'string' }, 'authorized-keys': { type: 'string', multiple: true }, strict: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } });
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
  const ruleFindings = [...lintPolicy(policy, new Date(), { resolveProgram: resolvePath }), ...filesystemFindings(policy, policyPath), ...syslogTlsFindings(policy, new Date())];
  const findings: TextFinding[] = [
    ...ruleFindings.map((f) => ({ level: f.level, text: `${f.where.file}:${f.where.line}: ${f.level === 'unsafe' ? 'UNSAFE' : f.level}: ${f.message}` })),
    ...loginFindings(policy),
    ...sshdFindings(values['sshd-config'], policy),
    ...(values['authorized-keys'] ?? []).flatMap((file) => authorizedKeysFindings(file, policy)),
    ...(values.as ?? []).flatMap((user) => accountFindings(user, policy)),
    ...listedAccountFindings(policy, values.as ?? []),
  ];
  for (const finding of findings) process.stdout.write(`${printable(finding.text)}\n`);
  const rules = [...policy.identities.values()].reduce((n, identity) => n + identity.rules.length, 0);
  const unsafe = findings.filter((f) => f.level === 'unsafe').length;
  const errors = findings.filter((f) => f.level === 'error').length;
  const warnings = findings.length - unsafe - errors;
  const failed = unsafe > 0 || errors > 0 || (values.strict === true && warnings > 0);
  // "ok" only when there is nothing to read above it: a summary that says ok under findings gets skimmed as ok.
  const verdict = unsafe > 0 ? `${unsafe} UNSAFE finding(s)` : errors > 0 ? `${errors} error(s)` : warnings > 0 ? `${warnings} warning(s)${values.strict ? ' (--strict: failing)' : ''}` : 'ok';
  const counted = [unsafe > 0 && errors > 0 ? `${errors} error(s)` : '', (unsafe > 0 || errors > 0) && warnings > 0 ? `${warnings} warning(s)` : ''].filter(Boolean).map((c) => `; ${c}`).join('');
  process.stdout.write(`${verdict}: ${policy.identities.size} identities, ${rules} rules in ${policy.files.length} file(s); audit log ${policy.audit.file}${counted}\n`);
  if (loaded.cache === 'not written') process.stdout.write('note: the compiled cache could not be written beside the policy; connections will parse the YAML each time\n');
  // Keys with --approved serve what passed here, and only that.
  if (!failed && loaded.approve) {
    const approval = loaded.approve();
    if (approval === 'approved') process.stdout.write('approved: keys with --approved serve this version of the policy from now on\n');
    else if (approval !== 'unchanged') process.stdout.write(`note: could not approve the policy for --approved keys (${approval})\n`);
  }
  return failed ? 1 : 0;
}
