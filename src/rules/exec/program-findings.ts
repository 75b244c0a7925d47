/**
 * What `check` says of the program an exec rule runs, whatever its words: one that runs other
 * programs (a shell, an interpreter, sudo, GTFOBins' ways out) turns the client's glob words into
 * code; a file server gives away every file the account can reach; a program that writes where
 * its input says needs a directory of its own. Pure.
 */
import type { Finding } from '../base.js';
import { programKind, writesWhereItsInputSays } from './programs.js';
import type { ExecRule } from './rule.js';
import { globsOf, programWords } from './rule-words.js';

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

/** A shell's or interpreter's arguments with no script operand and no inline code (-c, -e, -m, -E): it reads stdin. */
function readsProgramFromStdin(args: readonly string[]): boolean {
  if (args.some((a) => a === '-' || a === '-s' || a === '-i' || a === '--stdin')) return true;
  return args.every((a) => a.startsWith('-') && !/^-[A-Za-z]*[ceEmx]/.test(a));
}

/**
 * A program that runs others: UNSAFE with a glob word or a program read from stdin, else a
 * warning. `real` is what rule.program resolves to (/usr/bin/editor is vim).
 */
export function runnerFindings(rule: ExecRule, real: string): Finding[] {
  const where = rule.where;
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
      return [
        {
          where,
          level: 'unsafe',
          id: 'exec-runner-glob-word',
          message: `rule "${rule.name}" runs ${rule.program} (${what}) with the glob word "${word}" (${which}): a stolen key can run any program through it, as this account; make every word literal`,
        },
      ];
    }
    if ((kind === 'shell' || kind === 'interpreter') && readsProgramFromStdin(programWords(rule))) {
      // No script and no -c: the program is whatever the client sends on stdin (found in review).
      return [
        {
          where,
          level: 'unsafe',
          id: 'exec-program-from-stdin',
          message: `rule "${rule.name}" runs ${rule.program} (${what}) with no script or -c/-e: it reads its program from the client's stdin, so a stolen key runs anything; name a script or give the code with -c`,
        },
      ];
    }
    return [runsOthersWarning(rule)];
  }
  // A file server has its own finding (servesFilesFindings), which says more.
  return WAYS_OUT.has(name) && !serves ? [runsOthersWarning(rule)] : [];
}

/** The warning for a program that can run others, when no word of the rule lets the client choose what. */
function runsOthersWarning(rule: ExecRule): Finding {
  return {
    where: rule.where,
    level: 'warning',
    id: 'exec-runs-others',
    message: `rule "${rule.name}" runs ${rule.program}, which can run other programs or write files given the right arguments: keep its words literal`,
  };
}

/** sftp-server or scp's server side run as a plain command: UNSAFE, or a warning inside a sandbox. */
export function servesFilesFindings(rule: ExecRule, real: string): Finding[] {
  const serves = servesFiles(rule.program) ?? servesFiles(real);
  if (!serves) return [];
  const level = rule.sandbox ? 'warning' : 'unsafe';
  return [
    {
      where: rule.where,
      level,
      id: 'exec-serves-files',
      message: `rule "${rule.name}" runs ${rule.program}, ${serves}${rule.sandbox ? ', here only within its sandbox paths,' : ''} with no per-file record or overwrite and delete limits: use an sftp rule (docs/policy.md, "sftp"), which serves sftp, scp and scp -O confined to a root`,
    },
  ];
}

/** A program that writes where its input says (an extractor), run in the account's home for want of a cwd. */
export function writesWithoutCwdFindings(rule: ExecRule, real: string): Finding[] {
  if (!(writesWhereItsInputSays(rule.program) || writesWhereItsInputSays(real)) || rule.cwd !== null || rule.sandbox) return [];
  return [
    {
      where: rule.where,
      level: 'unsafe',
      id: 'exec-writes-without-cwd',
      message: `rule "${rule.name}" runs ${rule.program}, which writes files where its input says, with no cwd: it runs in the account's home, so a stolen key can write .ssh/authorized_keys; set cwd to a directory of its own`,
    },
  ];
}
