/**
 * What `check` says of an exec rule's glob words by where they can point: a word that can name
 * any absolute path is UNSAFE for a program that reads or writes the files it is given. Pure.
 */
import type { Finding } from '../base.js';
import { readsOrWritesFiles } from './programs.js';
import type { ExecRule } from './rule.js';
import { globsOf, hasWildcard, pathOf } from './rule-words.js';

/**
 * Where a glob word of an exec pattern can point, under the matcher's contract (`*`, `?`, `[..]`:
 * one non-empty path component not starting with "."; `**`: whole such components). An option's
 * value counts as the word (`--output=/**`, `-o/**`), and empty and `.` components are skipped,
 * since `//etc` and `/./etc` name /etc:
 * - `top`: an absolute path whose first component is a glob: it names anything under `/`;
 * - `tree`: a relative path that starts with `**`: anything below the working directory, which
 *   is the account's home when the rule has no `cwd`;
 * - `cwd`: the bare `*`: any one name in the working directory;
 * - null: a literal word, or a glob under a literal directory of its own (`/srv/logs/*.gz`,
 *   `logs/**`), which is as far as the rule's author meant it to reach.
 */
function globReach(word: string): 'top' | 'tree' | 'cwd' | null {
  const value = pathOf(word);
  if (!hasWildcard(value)) return null;
  const parts = value.split('/').filter((part) => part !== '' && part !== '.');
  if (value.startsWith('/')) return parts.length > 0 && hasWildcard(parts[0]!) ? 'top' : null;
  if (parts[0] === '**' || parts[0]?.startsWith('**')) return 'tree';
  return value === '*' ? 'cwd' : null;
}

/** One finding for each glob word the program is given that reaches beyond a directory of its own. */
export function globReachFindings(rule: ExecRule, real: string): Finding[] {
  // In a sandbox, the paths a word can name are the namespace's: the system read-only and the rule's paths.
  const files = !rule.sandbox && (readsOrWritesFiles(rule.program) || readsOrWritesFiles(real));
  const findings: Finding[] = [];
  for (const { word, passed } of globsOf(rule)) {
    if (!passed) continue;
    const reach = globReach(word);
    if (reach === null) continue;
    const level = reach !== 'cwd' && files ? 'unsafe' : 'warning';
    const outside = rule.cwd !== null && reach === 'top' ? `, outside ${rule.cwd}` : '';
    const matches = {
      tree: `matches any path below the working directory (${rule.cwd ?? "the account's home, since the rule has no cwd"})`,
      top: word.includes('**')
        ? 'matches any absolute path (/etc/shadow, /etc/cron.d/x)'
        : 'matches any name at the top of the filesystem (/etc, /root)',
      cwd: 'matches any name in the working directory (not dotfiles, not a path)',
    }[reach];
    const consequence = level === 'unsafe' ? `: ${rule.program} reads or writes the files it is given` : '';
    findings.push({
      where: rule.where,
      level,
      id: 'exec-glob-reach',
      message: `rule "${rule.name}" has the word "${word}", which ${matches}${outside}${consequence}; name a directory (/srv/logs/*.log)`,
    });
  }
  return findings;
}
