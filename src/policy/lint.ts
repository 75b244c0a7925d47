/**
 * Lint for `ssh-dispatch check`: what loads but is probably not what the admin meant. Pure: it
 * looks at the policy only (check.ts adds what needs the filesystem).
 *
 * - rules that can never match: shadowed by an earlier rule of the same identity, or of an
 *   identity whose expiry date has passed;
 * - relay rules to whole networks (a CIDR wider than /16, or /48 for IPv6);
 * - exec rules that give away more than they seem to: a bare `*` word (any file name in the
 *   working directory), a program that is a shell, an interpreter or another way out (GTFOBins);
 *   UNSAFE when such a program gets a glob word (the client's words become code), and when a
 *   program that reads or writes files gets a word that can be any absolute path;
 * - write rules whose confine reaches files that turn a transfer key into a shell
 *   (docs/threat-model.md, "Outside the policy"): a home directory, ~/.ssh, the policy or the log directory. Those are `unsafe`.
 */
import type { Finding } from '../rules/base.js';
import { kindOf, type LintContext } from '../rules/kinds.js';
import { localDate } from '../values/units.js';
import type { Identity, Policy, Rule } from './schema.js';
import { isWithin } from '../values/paths.js';

export type { Finding } from '../rules/base.js';

function describeRule(rule: Rule): string {
  return `rule "${rule.name}"`;
}

function lintIdentity(identity: Identity, now: Date, context: LintContext): Finding[] {
  const findings: Finding[] = [];
  if (identity.expires !== null && localDate(now) > identity.expires) {
    findings.push({
      where: identity.where,
      level: 'warning',
      id: 'expired-identity',
      message: `identity "${identity.name}" expired after ${identity.expires}: every request of it is denied`,
    });
  }
  for (const [i, rule] of identity.rules.entries()) {
    const kind = kindOf(rule.kind);
    const earlier = identity.rules.slice(0, i).find((e) => e.kind === rule.kind && kind.covers(e, rule));
    if (earlier) {
      const hint = kind.coverHint(earlier, rule);
      findings.push({
        where: rule.where,
        level: 'warning',
        id: 'rule-never-matches',
        message: `${describeRule(rule)} can never match: ${describeRule(earlier)} (line ${earlier.where.line}) matches everything it does${hint}`,
      });
    }
    findings.push(...kind.lint(rule, context));
  }
  return findings;
}

/** `resolveProgram` follows a program's links (check gives realpath); by default a path is what it says. */
export function lintPolicy(policy: Policy, now: Date, context: LintContext = { resolveProgram: (path) => path }): Finding[] {
  return [...policy.identities.values()].flatMap((identity) => lintIdentity(identity, now, context));
}

/** Directories a write rule stores into (each kind says which: rsync roots it may push to, receive directories). */
export function writeTargets(policy: Policy): { rule: Rule; identity: string; dir: string }[] {
  return [...policy.identities.values()].flatMap((identity) =>
    identity.rules.flatMap((rule) => {
      return kindOf(rule.kind)
        .writesTo(rule)
        .map((dir) => ({ rule, identity: identity.name, dir }));
    }),
  );
}

/** `dir` equals `other`, lies below it, or contains it. */
export function overlaps(dir: string, other: string): 'same' | 'inside' | 'contains' | null {
  const a = dir.replace(/\/+$/, '') || '/';
  const b = other.replace(/\/+$/, '') || '/';
  if (a === b) return 'same';
  if (isWithin(a, b)) return 'inside';
  if (isWithin(b, a)) return 'contains';
  return null;
}

/** A directory no write rule may reach: where files are code, credentials or ssh-dispatch itself. */
export interface ProtectedPath {
  path: string;
  what: string;
}

/**
 * Where a pushed file runs as someone, or decides who may log in, or changes ssh-dispatch. Most
 * specific first, so that a finding names the narrowest one.
 */
