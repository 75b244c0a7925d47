/**
 * Learned commands (from `--learn` records) → policy YAML that allows exactly them.
 *
 * rsync server lines become rsync rules: one per direction, the root being the common directory
 * of the paths they named (relative paths were relative to the account's home), access from
 * --sender, delete/acls/xattrs only if the learned lines used them, absolute-paths when the client
 * sent absolute paths (so the same command line keeps working). Other commands become exec rules
 * of their literal words. The result is a starting point to read and narrow, not a verdict.
 *
 * Everything learned came from a client, and a thief's commands are learned as well as the
 * backup's: it is data. A learned newline that ended a comment would turn what follows into a
 * rule the admin never wrote, so every learned text goes through `printable` (comments) or
 * `yamlString` (values) and no raw control byte reaches the file or the terminal. And a learned
 * command is never proposed as an exec rule of a program that would hand the client more than
 * the command shows (rsync's own protocol, sudo, a shell, an interpreter, an sftp server).
 */
import { posix } from 'node:path';
import { isSubsystem, parseScpWords } from '../rules/sftp/match.js';
import { printable } from '../values/printable.js';
import { programKind } from '../rules/exec/programs.js';
import { usesRelativePaths } from '../rules/rsync/match.js';
import { withProtectedArgs } from '../rules/rsync/protected-args.js';
import { parseServerArgs } from '../rules/rsync/server-args.js';
import { readSpelling } from '../rules/spelling.js';
import { tokenize } from '../request/tokenize.js';
import { isWithin } from '../values/paths.js';

export interface LearnedCommand {
  command: string;
  user: string;
  /** rsync -s: the arguments it sent on the connection (the record's protected_args). */
  protectedArgs?: string[];
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
  /** Learned directories that look like one of a rotating set, whose parent became the root. */
  rotating: string[];
  examples: string[];
  /** Absolute paths of --relative pulls (rsnapshot, BackupPC): served from root / with paths:, names kept. */
  relative: string[];
  /** A push named a --link-dest basis: dated snapshots, which only snapshot: true serves. */
  linked?: boolean;
}

function commonDirectory(paths: readonly string[]): string {
  const split = paths.map((p) => p.split('/').filter(Boolean));
  const common: string[] = [];
  for (let i = 0; split.every((parts) => i < parts.length && parts[i] === split[0]![i]); i++) common.push(split[0]![i]!);
  return `/${common.join('/')}`;
}

/**
 * A YAML double-quoted scalar. JSON escapes C0 controls already; DEL, C1 (NEL is a line break to
 * YAML 1.1 readers), LS/PS and the invisible and bidi characters `printable` knows are escaped
 * too, so the value reads as it will load.
 */
