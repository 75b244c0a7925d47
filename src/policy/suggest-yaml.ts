/**
 * What `suggest` learned (suggest.ts), written as policy YAML: one rule per finding, each with
 * the learned commands it came from and a CHECK note wherever it allows more than they showed.
 *
 * Everything learned came from a client: every learned text goes through `comment` (comments)
 * or `yamlString` (values), so no raw control byte reaches the file or the terminal.
 */
import { printable } from '../values/printable.js';
import { isWithin } from '../values/paths.js';

export interface RsyncFindings {
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

export interface ServerSide {
  name: string;
  /** The command pattern: the words the tool's client sends, then `...` for the options it adds. */
  pattern: string[];
  run(repository: string): string[];
  /** The sandbox the recipe runs it in (docs/recipes.md): the tool's "restricted" mode is no boundary. */
  sandbox(repository: string): { read: string[]; write: string[] };
  /** What the rule can and cannot be, said in its CHECK note. */
  note: string;
}

/** sftp, scp and legacy scp learned: the directories named, which ways, and whether any was an sftp session (which names none). */
export interface FilesFindings {
  dirs: string[];
  examples: string[];
  up: boolean;
  down: boolean;
  subsystem: boolean;
}

/** Everything learned from one identity's commands. */
export interface Learned {
  push: RsyncFindings;
  pull: RsyncFindings;
  execs: { words: string[]; command: string }[];
  servers: (ServerSide & { command: string })[];
  files: FilesFindings;
  notes: string[];
  /** The wrappers rsync was run behind (sudo, nice ...). */
  prefixes: Set<string>;
}

export function commonDirectory(paths: readonly string[]): string {
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

const listed = (commands: readonly string[]) =>
  `${commands.slice(0, 3).map(comment).join(' | ')}${commands.length > 3 ? ` (+${commands.length - 3} more)` : ''}`;

/**
 * Every learned path a --relative pull of an absolute path (rsnapshot, BackupPC): the names
 * must stay as sent, so root / with paths:, each learned path once (none inside another).
 */
function relativePullRule(lines: string[], name: string, access: string, findings: RsyncFindings): void {
  const all = [...new Set(findings.relative)].sort();
  const paths = all.filter((path) => !all.some((other) => other !== path && isWithin(path, other)));
  lines.push(
    `      # CHECK: --relative pulls (rsnapshot, BackupPC) of ${paths.length} path(s): served from root / with paths:, so their names stay as sent and only they can be read; list only what the backup needs.`,
  );
  lines.push(
    `      - name: ${name}`,
    '        rsync:',
    '          root: "/"',
    `          access: ${access}`,
    `          paths: [${paths.map(yamlString).join(', ')}]`,
  );
}

function rsyncRule(lines: string[], name: string, access: string, findings: RsyncFindings, widened: string | null): void {
  const root = commonDirectory(findings.dirs);
  const distinct = [...new Set(findings.dirs)];
  lines.push(`      # learned: ${listed(findings.examples)}`);
  if (widened !== null) lines.push(`      # CHECK: ${widened}`);
  if (findings.relative.length > 0 && findings.relative.length === findings.dirs.length)
    return relativePullRule(lines, name, access, findings);
  if (findings.rotating.length > 0)
    lines.push(
      `      # CHECK: root is the parent of ${comment(findings.rotating.slice(0, 2).join(', '))}, which look${findings.rotating.length > 1 ? '' : 's'} like one of a rotating set (the next run names the next one); if it is not, make root that directory.`,
    );
  if (distinct.length > 1 && root !== '/')
    lines.push(
      `      # CHECK: root is the directory the ${distinct.length} learned paths share, wider than each (${comment(distinct.slice(0, 3).join(', '))}): narrow it, or write one rule per path.`,
    );
  if (findings.acls || findings.xattrs)
    lines.push(
      `      # CHECK: the learned lines restore ${[findings.acls ? 'ACLs' : '', findings.xattrs ? 'extended attributes' : ''].filter(Boolean).join(' and ')}; a root receiver then restores file capabilities too: set false if the backup does not need them.`,
    );
  if (root === '/') lines.push('      # CHECK: the learned paths share no directory but "/": narrow root before using this.');
  lines.push(`      - name: ${name}`, '        rsync:', `          root: ${yamlString(root)}`, `          access: ${access}`);
  lines.push(
    `          delete: ${findings.delete}${findings.delete ? '   # the learned lines deleted on the server; set false if that was not meant' : ''}`,
  );
  if (findings.acls) lines.push('          acls: true');
  if (findings.xattrs) lines.push('          xattrs: true');
  if (findings.absolute && root !== '/') lines.push('          absolute-paths: true   # the client names absolute paths under root');
  // Each push a new dated directory beside the last: the shape in which history is read-only.
  if (findings.linked && access !== 'read' && findings.rotating.length > 0)
    lines.push(
      '          snapshot: true   # the learned pushes are --link-dest snapshots: each push makes one new directory, and none can change an older one',
    );
  else if (findings.linked)
    lines.push(
      '      # CHECK: the learned pushes use --link-dest, which only a snapshot: true rule serves (each push one new directory under root): point the backup at one',
    );
}

function rsyncRules(lines: string[], { push, pull, prefixes }: Learned): void {
  for (const prefix of prefixes) {
    lines.push(
      `      # CHECK: the client ran rsync as "${comment(prefix)}": the rule serves it as plain "rsync --server ..." (recorded as spelling), and the wrapper is not run: rsync runs as the account the key logs into, never through sudo; log in as an account that may do the job, and set nice:/ionice: on the rule if the client's were wanted.`,
    );
  }
  const pushRoot = push.dirs.length > 0 ? commonDirectory(push.dirs) : null;
  const pullRoot = pull.dirs.length > 0 ? commonDirectory(pull.dirs) : null;
  if (pushRoot !== null && pushRoot === pullRoot) {
    // Both directions in one directory: a backup that also restores, or one stolen key's pull
    // among many pushes. Which one only the admin knows, so the rarer direction is named.
    const [fewer, direction] = pull.examples.length <= push.examples.length ? [pull.examples, 'pull'] : [push.examples, 'push'];
    const both: RsyncFindings = {
      dirs: [...push.dirs, ...pull.dirs],
      absolute: push.absolute || pull.absolute,
      delete: push.delete || pull.delete,
      acls: push.acls || pull.acls,
      xattrs: push.xattrs || pull.xattrs,
      examples: [...push.examples, ...pull.examples],
      rotating: [...push.rotating, ...pull.rotating],
      relative: [],
    };
    rsyncRule(
      lines,
      'learned-rsync',
      'read-write',
      both,
      `access widened to read-write by ${fewer.length} ${direction}(s): ${listed(fewer)}; if those were not this job's, set access: ${direction === 'pull' ? 'write' : 'read'}`,
    );
    return;
  }
  if (pushRoot !== null) rsyncRule(lines, 'learned-rsync-push', 'write', push, null);
  // A pull learned beside pushes is a restore, or a stolen key's read: only the admin knows which.
  if (pullRoot !== null)
    rsyncRule(
      lines,
      'learned-rsync-pull',
      'read',
      pull,
      pushRoot === null
        ? null
        : `a read rule proposed beside the pushes: ${pull.examples.length} pull(s) (${listed(pull.examples)}); if this key does not restore, delete this rule`,
    );
}

function filesRule(lines: string[], identity: string, files: FilesFindings): void {
  if (files.examples.length === 0) return;
  // What an sftp session read or wrote is in its protocol, not in the learned command: the
  // subsystem alone says nothing about where or which way.
  const root = files.dirs.length > 0 ? commonDirectory(files.dirs) : `/srv/sftp/${identity.replace(/[^A-Za-z0-9._-]/g, '_')}`;
  const access = files.subsystem || (files.up && files.down) ? 'read-write' : files.up ? 'write' : 'read';
  lines.push(`      # learned: ${listed(files.examples)}`);
  if (files.subsystem)
    lines.push(
      `      # CHECK: sftp sessions (sftp, scp, restic, rclone ...) do not say which files they use or which way: sftp-server served the account's whole filesystem. Root and access are a guess: point the client at a directory of its own and narrow access.`,
    );
  if (root === '/') lines.push('      # CHECK: the learned paths share no directory but "/": narrow root before using this.');
  lines.push('      - name: learned-sftp', '        sftp:', `          root: ${yamlString(root)}`, `          access: ${access}`);
}

function serverRules(lines: string[], identity: string, servers: Learned['servers']): void {
  for (const server of servers) {
    const home = `/srv/${server.name}/${identity.replace(/[^A-Za-z0-9._-]/g, '_')}`;
    lines.push(`      # learned: ${comment(server.command)}`);
    lines.push(
      `      # CHECK: ${server.name} restricts itself only by the server's options, which the client cannot send: run: fixes them, and the sandbox is the boundary (docs/recipes.md); ${comment(server.note)}. ${home} is a guess: set the repository's real path.`,
    );
    const box = server.sandbox(home);
    lines.push(
      `      - name: learned-${server.name}`,
      '        exec:',
      `          command: [${server.pattern.map(yamlString).join(', ')}]`,
      `          run: [${server.run(home).map(yamlString).join(', ')}]`,
      `          sandbox: { read: [${box.read.map(yamlString).join(', ')}], write: [${box.write.map(yamlString).join(', ')}] }`,
    );
  }
}

function execRules(lines: string[], execs: Learned['execs'], which: (program: string) => string | null): void {
  for (const [i, { words, command }] of execs.entries()) {
    const program = words[0]!.startsWith('/') ? words[0]! : which(words[0]!);
    lines.push(`      # learned: ${comment(command)}`);
    if (program === null) lines.push(`      # CHECK: ${comment(words[0]!)} was not found on PATH: set program to its absolute path.`);
    // List form: no quoting is read in it; glob characters are escaped so each word is literal.
    const pattern = words.map((w) => yamlString(w.replace(/[*?[\]{}()!+@|\\]/g, '\\$&')));
    lines.push(
      `      - name: learned-exec-${i + 1}`,
      '        exec:',
      `          command: [${pattern.join(', ')}]`,
      `          program: ${yamlString(program ?? `/usr/bin/${words[0]}`)}`,
    );
  }
}

/** The policy YAML for what was learned; `which` finds a program's absolute path as the account's PATH would. */
export function suggestionYaml(identity: string, learned: Learned, which: (program: string) => string | null): string {
  const lines = [
    '# Suggested by `ssh-dispatch suggest` from learned requests: read it, narrow it, then `ssh-dispatch check`.',
    'version: 1',
    'identities:',
    `  ${yamlString(identity)}:`,
    '    rules:',
  ];
  rsyncRules(lines, learned);
  filesRule(lines, identity, learned.files);
  serverRules(lines, identity, learned.servers);
  execRules(lines, learned.execs, which);
  if (lines[lines.length - 1] === '    rules:') lines[lines.length - 1] = '    rules: []   # nothing learned that a rule could allow';
  for (const note of learned.notes) lines.push(`# ${comment(note)}`);
  return `${lines.join('\n')}\n`;
}
