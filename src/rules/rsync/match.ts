/**
 * rsync rules: a parsed `rsync --server ...` checked against one rule, and the argv that runs.
 *
 * The argv is built, not passed through (rrsync's shape): the rule's rsync, --server, --sender
 * if pulling, the client's options as vetted (path values rewritten under root), the options the
 * server imposes, "--" so no operand can be read as an option, ".", the confined operands.
 * rsync runs in root, so operands stay relative: --relative pulls keep the names they expect.
 */
import type { RsyncRule } from './rule.js';
import type { Request } from '../../request/request.js';
import type { DenyReason } from '../../values/deny-reason.js';
import { minimalChildEnv, type ExecPlan } from '../plan.js';
import { ROOT_CAPS } from '../sandbox.js';
import { confineDestDir, confineOperand, confinePartialDir, confineRootFile, joinUnder, resolveParts, type Confined } from './confine.js';
import { parseServerArgs, type ServerOption } from './server-args.js';
import type { Gate } from './server-options.js';
import { isWithin } from '../../values/paths.js';

/** What the installed rsync can do, probed at run time (host/rsync-features.ts). */
export interface RsyncFeatures {
  version: string | null;
  /** --confine-root (rsync >= 3.5.0): bounds merge files and option paths to root. */
  confineRoot: boolean;
  /** --drop-D (rsync >= 3.5.0): a receiver creates no devices or specials. */
  dropD: boolean;
}

export const NO_RSYNC_FEATURES: RsyncFeatures = { version: null, confineRoot: false, dropD: false };

export type RsyncOutcome = { ok: true; plan: ExecPlan } | { ok: false; why: string; reason: DenyReason | null };

function refuse(reason: DenyReason, why: string): RsyncOutcome {
  return { ok: false, reason, why };
}

/** Why the rule refuses what `gate` guards, or null when it allows it. */
function gateRefusal(rule: RsyncRule, gate: Gate, sender: boolean): string | null {
  switch (gate) {
    case 'delete':
      // A snapshot push writes into a directory it made, empty: a nightly script's --delete there
      // deletes nothing stored (found in review: it was refused, failing such scripts).
      return rule.delete || (rule.snapshot && !sender) ? null : 'deletes on the server (the rule has delete: false)';
    case 'overwrite':
      return rule.overwrite ? null : 'touches existing files (the rule has overwrite: false)';
    case 'follow-links':
      // Only where nothing is outside: root / with no paths (found in review: -L read past paths:).
      return rule.root === '/' && rule.paths === null ? null : 'follows symlinks, which can lead out of root';
    case 'acls':
      if (!rule.acls) return 'restores ACLs (the rule has acls: false)';
      return !sender && !rule.overwrite && !rule.snapshot ? 'sets ACLs on stored directories, which overwrite: false cannot put back' : null;
    case 'xattrs':
      if (!rule.xattrs) return 'restores extended attributes (the rule has xattrs: false)';
      return !sender && !rule.overwrite && !rule.snapshot ? 'sets extended attributes on stored directories, which overwrite: false cannot put back' : null;
    case 'history':
      return sender ? null : 'changes a stored inode itself (its contents, or the access time rsync sets on a file it hard-linked), and so every hard link to it (every snapshot that shares it); push without it: rsync then writes a new file and renames it into place';
    case 'snapshot-only':
      return rule.snapshot ? null : 'hard-links stored files into the destination, where a later push could change them through the link; dated snapshots need snapshot: true (each push one new directory)';
    case 'stored-contents':
      return rule.access === 'write' ? 'tells the client something of the contents of stored files (the rule has access: write; delta transfers and checksum comparisons need read-write)' : null;
  }
}

/**
 * Whether rsync runs with --relative: -R in a bundle or --relative, undone by a later
 * --no-relative, and implied by --files-from (rsync's own default when neither is given).
 */
export function usesRelativePaths(options: readonly ServerOption[]): boolean {
  let relative: boolean | null = null;
  for (const option of options) {
    if ((option.name === '-' && option.value!.includes('R')) || option.name === 'relative') relative = true;
    else if (option.name === 'no-relative') relative = false;
  }
  return relative ?? options.some((option) => option.name === 'files-from');
}

/** Where rsync's receiver logs what it changed: the supervising dispatcher's FIFO (act/fifo.ts). */
export const RSYNC_REPORT_FILE = '/proc/self/fd/3';

/**
 * The session's token, itemized change, file length, name (rsync escapes unprintable bytes in
 * names as \\#ooo). rsync also logs every message the client sends it (MSG_INFO), with the same
 * prefix: the token, which the client never learns, tells rsync's own report lines from those
 * (found in review: a client's messages forged names and a terabyte in writes).
 */
