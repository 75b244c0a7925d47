/**
 * The sandbox: bubblewrap starts a rule's program in a mount namespace of its own, where the
 * kernel, not a path check in ssh-dispatch, decides what exists. The namespace holds:
 * - /usr and the top-level links into it (or the real /bin, /lib... on a host without merged
 *   /usr), read-only: the programs and their libraries;
 * - /etc read-only, with its secrets (SECRETS) covered by an empty file or directory (those the
 *   request itself reads by an unreadable one: see withheldFrom);
 * - a private /tmp, a minimal /dev, a /proc of its own pid namespace (the host's /proc would
 *   lead out: /proc/1/root is the host's filesystem);
 * - the plan's own paths at their real paths: `read` read-only, `write` writable;
 * and nothing else. Its root is remounted read-only after the binds, so a write anywhere else
 * fails with an error the client sees (bwrap's root is a tmpfs: a write there would otherwise
 * succeed and vanish with the session). No network, no IPC, no other processes; a program run as
 * root keeps only the capabilities its plan names (rules/sandbox.ts).
 */
import { lstatSync, readlinkSync, realpathSync } from 'node:fs';
import { dirname } from 'node:path';
import type { SandboxPlan } from '../rules/sandbox.js';
import { isWithin } from '../values/paths.js';
export { BWRAP } from '../rules/sandbox.js';

/** What /etc holds that a program in the sandbox never needs: password hashes, host keys, sudo rules, TLS keys, our own policy. */
export const SECRETS = [
  '/etc/shadow',
  '/etc/shadow-',
  '/etc/gshadow',
  '/etc/gshadow-',
  '/etc/ssh',
  '/etc/sudoers',
  '/etc/sudoers.d',
  '/etc/security/opasswd',
  '/etc/ssl/private',
  '/etc/pki/tls/private',
  '/etc/krb5.keytab',
  '/etc/ssh-dispatch',
  // Keys, passwords and tokens Debian services keep in /etc (found in review: a denylist, so
  // the common stores are named).
  '/etc/letsencrypt',
  '/etc/wireguard',
  '/etc/openvpn',
  '/etc/ipsec.secrets',
  '/etc/ipsec.d/private',
  '/etc/ppp/chap-secrets',
  '/etc/ppp/pap-secrets',
  '/etc/rsyncd.secrets',
  '/etc/mysql/debian.cnf',
  '/etc/postgresql',
  '/etc/NetworkManager/system-connections',
  '/etc/netplan',
  '/etc/credstore',
  '/etc/credstore.encrypted',
  '/etc/docker/key.json',
  '/etc/samba/smbpasswd',
  '/etc/exim4/passwd.client',
  '/etc/postfix/sasl_passwd',
  '/etc/cups/ssl',
  '/etc/libvirt/secrets',
];

/** Top-level names that hold programs and libraries: links into /usr on a merged-/usr host. */
const SYSTEM_TOP = ['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32'];

/** What the namespace is built from on this host: found once per start, by act/sandbox.ts's caller. */
export interface HostLayout {
  /** Each SYSTEM_TOP name present on the host: a link (and its target) or a directory. */
  top: { name: string; link: string | null }[];
  /** The SECRETS present, and whether each is a directory. */
  secrets: { path: string; directory: boolean }[];
  /** The uid the program runs as: capabilities are kept only for root. */
  uid: number;
}

export function hostLayout(): HostLayout {
  const top: HostLayout['top'] = [];
  for (const name of SYSTEM_TOP) {
    try {
      const stat = lstatSync(`/${name}`);
      if (stat.isSymbolicLink()) top.push({ name, link: readlinkSync(`/${name}`) });
      else if (stat.isDirectory()) top.push({ name, link: null });
    } catch {
      // Not on this host.
    }
  }
  const secrets: HostLayout['secrets'] = [];
  for (const path of SECRETS) {
    try {
      const stat = lstatSync(path);
      // A secret that is a link is covered where it points, if that is in /etc too; the link itself is harmless.
      if (!stat.isSymbolicLink()) secrets.push({ path, directory: stat.isDirectory() });
    } catch {
      // Not on this host.
    }
  }
  return { top, secrets, uid: process.getuid?.() ?? 0 };
}

