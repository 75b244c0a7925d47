/**
 * What an allowed request turns into: a plan the act/ modules carry out. Plans hold only values
 * taken from the policy or checked against it, never a string for a shell.
 */
import type { Priority } from './priority.js';
import type { SandboxPlan } from './sandbox.js';

export interface ExecPlan {
  kind: 'exec';
  program: string;
  /** argv[0] is the program path; the rest are the client's words that matched the rule, or the rule's `run`. */
  argv: string[];
  /** An exec rule's `run` fixed the argv: the client's words are in it only where run says `{N}`. */
  fixed?: true;
  env: Record<string, string>;
  /** exec rules' pass-env: the session variables passed on (also in env), for the record. */
  passedEnv?: Record<string, string>;
  cwd: string | null;
  /** The dispatcher is already in `cwd` (held by inode, host/confine-check.ts): do not enter it again by name. */
  cwdEntered?: true;
  umask: number | null;
  timeoutMs: number | null;
  supervise: boolean;
  /** rsync rules: the client asked for a dry run (-n, --dry-run), so nothing is transferred and it is no backup. */
  dryRun?: boolean;
  /**
   * Paths that must still resolve inside `root` on disk when the program starts (rsync rules):
   * the decision checked them lexically, host/confine-check.ts checks the symlinks.
   */
  confine: {
    root: string;
    /** The subtrees every path must resolve inside: the rule's paths, or root. */
    within: string[];
    paths: string[];
    /** rsync pull operands that are wildcards: expanded inside root by host/expand-wildcards.ts, in place of argv[argvIndex]. */
    wildcards: { argvIndex: number; pattern: string }[];
    /** Set on a pull: its operands, argv[operandsAt] onwards, are pinned by working directory (rules/rsync/pin.ts). */
    pull: { relative: boolean; operandsAt: number } | null;
  } | null;
  /**
   * Keep this many bytes free on the filesystem of `path` while the program runs (rsync pushes):
   * act/free-space-watch.ts stops the program and removes what it was writing before the floor
   * is crossed. Needs supervise.
   */
  minFree?: { path: string; bytes: number } | null;
  /**
   * rsync pushes: rsync's receiver logs each name it changed on fd 3 (rules/rsync/match.ts
   * rsyncReportFormat), read by act/rsync-report.ts into the end record's writes. `dest` is the
   * destination relative to root, which the logged names are relative to; `dir` is where the FIFO
   * rsync opens is made (act/fifo.ts): inside its confine root and its sandbox; `token` is what
   * rsync's own lines carry (the session's id), and names the FIFO.
   */
  report?: { dest: string; dir: string; token: string };
  /** rsync snapshot pushes: the new directory (absolute), made here exclusively before rsync starts (act/snapshot.ts). */
  snapshot?: string;
  /**
   * Other rsync pushes: the destination (absolute) and how its history is kept (host/stored-history.ts):
   * shared-inodes (overwrite: true) refuses a destination with files hard-linked from outside it;
   * directories (overwrite: false) puts stored directories' attributes back after the push.
   */
  history?: { dest: string; guard: 'shared-inodes' | 'directories'; dirs?: StoredDirectory[] };
  /** Run inside a namespace that shows only these paths (act/sandbox.ts); null or absent: the whole filesystem. */
  sandbox?: SandboxPlan | null;
  /** Started through nice/ionice (rules/priority.ts); null or absent: as the dispatcher runs. */
  priority?: Priority | null;
}

/** A directory as it was before a push (host/stored-history.ts), to be put back after it (act/stored-directories.ts). */
export interface StoredDirectory {
  path: string;
  dev: number;
  ino: number;
  /** With dev and ino, what tells this directory from a new one that reused its inode number. */
  birthtimeMs: number;
  mode: number;
  uid: number;
  gid: number;
  atimeMs: number;
  mtimeMs: number;
}

export interface ReceivePlan {
  kind: 'receive';
  dir: string;
  /** The name the upload gets, before any -N suffix that keeps it unique. */
  name: string;
  mode: number;
  maxBytes: number;
  minFreeBytes: number;
  idleTimeoutMs: number;
  keep: number | null;
  /** The client chose the name (`receive NAME`): a taken name is refused, never suffixed. */
  chosen: boolean;
  /**
   * Names this rule stores (its template, with a -N suffix, and its client-name glob): what
   * retention may prune and the flood cap counts; uploads younger than windowMs are never pruned,
   * and past maxUploads of them an upload is refused (rules/receive/retention.ts).
   */
  retention: { pattern: string; clientName: string | null; windowMs: number; maxUploads: number | null };
  /** What the client said the upload will be: it is stored only if it is. */
  expect: { size: number | null; sha256: string | null };
}

