/**
 * What an rsync client may put on the server's command line, as data.
 *
 * Source of truth: rsync 3.5.0 `options.c` server_options() (what a stock client sends to the
 * server) and `maybe_add_e_option()` (the -e capability string), checked against the command
 * lines the installed client actually sends (test/e2e/rsync-shapes.e2e.test.ts runs the real
 * client through this table), with rrsync 3.5.0's long_opts table and docs/threat-model.md
 * ("rsync") as the second opinion.
 *
 * Anything not in these tables is refused: a new rsync option stays refused until someone reads
 * what it does on the server side and adds a row here. A rule narrows the table through `gate`
 * (delete, overwrite, ...), never by adding code paths.
 */

/** What the argument of an option must look like, and how it is confined. */
export type ArgKind =
  | 'none'
  | 'uint' // 0..2^31-1
  | 'int' // may be negative (-1 means "no limit" or "ignore" for the options that take it)
  | 'size' // 51200, 50k, 1.5M: rsync normalises to digits, humans do not
  | 'name' // algorithm or charset names: letters, digits, . _ - + ,
  | 'words' // --info: letters, digits and commas
  | 'map' // --usermap / --groupmap: FROM:TO,... (names, ids, wildcards)
  | 'suffix' // --suffix: no "/", which rsync itself refuses
  | 'log-format' // the four values a client sends: X, %i, %i%I, %o
  | 'stderr-mode' // errors | all | client
  | 'dest-path' // a directory relative to the destination (basis, backup and temp dirs)
  | 'partial-path' // relative to each file's own directory, or absolute
  | 'files-from'; // "-" (the client sends the list), or a file inside root (pulls only)

/**
 * A rule setting an option depends on; the rule's value decides whether the option is allowed.
 * - delete: it deletes on the server (rule `delete: true` allows it)
 * - overwrite: it touches existing files other than the one being written (`overwrite: false` refuses it)
 * - follow-links: it follows symlinks, so it may leave root (refused unless root is "/")
 * - acls / xattrs: it restores ACLs or extended attributes, which for a root receiver includes
 *   file capabilities (`acls: true` / `xattrs: true` allows it)
 * - stored-contents: on a push it tells the client something derived from the contents of
 *   stored files (block checksums of a basis, a whole-file checksum comparison); refused unless
 *   the rule also reads (`access: read-write`). Pushes of a write-only rule also run with
 *   --whole-file imposed, so that no basis is ever summed for the client, whatever chose it.
 * - history: it writes into a stored file's own inode, which every hard link to it shares (one
 *   inode is the same file in every --link-dest snapshot); refused on every push, whatever the
 *   rule says, because no rule may change what was stored before the session (docs/threat-model.md,
 *   "History belongs to the owner"). Without it rsync writes a new file and renames it into place.
 *   (-U is refused on pushes for the same reason: rsync sets access times on a linked inode.)
 * - snapshot-only: it hard-links stored files into the destination, where a later push (or a
 *   concurrent one, past the walk in host/stored-history.ts) changes them through the link; only
 *   a `snapshot: true` rule, whose every push is a new directory nobody else writes, takes it.
 */
export type Gate = 'delete' | 'overwrite' | 'follow-links' | 'acls' | 'xattrs' | 'stored-contents' | 'history' | 'snapshot-only';

/** Which way the server moves data when a stock client sends the option. */
export type Direction = 'push' | 'pull' | 'any';

export interface LongOption {
  arg: ArgKind;
  /** A stock client sends it only in this direction; sent the other way it is refused. */
  direction?: Direction;
  gates?: readonly Gate[];
  why: string;
}

export interface RefusedOption {
  refused: true;
  why: string;
}

