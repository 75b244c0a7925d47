/**
 * The client's rsync options against an rsync rule: each one's gates (server-options.ts) asked
 * of the rule, its path values confined under root, and the argv words it becomes; then the
 * options the server imposes on its own side, whatever the client sent.
 */
import type { RsyncFeatures } from './features.js';
import { confineDestDir, confinePartialDir, confineRootFile, resolveParts, type Confined } from './confine.js';
import { refuse, type Refused, type RootView } from './root-view.js';
import type { RsyncRule } from './rule.js';
import type { ServerOption } from './server-args.js';
import type { Gate } from './server-options.js';

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
      return !sender && !rule.overwrite && !rule.snapshot
        ? 'sets ACLs on stored directories, which overwrite: false cannot put back'
        : null;
    case 'xattrs':
      if (!rule.xattrs) return 'restores extended attributes (the rule has xattrs: false)';
      return !sender && !rule.overwrite && !rule.snapshot
        ? 'sets extended attributes on stored directories, which overwrite: false cannot put back'
        : null;
    case 'history':
      return sender
        ? null
        : 'changes a stored inode itself (its contents, or the access time rsync sets on a file it hard-linked), and so every hard link to it (every snapshot that shares it); push without it: rsync then writes a new file and renames it into place';
    case 'snapshot-only':
      return rule.snapshot
        ? null
        : 'hard-links stored files into the destination, where a later push could change them through the link; dated snapshots need snapshot: true (each push one new directory)';
    case 'stored-contents':
      return rule.access === 'write'
        ? 'tells the client something of the contents of stored files (the rule has access: write; delta transfers and checksum comparisons need read-write)'
        : null;
  }
}

/**
 * Why an option cannot go with a snapshot push, or null: it may write only inside its new
 * directory. Basis directories (--link-dest and its kin) must be other snapshots, siblings of
 * this one; --partial-dir stays inside each directory of the snapshot; a temp or backup
 * directory would put files elsewhere. `value` is the option's value as root sees it.
 */
function snapshotOptionRefusal(option: ServerOption, value: string, snapshot: string): string | null {
  if (option.name === 'temp-dir' || option.name === 'backup-dir') return 'under snapshot: true a push writes only into its new directory';
  if (option.arg === 'partial-path')
    return value.includes('/') ? 'under snapshot: true the partial dir is a plain name, kept inside each directory of the snapshot' : null;
  if (option.arg === 'dest-path') {
    const parts = resolveParts(value.startsWith('/') ? [] : [snapshot], value);
    if (parts === null || parts.length !== 1 || parts[0] === snapshot || parts[0]!.startsWith('.'))
      return 'under snapshot: true a basis directory is another snapshot beside this one, such as ../2026-12-05';
  }
  return null;
}

function describe(option: ServerOption): string {
  return option.name === '-' ? option.words[0]! : `--${option.name}`;
}

interface Request {
  sender: boolean;
  options: readonly ServerOption[];
  operands: readonly string[];
  snapshot: string | null;
  features: RsyncFeatures;
}

/** A path option's value confined under root, or why not; null for any other option. */
function confineOptionPath(
  rule: RsyncRule,
  view: RootView,
  option: ServerOption,
  request: Request,
): Extract<Confined, { ok: true }> | Refused | null {
  const { underRoot } = view;
  let confined: Confined | null = null;
  if (option.arg === 'dest-path')
    confined = confineDestDir(
      underRoot(option.value!),
      underRoot(request.operands[0]!),
      rule.root,
      request.features.confineRoot && rule.root !== '/',
    );
  else if (option.arg === 'partial-path') confined = confinePartialDir(underRoot(option.value!), rule.root);
  else if (option.arg === 'files-from' && option.value !== '-') {
    if (!request.sender)
      return refuse('rsync-option-refused', `--files-from ${option.value}: on a push the client sends the list itself ("-")`);
    confined = confineRootFile(underRoot(option.value!), rule.root);
  }
  if (option.arg === 'dest-path' || option.arg === 'partial-path' || option.arg === 'files-from') {
    if (option.value !== '-' && view.outsideRoot(option.value!))
      return refuse('rsync-path-escapes-root', `--${option.name}: ${JSON.stringify(option.value)} is not under root ${rule.root}`);
  }
  if (request.snapshot !== null && option.value !== null) {
    const refusal = snapshotOptionRefusal(option, underRoot(option.value), request.snapshot);
    if (refusal) return refuse('rsync-snapshot-refused', `${describe(option)}: ${refusal}`);
  }
  if (confined && !confined.ok) return refuse('rsync-path-escapes-root', `--${option.name}: ${confined.why}`);
  return confined;
}

/** The client's options as rsync will get them (path values rewritten under root), the paths they name, and the --max-delete the client asked for. */
export function vetOptions(
  rule: RsyncRule,
  view: RootView,
  request: Request,
): { ok: true; argv: string[]; checks: string[]; clientMaxDelete: number | null } | Refused {
  const { sender } = request;
  const argv: string[] = [];
  const checks: string[] = [];
  let clientMaxDelete: number | null = null;
  for (const option of request.options) {
    for (const gate of option.gates) {
      const refusal = gateRefusal(rule, gate, sender);
      if (refusal) return refuse('rsync-option-refused', `${describe(option)}: ${refusal}`);
    }
    if ((option.direction === 'push' && sender) || (option.direction === 'pull' && !sender)) {
      return refuse('rsync-option-refused', `${describe(option)}: a client sends it only on a ${option.direction}`);
    }
    if (option.name === 'max-delete') clientMaxDelete = Number(option.value);
    let value = option.value;
    const confined = confineOptionPath(rule, view, option, request);
    if (confined !== null && !confined.ok) return confined;
    if (confined) {
      const stray = confined.checks.find((path) => !view.inPaths(path));
      if (stray !== undefined)
        return refuse('rsync-path-escapes-root', `--${option.name}: ${stray} is not in the rule's paths (${view.within.join(', ')})`);
      value = confined.path;
      checks.push(...confined.checks);
    }
    if (option.words.length === 2) argv.push(option.words[0]!, value!);
    else if (option.value !== null && option.name !== '-' && option.words[0]!.startsWith('--')) argv.push(`--${option.name}=${value}`);
    else argv.push(option.words[0]!);
  }
  return { ok: true, argv, checks, clientMaxDelete };
}

/** The options the server imposes on its own side (the receiver's report aside: match.ts adds it). */
export function imposedOptions(
  rule: RsyncRule,
  run: { sender: boolean; features: RsyncFeatures; snapshot: string | null; clientMaxDelete: number | null },
): string[] {
  const { sender, features, snapshot, clientMaxDelete } = run;
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
  return imposed;
}
