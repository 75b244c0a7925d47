/**
 * The CA bundle family (issue 27, item 6): SSL_CERT_FILE, SSL_CERT_DIR and NODE_EXTRA_CA_CERTS set
 * for every session by pam_env denied every request. They pass when root alone could have
 * written what they name, every link and directory on the way included; anywhere else they still
 * deny, naming why; every other refused variable denies as before. The decision is pure over
 * (env, the chain of stats): tabled here; root-path.ts's walk is tested on a real tree below.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { walkPath, type ChainEntry, type PathChain } from '../../src/request/root-path.js';
import { CA_BUNDLE_VARIABLES, judgeSessionEnv, REFUSED_VARIABLES } from '../../src/request/session-env.js';

type Kind = 'dir' | 'file' | 'link';
const entry = (path: string, kind: Kind, uid = 0, mode = kind === 'dir' ? 0o755 : 0o644): ChainEntry => ({
  path,
  stats: { uid, mode, isDirectory: () => kind === 'dir', isFile: () => kind === 'file', isSymbolicLink: () => kind === 'link' },
});
const ROOT = entry('/', 'dir');
const ETC = entry('/etc', 'dir');
const SSL = entry('/etc/ssl', 'dir');
const BUNDLE = entry('/etc/ssl/corp.pem', 'file');

/** A table of chains, by path, as the walk would return them. */
function chains(table: Record<string, ChainEntry[] | string>): (path: string) => PathChain {
  return (path) => {
    const found = table[path];
    if (found === undefined) return { error: 'ENOENT' };
    return typeof found === 'string' ? { error: found } : { entries: found };
  };
}

const HOST = chains({
  '/etc/ssl/corp.pem': [ROOT, ETC, SSL, BUNDLE],
  '/etc/ssl/certs': [ROOT, ETC, SSL, entry('/etc/ssl/certs', 'dir')],
  '/etc/ssl/group.pem': [ROOT, ETC, SSL, entry('/etc/ssl/group.pem', 'file', 0, 0o664)],
  '/etc/ssl/backup.pem': [ROOT, ETC, SSL, entry('/etc/ssl/backup.pem', 'file', 34)],
  '/etc/open/corp.pem': [ROOT, ETC, entry('/etc/open', 'dir', 0, 0o777), entry('/etc/open/corp.pem', 'file')],
  '/tmp/corp.pem': [ROOT, entry('/tmp', 'dir', 0, 0o1777), entry('/tmp/corp.pem', 'file')],
  '/home/backup/ca.pem': [ROOT, entry('/home', 'dir'), entry('/home/backup', 'dir', 34), entry('/home/backup/ca.pem', 'file', 34)],
  '/etc/ssl/link.pem': [ROOT, ETC, SSL, entry('/etc/ssl/link.pem', 'link'), BUNDLE],
  '/etc/ssl/user-link.pem': [ROOT, ETC, SSL, entry('/etc/ssl/user-link.pem', 'link', 34), BUNDLE],
  '/etc/ssl/via-tmp.pem': [ROOT, ETC, SSL, entry('/etc/ssl/via-tmp.pem', 'link'), entry('/tmp', 'dir', 0, 0o1777), BUNDLE],
  '/etc/ssl/loop.pem': 'ELOOP',
});

