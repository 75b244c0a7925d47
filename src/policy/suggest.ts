/**
 * Learned commands (from `--learn` records) → policy YAML that allows exactly them.
 *
 * rsync server lines become rsync rules: one per direction, the root being the common directory
 * of the paths they named (relative paths were relative to the account's home), access from
 * --sender, delete/acls/xattrs only if the learned lines used them, absolute-paths when the client
 * sent absolute paths (so the same command line keeps working). Other commands become exec rules
 * of their literal words. The result is a starting point to read and narrow, not a verdict.
 *
 * The YAML is written by suggest-yaml.ts. Everything learned came from a client, and a thief's commands are learned as well as the
 * backup's: it is data. A learned newline that ended a comment would turn what follows into a
 * rule the admin never wrote, so every learned text goes through `printable` (comments) or
 * `yamlString` (values) and no raw control byte reaches the file or the terminal. And a learned
 * command is never proposed as an exec rule of a program that would hand the client more than
 * the command shows (rsync's own protocol, sudo, a shell, an interpreter, an sftp server).
 */
import { posix } from 'node:path';
import { isSubsystem, parseScpWords } from '../rules/sftp/match.js';
import { programKind } from '../rules/exec/programs.js';
import { usesRelativePaths } from '../rules/rsync/match.js';
import { withProtectedArgs } from '../rules/rsync/protected-args.js';
import { parseServerArgs } from '../rules/rsync/server-args.js';
import type { ServerArgs } from '../rules/rsync/server-args.js';
import { readSpelling, wordsFor } from '../rules/spelling.js';
import { tokenize } from '../request/tokenize.js';
import { suggestionYaml, type FilesFindings, type Learned, type RsyncFindings, type ServerSide } from './suggest-yaml.js';

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

/** borg, rdiff-backup and restic's rclone backend: served by a fixed argv (run:) in a sandbox, never as learned. */
function serverSide(words: readonly string[]): ServerSide | null {
  const name = words[0]?.split('/').pop();
  if (name === 'borg' && words[1] === 'serve') {
    // config read-only: borg key import rewrites the repokey there, --append-only or not.
    return {
      name: 'borg',
      pattern: ['borg', 'serve', '...'],
      run: (repo) => ['/usr/bin/borg', 'serve', '--restrict-to-repository', repo, '--append-only'],
      sandbox: (repo) => ({ read: [`${repo}/config`], write: [repo] }),
      note: 'the repository must exist (borg init on the server) so that its config can be bound read-only',
    };
  }
  if (name === 'rdiff-backup' && (words[1] === '--server' || words[1] === 'server')) {
    // Its server unpickles the client's first message before any check: only a read-only key holds.
    return {
      name: 'rdiff-backup',
      pattern: ['rdiff-backup', '...'],
      run: (repo) => ['/usr/bin/rdiff-backup', 'server', '--restrict-path', repo],
      sandbox: (repo) => ({ read: [repo], write: [] }),
      note: "rdiff-backup's server runs what the client sends before it checks anything, so this key may only restore (read-only); backups through a key cannot be made safe (docs/recipes.md)",
    };
  }
  if (name === 'rclone' && words[1] === 'serve' && words[2] === 'restic') {
    return {
      name: 'restic',
      pattern: ['rclone', 'serve', 'restic', '--stdio', '...'],
      run: (repo) => ['/usr/bin/rclone', 'serve', 'restic', '--stdio', '--append-only', repo],
      sandbox: (repo) => ({ read: [], write: [repo] }),
      note: "prune on the server by arrival time, never by the snapshots' own dates (docs/recipes.md)",
    };
  }
  return null;
}

/** A dated or numbered directory (2026-11-24, 20261124, daily.0, weekly.3, 17): one of a rotating set. */
const ROTATING = /^(?:\d{4}-?\d{2}-?\d{2}.*|(?:hourly|daily|weekly|monthly|yearly)(?:\.\d+)?|\d+)$/;

/** Where a learned path lies: as named, or under the account's home when relative, without a trailing slash. */
function learnedPath(path: string, home: () => string): string {
  return posix.normalize(path.startsWith('/') ? path : posix.join(home(), path)).replace(/\/+$/, '') || '/';
}

/** An rsync server line: its direction's directories, and what its options used. */
function learnRsync(findings: RsyncFindings, args: ServerArgs, command: string, home: () => string): void {
  findings.examples.push(command);
  const relative = args.sender && usesRelativePaths(args.options);
  for (const operand of args.operands) {
    const absolute = operand.startsWith('/');
    if (relative && absolute) findings.relative.push(posix.normalize(operand).replace(/\/+$/, '') || '/');
    findings.absolute ||= absolute;
    const path = learnedPath(operand, home);
    // `dest/` is the directory itself (a push into it, a pull of its contents); `name` may be a
    // file, so its directory is what holds it. Going up from `dest/` would widen the root
    // to the backups of other hosts (found in review), except from one of a rotating set
    // (2026-11-24/, daily.0/): the next run names the next one, so their parent is the root.
    const rotating = operand.endsWith('/') && ROTATING.test(posix.basename(path));
    if (rotating) findings.rotating.push(path);
    findings.dirs.push(operand.endsWith('/') && !rotating ? path : posix.dirname(path));
  }
  for (const option of args.options) {
    findings.delete ||= option.gates.includes('delete');
    if (option.gates.includes('snapshot-only')) findings.linked = true;
    findings.acls ||= option.gates.includes('acls');
    findings.xattrs ||= option.gates.includes('xattrs');
  }
}

