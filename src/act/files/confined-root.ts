/**
 * The path contract of the file server, shared by SFTP and scp.
 *
 * The client's `/` is the root and its start directory is `/` (as in a chroot). A client path is
 * normalised lexically first, so `..` cannot rise above `/`; then it is mapped under the root.
 * Symlinks are resolved after mapping: whatever resolves outside the root does not exist for
 * the client (a link in the root to /etc leads nowhere). A link that stays inside is followed.
 *
 * Between the look (realpath) and the open, a directory on the path can be swapped for a symlink
 * that leads out: by a local user, or by the client itself with renames in a second session
 * (found in review: it read /etc/postgresql/.../pg_hba.conf through a link already in the root).
 * So every open is checked again on what it opened (`holds`): the kernel's name for the open
 * file must be under the root. The sandbox, which mounts only the root writable, is the wall for
 * writes; this check is the one for reads.
 */
import { lstatSync, readlinkSync, realpathSync, statSync, type Stats } from 'node:fs';

/** A client path, absolute or relative to `/`, normalised lexically: always "/" or "/a/b". */
export function normaliseClientPath(path: string): string {
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return `/${parts.join('/')}`;
}

/** The parent and last name of a normalised client path; the root has neither. */
export function splitClientPath(clientPath: string): { parent: string; name: string } | null {
  if (clientPath === '/') return null;
  const cut = clientPath.lastIndexOf('/');
  return { parent: cut === 0 ? '/' : clientPath.slice(0, cut), name: clientPath.slice(cut + 1) };
}

/** Where a client path lies on the host, before any symlink is looked at. */
export function mapToHost(root: string, clientPath: string): string {
  if (root === '/') return clientPath;
  return clientPath === '/' ? root : `${root}${clientPath}`;
}

/** The client's view of a host path under the root, or null when it is not under it. */
export function clientView(root: string, hostPath: string): string | null {
  if (hostPath === root) return '/';
  if (root === '/') return hostPath.startsWith('/') ? hostPath : null;
  return hostPath.startsWith(`${root}/`) ? hostPath.slice(root.length) : null;
}

/** A resolved host path with its client view. */
export interface Located {
  host: string;
  client: string;
}

export type Resolution = Located | 'missing' | 'outside';

/**
 * A session's root, resolved once. The methods answer with host paths that are the root or
 * under it, or say why not: 'missing' (ENOENT and the like) or 'outside' (a symlink leads out;
 * the client hears "no such file" for both, the log hears which).
 */
export class ConfinedRoot {
  readonly root: string;

  constructor(root: string) {
    this.root = realpathSync(root);
    if (!statSync(this.root).isDirectory()) throw new Error('the root is not a directory');
  }

  /**
   * Whether an open descriptor is the root or under it, by the path the kernel keeps for it
   * (/proc/self/fd). Any doubt (no /proc, a deleted file) is a no.
   */
  holds(fd: number): boolean {
    try {
      return clientView(this.root, readlinkSync(`/proc/self/fd/${fd}`)) !== null;
    } catch {
      return false;
    }
  }

  /** An existing path with every symlink followed (STAT, OPEN of an existing file, OPENDIR, scp -f). */
  existing(path: string): Resolution {
    const host = mapToHost(this.root, normaliseClientPath(path));
    let real: string;
    try {
      real = realpathSync(host);
    } catch {
      return 'missing';
    }
    const client = clientView(this.root, real);
    return client === null ? 'outside' : { host: real, client };
  }

  /**
   * The last component itself, its directory resolved (LSTAT, REMOVE, RENAME, a create): a
   * symlink as the last name is the link, not what it points at. Null for the root itself.
   */
  entry(path: string): Resolution | null {
    const split = splitClientPath(normaliseClientPath(path));
    if (split === null) return null;
    const dir = this.existing(split.parent);
    if (typeof dir === 'string') return dir;
    return {
      host: dir.host === '/' ? `/${split.name}` : `${dir.host}/${split.name}`,
      client: dir.client === '/' ? `/${split.name}` : `${dir.client}/${split.name}`,
    };
  }

  /**
   * For a write that may create: the file itself when it exists (a symlink inside the root is
   * followed, as open(2) would), else the new entry in a resolved directory. 'exists' says which.
   */
  target(path: string): (Located & { exists: boolean }) | 'missing' | 'outside' | 'root' {
    const entry = this.entry(path);
    if (entry === null) return 'root';
    if (typeof entry === 'string') return entry;
    const stats = lstatOrNull(entry.host);
    if (stats === null) return { ...entry, exists: false };
    if (!stats.isSymbolicLink()) return { ...entry, exists: true };
    const followed = this.existing(entry.client);
    // A dangling link inside the root: creating through it would create its target, wherever
    // that is. Refused as if it led outside.
    if (followed === 'missing') return 'outside';
    if (followed === 'outside') return 'outside';
    return { ...followed, exists: true };
  }

  /**
   * A link's target in the client's view, when it resolves inside the root (READLINK). A
   * dangling target is shown if its directory is inside. Anything else is not shown at all.
   */
  linkTarget(linkClientPath: string, raw: string): string | null {
    const split = splitClientPath(normaliseClientPath(linkClientPath));
    if (split === null) return null;
    const dirHost = this.existing(split.parent);
    if (typeof dirHost === 'string') return null;
    const hostTarget = raw.startsWith('/') ? raw : `${dirHost.host}/${raw}`;
    try {
      return clientView(this.root, realpathSync(hostTarget));
    } catch {
      const lexical = normaliseHostPath(hostTarget);
      const cut = lexical.lastIndexOf('/');
      try {
        const dir = realpathSync(cut === 0 ? '/' : lexical.slice(0, cut));
        return clientView(this.root, `${dir === '/' ? '' : dir}/${lexical.slice(cut + 1)}`);
      } catch {
        return null;
      }
    }
  }
}

function normaliseHostPath(path: string): string {
  return normaliseClientPath(path);
}

export function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}