/** A path the sandbox binds, at the path the plan names it by, from where it really is. */
export interface Bind {
  source: string;
  target: string;
}

/** The plan's paths as binds: each from its real path (links resolved now) to the path the program uses. */
export function bindsOf(paths: readonly string[]): Bind[] {
  return paths.map((target) => ({ source: realpathSync(target), target }));
}

export interface SandboxRun {
  sandbox: SandboxPlan;
  /** Extra read-only paths the program itself needs (a program or runtime outside /usr). */
  runtime: Bind[];
  read: Bind[];
  write: Bind[];
  cwd: string | null;
  /** The descriptor bwrap reports on: `child-pid` once the program started (act/exec.ts); null: none. */
  statusFd: number | null;
  /** Descriptors open on an empty file, one for each withheld file (withheldFrom): bwrap makes each an unreadable stand-in. */
  standInFds?: readonly number[];
  argv: readonly string[];
}

/**
 * The secrets present here that a run withholds from what its request reads (a secret is, holds
 * or lies in one of `sandbox.reads`), unless the rule serves them (`secrets: serve`, on a path it
 * only reads). Each gets a stand-in the program cannot open, so the request fails loudly
 * (rsync: "Permission denied", exit 23) instead of carrying off an empty file, a device node or an
 * empty directory with exit 0. Pure, and a few string comparisons: a run whose request reads no
 * secret pays nothing.
 */
export function withheldFrom(sandbox: SandboxPlan, layout: HostLayout): HostLayout['secrets'] {
  const reads = sandbox.reads ?? [];
  if (reads.length === 0) return [];
  return layout.secrets.filter((secret) => reads.some((path) => overlaps(path, secret.path)) && !served(sandbox, secret.path));
}

/** The rule serves this secret: `secrets: serve`, on a path it reads and does not write. */
function served(sandbox: SandboxPlan, secret: string): boolean {
  return (
    sandbox.secrets === 'serve' &&
    sandbox.read.some((path) => overlaps(path, secret)) &&
    !sandbox.write.some((path) => overlaps(path, secret))
  );
}

/** How many stand-in descriptors a run needs (withheld files; directories need none). */
export function standInsNeeded(sandbox: SandboxPlan, layout: HostLayout): number {
  return withheldFrom(sandbox, layout).filter((secret) => !secret.directory).length;
}

/** bwrap's arguments for a run (pure: the layout and binds are found by the caller). */
export function bwrapArgs(run: SandboxRun, layout: HostLayout): string[] {
  const args = ['--die-with-parent', '--unshare-ipc', '--unshare-pid', '--unshare-net', '--unshare-uts', '--unshare-cgroup-try'];
  const withheld = withheldFrom(run.sandbox, layout);
  if (layout.uid === 0) {
    // As root bwrap keeps every capability unless told; without --unshare-user, so that owners
    // other than root can be stored (a user namespace maps one uid only).
    args.push('--cap-drop', 'ALL');
    // CAP_DAC_OVERRIDE reads a mode-0000 stand-in as an empty file (measured: rsync then stores
    // it, exit 0). Without it root reads what it owns and what others let it read, so a request
    // that reaches a withheld secret fails on the stand-in, by name.
    for (const cap of run.sandbox.rootCaps) if (withheld.length === 0 || cap !== 'CAP_DAC_OVERRIDE') args.push('--cap-add', cap);
  }
  args.push('--ro-bind', '/usr', '/usr');
  for (const { name, link } of layout.top) {
    if (link !== null) args.push('--symlink', link, `/${name}`);
    else args.push('--ro-bind', `/${name}`, `/${name}`);
  }
  args.push('--ro-bind', '/etc', '/etc');
  for (const secret of layout.secrets) cover(args, secret);
  args.push('--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp');
  for (const { flag, source, target } of mountOrder(run)) args.push(flag, source, target);
  // A rule path that is, holds or lies in a secret would bind it back over its cover (found in
  // review: an sftp root of /etc/ssh served the host keys): such covers go on again, on top.
  const bound = [...run.runtime, ...run.read, ...run.write].map((bind) => bind.target);
  const fds = [...(run.standInFds ?? [])];
  for (const secret of layout.secrets) {
    if (withheld.includes(secret)) standIn(args, secret, fds);
    else if (served(run.sandbox, secret.path)) continue;
    else if (bound.some((path) => overlaps(path, secret.path))) cover(args, secret);
  }
  args.push('--remount-ro', '/');
  // Not the dispatcher's directory (the account's home, which the namespace does not hold).
  args.push('--chdir', run.cwd ?? '/');
  if (run.statusFd !== null) args.push('--json-status-fd', String(run.statusFd));
  args.push('--', ...run.argv);
  return args;
}

