/**
 * What `check` says about an exec rule: a program that runs others (a shell, an interpreter,
 * sudo, GTFOBins' ways out) with a glob word is UNSAFE, because the client's words become code;
 * so is a word that can name any absolute path for a program that reads or writes files. Pure.
 */
import { compilePattern, isGlob, matchPattern } from '../../values/pattern.js';
import type { Finding } from '../base.js';
import { patternWordFindings } from '../pattern-words.js';
import { programKind, readsOrWritesFiles, writesWhereItsInputSays, writtenWords } from './programs.js';
import type { ExecRule } from './rule.js';

/** Programs that run other programs or arbitrary code when given the right arguments. */
const WAYS_OUT = new Set([
  'sh',
  'bash',
  'dash',
  'zsh',
  'ksh',
  'csh',
  'tcsh',
  'fish',
  'busybox',
  'env',
  'sudo',
  'su',
  'doas',
  'nohup',
  'xargs',
  'find',
  'awk',
  'gawk',
  'mawk',
  'sed',
  'perl',
  'python',
  'python2',
  'python3',
  'ruby',
  'node',
  'php',
  'lua',
  'tclsh',
  'tar',
  'zip',
  'less',
  'more',
  'man',
  'vi',
  'vim',
  'nano',
  'emacs',
  'ed',
  'git',
  'ssh',
  'scp',
  'sftp',
  'nc',
  'ncat',
  'netcat',
  'socat',
  'curl',
  'wget',
  'dd',
  'cp',
  'mv',
  'tee',
  'chmod',
  'chown',
  'crontab',
  'systemctl',
]);

/** sftp-server and scp's server side give the client every file the account can reach: what each does, or null. */
function servesFiles(program: string): string | null {
  const name = program.split('/').pop()!;
  if (name === 'sftp-server') return 'which serves every file the account can reach to an sftp client (-d is only a start directory)';
  if (name === 'scp') return 'which as scp -t/-f writes and reads every file the account can reach, and overwrites existing ones';
  return null;
}

/**
 * Whether exec rule `earlier` matches every command that `later` matches. An earlier `...` takes
 * any further words, so it covers a longer later pattern (and a later `...`); a later `...`
 * matches commands of any length, which only an earlier `...` takes.
 */
export function execCovers(earlier: ExecRule, later: ExecRule): boolean {
  if (earlier.rest ? later.pattern.length < earlier.pattern.length : later.rest || earlier.pattern.length !== later.pattern.length)
    return false;
  return earlier.pattern.every((word, i) => {
    const other = later.pattern[i]!;
    if (word === other) return true;
    // A literal later word is covered by an earlier glob that matches it (options aside).
    const glob = compilePattern(word);
    const literal = compilePattern(other);
    return (
      glob.kind === 'glob' &&
      literal.kind === 'literal' &&
      !(literal.text.startsWith('-') && !word.startsWith('-')) &&
      !literal.text.split('/').includes('..') &&
      matchPattern(glob, literal.text)
    );
  });
}

/** Whether a pattern word holds a wildcard under values/pattern.ts (`(`, `|`, `{` no longer do). */
function hasWildcard(word: string): boolean {
  return isGlob(compilePattern(word));
}

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

/** A word's path part: an option's value (`--output=/x`, `of=/x`, `-o/x`) or the word. */
function pathOf(word: string): string {
  return /^-{0,2}[A-Za-z][A-Za-z0-9-]*=/.test(word) ? word.slice(word.indexOf('=') + 1) : /^-[A-Za-z]./.test(word) ? word.slice(2) : word;
}

/**
 * Where an exec rule can write, for check's write-rule standard (homes, /etc, cron, the policy,
 * the log): an extractor's working directory, and each absolute word the program writes, up to its
 * first wildcard (`tee /etc/cron.d/*` writes in /etc/cron.d; `cp /etc/hosts /srv/x` only in
 * /srv/x). Relative words land in the working directory, which the rule's cwd names.
 */
export function execWritesTo(rule: ExecRule): string[] {
  // In a sandbox the kernel keeps every write in its writable paths (and a private /tmp).
  if (rule.sandbox) return [...rule.sandbox.write];
  const targets: string[] = [];
  if (rule.cwd !== null && writesWhereItsInputSays(rule.program)) targets.push(rule.cwd);
  for (const word of writtenWords(rule.program, programWords(rule))) {
    const path = pathOf(word);
    if (!path.startsWith('/')) continue;
    const parts = path.split('/').filter((part) => part !== '' && part !== '.');
    const firstGlob = parts.findIndex(hasWildcard);
    targets.push(`/${parts.slice(0, firstGlob === -1 ? parts.length : firstGlob).join('/')}`);
  }
  return [...new Set(targets)];
}

/** A shell's or interpreter's arguments with no script operand and no inline code (-c, -e, -m, -E): it reads stdin. */
function readsProgramFromStdin(args: readonly string[]): boolean {
  if (args.some((a) => a === '-' || a === '-s' || a === '-i' || a === '--stdin')) return true;
  return args.every((a) => a.startsWith('-') && !/^-[A-Za-z]*[ceEmx]/.test(a));
}

