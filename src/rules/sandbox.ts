/**
 * What a sandboxed program may see and do, as a plan says it (act/sandbox.ts builds the
 * namespace with bubblewrap). Besides these paths the namespace holds only the system's programs
 * and libraries (read-only), /etc without its secrets, a private /tmp, /dev and /proc of its own.
 */
import type { Node, Reader } from '../values/reader.js';

/** bubblewrap, as Debian installs it. */
export const BWRAP = '/usr/bin/bwrap';

/**
 * Capabilities a program started as root keeps in the sandbox, by what it does. Root with all
 * of them could undo the namespace (CAP_SYS_ADMIN unmounts the read-only binds, CAP_MKNOD and a
 * mount reach the disk, CAP_SYS_PTRACE reaches processes outside), so each job keeps only the
 * file rights it needs; a non-root account keeps none. Never CAP_DAC_READ_SEARCH: it allows
 * open_by_handle_at(2), which opens any inode of a filesystem by number, whatever the mount
 * namespace shows (found in review: /etc/shadow and the host keys, read from inside);
 * CAP_DAC_OVERRIDE already reads and searches what the namespace holds.
 */
export const ROOT_CAPS = {
  /** A push keeps owners, groups, modes with setuid/setgid bits, and times of others' files. */
  store: ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER', 'CAP_FSETID'],
  /** A pull reads files whoever owns them. */
  read: ['CAP_DAC_OVERRIDE'],
  /** The file server: reads and writes in root and sets modes and times, never owners. */
  files: ['CAP_DAC_OVERRIDE', 'CAP_FOWNER'],
  /** A push that may create device files (rsync `devices: true`). */
  devices: ['CAP_MKNOD'],
} as const;

/**
 * What the sandbox does with the secrets (act/sandbox.ts SECRETS) that lie under a plan's read
 * paths: `withhold` (the default) never hands them over, and a request that reads them fails
 * loudly; `serve` binds them read-only for real (password hashes, host keys: backups of /etc).
 */
export type SecretsPolicy = 'serve' | 'withhold';

export const SECRETS_POLICIES: readonly SecretsPolicy[] = ['serve', 'withhold'];

/** A `secrets:` value (rsync rules, exec rules' `sandbox`); null on an error, which `reader` holds. */
export function readSecretsPolicy(reader: Reader, node: Node | null, key: string): SecretsPolicy | null {
  return reader.string(node, key, {
    test: (s) => (SECRETS_POLICIES as readonly string[]).includes(s),
    expected: `one of ${SECRETS_POLICIES.join(', ')}`,
  }) as SecretsPolicy | null;
}

export interface SandboxPlan {
  /** Visible read-only, at their real paths. */
  read: string[];
  /** Visible and writable, at their real paths. */
  write: string[];
  /** Kept when the program runs as root (ROOT_CAPS). */
  rootCaps: string[];
  /** The rule's `secrets:`; absent: withhold. */
  secrets?: SecretsPolicy;
  /**
   * What the request itself reads, as absolute paths (a pull's operands): a secret withheld from
   * one of these makes the run fail loudly and is named in the end record. Absent: nothing
   * (the request names no paths of its own; secrets are covered as usual).
   */
  reads?: string[];
}
