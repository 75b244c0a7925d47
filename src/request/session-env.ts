/**
 * The only reads of the environment in forced-command mode. sshd builds this environment
 * (session.c do_setup_env); the client can add to it only through AcceptEnv and, where the
 * admin allowed it, PermitUserEnvironment, so nothing read here chooses policy or identity.
 */
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { parseSshConnection, readUserAuth, type Request, type UserAuth } from './request.js';
import type { PathChain } from './root-path.js';
import { PASSABLE_ENV_NAMES } from '../values/passable-env.js';
import { untrustedWriter } from '../trust.js';

/**
 * Variables read before our first line, or by the libraries our process runs, that can load
 * code, write files or change what TLS and DNS trust. Whole prefixes, because each release of
 * these adds names. docs/environment.md renders this list (scripts/docs-env.mjs).
 *
 * Not an allow-list of what sshd sets, though that was the first choice (issue 14): sshd runs
 * `command=` through the account's login shell, whose rc files export whatever the account uses
 * (the test lab's root exports PYENV_*), and pam_env adds /etc/environment; refusing every
 * unknown name would refuse every session of such accounts for no gain, since only these
 * families are read by our process. glibc's list for setuid programs (unsecvars.h) is the source
 * of the exact names; its TMPDIR is left out: pam_tmpdir sets it and we create no temp files.
 */
export interface RefusedVariable {
  /** The name, or a prefix ending in `*`. */
  name: string;
  readBy: string;
  why: string;
  /** When set, the variable is not refused: a CA bundle root alone could have written (see CA_BUNDLE_VARIABLES). */
  accepted?: string;
}

const CA_ACCEPTED =
  'names an absolute path that root owns, as does every directory and link on the way to it, none writable by group or others';

export const REFUSED_VARIABLES: readonly RefusedVariable[] = [
  {
    name: 'LD_*',
    readBy: 'the dynamic loader',
    why: 'loads shared objects (LD_PRELOAD, LD_AUDIT, LD_LIBRARY_PATH), writes files (LD_DEBUG_OUTPUT)',
  },
  { name: 'GLIBC_*', readBy: 'glibc', why: 'GLIBC_TUNABLES changes the allocator and more, before our first line' },
  { name: 'MALLOC_*', readBy: 'glibc', why: 'MALLOC_TRACE writes a file; the others tune the allocator' },
  {
    name: 'NODE_*',
    readBy: 'Node',
    why: 'NODE_OPTIONS adds flags (--require loads code), NODE_PATH, NODE_COMPILE_CACHE; NODE_REDIRECT_WARNINGS writes a file. NODE_ENV passes: Node never reads it; NODE_EXTRA_CA_CERTS: next row',
  },
  { name: 'NODE_EXTRA_CA_CERTS', readBy: 'Node, at process start', why: 'adds certificates TLS trusts', accepted: CA_ACCEPTED },
  { name: 'UV_*', readBy: 'libuv', why: 'sizes the thread pool and more' },
  { name: 'OPENSSL_*', readBy: 'OpenSSL', why: 'OPENSSL_CONF and OPENSSL_MODULES load modules' },
  { name: 'SSL_CERT_*', readBy: 'OpenSSL', why: 'changes what TLS trusts; SSL_CERT_FILE and SSL_CERT_DIR: next rows' },
  {
    name: 'SSL_CERT_FILE',
    readBy: 'OpenSSL (its default verify paths)',
    why: 'replaces the certificates TLS trusts',
    accepted: CA_ACCEPTED,
  },
  {
    name: 'SSL_CERT_DIR',
    readBy: 'OpenSSL (its default verify paths)',
    why: 'replaces the certificates TLS trusts',
    accepted: `${CA_ACCEPTED} (here the directory: only root can add or replace its entries)`,
  },
  { name: 'ICU_*', readBy: 'ICU', why: 'ICU_DATA loads data files' },
  { name: 'GCONV_PATH', readBy: 'glibc iconv', why: 'loads shared objects' },
  { name: 'GETCONF_DIR', readBy: 'glibc', why: 'runs programs from a directory' },
  { name: 'HOSTALIASES', readBy: 'the glibc resolver', why: 'reads a file of host aliases: changes what a name resolves to' },
  { name: 'LOCALDOMAIN', readBy: 'the glibc resolver', why: 'changes the search domains' },
  { name: 'RES_OPTIONS', readBy: 'the glibc resolver', why: 'changes resolver options' },
  { name: 'RESOLV_HOST_CONF', readBy: 'the glibc resolver', why: 'reads another host.conf' },
  { name: 'NIS_PATH', readBy: 'glibc NIS+', why: 'changes where names are looked up' },
  { name: 'LOCPATH', readBy: 'glibc', why: 'loads locale files from a directory' },
  { name: 'NLSPATH', readBy: 'glibc', why: 'loads message catalogs from a path' },
  { name: 'TZDIR', readBy: 'glibc, ICU', why: 'loads time zone files from a directory' },
  { name: 'CTLOG_FILE', readBy: 'OpenSSL', why: 'replaces the Certificate Transparency log list' },
  { name: 'SSLKEYLOGFILE', readBy: 'OpenSSL, Node', why: 'writes TLS session secrets to a file' },
  {
    name: 'LANG, LANGUAGE, LC_*',
    readBy: 'glibc',
    why: 'refused only when the value is not a plain locale name (a path loads locale files from anywhere)',
  },
];

