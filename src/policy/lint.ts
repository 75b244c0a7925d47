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
import { compilePattern, isGlob, matchPattern } from '../decide/pattern.js';
import { lintPatternWords } from './lint-patterns.js';
import { programKind, readsOrWritesFiles } from './programs.js';
import type { ExecRule, Identity, Policy, Rule, Where } from './schema.js';
import { localDate } from './units.js';

export interface Finding {
  where: Where;
  /** `unsafe` findings make `check` fail; warnings do not. */
  level: 'warning' | 'unsafe';
  message: string;
}

/** Programs that run other programs or arbitrary code when given the right arguments. */
const WAYS_OUT = new Set([
  'sh', 'bash', 'dash', 'zsh', 'ksh', 'csh', 'tcsh', 'fish', 'busybox', 'env', 'sudo', 'su', 'doas', 'nohup', 'xargs', 'find', 'awk', 'gawk', 'mawk',
  'sed', 'perl', 'python', 'python2', 'python3', 'ruby', 'node', 'php', 'lua', 'tclsh', 'tar', 'zip', 'less', 'more', 'man', 'vi', 'vim', 'nano',
  'emacs', 'ed', 'git', 'ssh', 'scp', 'sftp', 'nc', 'ncat', 'netcat', 'socat', 'curl', 'wget', 'dd', 'cp', 'mv', 'tee', 'chmod', 'chown', 'crontab', 'systemctl',
]);

function describeRule(rule: Rule): string {
  return `rule "${rule.name}"`;
}

/** Whether exec rule `earlier` matches every command that `later` matches. */
function execCovers(earlier: ExecRule, later: ExecRule): boolean {
  if (earlier.pattern.length !== later.pattern.length) return false;
  return earlier.pattern.every((word, i) => {
    const other = later.pattern[i]!;
    if (word === other) return true;
    // A literal later word is covered by an earlier glob that matches it (options aside).
    const glob = compilePattern(word);
    const literal = compilePattern(other);
    return glob.kind === 'glob' && literal.kind === 'literal' && !(literal.text.startsWith('-') && !word.startsWith('-')) && !literal.text.split('/').includes('..') && matchPattern(glob, literal.text);
  });
}

function shadowedBy(earlier: Rule, later: Rule): boolean {
  if (earlier.kind === 'exec' && later.kind === 'exec') return execCovers(earlier, later);
  if (earlier.kind === 'rsync' && later.kind === 'rsync') {
    const covers = earlier.access === 'read-write' || earlier.access === later.access;
    return covers && earlier.root === later.root && earlier.delete === later.delete && earlier.overwrite === later.overwrite && earlier.acls === later.acls && earlier.xattrs === later.xattrs;
  }
  // The first receive rule takes every plain `receive`; a later one is reached only by names the first refuses.
  if (earlier.kind === 'receive' && later.kind === 'receive') return earlier.clientName === later.clientName || later.clientName === null;
  if (earlier.kind === 'relay' && later.kind === 'relay') return later.to.every((t) => earlier.to.some((e) => e.text === t.text));
  return false;
}

/** Whether a pattern word holds a wildcard under decide/pattern.ts (`(`, `|`, `{` no longer do). */
function hasWildcard(word: string): boolean {
  return isGlob(compilePattern(word));
}

/**
 * Where a glob word of an exec pattern can point, under the matcher's contract (`*`, `?`, `[..]`:
 * one non-empty path component not starting with "."; `**`: any number of components):
 * - `any`: any path, absolute ones included: the word starts with a `**` component, which can
 *   stand for "/etc" as well as for "logs" (`cat **` allowed `cat /etc/shadow`);
 * - `top`: an absolute word whose first component is a glob: it names anything under `/`;
 * - `cwd`: the bare `*`: any one name in the working directory;
 * - null: a literal word, or a glob under a literal directory of its own (`/srv/logs/*.gz`,
 *   `logs/**`), which is as far as the rule's author meant it to reach.
 */
function globReach(word: string): 'any' | 'top' | 'cwd' | null {
  if (!hasWildcard(word)) return null;
  const components = word.split('/');
  if (word.startsWith('/')) return hasWildcard(components[1] ?? '') ? 'top' : null;
  if (components[0]!.includes('**')) return 'any';
  return word === '*' ? 'cwd' : null;
}