function yamlString(text: string): string {
  return JSON.stringify(text).replace(
    /[\u007f-\u00a0\u00ad\u061c\u115f\u1160\u1680\u180e\u2000-\u200f\u2028-\u202f\u205f-\u206f\u3000\ufeff\ufff9-\ufffd]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** Learned text for a comment: one line, whatever it carried. */
function comment(text: string): string {
  return printable(text);
}

/**
 * Why no exec rule is proposed for a program, or null. rsync is served by rsync rules (a literal
 * exec of `rsync --server` would let the client's protocol name any file the account can reach).
 */
function refusedProgram(program: string): string | null {
  const name = program.split('/').pop() ?? program;
  switch (programKind(program)) {
    case 'rsync':
      return 'rsync is served by rsync rules; an exec rule would let its protocol reach any file the account can';
    case 'as-another-user':
      return `${name} runs a program as another account: write a rule for the program itself; ssh-dispatch runs it as the account the key logs into`;
    case 'shell':
      return `${name} is a shell: any words it is given are a program`;
    case 'interpreter':
      return `${name} is an interpreter: any words it is given are a program`;
    case 'runs-others':
      return `${name} runs other programs or reaches other hosts given the right words`;
    case 'file-server':
      return `${name} serves any file the account can reach: it needs an sftp rule confined to a root, not an exec rule`;
    case null:
      return null;
  }
}

interface ServerSide {
  name: string;
  /** The command pattern: the words the tool's client sends, then `...` for the options it adds. */
  pattern: string[];
  run(repository: string): string[];
  /** The sandbox the recipe runs it in (docs/recipes.md): the tool's "restricted" mode is no boundary. */
  sandbox(repository: string): { read: string[]; write: string[] };
  /** What the rule can and cannot be, said in its CHECK note. */
  note: string;
}

/** borg, rdiff-backup and restic's rclone backend: served by a fixed argv (run:) in a sandbox, never as learned. */
function serverSide(words: readonly string[]): ServerSide | null {
  const name = words[0]?.split('/').pop();
  if (name === 'borg' && words[1] === 'serve') {
    // config read-only: borg key import rewrites the repokey there, --append-only or not.
    return { name: 'borg', pattern: ['borg', 'serve', '...'], run: (repo) => ['/usr/bin/borg', 'serve', '--restrict-to-repository', repo, '--append-only'], sandbox: (repo) => ({ read: [`${repo}/config`], write: [repo] }), note: "the repository must exist (borg init on the server) so that its config can be bound read-only" };
  }
  if (name === 'rdiff-backup' && (words[1] === '--server' || words[1] === 'server')) {
    // Its server unpickles the client's first message before any check: only a read-only key holds.
    return { name: 'rdiff-backup', pattern: ['rdiff-backup', '...'], run: (repo) => ['/usr/bin/rdiff-backup', 'server', '--restrict-path', repo], sandbox: (repo) => ({ read: [repo], write: [] }), note: "rdiff-backup's server runs what the client sends before it checks anything, so this key may only restore (read-only); backups through a key cannot be made safe (docs/recipes.md)" };
  }
  if (name === 'rclone' && words[1] === 'serve' && words[2] === 'restic') {
    return { name: 'restic', pattern: ['rclone', 'serve', 'restic', '--stdio', '...'], run: (repo) => ['/usr/bin/rclone', 'serve', 'restic', '--stdio', '--append-only', repo], sandbox: (repo) => ({ read: [], write: [repo] }), note: "prune on the server by arrival time, never by the snapshots' own dates (docs/recipes.md)" };
  }
  return null;
}

/** A dated or numbered directory (2026-11-24, 20261124, daily.0, weekly.3, 17): one of a rotating set. */
const ROTATING = /^(?:\d{4}-?\d{2}-?\d{2}.*|(?:hourly|daily|weekly|monthly|yearly)(?:\.\d+)?|\d+)$/;

export function suggestPolicy(identity: string, learned: readonly LearnedCommand[], helpers: SuggestHelpers): string {
  const seen = new Set<string>();
  const push: RsyncFindings = { dirs: [], absolute: false, delete: false, acls: false, xattrs: false, examples: [], rotating: [], relative: [] };
  const pull: RsyncFindings = { dirs: [], absolute: false, delete: false, acls: false, xattrs: false, examples: [], rotating: [], relative: [] };
  const execs: { words: string[]; command: string }[] = [];
  const servers: (ServerSide & { command: string })[] = [];
  const files = { dirs: [] as string[], examples: [] as string[], up: false, down: false, subsystem: false };
  const notes: string[] = [];
  const prefixes = new Set<string>();

  for (const { command, user, protectedArgs } of learned) {
    const key = protectedArgs ? `${command}\0${protectedArgs.join('\0')}` : command;
    if (seen.has(key)) continue;
    seen.add(key);
    const tokenized = tokenize(command);
    if (!tokenized.ok) {
      notes.push(`not suggested (a connection would refuse it: ${tokenized.reason}): ${command}`);
      continue;
    }
    // rsync -s (BackupPC): what it sent on the connection is part of the command, as for a connection.
    const tokens = protectedArgs ? withProtectedArgs(tokenized.words, tokenized.globs, protectedArgs) : tokenized;
    if (!tokens.ok) {
      notes.push(`not suggested (a connection would refuse it: ${tokens.reason}): ${command}`);
      continue;
    }
    // rsync behind sudo/nice/ionice is read as a connection reads it (rules/spelling.ts): the
    // shapes it takes become rsync rules, with a note; any other wrapper would be refused.
    const spelled = readSpelling(tokens.words, tokens.globs);
    if (spelled.kind === 'refused') {
      notes.push(`not suggested (a connection would refuse it: spelling-refused, ${spelled.why}): ${command}`);
      continue;
    }
    const unwrapped = spelled.kind === 'spelled' && spelled.serves === 'rsync' ? spelled : null;
    const words = unwrapped?.words ?? tokens.words;
    const rsync = parseServerArgs(words);
    if (rsync.ok) {
      // A path to rsync alone is no wrapper: nothing to note.
      if (unwrapped && unwrapped.spelling.includes(' ')) prefixes.add(unwrapped.spelling);
      const findings = rsync.args.sender ? pull : push;
      findings.examples.push(command);
      const relative = rsync.args.sender && usesRelativePaths(rsync.args.options);
      for (const operand of rsync.args.operands) {
        const absolute = operand.startsWith('/');
        if (relative && absolute) findings.relative.push(posix.normalize(operand).replace(/\/+$/, '') || '/');
        findings.absolute ||= absolute;
        const path = posix.normalize(absolute ? operand : posix.join(helpers.home(user), operand)).replace(/\/+$/, '') || '/';
        // `dest/` is the directory itself (a push into it, a pull of its contents); `name` may be a
        // file, so its directory is what holds it. Going up from `dest/` would widen the root
        // to the backups of other hosts (found in review), except from one of a rotating set
        // (2026-11-24/, daily.0/): the next run names the next one, so their parent is the root.
        const rotating = operand.endsWith('/') && ROTATING.test(posix.basename(path));
        if (rotating) findings.rotating.push(path);
        findings.dirs.push(operand.endsWith('/') && !rotating ? path : posix.dirname(path));
      }
      for (const option of rsync.args.options) {
        findings.delete ||= option.gates.includes('delete');
        if (option.gates.includes('snapshot-only')) findings.linked = true;
        findings.acls ||= option.gates.includes('acls');
        findings.xattrs ||= option.gates.includes('xattrs');
      }
      continue;
    }
    if (rsync.reason !== 'rsync-not-server' || rsync.detail !== 'not an rsync command') {
      notes.push(`not suggested (an rsync rule would refuse it: ${rsync.reason}, ${rsync.detail}): ${command}`);
      continue;
    }
    // sftp, scp and legacy scp: an sftp rule, never an exec of sftp-server or scp.
    const scp = parseScpWords(tokens.words);
    if (isSubsystem(tokens.words) === true || typeof scp !== 'string') {
      files.examples.push(command);
      if (typeof scp === 'string') files.subsystem = true;
      else {
        const path = posix.normalize(scp.path.startsWith('/') ? scp.path : posix.join(helpers.home(user), scp.path)).replace(/\/+$/, '') || '/';
        files.dirs.push(scp.direction === 'to-server' && (scp.targetMustBeDir || scp.recursive || scp.path.endsWith('/')) ? path : posix.dirname(path));
        if (scp.direction === 'to-server') files.up = true;
        else files.down = true;
      }
      continue;
    }
    if (words[0] === 'receive') {
      notes.push(`not suggested (write a receive rule for it): ${command}`);
      continue;
    }
    // Tools whose restriction is the server's own options: the policy fixes them with run:.
    const server = serverSide(words);
    if (server !== null) {
      if (!servers.some((s) => s.name === server.name)) servers.push({ ...server, command });
      continue;
    }
    const refused = refusedProgram(words[0]!);
    if (refused !== null) {
      notes.push(`not suggested (${refused}): ${command}`);
      continue;
    }
    execs.push({ words, command });
  }

  const lines = ['# Suggested by `ssh-dispatch suggest` from learned requests: read it, narrow it, then `ssh-dispatch check`.', 'version: 1', 'identities:', `  ${yamlString(identity)}:`, '    rules:'];
  const listed = (commands: readonly string[]) => `${commands.slice(0, 3).map(comment).join(' | ')}${commands.length > 3 ? ` (+${commands.length - 3} more)` : ''}`;
  const rsyncRule = (name: string, access: string, findings: RsyncFindings, widened: string | null) => {
    const root = commonDirectory(findings.dirs);
    const distinct = [...new Set(findings.dirs)];
    lines.push(`      # learned: ${listed(findings.examples)}`);
    if (widened !== null) lines.push(`      # CHECK: ${widened}`);
    // Every learned path a --relative pull of an absolute path (rsnapshot, BackupPC): the names
    // must stay as sent, so root / with paths:, each learned path once (none inside another).
    if (findings.relative.length > 0 && findings.relative.length === findings.dirs.length) {
      const all = [...new Set(findings.relative)].sort();
      const paths = all.filter((path) => !all.some((other) => other !== path && isWithin(path, other)));
      lines.push(`      # CHECK: --relative pulls (rsnapshot, BackupPC) of ${paths.length} path(s): served from root / with paths:, so their names stay as sent and only they can be read; list only what the backup needs.`);
      lines.push(`      - name: ${name}`, '        rsync:', '          root: "/"', `          access: ${access}`, `          paths: [${paths.map(yamlString).join(', ')}]`);
      return;
    }
    if (findings.rotating.length > 0) lines.push(`      # CHECK: root is the parent of ${comment(findings.rotating.slice(0, 2).join(', '))}, which look${findings.rotating.length > 1 ? '' : 's'} like one of a rotating set (the next run names the next one); if it is not, make root that directory.`);
    if (distinct.length > 1 && root !== '/') lines.push(`      # CHECK: root is the directory the ${distinct.length} learned paths share, wider than each (${comment(distinct.slice(0, 3).join(', '))}): narrow it, or write one rule per path.`);
    if (findings.acls || findings.xattrs) lines.push(`      # CHECK: the learned lines restore ${[findings.acls ? 'ACLs' : '', findings.xattrs ? 'extended attributes' : ''].filter(Boolean).join(' and ')}; a root receiver then restores file capabilities too: set false if the backup does not need them.`);
    if (root === '/') lines.push('      # CHECK: the learned paths share no directory but "/": narrow root before using this.');
    lines.push(`      - name: ${name}`, '        rsync:', `          root: ${yamlString(root)}`, `          access: ${access}`);
    lines.push(`          delete: ${findings.delete}${findings.delete ? '   # the learned lines deleted on the server; set false if that was not meant' : ''}`);
    if (findings.acls) lines.push('          acls: true');
    if (findings.xattrs) lines.push('          xattrs: true');
    if (findings.absolute && root !== '/') lines.push('          absolute-paths: true   # the client names absolute paths under root');
    // Each push a new dated directory beside the last: the shape in which history is read-only.
    if (findings.linked && access !== 'read' && findings.rotating.length > 0) lines.push('          snapshot: true   # the learned pushes are --link-dest snapshots: each push makes one new directory, and none can change an older one');
    else if (findings.linked) lines.push("      # CHECK: the learned pushes use --link-dest, which only a snapshot: true rule serves (each push one new directory under root): point the backup at one");
  };
  for (const prefix of prefixes) {
    lines.push(`      # CHECK: the client ran rsync as "${comment(prefix)}": the rule serves it as plain "rsync --server ..." (recorded as spelling), and the wrapper is not run: rsync runs as the account the key logs into, never through sudo; log in as an account that may do the job, and set nice:/ionice: on the rule if the client's were wanted.`);
  }
  const pushRoot = push.dirs.length > 0 ? commonDirectory(push.dirs) : null;
  const pullRoot = pull.dirs.length > 0 ? commonDirectory(pull.dirs) : null;
  if (pushRoot !== null && pushRoot === pullRoot) {
    // Both directions in one directory: a backup that also restores, or one stolen key's pull
    // among many pushes. Which one only the admin knows, so the rarer direction is named.
    const [fewer, direction] = pull.examples.length <= push.examples.length ? [pull.examples, 'pull'] : [push.examples, 'push'];
    rsyncRule(
      'learned-rsync',
      'read-write',
      {
        dirs: [...push.dirs, ...pull.dirs],
        absolute: push.absolute || pull.absolute,
        delete: push.delete || pull.delete,
        acls: push.acls || pull.acls,
        xattrs: push.xattrs || pull.xattrs,
        examples: [...push.examples, ...pull.examples],
        rotating: [...push.rotating, ...pull.rotating],
        relative: [],
      },
      `access widened to read-write by ${fewer.length} ${direction}(s): ${listed(fewer)}; if those were not this job's, set access: ${direction === 'pull' ? 'write' : 'read'}`,
    );
  } else {
    if (pushRoot !== null) rsyncRule('learned-rsync-push', 'write', push, null);
    // A pull learned beside pushes is a restore, or a stolen key's read: only the admin knows which.
    if (pullRoot !== null) rsyncRule('learned-rsync-pull', 'read', pull, pushRoot === null ? null : `a read rule proposed beside the pushes: ${pull.examples.length} pull(s) (${listed(pull.examples)}); if this key does not restore, delete this rule`);
  }
  if (files.examples.length > 0) {
    // What an sftp session read or wrote is in its protocol, not in the learned command: the
    // subsystem alone says nothing about where or which way.
    const root = files.dirs.length > 0 ? commonDirectory(files.dirs) : `/srv/sftp/${identity.replace(/[^A-Za-z0-9._-]/g, '_')}`;
    const access = files.subsystem || (files.up && files.down) ? 'read-write' : files.up ? 'write' : 'read';
    lines.push(`      # learned: ${listed(files.examples)}`);
    if (files.subsystem) lines.push(`      # CHECK: sftp sessions (sftp, scp, restic, rclone ...) do not say which files they use or which way: sftp-server served the account's whole filesystem. Root and access are a guess: point the client at a directory of its own and narrow access.`);
    if (root === '/') lines.push('      # CHECK: the learned paths share no directory but "/": narrow root before using this.');
    lines.push('      - name: learned-sftp', '        sftp:', `          root: ${yamlString(root)}`, `          access: ${access}`);
  }
  for (const server of servers) {
    const home = `/srv/${server.name}/${identity.replace(/[^A-Za-z0-9._-]/g, '_')}`;
    lines.push(`      # learned: ${comment(server.command)}`);
    lines.push(`      # CHECK: ${server.name} restricts itself only by the server's options, which the client cannot send: run: fixes them, and the sandbox is the boundary (docs/recipes.md); ${comment(server.note)}. ${home} is a guess: set the repository's real path.`);
    const box = server.sandbox(home);
    lines.push(
      `      - name: learned-${server.name}`,
      '        exec:',
      `          command: [${server.pattern.map(yamlString).join(', ')}]`,
      `          run: [${server.run(home).map(yamlString).join(', ')}]`,
      `          sandbox: { read: [${box.read.map(yamlString).join(', ')}], write: [${box.write.map(yamlString).join(', ')}] }`,
    );
  }
  for (const [i, { words, command }] of execs.entries()) {
    const program = words[0]!.startsWith('/') ? words[0]! : helpers.which(words[0]!);
    lines.push(`      # learned: ${comment(command)}`);
    if (program === null) lines.push(`      # CHECK: ${comment(words[0]!)} was not found on PATH: set program to its absolute path.`);
    // List form: no quoting is read in it; glob characters are escaped so each word is literal.
    const pattern = words.map((w) => yamlString(w.replace(/[*?[\]{}()!+@|\\]/g, '\\$&')));
    lines.push(`      - name: learned-exec-${i + 1}`, '        exec:', `          command: [${pattern.join(', ')}]`, `          program: ${yamlString(program ?? `/usr/bin/${words[0]}`)}`);
  }
  if (lines[lines.length - 1] === '    rules:') lines[lines.length - 1] = '    rules: []   # nothing learned that a rule could allow';
  for (const note of notes) lines.push(`# ${comment(note)}`);
  return `${lines.join('\n')}\n`;
}
