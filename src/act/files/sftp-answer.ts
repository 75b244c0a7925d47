/**
 * How a request that is not served ends: an SFTP status for the client, with the refusal for the
 * log when the policy said no. Thrown from anywhere in a request, answered once by the loop.
 */
import type { Refusal } from './policy.js';
import { FX, STATUS_TEXT, type StatusCode } from './sftp-wire.js';

/** A request that is answered with a status, for the log and the client. */
export class Answer extends Error {
  constructor(
    readonly code: StatusCode,
    readonly refusal?: Refusal,
    text?: string,
  ) {
    super(text ?? STATUS_TEXT[code]);
  }
}

/** errno to SFTP status, as OpenSSH's errno_to_portable does. */
export function statusOf(error: unknown): StatusCode {
  switch ((error as NodeJS.ErrnoException).code) {
    case 'ENOENT':
    case 'ENOTDIR':
    case 'EBADF':
    case 'ELOOP':
      return FX.NO_SUCH_FILE;
    case 'EPERM':
    case 'EACCES':
    case 'EFAULT':
      return FX.PERMISSION_DENIED;
    case 'ENAMETOOLONG':
      return FX.BAD_MESSAGE;
    case 'ENOSYS':
      return FX.OP_UNSUPPORTED;
    default:
      return FX.FAILURE;
  }
}
