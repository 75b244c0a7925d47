/**
 * Learned commands (from `--learn` records) → policy YAML that allows exactly them.
 *
 * rsync server lines become rsync rules: one per direction, the root being the common directory
 * of the paths they named (relative paths were relative to the account's home), access from
 * --sender, delete/acls/xattrs only if the learned lines used them, absolute-paths when the client
 * sent absolute paths (so the same command line keeps working). Other commands become exec rules
 * of their literal words. The result is a starting point to read and narrow, not a verdict.
 */
import { posix } from 'node:path';
import { parseServerArgs } from '../decide/rsync/server-args.js';
import { tokenize } from '../request/tokenize.js';

export interface LearnedCommand {
  command: string;
  user: string;
}

export interface SuggestHelpers {
  /** The home directory of an account, where its relative paths were resolved. */
  home: (user: string) => string;
  /** The absolute path of a program name, as the account's PATH would have found it, or null. */
  which: (program: string) => string | null;
}

interface RsyncFindings {
  dirs: string[];
  absolute: boolean;
  delete: boolean;
  acls: boolean;
  xattrs: boolean;
  examples: string[];
}

function commonDirectory(paths: readonly string[]): string {
  const split = paths.map((p) => p.split('/').filter(Boolean));
  const common: string[] = [];
  for (let i = 0; split.every((parts) => i < parts.length && parts[i] === split[0]![i]); i++) common.push(split[0]![i]!);
  return `/${common.join('/')}`;
}

function yamlString(text: string): string {
  return JSON.stringify(text);
}

export function suggestPolicy(identity: string, learned: readonly LearnedCommand[], helpers: SuggestHelpers): string {
  const seen = new Set<string>();
  const push: RsyncFindings = { dirs: [], absolute: false, delete: false, acls: false, xattrs: false, examples: [] };
  const pull: RsyncFindings = { dirs: [], absolute: false, delete: false, acls: false, xattrs: false, examples: [] };
  const execs: { words: string[]; command: string }[] = [];
  const notes: string[] = [];

  for (const { command, user } of learned) {
    if (seen.has(command)) continue;
    seen.add(command);
    const tokens = tokenize(command);
    if (!tokens.ok) {
      notes.push(`not suggested (a connection would refuse it: ${tokens.reason}): ${command}`);
      continue;
    }
    const words = tokens.words;
    const rsync = parseServerArgs(words);
    if (rsync.ok) {
      const findings = rsync.args.sender ? pull : push;
      findings.examples.push(command);
      for (const operand of rsync.args.operands) {
        const absolute = operand.startsWith('/');
        findings.absolute ||= absolute;
        const path = posix.normalize(absolute ? operand : posix.join(helpers.home(user), operand)).replace(/\/+$/, '') || '/';
        findings.dirs.push(posix.dirname(path));
      }
      for (const option of rsync.args.options) {
        findings.delete ||= option.gates.includes('delete');
        findings.acls ||= option.gates.includes('acls');
        findings.xattrs ||= option.gates.includes('xattrs');
      }
      continue;
    }
    if (rsync.reason !== 'rsync-not-server' || rsync.detail !== 'not an rsync command') {
      notes.push(`not suggested (an rsync rule would refuse it: ${rsync.reason}, ${rsync.detail}): ${command}`);
      continue;
    }
    if (words[0] === 'receive') {
      notes.push(`not suggested (write a receive rule for it): ${command}`);
      continue;
    }
    execs.push({ words, command });
  }

  const lines = ['# Suggested by `ssh-dispatch suggest` from learned requests: read it, narrow it, then `ssh-dispatch check`.', 'version: 1', 'identities:', `  ${identity}:`, '    rules:'];
  const rsyncRule = (name: string, access: string, findings: RsyncFindings) => {
    const root = commonDirectory(findings.dirs);
    lines.push(`      # learned: ${findings.examples.slice(0, 3).join(' | ')}${findings.examples.length > 3 ? ` (+${findings.examples.length - 3} more)` : ''}`);
    if (root === '/') lines.push('      # CHECK: the learned paths share no directory but "/": narrow root before using this.');
    lines.push(`      - name: ${name}`, '        rsync:', `          root: ${yamlString(root)}`, `          access: ${access}`);
    lines.push(`          delete: ${findings.delete}${findings.delete ? '   # the learned lines deleted on the server; set false if that was not meant' : ''}`);
    if (findings.acls) lines.push('          acls: true');
    if (findings.xattrs) lines.push('          xattrs: true');
    if (findings.absolute && root !== '/') lines.push('          absolute-paths: true   # the client names absolute paths under root');
  };
  const pushRoot = push.dirs.length > 0 ? commonDirectory(push.dirs) : null;
  const pullRoot = pull.dirs.length > 0 ? commonDirectory(pull.dirs) : null;
  if (pushRoot !== null && pushRoot === pullRoot) {
    rsyncRule('learned-rsync', 'read-write', {
      dirs: [...push.dirs, ...pull.dirs],
      absolute: push.absolute || pull.absolute,
      delete: push.delete || pull.delete,
      acls: push.acls || pull.acls,
      xattrs: push.xattrs || pull.xattrs,
      examples: [...push.examples, ...pull.examples],
    });
  } else {
    if (pushRoot !== null) rsyncRule('learned-rsync-push', 'write', push);
    if (pullRoot !== null) rsyncRule('learned-rsync-pull', 'read', pull);
  }
  for (const [i, { words, command }] of execs.entries()) {
    const program = words[0]!.startsWith('/') ? words[0]! : helpers.which(words[0]!);
    lines.push(`      # learned: ${command}`);
    if (program === null) lines.push(`      # CHECK: ${words[0]} was not found on PATH: set program to its absolute path.`);
    // List form: no quoting is read in it; glob characters are escaped so each word is literal.
    const pattern = words.map((w) => yamlString(w.replace(/[*?[\]{}()!+@|\\]/g, '\\$&')));
    lines.push(`      - name: learned-exec-${i + 1}`, '        exec:', `          command: [${pattern.join(', ')}]`, `          program: ${yamlString(program ?? `/usr/bin/${words[0]}`)}`);
  }
  if (lines[lines.length - 1] === '    rules:') lines[lines.length - 1] = '    rules: []   # nothing learned that a rule could allow';
  for (const note of notes) lines.push(`# ${note}`);
  return `${lines.join('\n')}\n`;
}
