/**
 * Lint for `ssh-dispatch check`: what loads but is probably not what the admin meant. Pure: it
 * looks at the policy only (check.ts adds what needs the filesystem).
 *
 * - rules that can never match: shadowed by an earlier rule of the same identity, or of an
 *   identity whose expiry date has passed;
 * - relay rules to whole networks (a CIDR wider than /16, or /48 for IPv6);
 * - exec rules that give away more than they seem to: a bare `*` word (any file name in the
 *   working directory), a program that is a shell, an interpreter or another way out (GTFOBins);
 * - write rules whose confine reaches files that turn a transfer key into a shell (THREATS.md
 *   3.7): a home directory, ~/.ssh, the policy or the log directory. Those are `unsafe`.
 */
import { compilePattern, matchPattern } from '../decide/pattern.js';
import { lintPatternWords } from './lint-patterns.js';
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
    if (rule.kind === 'exec') {
      const name = rule.program.split('/').pop()!;
      if (WAYS_OUT.has(name) || /^python[0-9.]*$/.test(name)) {
        findings.push({ where: rule.where, level: 'warning', message: `${describeRule(rule)} runs ${rule.program}, which can run other programs or write files given the right arguments: keep its words literal` });
      }
      for (const word of rule.pattern.slice(1)) {
        if (word === '*' || word === '**' || word === '/*' || word === '/**') {
          findings.push({ where: rule.where, level: 'warning', message: `${describeRule(rule)} has the word "${word}", which matches any name${word.startsWith('/') ? ' at the top of the filesystem' : ' in the working directory'}: name a directory` });
        }
      }
    }
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