export function rsyncReportFormat(token: string): string {
  return `${token} %i %l %n`;
}

/** The report FIFO's name in root (act/fifo.ts): protected from a push's --delete by a filter rule. */
export function reportFifoName(token: string): string {
  return `.ssh-dispatch-report-${token}`;
}

/**
 * Why an option cannot go with a snapshot push, or null: it may write only inside its new
 * directory. Basis directories (--link-dest and its kin) must be other snapshots, siblings of
 * this one; --partial-dir stays inside each directory of the snapshot; a temp or backup
 * directory would put files elsewhere. `value` is the option's value as root sees it.
 */
function snapshotOptionRefusal(option: ServerOption, value: string, snapshot: string): string | null {
  if (option.name === 'temp-dir' || option.name === 'backup-dir') return 'under snapshot: true a push writes only into its new directory';
  if (option.arg === 'partial-path') return value.includes('/') ? 'under snapshot: true the partial dir is a plain name, kept inside each directory of the snapshot' : null;
  if (option.arg === 'dest-path') {
    const parts = resolveParts(value.startsWith('/') ? [] : [snapshot], value);
    if (parts === null || parts.length !== 1 || parts[0] === snapshot || parts[0]!.startsWith('.')) return 'under snapshot: true a basis directory is another snapshot beside this one, such as ../2026-12-05';
  }
  return null;
}

function describe(option: ServerOption): string {
  return option.name === '-' ? option.words[0]! : `--${option.name}`;
}

/**
 * What a pull reads, as absolute paths, for the secrets the sandbox withholds from it
 * (act/sandbox.ts withheldFrom): each operand, a wildcard one up to its first wildcard; a pull
 * that follows symlinks (-L, -k, --copy-unsafe-links) may read anything under root.
 */
function pullReads(operands: readonly Confined[], wildcards: boolean, options: readonly ServerOption[], root: string): string[] {
  if (options.some((option) => option.gates.includes('follow-links'))) return [root];
  return operands.flatMap((operand) => (operand.ok ? operand.checks : [])).map((path) => (wildcards ? literalPrefix(path) : path));
}

