/**
 * What `check` says about an exec rule: a program that runs others (a shell, an interpreter,
 * sudo, GTFOBins' ways out) with a glob word is UNSAFE, because the client's words become code;
 * so is a word that can name any absolute path for a program that reads or writes files. Pure.
 */
import { compilePattern, isGlob, matchPattern } from '../../values/pattern.js';
import type { Finding } from '../base.js';
import { patternWordFindings } from '../pattern-words.js';
import { programKind, readsOrWritesFiles } from './programs.js';
import type { ExecRule } from './rule.js';

/** Programs that run other programs or arbitrary code when given the right arguments. */
const WAYS_OUT = new Set([
  'sh', 'bash', 'dash', 'zsh', 'ksh', 'csh', 'tcsh', 'fish', 'busybox', 'env', 'sudo', 'su', 'doas', 'nohup', 'xargs', 'find', 'awk', 'gawk', 'mawk',
  'sed', 'perl', 'python', 'python2', 'python3', 'ruby', 'node', 'php', 'lua', 'tclsh', 'tar', 'zip', 'less', 'more', 'man', 'vi', 'vim', 'nano',
  'emacs', 'ed', 'git', 'ssh', 'scp', 'sftp', 'nc', 'ncat', 'netcat', 'socat', 'curl', 'wget', 'dd', 'cp', 'mv', 'tee', 'chmod', 'chown', 'crontab', 'systemctl',
]);

/** Whether exec rule `earlier` matches every command that `later` matches. */
export function execCovers(earlier: ExecRule, later: ExecRule): boolean {
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

/** Whether a pattern word holds a wildcard under values/pattern.ts (`(`, `|`, `{` no longer do). */
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

export function lintExec(rule: ExecRule): Finding[] {
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
      findings.push({ where, level: 'unsafe', message: `rule "${rule.name}" runs ${rule.program} (${what}) with the glob word "${word}" (word ${i + 1}): a stolen key can run any program through it, as this account; make every word literal` });
    } else {
      findings.push({ where, level: 'warning', message: `rule "${rule.name}" runs ${rule.program}, which can run other programs or write files given the right arguments: keep its words literal` });
    }
  } else if (WAYS_OUT.has(name)) {
    findings.push({ where, level: 'warning', message: `rule "${rule.name}" runs ${rule.program}, which can run other programs or write files given the right arguments: keep its words literal` });
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
    findings.push({ where, level, message: `rule "${rule.name}" has the word "${word}", which ${matches}${outside}${consequence}; name a directory (/srv/logs/*.log)` });
  }
  findings.push(...patternWordFindings(rule, rule.pattern.map((word, i) => ({ word, what: `word ${i + 1}` }))));
  return findings;
}
