/**
 * The only reads of the environment in forced-command mode. sshd builds this environment
 * (session.c do_setup_env); the client can add to it only through AcceptEnv and, where the
 * admin allowed it, PermitUserEnvironment, so nothing read here chooses policy or identity.
 */
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { fingerprintsFromUserAuth, parseSshConnection, type Request } from './request.js';

/** Variables that change what code Node or the dynamic loader runs before our first line. */
const CODE_LOADING_VARIABLES = ['NODE_OPTIONS', 'NODE_PATH', 'LD_PRELOAD', 'LD_LIBRARY_PATH'];

export function unsafeVariablesSet(env: NodeJS.ProcessEnv): string[] {
  return CODE_LOADING_VARIABLES.filter((name) => env[name] !== undefined);
}

export function readRequest(identity: string, env: NodeJS.ProcessEnv, now: Date): Request {
  const account = userInfo();
  const sshConnection = env.SSH_CONNECTION ?? null;
  const client = parseSshConnection(env.SSH_CONNECTION);
  return {
    identity,
    command: env.SSH_ORIGINAL_COMMAND ?? null,
    client,
    keys: readExposedKeys(env.SSH_USER_AUTH),
    user: account.username,
    home: account.homedir,
    sshConnection: client ? sshConnection : null,
    now,
  };
}

/** SSH_USER_AUTH names a file sshd wrote for this session; unreadable or keyless means null. */
function readExposedKeys(path: string | undefined): string[] | null {
  if (!path) return null;
  try {
    const keys = fingerprintsFromUserAuth(readFileSync(path, { encoding: 'utf8', flag: 'r' }).slice(0, 65536));
    return keys.length > 0 ? keys : null;
  } catch {
    return null;
  }
}