/** The path up to its first part with a wildcard character in it. */
function literalPrefix(path: string): string {
  const parts = path.split('/');
  const first = parts.findIndex((part) => /[*?[]/.test(part));
  return first === -1 ? path : parts.slice(0, first).join('/') || '/';
}

export function matchRsync(rule: RsyncRule, words: readonly string[], globs: ReadonlyMap<number, string>, request: Request, features: RsyncFeatures): RsyncOutcome {
  const parsed = parseServerArgs(words);
  if (!parsed.ok) {
    // Not rsync at all: simply not this rule's business.
    return parsed.reason === 'rsync-not-server' && parsed.detail === 'not an rsync command' ? { ok: false, reason: null, why: 'not an rsync command' } : refuse(parsed.reason, parsed.detail);
  }
  const { sender, options, operands } = parsed.args;
  if (sender && rule.access === 'write') return refuse('rsync-direction-refused', 'a pull (--sender) from a write-only rule');
  if (!sender && rule.access === 'read') return refuse('rsync-direction-refused', 'a push to a read-only rule');

  // Unquoted wildcards: a remote shell would have expanded them in a pull's source paths, and
  // rsync clients send them so (`host:'logs/*.gz'`). Anywhere else they are refused.
  const firstOperand = words.length - operands.length;
  for (const index of globs.keys()) {
    if (index < firstOperand) return refuse('tokenize-glob', `a wildcard in an option: ${words[index]}`);
    if (!sender) return refuse('tokenize-glob', `a wildcard in a push destination: ${words[index]}`);
  }
  if (sender ? operands.length === 0 : operands.length !== 1) {
    return refuse('rsync-bad-syntax', sender ? 'a pull names no path' : `a push names ${operands.length} destinations, not 1 (a client with --old-args sends "dst 5/" unescaped)`);
  }
  // absolute-paths (and paths:): an absolute path is the real path. One under root has root
  // taken off; one outside root is not this rule's (the next rule is tried), never re-rooted.
  const realPaths = rule.absolutePaths || rule.paths !== null;
  const outsideRoot = (path: string) => realPaths && path.startsWith('/') && !isWithin(path, rule.root);
  const underRoot = (path: string): string => {
    if (!realPaths || rule.root === '/' || !path.startsWith('/')) return path;
    if (path === rule.root) return '/';
    return path.startsWith(`${rule.root}/`) ? path.slice(rule.root.length) : path;
  };
  const within = rule.paths ?? [rule.root];
  const inPaths = (path: string) => within.some((subtree) => isWithin(path, subtree));
  for (const operand of operands) {
    if (outsideRoot(operand)) return refuse('rsync-path-outside-rule', `${JSON.stringify(operand)} is not under root ${rule.root}`);
  }
  const confinedOperands: Confined[] = operands.map((operand) => confineOperand(underRoot(operand), rule.root));
  for (const confined of confinedOperands) if (!confined.ok) return refuse('rsync-path-escapes-root', confined.why);
  for (const confined of confinedOperands) {
    const stray = confined.ok ? confined.checks.find((path) => !inPaths(path)) : undefined;
    if (stray !== undefined) return refuse('rsync-path-outside-rule', `${stray} is not in the rule's paths (${within.join(', ')})`);
  }
  // A --relative pull names what the client receives by the path it sent: from a root other than
  // /, an absolute path is kept as sent (rsnapshot rejects names that lost their prefix).
  const keepAsSent = rule.paths !== null && sender && rule.root !== '/' && usesRelativePaths(options);
  const operandPaths = confinedOperands.map((c, i) => (keepAsSent && operands[i]!.startsWith('/') ? operands[i]! : (c as Extract<Confined, { ok: true }>).path));
  const checks = confinedOperands.flatMap((c) => (c.ok ? c.checks : []));

  // snapshot: the one directory this push may create, directly under root, never a dot name (a
  // failed push is moved aside under one, act/snapshot.ts).
  let snapshot: string | null = null;
  if (rule.snapshot && !sender) {
    const parts = resolveParts([], (confinedOperands[0] as Extract<Confined, { ok: true }>).path);
    if (parts === null || parts.length !== 1 || parts[0]!.startsWith('.')) {
      return refuse('rsync-snapshot-refused', `${JSON.stringify(operands[0])}: under snapshot: true a push names one new directory directly under root, such as 2026-12-06/`);
    }
    snapshot = parts[0]!;
  }
  const argvOptions: string[] = [];
  let clientMaxDelete: number | null = null;
  for (const option of options) {
    for (const gate of option.gates) {
      const refusal = gateRefusal(rule, gate, sender);
      if (refusal) return refuse('rsync-option-refused', `${describe(option)}: ${refusal}`);
    }
    if ((option.direction === 'push' && sender) || (option.direction === 'pull' && !sender)) {
      return refuse('rsync-option-refused', `${describe(option)}: a client sends it only on a ${option.direction}`);
    }
    if (option.name === 'max-delete') clientMaxDelete = Number(option.value);

    let value = option.value;
    let confined: Confined | null = null;
    if (option.arg === 'dest-path') confined = confineDestDir(underRoot(option.value!), underRoot(operands[0]!), rule.root, features.confineRoot && rule.root !== '/');
    else if (option.arg === 'partial-path') confined = confinePartialDir(underRoot(option.value!), rule.root);
    else if (option.arg === 'files-from' && option.value !== '-') {
      if (!sender) return refuse('rsync-option-refused', `--files-from ${option.value}: on a push the client sends the list itself ("-")`);
      confined = confineRootFile(underRoot(option.value!), rule.root);
    }
    if (option.arg === 'dest-path' || option.arg === 'partial-path' || option.arg === 'files-from') {
      if (option.value !== '-' && outsideRoot(option.value!)) return refuse('rsync-path-escapes-root', `--${option.name}: ${JSON.stringify(option.value)} is not under root ${rule.root}`);
    }
    if (snapshot !== null && option.value !== null) {
      const refusal = snapshotOptionRefusal(option, underRoot(option.value), snapshot);
      if (refusal) return refuse('rsync-snapshot-refused', `${describe(option)}: ${refusal}`);
    }
    if (confined) {
      if (!confined.ok) return refuse('rsync-path-escapes-root', `--${option.name}: ${confined.why}`);
      const stray = confined.checks.find((path) => !inPaths(path));
      if (stray !== undefined) return refuse('rsync-path-escapes-root', `--${option.name}: ${stray} is not in the rule's paths (${within.join(', ')})`);
      value = confined.path;
      checks.push(...confined.checks);
    }
    if (option.words.length === 2) argvOptions.push(option.words[0]!, value!);
    else if (option.value !== null && option.name !== '-' && option.words[0]!.startsWith('--')) argvOptions.push(`--${option.name}=${value}`);
    else argvOptions.push(option.words[0]!);
  }

  const imposed: string[] = [];
  if (rule.mungeLinks) imposed.push('--munge-links');
  if (!sender && !rule.devices && features.dropD) imposed.push('--drop-D');
  if (rule.root !== '/' && features.confineRoot) imposed.push(`--confine-root=${rule.root}`);
  // A snapshot starts empty: a name that exists was made by this push, and is never made twice
  // (a second entry for it, a hard link's follower) through an inode another snapshot shares.
  if ((!rule.overwrite || snapshot !== null) && !sender) imposed.push('--ignore-existing');
  if (!sender) {
    // A write-only rule's client must learn nothing of what is stored. On a push the server's
    // generator sends the client block checksums of each basis file (-B1 makes them the bytes
    // themselves), and --compare-dest, --copy-dest, --link-dest, --fuzzy, partial files and a
    // re-pushed name all choose that basis. --whole-file makes the generator send no sums at all,
    // whatever the basis; unchanged files are still found by size and time (and linked).
    if (rule.access === 'write') imposed.push('--whole-file');
    // Every push is capped, not only those that ask to delete: a pushed file replacing a stored
    // directory (--force), a backup name in the way (-b) and the like all delete through rsync's
    // delete_item(), which counts against --max-delete. delete: false caps at 0.
    const cap = rule.delete ? rule.maxDelete : 0;
    // rsync takes the last --max-delete and reads a negative one as 0; the stricter of the two holds.
    if (cap !== null) imposed.push(`--max-delete=${clientMaxDelete === null ? cap : Math.min(Math.max(clientMaxDelete, 0), cap)}`);
  }

  // What rsync itself changed, as its receiver logs it (one line per name), on the pipe the
  // dispatcher reads (act/rsync-report.ts): the end record's writes. Off the data path.
  const report = !sender && rule.supervise;
  const token = request.session ?? 'explain';
  // The FIFO lies in root while rsync runs: a --delete into root must neither remove it nor count
  // it against --max-delete (found in review). The server's own filter rules come before the client's.
  if (report) imposed.push(`--log-file=${RSYNC_REPORT_FILE}`, `--log-file-format=${rsyncReportFormat(token)}`, `--filter=P /${reportFifoName(token)}`);
  const argv = [rule.program, '--server', ...(sender ? ['--sender'] : []), ...argvOptions, ...imposed, '--', '.', ...operandPaths];
  const operandsAt = argv.length - operandPaths.length;
  // A pull wildcard is expanded relative to root: an absolute one under absolute-paths or paths:
  // loses root first (found in review: /R/sub/* was expanded under R/R/sub/).
  if (keepAsSent && globs.size > 0) return refuse('tokenize-glob', 'a wildcard in a --relative pull whose names are kept as sent (paths: under a root other than /): name the paths');
  const wildcards = [...globs.entries()].map(([index, pattern]) => ({
    argvIndex: operandsAt + (index - firstOperand),
    pattern: underRoot(pattern).replace(/^\/+/, ''),
  }));
  return {
    ok: true,
    plan: {
      kind: 'exec',
      program: rule.program,
      argv,
      env: minimalChildEnv({ user: request.user, home: request.home, sshConnection: request.sshConnection, ruleEnv: {} }),
      cwd: rule.root,
      umask: null,
      timeoutMs: null,
      supervise: rule.supervise,
      ...(options.some((o) => o.name === 'dry-run' || (o.name === '-' && o.value!.includes('n'))) ? { dryRun: true } : {}),
      confine: { root: rule.root, within: [...within], paths: [...new Set(checks)], wildcards, pull: sender ? { relative: usesRelativePaths(options), operandsAt } : null },
      minFree: !sender && rule.minFreeBytes > 0 ? { path: rule.root, bytes: rule.minFreeBytes } : null,
      ...(report ? { report: { dest: operandPaths[0]!, dir: within[0]!, token } } : {}),
      ...(snapshot !== null ? { snapshot: joinUnder(rule.root, [snapshot]) } : {}),
      ...(!sender && snapshot === null ? { history: { dest: (confinedOperands[0] as Extract<Confined, { ok: true }>).checks[0]!, guard: rule.overwrite ? ('shared-inodes' as const) : ('directories' as const) } } : {}),
      // A pull sees root (or its paths) read-only, whatever the rule's access: it only reads.
      sandbox: rule.sandbox
        ? sender
          ? { read: [...within], write: [], rootCaps: [...ROOT_CAPS.read], secrets: rule.secrets ?? 'withhold', reads: pullReads(confinedOperands, globs.size > 0, options, rule.root) }
          : { read: [], write: [...within], rootCaps: [...ROOT_CAPS.store, ...(rule.devices ? ROOT_CAPS.devices : [])] }
        : null,
    },
  };
}