describe('judgeSessionEnv: the CA bundle family', () => {
  it.each([
    ['SSL_CERT_FILE', '/etc/ssl/corp.pem'],
    ['NODE_EXTRA_CA_CERTS', '/etc/ssl/corp.pem'],
    ['SSL_CERT_DIR', '/etc/ssl/certs'],
    ['SSL_CERT_FILE', '/etc/ssl/link.pem'],
  ])('accepts %s=%s (root all the way), to be forgotten', (name, value) => {
    expect(judgeSessionEnv({ PATH: '/usr/bin', [name]: value }, HOST)).toEqual({ ok: true, accepted: [name] });
  });

  it.each([
    ['SSL_CERT_FILE', '/tmp/corp.pem', '/tmp is writable by group or others (mode 1777)'],
    ['NODE_EXTRA_CA_CERTS', '/home/backup/ca.pem', '/home/backup is owned by uid 34, not root'],
    ['SSL_CERT_FILE', '/etc/ssl/group.pem', '/etc/ssl/group.pem is writable by group or others (mode 0664)'],
    ['SSL_CERT_FILE', '/etc/ssl/backup.pem', '/etc/ssl/backup.pem is owned by uid 34, not root'],
    ['SSL_CERT_FILE', '/etc/open/corp.pem', '/etc/open is writable by group or others (mode 0777)'],
    ['SSL_CERT_FILE', '/etc/ssl/missing.pem', '"/etc/ssl/missing.pem" cannot be read: ENOENT'],
    ['SSL_CERT_FILE', '/etc/ssl/loop.pem', 'cannot be read: ELOOP'],
    ['SSL_CERT_FILE', 'corp.pem', '"corp.pem" is not an absolute path'],
    ['NODE_EXTRA_CA_CERTS', '', '"" is not an absolute path'],
    ['SSL_CERT_FILE', '/etc/ssl/user-link.pem', '/etc/ssl/user-link.pem is owned by uid 34, not root'],
    ['SSL_CERT_FILE', '/etc/ssl/via-tmp.pem', '/tmp is writable by group or others'],
    ['SSL_CERT_FILE', '/etc/ssl/certs', 'is not a regular file'],
    ['SSL_CERT_DIR', '/etc/ssl/corp.pem', 'is not a directory'],
  ])('refuses %s=%s, naming the variable and why', (name, value, why) => {
    const verdict = judgeSessionEnv({ PATH: '/usr/bin', [name]: value }, HOST);
    expect(verdict.ok).toBe(false);
    if (!verdict.ok) {
      expect(verdict.detail).toMatch(new RegExp(`^set: ${name} \\(`));
      expect(verdict.detail).toContain(why);
    }
  });

  it("control: every other refused variable denies exactly as before, even naming root's file", () => {
    for (const name of [
      'LD_PRELOAD',
      'OPENSSL_CONF',
      'NODE_OPTIONS',
      'CTLOG_FILE',
      'SSLKEYLOGFILE',
      'SSL_CERT_OTHER',
      'NODE_USE_SYSTEM_CA',
    ]) {
      expect(judgeSessionEnv({ [name]: '/etc/ssl/corp.pem' }, HOST)).toEqual({ ok: false, detail: `set: ${name}` });
    }
  });

  it('one refused variable denies the accepted ones too, each named', () => {
    expect(judgeSessionEnv({ SSL_CERT_FILE: '/etc/ssl/corp.pem', LD_AUDIT: 'x', NODE_EXTRA_CA_CERTS: '/tmp/corp.pem' }, HOST)).toEqual({
      ok: false,
      detail: 'set: LD_AUDIT, NODE_EXTRA_CA_CERTS (/tmp is writable by group or others (mode 1777): chmod go-w it)',
    });
  });

  it('the family is exactly the three CA bundle variables, each listed for the docs', () => {
    expect([...CA_BUNDLE_VARIABLES].sort()).toEqual(['NODE_EXTRA_CA_CERTS', 'SSL_CERT_DIR', 'SSL_CERT_FILE']);
    expect(REFUSED_VARIABLES.length).toBeGreaterThan(20);
  });
});

describe('walkPath: every entry on the way, links followed one by one', () => {
  const dir = mkdtempSync(join(tmpdir(), 'walk-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'real'));
  writeFileSync(join(dir, 'real', 'ca.pem'), 'x');
  symlinkSync('real/ca.pem', join(dir, 'rel'));
  symlinkSync(join(dir, 'rel'), join(dir, 'abs'));
  symlinkSync('loop', join(dir, 'loop'));

  it('lists the link, then the directories and file it leads to', () => {
    const walked = walkPath(join(dir, 'abs'));
    expect('entries' in walked && walked.entries.map((e) => e.path)).toEqual([
      '/',
      ...dir
        .split('/')
        .filter(Boolean)
        .map((_, i, parts) => `/${parts.slice(0, i + 1).join('/')}`),
      join(dir, 'abs'),
      ...dir
        .split('/')
        .filter(Boolean)
        .map((_, i, parts) => `/${parts.slice(0, i + 1).join('/')}`),
      join(dir, 'rel'),
      join(dir, 'real'),
      join(dir, 'real', 'ca.pem'),
    ]);
  });

  it('says why it cannot walk: missing, a loop, a file used as a directory', () => {
    expect(walkPath(join(dir, 'none'))).toEqual({ error: 'ENOENT' });
    expect(walkPath(join(dir, 'loop'))).toEqual({ error: 'ELOOP' });
    expect(walkPath(join(dir, 'real', 'ca.pem', 'x'))).toEqual({ error: 'ENOTDIR' });
  });

  it('judged on the real tree: a bundle under the temp directory is refused (the walk reaches /tmp or the owner)', () => {
    const verdict = judgeSessionEnv({ SSL_CERT_FILE: join(dir, 'abs') }, (path) => walkPath(path));
    expect(verdict.ok).toBe(false);
  });
});
