/** An rsync rule, as checked by ./parse.ts: `rsync --server` confined to a root. */
import type { RuleBase } from '../base.js';
import type { Priority } from '../priority.js';
import type { SecretsPolicy } from '../sandbox.js';

/** The keys of the `rsync:` block: what its parser enforces and the JSON Schema is tested against. */
export const RSYNC_KEYS = {
  allowed: [
    'root',
    'access',
    'delete',
    'max-delete',
    'min-free',
    'overwrite',
    'snapshot',
    'munge-links',
    'devices',
    'xattrs',
    'acls',
    'absolute-paths',
    'program',
    'supervise',
    'sandbox',
    'secrets',
    'paths',
    'nice',
    'ionice',
    'single-run',
  ],
  required: ['root', 'access'],
} as const;

export type RsyncAccess = 'read' | 'write' | 'read-write';

export interface RsyncRule extends RuleBase {
  kind: 'rsync';
  /** Absolute; every client path is taken relative to it and must stay inside it. */
  root: string;
  /** read: the client pulls (--sender); write: it pushes; read-write: either. */
  access: RsyncAccess;
  /** Allow --delete*, --remove-source-files (deleting on the server). */
  delete: boolean;
  /** Cap deletions with a server-side --max-delete (only with delete: true); delete: false caps every push at 0. */
  maxDelete: number | null;
  /** A push stops, and what it was writing is removed, before free space on root's filesystem falls below this. */
  minFreeBytes: number;
  /** false: never touch an existing file (adds --ignore-existing, refuses -b, --inplace, ...), like rrsync -no-overwrite. */
  overwrite: boolean;
  /**
   * Dated snapshots: each push creates one new directory directly under root (`2026-12-06/`) and
   * writes nothing else; one that exists is refused, so a planted "tomorrow" fails the owner's run
   * loudly. --link-dest and its kin may name sibling snapshots; a failed push is moved aside.
   */
  snapshot: boolean;
  /** Add --munge-links: symlinks the client stores cannot be followed on the server; pulls unmunge them. */
  mungeLinks: boolean;
  /** Let a push create device and special files (otherwise --drop-D where rsync has it). */
  devices: boolean;
  xattrs: boolean;
  acls: boolean;
  /** The rsync that runs, by absolute path. */
  program: string;
  supervise: boolean;
  /** Run rsync in a namespace that shows it only root (act/sandbox.ts): the kernel then keeps it inside. Default true. */
  sandbox: boolean;
  /** What a pull gets of the secrets the sandbox covers (rules/sandbox.ts SecretsPolicy); null: not said, withhold. */
  secrets: SecretsPolicy | null;
  /**
   * An absolute client path that already lies under root is taken as it is (rrsync -absolute),
   * so that clients written for a fixed `command="rsync --server ... . /srv/backup/"` line keep
   * their paths. Any other absolute path still means "relative to root".
   */
  absolutePaths: boolean;
  /**
   * Subtrees of root that every path must lie in (rsnapshot's and BackupPC's shape: `root: /`
   * with the directories backed up). Implies absolute-paths; only these exist in the sandbox.
   * null: all of root.
   */
  paths: string[] | null;
  /** `nice:` and `ionice:` (rules/priority.ts): how nicely rsync runs. */
  priority: Priority;
  /** One rsync of root at a time, whoever asks (rrsync's lock, host/limits.ts). */
  singleRun: boolean;
}
