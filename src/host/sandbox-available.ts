/**
 * Whether this host can build the sandbox a plan asks for (act/sandbox.ts), asked before the
 * decision is recorded: a plan that cannot be confined is refused, never run unconfined.
 * Cheap checks only (a file's mode, three sysctls); bwrap's own failure to build a namespace is
 * still caught when it starts (the end record's `sandbox-failed`).
 */
import { accessSync, constants, readFileSync } from 'node:fs';
import { BWRAP } from '../rules/sandbox.js';

/** Why a sandbox cannot be made on this host for this account, or null when it can be tried. */
export function sandboxUnavailable(uid: number, procSys = '/proc/sys', bwrap = BWRAP): string | null {
  try {
    accessSync(bwrap, constants.X_OK);
  } catch {
    return `${bwrap} is missing (install Debian's bubblewrap package)`;
  }
  if (uid === 0) return null;
  // bwrap as a plain user needs an unprivileged user namespace.
  const off = (file: string, value: string) => {
    try {
      return readFileSync(file, 'utf8').trim() === value;
    } catch {
      return false;
    }
  };
  if (off(`${procSys}/kernel/unprivileged_userns_clone`, '0'))
    return 'unprivileged user namespaces are switched off (kernel.unprivileged_userns_clone = 0): bwrap cannot build a sandbox for a non-root account';
  if (off(`${procSys}/user/max_user_namespaces`, '0'))
    return 'user namespaces are switched off (user.max_user_namespaces = 0): bwrap cannot build a sandbox for a non-root account';
  if (off(`${procSys}/kernel/apparmor_restrict_unprivileged_userns`, '1'))
    return 'AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns = 1): bwrap needs an AppArmor profile to build a sandbox for a non-root account';
  return null;
}