const SYSTEM_PATHS: readonly ProtectedPath[] = [
  { path: '/etc/sudoers.d', what: 'sudoers rules' },
  { path: '/etc/cron.d', what: 'cron jobs, run as root' },
  { path: '/etc/systemd', what: 'systemd units' },
  { path: '/etc', what: 'system configuration: passwd, sudoers, cron, sshd, ld.so.preload' },
  { path: '/usr/local/bin', what: 'programs on every PATH' },
  { path: '/usr/lib/systemd', what: 'systemd units' },
  { path: '/usr', what: 'system programs and libraries' },
  { path: '/lib/systemd', what: 'systemd units' },
  { path: '/bin', what: 'system programs' },
  { path: '/sbin', what: 'system programs' },
  { path: '/boot', what: 'the kernel and the boot loader' },
  { path: '/var/spool/cron', what: 'crontabs' },
  { path: '/run/systemd', what: 'systemd units' },
];

/**
 * The directories write rules must keep out of, before symlinks are resolved: every account's
 * home (every uid: a system account with a shell logs in with a planted key as well as a person
 * does; and below a home, ~/.config and ~/.local/bin hold code the account runs), the system's
 * own directories, /lib* as `/` lists them, the policy, the audit log, and where ssh-dispatch and
 * its runtime are installed.
 */
export function protectedPaths(input: {
  accounts: readonly { user: string; uid: number; home: string }[];
  topLevel: readonly string[];
  policyDir: string;
  logDir: string;
  installDirs: readonly string[];
}): ProtectedPath[] {
  const paths: ProtectedPath[] = [...SYSTEM_PATHS];
  for (const name of input.topLevel) if (/^lib/.test(name)) paths.push({ path: `/${name}`, what: 'system libraries' });
  // A home of "/" (some service accounts) is no home to protect: "/" itself is caught as containing everything else.
  for (const a of input.accounts)
    if (a.home.startsWith('/') && a.home.replace(/\/+$/, '') !== '')
      paths.push({ path: a.home, what: `the home of ${a.user} (uid ${a.uid}): ~/.ssh/authorized_keys, ~/.ssh/rc, shell start-up files` });
  paths.push({ path: input.policyDir, what: 'the policy' }, { path: input.logDir, what: 'the audit log' });
  for (const dir of input.installDirs) paths.push({ path: dir, what: 'ssh-dispatch and its runtime' });
  return paths;
}

/**
 * Write rules whose directory, symlinks resolved, is, lies in or contains a protected path (also
 * resolved): UNSAFE, since a stolen transfer key could then push itself into authorized_keys, a
 * cron job or a program, and become someone else. `resolve` is realpath (check.ts).
 */
export function writeRootFindings(policy: Policy, protectedList: readonly ProtectedPath[], resolve: (path: string) => string): Finding[] {
  const findings: Finding[] = [];
  const resolved = protectedList.map((p) => ({ ...p, real: resolve(p.path) }));
  for (const { rule, identity, dir } of writeTargets(policy)) {
    const real = resolve(dir);
    const seen = new Set<string>();
    const reached: string[] = [];
    for (const p of resolved) {
      const relation = overlaps(real, p.real);
      const key = `${p.real}\0${p.what}`;
      if (relation === null || seen.has(key)) continue;
      seen.add(key);
      const shown = p.real === p.path ? p.path : `${p.path} (${p.real})`;
      reached.push(`${relation === 'same' ? 'is' : relation === 'inside' ? 'lies in' : 'contains'} ${shown}, ${p.what}`);
    }
    if (reached.length === 0) continue;
    // What the directory is, then what it lies in (narrowest first), then what it contains.
    const order = (text: string) => ['is ', 'lies in ', 'contains '].findIndex((start) => text.startsWith(start));
    reached.sort((a, b) => order(a) - order(b));
    const more = reached.length > 3 ? `; and ${reached.length - 3} more` : '';
    findings.push({
      where: rule.where,
      level: 'unsafe',
      id: 'write-root-unsafe',
      message: `rule "${rule.name}" of ${identity} writes to ${dir}${real === dir ? '' : ` (resolved: ${real})`}, which ${reached.slice(0, 3).join('; ')}${more}: a stolen key could plant keys, jobs or programs there; store into a directory of its own (/srv/backup/NAME)`,
    });
  }
  return findings;
}