/**
 * The CA bundle family: variables an administrator sets for every session (pam_env's
 * /etc/environment, behind TLS-inspecting proxies) whose value is a file of certificates, read
 * as data, never code. Refusing them refused every request on such hosts. Not OPENSSL_CONF (it
 * loads modules), not CTLOG_FILE or SSLKEYLOGFILE (no proxy setup sets them; the latter writes).
 *
 * Accepted only when root alone could have written what they name: then whoever could change it
 * already controls the dispatcher. That matters for NODE_EXTRA_CA_CERTS, which our own Node read
 * at process start, before any line of ours: a root-owned, unwritable bundle is what makes that
 * read acceptable, and the same name pointing anywhere else denies. The look comes after that
 * read, which is sound: what root alone can write now, no one else could have written then (only
 * root can give a file or directory to root, or take group and other write away from another's). SSL_CERT_FILE and
 * SSL_CERT_DIR are read by OpenSSL only for its default verify paths, which our process never
 * loads (syslog TLS passes its own `ca`, which also leaves NODE_EXTRA_CA_CERTS unused); once
 * accepted, all three are removed from our environment (forgetAccepted) so that nothing we
 * start inherits them, and children get a fixed minimal environment anyway (rules/plan.ts).
 */
export const CA_BUNDLE_VARIABLES: ReadonlySet<string> = new Set(
  REFUSED_VARIABLES.filter((v) => v.accepted !== undefined).map((v) => v.name),
);

const PREFIXES = REFUSED_VARIABLES.filter((v) => v.name.endsWith('*')).map((v) => v.name.slice(0, -1));
const CODE_LOADING_NAMES = new Set(REFUSED_VARIABLES.filter((v) => /^[A-Z_]+$/.test(v.name)).map((v) => v.name));
/** Locale variables a client may send (AcceptEnv LANG LC_*): a name, never a path to locale files. */
const LOCALE_VARIABLE = /^(?:LANG|LANGUAGE|LC_[A-Z_]+)$/;
const LOCALE_NAME = /^[A-Za-z0-9_.@:+-]*$/;

/** A convention of Node applications that Node itself never reads; servers set it globally. */
const NOT_READ_BY_NODE = new Set(['NODE_ENV']);

/** Variables of `env` that change what our process loads or trusts, sorted (the CA bundle family included: see judgeSessionEnv). */
export function unsafeVariablesSet(env: NodeJS.ProcessEnv): string[] {
  return Object.keys(env)
    .filter(
      (name) =>
        (PREFIXES.some((prefix) => name.startsWith(prefix)) && !NOT_READ_BY_NODE.has(name)) ||
        CODE_LOADING_NAMES.has(name) ||
        (LOCALE_VARIABLE.test(name) && !LOCALE_NAME.test(env[name] ?? '')),
    )
    .sort();
}

/** The environment judged: refused (each name, and why for a CA variable), or accepted with the CA variables to forget. */
export type EnvVerdict = { ok: true; accepted: string[] } | { ok: false; detail: string };

/**
 * Whether the dispatcher may run with `env`, from the chains `chainOf` walks (root-path.ts; a
 * table in tests). Every refused variable denies as it always did (`set: NAME`); a CA bundle
 * variable denies only when it names anything but root's file, the detail saying why.
 */
export function judgeSessionEnv(env: NodeJS.ProcessEnv, chainOf: (path: string) => PathChain): EnvVerdict {
  const accepted: string[] = [];
  const refused: string[] = [];
  for (const name of unsafeVariablesSet(env)) {
    const why = CA_BUNDLE_VARIABLES.has(name) ? caBundleUntrusted(name, env[name] ?? '', chainOf) : '';
    if (why === null) accepted.push(name);
    else refused.push(why === '' ? name : `${name} (${why})`);
  }
  return refused.length > 0 ? { ok: false, detail: `set: ${refused.join(', ')}` } : { ok: true, accepted };
}

/** Why the value of a CA bundle variable could name something other than root's own file, or null. */
export function caBundleUntrusted(name: string, value: string, chainOf: (path: string) => PathChain): string | null {
  const shown = JSON.stringify(value.length > 200 ? `${value.slice(0, 200)}...` : value);
  if (!value.startsWith('/')) return `${shown} is not an absolute path`;
  const chain = chainOf(value);
  if ('error' in chain) return `${shown} cannot be read: ${chain.error}`;
  for (const { path, stats } of chain.entries) {
    const owner = Number(stats.uid);
    if (owner !== 0) return `${path} is owned by uid ${owner}, not root`;
    // A link's own mode is always 0777 and means nothing: its directory, an entry before it, guards it.
    const why = stats.isSymbolicLink() ? null : untrustedWriter(stats, 0);
    if (why) return `${path} is ${why}`;
  }
  const last = chain.entries[chain.entries.length - 1]!.stats;
  if (name === 'SSL_CERT_DIR' ? !last.isDirectory() : !last.isFile()) {
    return `${shown} is not a ${name === 'SSL_CERT_DIR' ? 'directory' : 'regular file'}`;
  }
  return null;
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