function lintExec(rule: ExecRule): Finding[] {
  const findings: Finding[] = [];
  const where = rule.where;
  const kind = programKind(rule.program);
  const name = rule.program.split('/').pop()!;
  const globs = rule.pattern.flatMap((word, i) => (hasWildcard(word) ? [{ word, i }] : []));
  if (kind === 'shell' || kind === 'interpreter' || kind === 'as-another-user' || kind === 'runs-others') {
    const what = {
      shell: 'a shell, for which words are a program',
      interpreter: 'an interpreter, for which words are a program',
      'as-another-user': 'which runs any program it is given as another account',
      'runs-others': 'which runs other programs or reaches other hosts given the right words',
    }[kind];
    if (globs.length > 0) {
      const { word, i } = globs[0]!;
      findings.push({ where, level: 'unsafe', message: `${describeRule(rule)} runs ${rule.program} (${what}) with the glob word "${word}" (word ${i + 1}): a stolen key can run any program through it, as this account; make every word literal` });
    } else {
      findings.push({ where, level: 'warning', message: `${describeRule(rule)} runs ${rule.program}, which can run other programs or write files given the right arguments: keep its words literal` });
    }
  } else if (WAYS_OUT.has(name)) {
    findings.push({ where, level: 'warning', message: `${describeRule(rule)} runs ${rule.program}, which can run other programs or write files given the right arguments: keep its words literal` });
  }
  const files = readsOrWritesFiles(rule.program);
  for (const { word, i } of globs) {
    if (i === 0) continue;
    const reach = globReach(word);
    if (reach === null) continue;
    const level = reach !== 'cwd' && files ? 'unsafe' : 'warning';
    const outside = rule.cwd !== null && reach !== 'cwd' ? `, outside ${rule.cwd}` : '';
    const matches = {
      any: 'matches any path, absolute ones too (/etc/shadow)',
      top: word.includes('**') ? 'matches any path, absolute ones too (/etc/shadow)' : 'matches any name at the top of the filesystem (/etc, /root)',
      cwd: 'matches any name in the working directory (not dotfiles, not a path)',
    }[reach];
    const consequence = level === 'unsafe' ? `: ${rule.program} reads or writes the files it is given` : '';
    findings.push({ where, level, message: `${describeRule(rule)} has the word "${word}", which ${matches}${outside}${consequence}; name a directory (/srv/logs/*.log)` });
  }
  return findings;
}

function lintIdentity(identity: Identity, now: Date): Finding[] {
  const findings: Finding[] = [];
  if (identity.expires !== null && localDate(now) > identity.expires) {
    findings.push({ where: identity.where, level: 'warning', message: `identity "${identity.name}" expired after ${identity.expires}: every request of it is denied` });
  }
  for (const [i, rule] of identity.rules.entries()) {
    const earlier = identity.rules.slice(0, i).find((e) => shadowedBy(e, rule));
    if (earlier) findings.push({ where: rule.where, level: 'warning', message: `${describeRule(rule)} can never match: ${describeRule(earlier)} (line ${earlier.where.line}) matches everything it does` });
    if (rule.kind === 'relay') {
      for (const target of rule.to) {
        const range = target.range;
        if (range && range.prefix < (range.bytes.length === 4 ? 16 : 48)) {
          findings.push({ where: rule.where, level: 'warning', message: `${describeRule(rule)} relays to ${target.text}, a range of ${range.bytes.length === 4 ? 2 ** (32 - range.prefix) : `2^${128 - range.prefix}`} addresses: a key that can reach a whole network is a pivot; list the hosts` });
        }
      }
    }
    if (rule.kind === 'exec') findings.push(...lintExec(rule));
  }
  return findings;
}

export function lintPolicy(policy: Policy, now: Date): Finding[] {
  return [...policy.identities.values()].flatMap((identity) => [...lintIdentity(identity, now), ...lintPatternWords(identity)]);
}

/** Directories a write rule stores into: rsync roots it may push to, receive directories. */
export function writeTargets(policy: Policy): { rule: Rule; identity: string; dir: string }[] {
  const targets: { rule: Rule; identity: string; dir: string }[] = [];
  for (const identity of policy.identities.values()) {
    for (const rule of identity.rules) {
      if (rule.kind === 'rsync' && rule.access !== 'read') targets.push({ rule, identity: identity.name, dir: rule.root });
      if (rule.kind === 'receive') targets.push({ rule, identity: identity.name, dir: rule.dir });
    }
  }
  return targets;
}

/** `dir` equals `other`, lies below it, or contains it. */
export function overlaps(dir: string, other: string): 'same' | 'inside' | 'contains' | null {
  const a = dir.replace(/\/+$/, '') || '/';
  const b = other.replace(/\/+$/, '') || '/';
  if (a === b) return 'same';
  if (b === '/' || a.startsWith(`${b}/`)) return 'inside';
  if (a === '/' || b.startsWith(`${a}/`)) return 'contains';
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
  for (const a of input.accounts) if (a.home.startsWith('/') && a.home.replace(/\/+$/, '') !== '') paths.push({ path: a.home, what: `the home of ${a.user} (uid ${a.uid}): ~/.ssh/authorized_keys, ~/.ssh/rc, shell start-up files` });
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
      message: `rule "${rule.name}" of ${identity} writes to ${dir}${real === dir ? '' : ` (resolved: ${real})`}, which ${reached.slice(0, 3).join('; ')}${more}: a stolen key could plant keys, jobs or programs there; store into a directory of its own (/srv/backup/NAME)`,
    });
  }
  return findings;
}
