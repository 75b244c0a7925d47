/** A files plan (sftp rules) as the audit record and `explain` show it. */
import type { FilesPlan, ScpRequest } from '../plan.js';
import type { SandboxFields } from '../exec/explain.js';

export type FilesPlanFields = {
  files: {
    protocol: FilesPlan['protocol'];
    root: string;
    access: FilesPlan['policy']['access'];
    delete: boolean;
    overwrite: boolean;
    scp?: ScpRequest['direction'];
    path?: string;
  };
  sandbox: SandboxFields;
};

export function filesPlanFields(plan: FilesPlan): FilesPlanFields {
  const { root, access, delete: deleting, overwrite } = plan.policy;
  return {
    files: {
      protocol: plan.protocol,
      root,
      access,
      delete: deleting,
      overwrite,
      ...(plan.scp ? { scp: plan.scp.direction, path: plan.scp.path } : {}),
    },
    sandbox: { read: plan.sandbox.read, write: plan.sandbox.write },
  };
}

export function filesPlanLines(plan: FilesPlan): string[] {
  const { root, access, delete: deleting, overwrite, umask } = plan.policy;
  const served = plan.scp
    ? `legacy scp ${plan.scp.direction === 'to-server' ? 'upload (-t)' : 'download (-f)'} of ${JSON.stringify(plan.scp.path)}${plan.scp.recursive ? ', recursive' : ''}`
    : 'the SFTP protocol (sftp, scp, restic, rclone ...)';
  return [
    `  files    ${served}, by ssh-dispatch's own file server`,
    `  root     ${root} is the client's "/" and start directory; nothing outside it exists`,
    `  access   ${access === 'read' ? 'read: every write refused' : access === 'write' ? 'write: stored contents are never read back (listing allowed)' : 'read-write'}; delete ${deleting ? 'allowed' : 'refused for stored names (remove, rmdir, rename)'}; overwrite ${overwrite ? 'allowed (by a new file, never in place)' : 'refused (stored files are never opened for writing, replaced or re-chmodded)'}; umask ${umask.toString(8).padStart(4, '0')}`,
    `  sandbox  bubblewrap: ${root} (${access === 'read' ? 'read-only' : 'writable'}) and the system's programs, nothing else`,
    `  limits   ${limitsLine(plan)}`,
    `  record   one "file" record per file read, written, removed or renamed`,
  ];
}

function limitsLine(plan: FilesPlan): string {
  const { access, minFreeBytes, idleTimeoutMs } = plan.policy;
  const floor =
    access === 'read'
      ? 'nothing is written'
      : minFreeBytes > 0
        ? `a write that would leave less than ${minFreeBytes} bytes free on the filesystem of ${plan.policy.root} is refused`
        : 'no free-space floor (min-free: "0")';
  const idle = idleTimeoutMs > 0 ? `ended after ${idleTimeoutMs / 1000} s with nothing from the client` : 'no idle timeout';
  return `${floor}; ${idle}`;
}