export interface RelayPlan {
  kind: 'relay';
  /** What the client named: a lowercase name or a canonical address. */
  host: string;
  /** The host is a name to resolve (once), not an address. */
  resolve: boolean;
  port: number;
  idleTimeoutMs: number;
  connectTimeoutMs: number;
  /** The policy entry that allowed it. */
  allowedBy: string;
}

export interface FilePolicy {
  root: string;
  access: 'read' | 'write' | 'read-write';
  /** Remove files and directories, and replace an existing name by a rename. */
  delete: boolean;
  /** Open an existing file for writing, truncate it, append to it or replace it. */
  overwrite: boolean;
  /** Bits cleared from every mode the server sets (creates, mkdir, chmod). */
  umask: number;
  /** A write that would leave less than this free on root's filesystem is refused (act/files/free-space.ts); 0: no floor. */
  minFreeBytes: number;
  /** The session ends after this long with nothing from the client; 0: never. */
  idleTimeoutMs: number;
}

/** Legacy scp's server side, as `scp -O` sends it. */
export interface ScpRequest {
  /** -t: the client sends (the server is the sink); -f: the client fetches. */
  direction: 'to-server' | 'from-server';
  recursive: boolean;
  preserveTimes: boolean;
  /** -d: the target must be a directory (the client sends several files). */
  targetMustBeDir: boolean;
  path: string;
}

/** sftp rules: our own file server (act/files/) in the sandbox, speaking SFTP or legacy scp. */
export interface FilesPlan {
  kind: 'files';
  protocol: 'sftp' | 'scp';
  /** What the server enforces on every request (act/files/policy.ts); `root` is the client's "/". */
  policy: FilePolicy;
  /** Legacy scp: the direction and flags of `scp -t|-f`; null for SFTP. */
  scp: ScpRequest | null;
  sandbox: SandboxPlan;
}

/**
 * An rsync rule's plan: a program plan (act/exec.ts starts it as it starts an exec rule's) whose
 * paths are always confined to the rule's root, and which the host completes
 * (host/rsync-completion.ts) before it runs.
 */
export type RsyncPlan = ExecPlan & { confine: NonNullable<ExecPlan['confine']> };

export type Plan = ExecPlan | ReceivePlan | RelayPlan | FilesPlan;

/** PATH for every program we start; the client's PATH is never used. */
export const CHILD_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * The whole environment of a child: a fixed minimum, then the rule's own additions. Nothing is
 * inherited, so SSH_AUTH_SOCK (a forwarded agent), SSH_ORIGINAL_COMMAND, LD_*, NODE_OPTIONS and
 * whatever the client sent through AcceptEnv never reach it (but an exec rule's pass-env: GIT_PROTOCOL, its value checked).
 */
export function minimalChildEnv(input: {
  user: string;
  home: string;
  sshConnection: string | null;
  ruleEnv: Record<string, string>;
}): Record<string, string> {
  const env: Record<string, string> = {
    PATH: CHILD_PATH,
    HOME: input.home,
    USER: input.user,
    LOGNAME: input.user,
    LANG: 'C.UTF-8',
  };
  if (input.sshConnection !== null) env.SSH_CONNECTION = input.sshConnection;
  return Object.assign(env, input.ruleEnv);
}

/**
 * A plan with the identity's own free-space floor: its writes stop where free space falls to the
 * higher of the rule's min-free and the identity's, so the space between is left to the other
 * identities' rules. An rsync push without a floor of its own gets one on its root. Pulls, relays
 * and exec rules write nothing this can watch.
 */
export function withFloor(plan: Plan, floor: number | null): Plan {
  if (!floor) return plan;
  switch (plan.kind) {
    case 'receive':
      return { ...plan, minFreeBytes: Math.max(plan.minFreeBytes, floor) };
    case 'files':
      return plan.policy.access === 'read'
        ? plan
        : { ...plan, policy: { ...plan.policy, minFreeBytes: Math.max(plan.policy.minFreeBytes, floor) } };
    case 'exec':
      if (plan.minFree) return { ...plan, minFree: { path: plan.minFree.path, bytes: Math.max(plan.minFree.bytes, floor) } };
      // An rsync push (a confined plan that is no pull) whose rule keeps no floor.
      if (plan.confine !== null && plan.confine.pull === null && plan.supervise)
        return { ...plan, minFree: { path: plan.confine.root, bytes: floor } };
      return plan;
    case 'relay':
      return plan;
  }
}

/** Whether the plan's program starts in the sandbox (act/sandbox.ts): a file server always does. */
export function runsInSandbox(plan: Plan): boolean {
  return plan.kind === 'files' || (plan.kind === 'exec' && plan.sandbox !== undefined && plan.sandbox !== null);
}