/**
 * The words the program is given after its name, as patterns: the client's words after the first,
 * or `run`'s, where a `{N}` is pattern word N (what the client's word matched) and a literal is
 * itself, escaped so that no `*` in it reads as a wildcard.
 */
function programWords(rule: ExecRule): string[] {
  if (!rule.run) return rule.pattern.slice(1);
  return rule.run.slice(1).map((word) => ('text' in word ? word.text.replace(/[\\*?[]/g, '\\$&') : rule.pattern[word.word - 1]!));
}

/**
 * The glob words that reach the program, with what to call them: every glob word of the pattern
 * without `run` (the first word too: `command: "*"` with `program: /bin/sh` is the classic
 * mistake), or with `run` the glob words it passes on by `{N}`; `passed` says whether the word
 * is in the program's argv (the first word is not, without `run`).
 */
function globsOf(rule: ExecRule): { word: string; what: string; passed: boolean }[] {
  if (!rule.run) return rule.pattern.flatMap((word, i) => (hasWildcard(word) ? [{ word, what: `word ${i + 1}`, passed: i > 0 }] : []));
  const seen = new Set<number>();
  return rule.run.flatMap((runWord) => {
    if ('text' in runWord || seen.has(runWord.word)) return [];
    seen.add(runWord.word);
    const word = rule.pattern[runWord.word - 1]!;
    return hasWildcard(word) ? [{ word, what: `word ${runWord.word}, passed on by run as {${runWord.word}}`, passed: true }] : [];
  });
}

export function lintExec(rule: ExecRule, context: { resolveProgram(path: string): string }): Finding[] {
  const findings: Finding[] = [];
  const where = rule.where;
  // /usr/bin/editor is vim and /usr/bin/perl5.36-x86_64-linux-gnu is perl: classify what runs.
  const real = context.resolveProgram(rule.program);
  const kind = programKind(rule.program) ?? programKind(real);
  const name = rule.program.split('/').pop()!;
  const globs = globsOf(rule);
  const serves = servesFiles(rule.program) ?? servesFiles(real);
  if (kind === 'shell' || kind === 'interpreter' || kind === 'as-another-user' || kind === 'runs-others') {
    const what = {
      shell: 'a shell, for which words are a program',
      interpreter: 'an interpreter, for which words are a program',
      'as-another-user': 'which runs any program it is given as another account',
      'runs-others': 'which runs other programs or reaches other hosts given the right words',
    }[kind];
    if (globs.length > 0) {
      const { word, what: which } = globs[0]!;
      findings.push({
        where,
        level: 'unsafe',
        id: 'exec-runner-glob-word',
        message: `rule "${rule.name}" runs ${rule.program} (${what}) with the glob word "${word}" (${which}): a stolen key can run any program through it, as this account; make every word literal`,
      });
    } else if ((kind === 'shell' || kind === 'interpreter') && readsProgramFromStdin(programWords(rule))) {
      // No script and no -c: the program is whatever the client sends on stdin (found in review).
      findings.push({
        where,
        level: 'unsafe',
        id: 'exec-program-from-stdin',
        message: `rule "${rule.name}" runs ${rule.program} (${what}) with no script or -c/-e: it reads its program from the client's stdin, so a stolen key runs anything; name a script or give the code with -c`,
      });
    } else {
      findings.push({
        where,
        level: 'warning',
        id: 'exec-runs-others',
        message: `rule "${rule.name}" runs ${rule.program}, which can run other programs or write files given the right arguments: keep its words literal`,
      });
    }
  } else if (WAYS_OUT.has(name) && !serves) {
    findings.push({
      where,
      level: 'warning',
      id: 'exec-runs-others',
      message: `rule "${rule.name}" runs ${rule.program}, which can run other programs or write files given the right arguments: keep its words literal`,
    });
  }
  if (serves) {
    const level = rule.sandbox ? 'warning' : 'unsafe';
    findings.push({
      where,
      level,
      id: 'exec-serves-files',
      message: `rule "${rule.name}" runs ${rule.program}, ${serves}${rule.sandbox ? ', here only within its sandbox paths,' : ''} with no per-file record or overwrite and delete limits: use an sftp rule (docs/policy.md, "sftp"), which serves sftp, scp and scp -O confined to a root`,
    });
  }
  if (runsRdiffBackupServer(rule, real)) {
    const unpickles =
      "rdiff-backup's server unpickles the client's first message before --restrict-path or --restrict-mode is looked at, so a stolen key runs code as this account";
    if (!rule.sandbox)
      findings.push({
        where,
        level: 'unsafe',
        id: 'exec-rdiff-backup-server',
        message: `rule "${rule.name}" runs ${rule.program} server: ${unpickles}, anywhere the account can reach; run it with sandbox: {read: [repository]} for restores (docs/recipes.md, "rdiff-backup")`,
      });
    else if (rule.sandbox.write.length > 0)
      findings.push({
        where,
        level: 'warning',
        id: 'exec-rdiff-backup-writable',
        message: `rule "${rule.name}" runs ${rule.program} server with writable sandbox paths: ${unpickles}, which can remove every increment in ${rule.sandbox.write.join(', ')}; no server option holds against it, so keep rdiff-backup's keys read-only (docs/recipes.md, "rdiff-backup")`,
      });
  }
  const borgRepository = borgServeRepository(rule, real);
  if (borgRepository !== null && !rule.sandbox?.read.includes(`${borgRepository}/config`)) {
    findings.push({
      where,
      level: 'warning',
      id: 'exec-borg-config-writable',
      message: `rule "${rule.name}" runs borg serve with ${borgRepository}/config writable: --append-only does not cover the key, and \`borg key import\` replaces a repokey there without the passphrase; add sandbox: {write: [${borgRepository}], read: [${borgRepository}/config]} (docs/recipes.md, "borg")`,
    });
  }
  // In a sandbox, the paths a word can name are the namespace's: the system read-only and the rule's paths.
  const files = !rule.sandbox && (readsOrWritesFiles(rule.program) || readsOrWritesFiles(real));
  if ((writesWhereItsInputSays(rule.program) || writesWhereItsInputSays(real)) && rule.cwd === null && !rule.sandbox) {
    findings.push({
      where,
      level: 'unsafe',
      id: 'exec-writes-without-cwd',
      message: `rule "${rule.name}" runs ${rule.program}, which writes files where its input says, with no cwd: it runs in the account's home, so a stolen key can write .ssh/authorized_keys; set cwd to a directory of its own`,
    });
  }
  for (const { word, passed } of globs) {
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
      where,
      level,
      id: 'exec-glob-reach',
      message: `rule "${rule.name}" has the word "${word}", which ${matches}${outside}${consequence}; name a directory (/srv/logs/*.log)`,
    });
  }
  findings.push(
    ...patternWordFindings(
      rule,
      rule.pattern.map((word, i) => ({ word, what: `word ${i + 1}` })),
    ),
  );
  return findings;
}