/**
 * The plan's binds, each path before the paths inside it: a later bind covers what an earlier
 * one showed there, so the more specific path wins either way (a read-only `repo/config` inside
 * a writable `repo` stays read-only, a writable `repo/new` inside a read-only `repo` is
 * writable). In the order given (runtime, read, write), an enclosing write came last and made
 * every read path in it writable again (reported: borg's repokey was rewritten through a
 * `read: [repo/config]`).
 */
function mountOrder(run: SandboxRun): { flag: '--ro-bind' | '--bind'; source: string; target: string }[] {
  const binds = [
    ...run.runtime.map((bind) => ({ flag: '--ro-bind' as const, ...bind })),
    ...run.read.map((bind) => ({ flag: '--ro-bind' as const, ...bind })),
    ...run.write.map((bind) => ({ flag: '--bind' as const, ...bind })),
  ];
  const depth = (path: string) => path.split('/').filter(Boolean).length;
  // Array.prototype.sort is stable: paths of one depth, which cannot hold each other, keep their order.
  return binds.sort((a, b) => depth(a.target) - depth(b.target));
}

/** A file covered by a node that cannot be opened, a directory by an empty read-only one. */
function cover(args: string[], { path, directory }: HostLayout['secrets'][number]): void {
  if (directory) args.push('--tmpfs', path, '--remount-ro', path);
  else args.push('--ro-bind', '/dev/null', path);
}

/**
 * A withheld secret's stand-in: mode 0000, so that a program without CAP_DAC_OVERRIDE cannot open
 * it (a file from one of the empty descriptors, which bwrap reads and closes; a directory as an
 * empty read-only tmpfs). A directory stays a directory: rsync lists its entry (empty, mode 0000)
 * before it fails to open it, but a stand-in of another type makes a --delete pull remove
 * yesterday's copy of it to make room (measured), where a failed directory keeps it.
 */
function standIn(args: string[], { path, directory }: HostLayout['secrets'][number], fds: number[]): void {
  if (directory) {
    args.push('--perms', '0000', '--tmpfs', path, '--remount-ro', path);
    return;
  }
  const fd = fds.shift();
  if (fd === undefined) throw new Error(`no descriptor for the stand-in of ${path} (standInsNeeded)`);
  args.push('--perms', '0000', '--ro-bind-data', String(fd), path);
}

/** `a` is `b`, lies in it, or holds it. */
function overlaps(a: string, b: string): boolean {
  return isWithin(a, b) || isWithin(b, a);
}

/** A program outside /usr (another rsync, our own Node runtime): its directory, read-only. */
export function runtimeBinds(programs: readonly string[]): Bind[] {
  const binds: Bind[] = [];
  for (const program of programs) {
    const real = realpathSync(program);
    if (real.startsWith('/usr/')) continue;
    const dir = dirname(real);
    if (!binds.some((b) => b.source === dir)) binds.push({ source: dir, target: dir });
  }
  return binds;
}