export const LONG_OPTIONS: Record<string, LongOption | RefusedOption> = {
  // Transfer behaviour a stock client sends; no path, no escalation.
  append: {
    arg: 'none',
    direction: 'push',
    gates: ['history', 'overwrite', 'stored-contents'],
    why: 'appends to existing files, so the stored file is the basis (and rsync turns whole-file transfers off); sent twice for --append-verify, whose redo tells the client whether the stored start matched',
  },
  'block-size': { arg: 'uint', why: 'delta block size' },
  bwlimit: { arg: 'uint', why: 'bandwidth limit in KiB/s' },
  'checksum-choice': { arg: 'name', why: 'checksum algorithm' },
  'checksum-seed': { arg: 'uint', why: 'checksum seed' },
  'compress-choice': { arg: 'name', why: 'compression algorithm' },
  'compress-level': { arg: 'int', why: 'compression level' },
  'compress-threads': { arg: 'uint', why: 'compression threads' },
  'delay-updates': {
    arg: 'none',
    direction: 'push',
    gates: ['overwrite', 'delete'],
    why: 'renames finished files into place at the end, through the partial dir .~tmp~, whose files it consumes',
  },
  dirs: { arg: 'none', why: 'transfer directories without recursing' },
  existing: { arg: 'none', direction: 'push', why: 'skip creating new files (--ignore-non-existing)' },
  'fake-super': { arg: 'none', why: 'store privileged attributes in user xattrs instead of applying them' },
  force: {
    arg: 'none',
    direction: 'push',
    gates: ['delete'],
    why: 'deletes a whole stored directory tree when a pushed non-directory takes its name',
  },
  from0: { arg: 'none', why: 'the --files-from list is NUL-separated' },
  fsync: { arg: 'none', direction: 'push', why: 'fsync every written file' },
  fuzzy: {
    arg: 'none',
    direction: 'push',
    gates: ['stored-contents'],
    why: 'picks a similar stored file as the delta basis and tells the client its name',
  },
  groupmap: { arg: 'map', direction: 'push', why: 'what --chown and --groupmap become; -g already lets the sender choose groups' },
  usermap: { arg: 'map', direction: 'push', why: 'what --chown and --usermap become; -o already lets the sender choose owners' },
  iconv: { arg: 'name', why: 'character set conversion' },
  'ignore-errors': { arg: 'none', direction: 'push', why: 'delete even after I/O errors' },
  'ignore-existing': { arg: 'none', direction: 'push', why: 'never update existing files' },
  'ignore-missing-args': { arg: 'none', why: 'missing source arguments are not errors' },
  inplace: {
    arg: 'none',
    direction: 'push',
    gates: ['history', 'overwrite'],
    why: 'writes into existing files (and through their hard links)',
  },
  info: { arg: 'words', why: 'informational message levels' },
  'list-only': { arg: 'none', why: 'list instead of copying' },
  'log-format': { arg: 'log-format', why: 'the client tells the server a little of its --out-format; never a file' },
  'max-alloc': { arg: 'size', why: 'allocation cap; 0 disables the CVE-2024-12084 guard and is refused (CVE-2026-53794)' },
  'max-delete': { arg: 'int', direction: 'push', why: 'caps deletions; -1 means "delete nothing"' },
  'max-size': { arg: 'size', direction: 'push', why: 'skip larger files' },
  'min-size': { arg: 'size', direction: 'push', why: 'skip smaller files' },
  mkpath: {
    arg: 'none',
    direction: 'push',
    why: "create the destination's missing parent directories (inside root: the destination is confined)",
  },
  'modify-window': { arg: 'int', why: 'timestamp comparison window' },
  msgs2stderr: { arg: 'none', why: 'message routing' },
  'no-msgs2stderr': { arg: 'none', why: 'message routing' },
  'munge-links': { arg: 'none', why: 'the hardening this dispatcher adds itself; harmless when the client asks too' },
  'new-compress': { arg: 'none', why: 'zlibx compression' },
  'old-compress': { arg: 'none', why: 'zlib compression' },
  'no-W': {
    arg: 'none',
    gates: ['stored-contents'],
    why: 'asks for the delta algorithm, whose block checksums of the stored basis go to the client',
  },
  'no-r': { arg: 'none', why: 'no recursion (sent with -d and --delete)' },
  'no-relative': { arg: 'none', why: 'turn off --relative (sent with --files-from)' },
  'no-implied-dirs': { arg: 'none', why: 'with -R, do not send implied directories' },
  'no-specials': { arg: 'none', why: 'special files are not transferred' },
  specials: { arg: 'none', why: 'special files are transferred (receivers get --drop-D unless the rule allows devices)' },
  'numeric-ids': { arg: 'none', why: 'do not map user and group names' },
  'open-noatime': { arg: 'none', why: 'open files with O_NOATIME' },
  partial: { arg: 'none', direction: 'push', why: 'keep partially transferred files under their own name' },
  preallocate: { arg: 'none', direction: 'push', why: 'preallocate written files' },
  'safe-links': { arg: 'none', why: 'ignore symlinks that point outside the tree' },
  'size-only': { arg: 'none', why: 'compare by size only' },
  stats: { arg: 'none', why: 'transfer statistics' },
  stderr: { arg: 'stderr-mode', why: 'message routing' },
  suffix: { arg: 'suffix', direction: 'push', why: 'backup file suffix' },
  super: { arg: 'none', direction: 'push', why: 'receiver attempts super-user activities (only effective for root, like -o -g)' },
  timeout: { arg: 'uint', why: 'I/O timeout' },
  'use-qsort': { arg: 'none', why: 'sorting algorithm' },

  // Long spellings of the short letters: a stock client bundles letters, but tools that build
  // the server argv themselves (BackupPC, rsnapshot wrappers) spell them out. Same gates.
  verbose: { arg: 'none', why: 'verbose (-v)' },
  quiet: { arg: 'none', why: 'quiet (-q)' },
  backup: { arg: 'none', direction: 'push', gates: ['overwrite'], why: 'backups of replaced files (-b)' },
  update: { arg: 'none', why: 'skip newer files on the receiver (-u)' },
  'dry-run': { arg: 'none', why: 'dry run (-n)' },
  'prune-empty-dirs': { arg: 'none', why: 'prune empty directories (-m)' },
  'omit-dir-times': { arg: 'none', why: 'omit directory times (-O)' },
  'omit-link-times': { arg: 'none', why: 'omit symlink times (-J)' },
  'whole-file': { arg: 'none', why: 'whole files (-W)' },
  owner: { arg: 'none', why: 'owners (-o; effective for a root receiver only)' },
  devices: { arg: 'none', why: 'devices (receivers get --drop-D unless the rule allows devices)' },
  times: { arg: 'none', why: 'times (-t)' },
  atimes: {
    arg: 'none',
    gates: ['history'],
    why: "access times (-U); on a push rsync sets them on a file it hard-linked from --link-dest, the inode yesterday's snapshot shares",
  },
  crtimes: { arg: 'none', why: 'create times (-N)' },
  executability: { arg: 'none', why: 'executability (-E)' },
  checksum: { arg: 'none', gates: ['stored-contents'], why: 'checksums (-c): a push learns whether each stored file equals its own' },
  'cvs-exclude': { arg: 'none', why: 'CVS-style excludes (-C)' },
  relative: { arg: 'none', why: 'relative paths (-R)' },
  sparse: { arg: 'none', why: 'sparse files (-S)' },
  compress: { arg: 'none', why: 'compression (-z)' },
  'one-file-system': { arg: 'none', why: 'one file system (-x)' },
  'ignore-times': { arg: 'none', why: 'ignore times (-I)' },
  recursive: { arg: 'none', why: 'recursive (-r)' },
  'hard-links': { arg: 'none', why: 'hard links among transferred files (-H)' },
  links: { arg: 'none', why: 'copy symlinks as symlinks (-l; munged on the server)' },
  perms: { arg: 'none', why: 'permissions (-p)' },
  group: { arg: 'none', why: 'groups (-g)' },

  // Deleting on the server.
  delete: { arg: 'none', direction: 'push', gates: ['delete'], why: 'deletes extraneous files in the destination' },
  'delete-before': { arg: 'none', direction: 'push', gates: ['delete'], why: 'deletes before the transfer' },
  'delete-during': { arg: 'none', direction: 'push', gates: ['delete'], why: 'deletes during the transfer' },
  'delete-delay': { arg: 'none', direction: 'push', gates: ['delete'], why: 'deletes after, found during' },
  'delete-after': { arg: 'none', direction: 'push', gates: ['delete'], why: 'deletes after the transfer' },
  'delete-excluded': { arg: 'none', direction: 'push', gates: ['delete'], why: 'also deletes excluded files' },
  'delete-missing-args': { arg: 'none', gates: ['delete'], why: 'deletes destination files named by missing source arguments' },
  'remove-source-files': { arg: 'none', gates: ['delete'], why: 'on a pull, the server deletes what it sent' },
  'remove-sent-files': { arg: 'none', gates: ['delete'], why: 'old name of --remove-source-files' },

  // Paths: confined to root (rules/rsync/confine.ts), and re-checked on disk before rsync runs.
  'backup-dir': { arg: 'dest-path', direction: 'push', gates: ['overwrite'], why: 'moves replaced files there' },
  'partial-dir': {
    arg: 'partial-path',
    direction: 'push',
    gates: ['overwrite', 'delete'],
    why: 'keeps partial files there, and takes any file it finds there as the basis, then deletes it',
  },
  'temp-dir': { arg: 'dest-path', direction: 'push', why: 'writes temporary files there' },
  'link-dest': {
    arg: 'dest-path',
    direction: 'push',
    gates: ['snapshot-only'],
    why: 'hard-links unchanged files from there (../previous-snapshot incrementals)',
  },
  'compare-dest': { arg: 'dest-path', direction: 'push', why: 'compares with files there' },
  'copy-dest': { arg: 'dest-path', direction: 'push', why: 'copies unchanged files from there' },
  'files-from': { arg: 'files-from', why: 'the list of files: "-" when the client sends it, a file inside root on a pull' },

  // Following symlinks: may leave root, refused unless root is "/".
  'copy-links': { arg: 'none', gates: ['follow-links'], why: 'follows every symlink' },
  'copy-dirlinks': { arg: 'none', gates: ['follow-links'], why: 'follows symlinks to directories' },
  'keep-dirlinks': { arg: 'none', gates: ['follow-links'], why: 'writes through symlinked directories on the receiver' },
  'copy-unsafe-links': { arg: 'none', gates: ['follow-links'], why: 'follows symlinks that point outside the tree' },

  // Metadata a root receiver would apply: opt-in.
  acls: { arg: 'none', gates: ['acls'], why: 'restores ACLs' },
  xattrs: { arg: 'none', gates: ['xattrs'], why: 'restores extended attributes, including security.capability' },

  // Never from a client.
  'secluded-args': { refused: true, why: 'the real arguments would arrive on stdin, after this check' },
  'protect-args': { refused: true, why: 'the real arguments would arrive on stdin, after this check' },
  'no-secluded-args': { refused: true, why: 'argument-protection switches are client-side' },
  'no-protect-args': { refused: true, why: 'argument-protection switches are client-side' },
  'old-args': { refused: true, why: 'argument-protection switches are client-side' },
  'no-old-args': { refused: true, why: 'argument-protection switches are client-side' },
  rsh: { refused: true, why: 'names a program to run (meaningful only outside server mode)' },
  'rsync-path': { refused: true, why: 'names a program to run' },
  daemon: { refused: true, why: 'daemon mode reads a config with pre-xfer exec' },
  config: { refused: true, why: 'names a daemon config (pre-xfer exec, uid=0)' },
  dparam: { refused: true, why: 'sets daemon config parameters' },
  'remote-option': { refused: true, why: 'passes arbitrary options on' },
  detach: { refused: true, why: 'daemon-only' },
  'no-detach': { refused: true, why: 'daemon-only' },
  address: { refused: true, why: 'client-only socket option' },
  port: { refused: true, why: 'client-only socket option' },
  sockopts: { refused: true, why: 'client-only socket option' },
  'password-file': { refused: true, why: 'reads a file' },
  'early-input': { refused: true, why: 'reads a file' },
  contimeout: { refused: true, why: 'client-only' },
  'blocking-io': { refused: true, why: 'client-only' },
  outbuf: { refused: true, why: 'client-only' },
  'log-file': { refused: true, why: 'appends to any file the account can write (authorized_keys, cron)' },
  'log-file-format': { refused: true, why: 'goes with --log-file' },
  'write-devices': { refused: true, why: 'writes into device files' },
  'copy-devices': { refused: true, why: 'reads device contents' },
  debug: { refused: true, why: 'leaks filter and merge-file text (rsync 3.5.0 NEWS)' },
  'no-munge-links': { refused: true, why: 'turns off symlink hardening' },
  'insecure-links': { refused: true, why: 'turns off the symlink-ownership checks of rsync >= 3.5' },
  'confine-root': { refused: true, why: 'the dispatcher sets it itself' },
  'drop-D': { refused: true, why: 'the dispatcher sets it itself' },
  'copy-as': { refused: true, why: 'switches uid' },
  'trust-sender': { refused: true, why: 'turns off file-list safety checks (CVE-2022-29154 class)' },
  'read-batch': { refused: true, why: 'names a file' },
  'write-batch': { refused: true, why: 'names a file' },
  'only-write-batch': { refused: true, why: 'names a file; not needed on a server' },
  'exclude-from': { refused: true, why: 'reads a file; a stock client sends filter rules over the protocol' },
  'include-from': { refused: true, why: 'reads a file; a stock client sends filter rules over the protocol' },
  filter: { refused: true, why: 'could name merge files; a stock client sends filter rules over the protocol' },
  exclude: { refused: true, why: 'a stock client sends filter rules over the protocol' },
  include: { refused: true, why: 'a stock client sends filter rules over the protocol' },
  chmod: { refused: true, why: 'a stock client applies --chmod itself' },
  chown: { refused: true, why: 'a stock client sends --usermap/--groupmap instead' },
  version: { refused: true, why: 'not a server invocation' },
  help: { refused: true, why: 'not a server invocation' },
};

