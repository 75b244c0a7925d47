/**
 * The only reads of the environment in forced-command mode. sshd builds this environment
 * (session.c do_setup_env); the client can add to it only through AcceptEnv and, where the
 * admin allowed it, PermitUserEnvironment, so nothing read here chooses policy or identity.
 */
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { parseSshConnection, readUserAuth, type Request, type UserAuth } from './request.js';
import { PASSABLE_ENV_NAMES } from '../values/passable-env.js';

/**
 * Variables read before our first line, or by the libraries our process runs, that can load
 * code, write files or change what TLS and DNS trust: the dynamic loader (LD_AUDIT, LD_PRELOAD),
 * glibc (GLIBC_TUNABLES, GCONV_PATH loads shared objects, MALLOC_TRACE writes a file), OpenSSL
 * (OPENSSL_CONF loads modules), libuv, ICU, c-ares and Node (NODE_OPTIONS, NODE_COMPILE_CACHE,
 * NODE_REDIRECT_WARNINGS writes a file). Whole prefixes, because each release of these adds names.
 *
 * Not an allow-list of what sshd sets, though that was the first choice (issue 14): sshd runs
 * `command=` through the account's login shell, whose rc files export whatever the account uses
 * (the test lab's root exports PYENV_*), and pam_env adds /etc/environment; refusing every
 * unknown name would refuse every session of such accounts for no gain, since only these
 * families are read by our process. glibc's list for setuid programs (unsecvars.h) is the source
 * of the exact names; its TMPDIR is left out: pam_tmpdir sets it and we create no temp files.
 */
const CODE_LOADING_PREFIXES = /^(?:LD_|GLIBC_|MALLOC_|NODE_|UV_|OPENSSL_|SSL_CERT_|ICU_)/;
const CODE_LOADING_NAMES = new Set([
  'GCONV_PATH',
  'GETCONF_DIR',
  'HOSTALIASES',
  'LOCALDOMAIN',
  'LOCPATH',
  'NIS_PATH',
  'NLSPATH',
  'RESOLV_HOST_CONF',
  'RES_OPTIONS',
  'TZDIR',
  'CTLOG_FILE',
  'SSLKEYLOGFILE',
]);
/** Locale variables a client may send (AcceptEnv LANG LC_*): a name, never a path to locale files. */
const LOCALE_VARIABLE = /^(?:LANG|LANGUAGE|LC_[A-Z_]+)$/;
const LOCALE_NAME = /^[A-Za-z0-9_.@:+-]*$/;

/** A convention of Node applications that Node itself never reads; servers set it globally. */
const NOT_READ_BY_NODE = new Set(['NODE_ENV']);

/** Variables of `env` that change what our process loads or trusts, sorted. */
export function unsafeVariablesSet(env: NodeJS.ProcessEnv): string[] {
  return Object.keys(env)
    .filter(
      (name) =>
        (CODE_LOADING_PREFIXES.test(name) && !NOT_READ_BY_NODE.has(name)) ||
        CODE_LOADING_NAMES.has(name) ||
        (LOCALE_VARIABLE.test(name) && !LOCALE_NAME.test(env[name] ?? '')),
    )
    .sort();
}

export function readRequest(identity: string, env: NodeJS.ProcessEnv, now: Date, session?: string): Request {
  const account = userInfo();
  const sshConnection = env.SSH_CONNECTION ?? null;
  const client = parseSshConnection(env.SSH_CONNECTION);
  const auth = readExposedAuth(env.SSH_USER_AUTH);
  return {
    identity,
    command: env.SSH_ORIGINAL_COMMAND ?? null,
    client,
    keys: auth.keys.length > 0 ? auth.keys : null,
    certificates: auth.certificates,
    ...(auth.unreadable > 0 ? { unreadableKeys: auth.unreadable } : {}),
    user: account.username,
    home: account.homedir,
    sshConnection: client ? sshConnection : null,
    env: passableVariables(env),
    now,
    ...(session !== undefined ? { session } : {}),
  };
}

/** SSH_USER_AUTH names a file sshd wrote for this session; unreadable means no keys. */
function readExposedAuth(path: string | undefined): UserAuth {
  if (!path) return { keys: [], certificates: [], unreadable: 0 };
  try {
    return readUserAuth(readFileSync(path, { encoding: 'utf8', flag: 'r' }).slice(0, 1024 * 1024));
  } catch {
    return { keys: [], certificates: [], unreadable: 0 };
  }
}

/** The variables a rule may pass on, as set (bounded: a value is checked later, and a long one fails that check anyway). */
function passableVariables(env: NodeJS.ProcessEnv): Record<string, string> {
  const found: Record<string, string> = {};
  for (const name of PASSABLE_ENV_NAMES) {
    const value = env[name];
    if (value !== undefined) found[name] = value.slice(0, 1024);
  }
  return found;
}