/** rdiff-backup with `server` or `--server` among its words, or a word the client chooses. */
function runsRdiffBackupServer(rule: ExecRule, real: string): boolean {
  if (![rule.program, real].some((program) => program.split('/').pop() === 'rdiff-backup')) return false;
  return programWords(rule).some((word) => word === 'server' || word === '--server' || hasWildcard(word));
}

/**
 * The repository a git-receive-pack rule pushes into, when the policy names it literally (the
 * client's word 2, or run's); null for another rule, or a glob (check cannot read every match).
 */
export function receivePackRepository(rule: ExecRule, real: string): string | null {
  if (![rule.program, real].some((program) => program.split('/').pop() === 'git-receive-pack')) return null;
  const word = programWords(rule)[0];
  if (word === undefined || hasWildcard(word) || !word.startsWith('/')) return null;
  return word.replace(/\\(.)/g, '$1');
}

/**
 * Which of receive.denyNonFastForwards and receive.denyDeletes a git config file does not set
 * to true (git-receive-pack refuses forced pushes and deletions only with them); null when the
 * file includes others, which this reader does not follow.
 */
export function missingGitDenies(config: string): string[] | null {
  const found = new Map<string, boolean>();
  let section = '';
  for (const raw of config.split('\n')) {
    const line = raw.replace(/^\s+/, '');
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[\s*([A-Za-z0-9.-]+)(?:\s+"(?:[^"\\]|\\.)*")?\s*\]/.exec(line);
    if (header) {
      section = header[1]!.toLowerCase() + (header[0].includes('"') ? ' sub' : '');
      if (section.startsWith('include')) return null;
      continue;
    }
    const entry = /^([A-Za-z][A-Za-z0-9-]*)\s*(?:=\s*([^#;]*?))?\s*(?:[#;].*)?$/.exec(line);
    // A bare key is true; the last value wins, as in git.
    if (entry && section === 'receive')
      found.set(entry[1]!.toLowerCase(), entry[2] === undefined || gitTrue(entry[2].replace(/^"(.*)"$/, '$1')));
  }
  return ['receive.denyNonFastForwards', 'receive.denyDeletes'].filter(
    (key) => found.get(key.slice('receive.'.length).toLowerCase()) !== true,
  );
}

/** git's boolean: true, yes, on, or a number other than 0. */
function gitTrue(value: string): boolean {
  return /^(?:true|yes|on)$/i.test(value) || (/^-?\d+$/.test(value) && Number(value) !== 0);
}

/** The repository of a `borg serve --restrict-to-repository R` rule (`--restrict-to-repository=R` too); null for another rule. */
function borgServeRepository(rule: ExecRule, real: string): string | null {
  if (![rule.program, real].some((program) => program.split('/').pop() === 'borg')) return null;
  const words = programWords(rule);
  if (words[0] !== 'serve') return null;
  const at = words.indexOf('--restrict-to-repository');
  const word =
    at >= 0 ? words[at + 1] : words.find((w) => w.startsWith('--restrict-to-repository='))?.slice('--restrict-to-repository='.length);
  if (word === undefined || hasWildcard(word) || !word.startsWith('/')) return null;
  return word.replace(/\\(.)/g, '$1').replace(/\/+$/, '');
}