/**
 * Letters of the short-option bundle (`-logDtpr...`), in the order server_options() emits them.
 * Letters may repeat (-vv, -HH, -XX, -yy, -UU, -xx).
 */
export const SHORT_OPTIONS: Record<string, { gates?: readonly Gate[]; why: string }> = {
  v: { why: 'verbose' },
  q: { why: 'quiet' },
  b: { gates: ['overwrite'], why: 'backups of replaced files' },
  u: { why: 'skip newer files on the receiver' },
  n: { why: 'dry run' },
  l: { why: 'copy symlinks as symlinks (munged on the server)' },
  d: { why: 'transfer directories without recursing' },
  K: { gates: ['follow-links'], why: 'writes through symlinked directories on the receiver' },
  L: { gates: ['follow-links'], why: 'follows every symlink' },
  k: { gates: ['follow-links'], why: 'follows symlinks to directories' },
  m: { why: 'prune empty directories' },
  O: { why: 'omit directory times' },
  J: { why: 'omit symlink times' },
  y: { gates: ['stored-contents'], why: 'fuzzy basis: a similar stored file, named to the client' },
  W: { why: 'whole files' },
  H: { why: 'hard links among transferred files' },
  o: { why: 'owners (effective for a root receiver only)' },
  g: { why: 'groups' },
  D: { why: 'devices and specials (receivers get --drop-D unless the rule allows devices)' },
  t: { why: 'times' },
  U: { gates: ['history'], why: 'access times; on a push set on hard-linked (shared) inodes too' },
  N: { why: 'create times' },
  p: { why: 'permissions' },
  E: { why: 'executability' },
  A: { gates: ['acls'], why: 'ACLs' },
  X: { gates: ['xattrs'], why: 'extended attributes, including security.capability' },
  r: { why: 'recursive' },
  c: { gates: ['stored-contents'], why: 'checksums: a push learns whether each stored file equals its own' },
  C: { why: 'CVS-style excludes' },
  I: { why: 'ignore times' },
  R: { why: 'relative paths' },
  x: { why: 'one file system' },
  S: { why: 'sparse files' },
  z: { why: 'compression' },
};

/** Short options whose value is glued on as a separate word: `-B4096`, `-@-1`. */
export const SHORT_WITH_NUMBER: Record<string, { long: string; signed: boolean }> = {
  B: { long: 'block-size', signed: false },
  '@': { long: 'modify-window', signed: true },
};

/** `s` first in the bundle is --secluded-args: the real arguments would come later, on stdin. */
export const REFUSED_SHORT: Record<string, string> = {
  s: 'secluded args: the real arguments would arrive on stdin, after this check',
  e: 'a remote shell command',
  M: 'passes arbitrary options on',
  f: 'a filter rule could name merge files',
  F: 'reads per-directory filter files named by the client',
  T: 'a temp dir given the short way is not what a stock client sends',
  P: 'not a server option',
  h: 'not a server option',
  V: 'not a server option',
  i: 'not a server option',
  '0': 'not what a stock client sends',
};

/** The -e capability tail of the bundle: `e.iLsfxCIvu`, `e32.0iLsfxCIvu` (pre-release protocol). */
export const CAPABILITY_TAIL = /e(?:\.|[0-9]{1,3}\.[0-9]{1,3})[A-Za-z]{0,32}$/;
