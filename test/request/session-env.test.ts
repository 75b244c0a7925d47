/**
 * The startup environment check (issue 14: LD_AUDIT, GLIBC_TUNABLES, OPENSSL_CONF,
 * NODE_COMPILE_CACHE and NODE_REDIRECT_WARNINGS passed it): whole families of what the loader,
 * glibc, OpenSSL and Node read are refused; what sshd, PAM and shell rc files set passes.
 */
import { describe, expect, it } from 'vitest';
import { unsafeVariablesSet } from '../../src/request/session-env.js';

/** A Debian sshd session with UsePAM yes and pam_systemd, running `command=` through bash. */
const SESSION: NodeJS.ProcessEnv = {
  USER: 'backup',
  LOGNAME: 'backup',
  HOME: '/home/backup',
  PATH: '/usr/local/bin:/usr/bin:/bin',
  SHELL: '/bin/bash',
  MAIL: '/var/mail/backup',
  SSH_CLIENT: '192.0.2.10 51234 22',
  SSH_CONNECTION: '192.0.2.10 51234 192.0.2.1 22',
  SSH_ORIGINAL_COMMAND: 'rsync --server . x',
  SSH_USER_AUTH: '/tmp/sshauth.x',
  LANG: 'C.UTF-8',
  LC_ALL: 'en_US.UTF-8',
  LANGUAGE: 'en_US:en',
  TZ: 'Europe/Berlin',
  TERM: 'xterm-256color',
  MOTD_SHOWN: 'pam',
  XDG_SESSION_ID: '42',
  XDG_RUNTIME_DIR: '/run/user/34',
  XDG_SESSION_TYPE: 'tty',
  XDG_SESSION_CLASS: 'user',
  DBUS_SESSION_BUS_ADDRESS: 'unix:path=/run/user/34/bus',
  PWD: '/home/backup',
  SHLVL: '1',
  _: '/usr/local/bin/ssh-dispatch',
  TMPDIR: '/tmp/user/34',
  http_proxy: 'http://proxy:3128',
  // What a login shell's rc files export (the lab's root has these).
  PYENV_ROOT: '/root/.pyenv',
  PYENV_SHELL: 'bash',
  EDITOR: 'vi',
  // A convention of Node applications (/etc/environment on their servers); Node never reads it.
  NODE_ENV: 'production',
};

describe('unsafeVariablesSet', () => {
  it('lets an ordinary session environment through', () => {
    expect(unsafeVariablesSet(SESSION)).toEqual([]);
  });

  it.each([
    'LD_AUDIT',
    'LD_PRELOAD',
    'LD_LIBRARY_PATH',
    'LD_DEBUG_OUTPUT',
    'GLIBC_TUNABLES',
    'GCONV_PATH',
    'LOCPATH',
    'HOSTALIASES',
    'RES_OPTIONS',
    'MALLOC_PERTURB_',
    'OPENSSL_CONF',
    'OPENSSL_MODULES',
    'SSL_CERT_FILE',
    'NODE_OPTIONS',
    'NODE_PATH',
    'NODE_COMPILE_CACHE',
    'NODE_REDIRECT_WARNINGS',
    'NODE_EXTRA_CA_CERTS',
    'NODE_CHANNEL_FD',
    'NODE_FUTURE_VARIABLE',
    'UV_THREADPOOL_SIZE',
    'ICU_DATA',
    'NLSPATH',
    'TZDIR',
    'SSLKEYLOGFILE',
    'MALLOC_TRACE',
  ])('refuses %s', (name) => {
    expect(unsafeVariablesSet({ ...SESSION, [name]: '/tmp/x' })).toEqual([name]);
  });

  it.each([
    ['LC_ALL', '/tmp/evil'],
    ['LANG', '../../tmp/x'],
    ['LANGUAGE', 'en:/tmp/x'],
  ])('refuses %s naming a path (%s): locale files from anywhere', (name, value) => {
    expect(unsafeVariablesSet({ ...SESSION, [name]: value })).toEqual([name]);
  });

  it('names every refused variable, sorted', () => {
    expect(unsafeVariablesSet({ ...SESSION, NODE_OPTIONS: '', LD_AUDIT: 'x' })).toEqual(['LD_AUDIT', 'NODE_OPTIONS']);
  });
});

describe('readRequest carries the variables a rule may pass on (pass-env), nothing else', () => {
  it('GIT_PROTOCOL as sshd set it, unchecked here; other variables not at all', async () => {
    const { readRequest } = await import('../../src/request/session-env.js');
    const request = readRequest('git', { ...SESSION, GIT_PROTOCOL: 'version=2' }, new Date());
    expect(request.env).toEqual({ GIT_PROTOCOL: 'version=2' });
    expect(readRequest('git', SESSION, new Date()).env).toEqual({});
  });
});