/** An sftp session (which names no path) or an scp command line. */
function learnFiles(files: FilesFindings, scp: ReturnType<typeof parseScpWords>, command: string, home: () => string): void {
  files.examples.push(command);
  if (typeof scp === 'string') {
    files.subsystem = true;
    return;
  }
  const path = learnedPath(scp.path, home);
  files.dirs.push(
    scp.direction === 'to-server' && (scp.targetMustBeDir || scp.recursive || scp.path.endsWith('/')) ? path : posix.dirname(path),
  );
  if (scp.direction === 'to-server') files.up = true;
  else files.down = true;
}

/** The words a connection would read from a learned command (tokenized, rsync -s arguments added, wrappers read), or why it would refuse them. */
function connectionWords(
  command: string,
  protectedArgs: string[] | undefined,
): { ok: true; words: string[]; tokens: string[]; wrapper: string | null } | { ok: false; note: string } {
  const tokenized = tokenize(command);
  if (!tokenized.ok) return { ok: false, note: `not suggested (a connection would refuse it: ${tokenized.reason}): ${command}` };
  // rsync -s (BackupPC): what it sent on the connection is part of the command, as for a connection.
  const tokens = protectedArgs ? withProtectedArgs(tokenized.words, tokenized.globs, protectedArgs) : tokenized;
  if (!tokens.ok) return { ok: false, note: `not suggested (a connection would refuse it: ${tokens.reason}): ${command}` };
  // rsync behind sudo/nice/ionice is read as a connection reads it (rules/spelling.ts): the
  // shapes it takes become rsync rules, with a note; any other wrapper would be refused.
  const spelled = readSpelling(tokens.words, tokens.globs);
  if (spelled.kind === 'refused')
    return { ok: false, note: `not suggested (a connection would refuse it: spelling-refused, ${spelled.why}): ${command}` };
  // Suggested rules are rsync rules first: the words an rsync rule would be given.
  const rsync = wordsFor('rsync', spelled, tokens.words, tokens.globs);
  // A path to rsync alone is no wrapper: nothing to note.
  return { ok: true, words: rsync.words, tokens: tokens.words, wrapper: rsync.spelling?.includes(' ') ? rsync.spelling : null };
}

/** One learned command, into the findings of the rule kind that would serve it, or a note saying why none would. */
function learnOne(learned: Learned, { command, user, protectedArgs }: LearnedCommand, helpers: SuggestHelpers): void {
  const read = connectionWords(command, protectedArgs);
  if (!read.ok) {
    learned.notes.push(read.note);
    return;
  }
  const { words } = read;
  const home = () => helpers.home(user);
  const rsync = parseServerArgs(words);
  if (rsync.ok) {
    if (read.wrapper !== null) learned.prefixes.add(read.wrapper);
    return learnRsync(rsync.args.sender ? learned.pull : learned.push, rsync.args, command, home);
  }
  if (rsync.reason !== 'rsync-not-server' || rsync.detail !== 'not an rsync command') {
    learned.notes.push(`not suggested (an rsync rule would refuse it: ${rsync.reason}, ${rsync.detail}): ${command}`);
    return;
  }
  // sftp, scp and legacy scp: an sftp rule, never an exec of sftp-server or scp.
  const scp = parseScpWords(read.tokens);
  if (isSubsystem(read.tokens) === true || typeof scp !== 'string') return learnFiles(learned.files, scp, command, home);
  if (words[0] === 'receive') {
    learned.notes.push(`not suggested (write a receive rule for it): ${command}`);
    return;
  }
  // Tools whose restriction is the server's own options: the policy fixes them with run:.
  const server = serverSide(words);
  if (server !== null) {
    if (!learned.servers.some((s) => s.name === server.name)) learned.servers.push({ ...server, command });
    return;
  }
  const refused = refusedProgram(words[0]!);
  if (refused !== null) {
    learned.notes.push(`not suggested (${refused}): ${command}`);
    return;
  }
  learned.execs.push({ words, command });
}

const noFindings = (): RsyncFindings => ({
  dirs: [],
  absolute: false,
  delete: false,
  acls: false,
  xattrs: false,
  examples: [],
  rotating: [],
  relative: [],
});

export function suggestPolicy(identity: string, learned: readonly LearnedCommand[], helpers: SuggestHelpers): string {
  const found: Learned = {
    push: noFindings(),
    pull: noFindings(),
    execs: [],
    servers: [],
    files: { dirs: [], examples: [], up: false, down: false, subsystem: false },
    notes: [],
    prefixes: new Set(),
  };
  const seen = new Set<string>();
  for (const one of learned) {
    const key = one.protectedArgs ? `${one.command}\0${one.protectedArgs.join('\0')}` : one.command;
    if (seen.has(key)) continue;
    seen.add(key);
    learnOne(found, one, helpers);
  }
  return suggestionYaml(identity, found, helpers.which);
}
