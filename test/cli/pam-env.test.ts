/**
 * check reads pam_env's files (issue 27, item 6): a variable there that denies every request is
 * an error, a CA bundle naming root's file a warning that says it is accepted. The files and the
 * stat chains are injected; the control is the same CA variable naming a user-writable file.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pamEnvFindings, parseEnvironmentFile, parsePamEnvConf } from '../../src/cli/check/pam-env.js';
import type { ChainEntry, PathChain } from '../../src/request/root-path.js';

const dir = mkdtempSync(join(tmpdir(), 'pam-env-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const entry = (path: string, dirOrFile: 'dir' | 'file', uid = 0, mode = 0o755): ChainEntry => ({
  path,
  stats: { uid, mode, isDirectory: () => dirOrFile === 'dir', isFile: () => dirOrFile === 'file', isSymbolicLink: () => false },
});
const chainOf = (path: string): PathChain =>
  path === '/etc/ssl/corp.pem'
    ? { entries: [entry('/', 'dir'), entry('/etc', 'dir'), entry('/etc/ssl', 'dir'), entry(path, 'file', 0, 0o644)] }
    : path === '/home/u/corp.pem'
      ? { entries: [entry('/', 'dir'), entry('/home', 'dir'), entry('/home/u', 'dir', 1000), entry(path, 'file', 1000, 0o644)] }
      : { error: 'ENOENT' };

function files(environment: string, conf = ''): { environment: string; conf: string } {
  const paths = { environment: join(dir, `environment.${Math.random()}`), conf: join(dir, `pam_env.conf.${Math.random()}`) };
  writeFileSync(paths.environment, environment);
  writeFileSync(paths.conf, conf);
  return paths;
}

describe('pamEnvFindings', () => {
  it('says nothing of an ordinary /etc/environment', () => {
    expect(pamEnvFindings(files('PATH="/usr/local/bin:/usr/bin:/bin"\nLANG=C.UTF-8\nNODE_ENV=production\n'), chainOf)).toEqual([]);
  });

  it("accepts a CA bundle that is root's (warning), refuses the same name pointing to a user's file (the control)", () => {
    const paths = files('# corporate proxy\nSSL_CERT_FILE=/etc/ssl/corp.pem\nexport NODE_EXTRA_CA_CERTS="/home/u/corp.pem"\n');
    const found = pamEnvFindings(paths, chainOf);
    expect(found.map((f) => [f.id, f.level])).toEqual([
      ['pam-env-ca-accepted', 'warning'],
      ['pam-env-refused', 'error'],
    ]);
    expect(found[0]!.text).toMatch(new RegExp(`^${paths.environment}:2: warning: SSL_CERT_FILE=/etc/ssl/corp.pem`));
    expect(found[1]!.text).toContain(`${paths.environment}:3: error: NODE_EXTRA_CA_CERTS is set for every session`);
    expect(found[1]!.text).toContain('/home/u is owned by uid 1000, not root');
  });

  it('refuses what denies every request in either file, with file and line', () => {
    const paths = files(
      'LD_PRELOAD=/lib/x.so\n',
      'NODE_OPTIONS DEFAULT=--require=/x\nSSL_CERT_DIR DEFAULT=/etc/ssl OVERRIDE=/nope\nEDITOR DEFAULT=vi\n',
    );
    const found = pamEnvFindings(paths, chainOf);
    expect(found.map((f) => f.text.split(': error: ')[0])).toEqual([`${paths.environment}:1`, `${paths.conf}:1`, `${paths.conf}:2`]);
    expect(found.every((f) => f.id === 'pam-env-refused')).toBe(true);
    expect(found[2]!.text).toContain('"/nope" cannot be read: ENOENT');
  });

  it('says nothing when the files are missing', () => {
    expect(pamEnvFindings({ environment: join(dir, 'none'), conf: join(dir, 'none2') }, chainOf)).toEqual([]);
  });
});

describe('the pam_env parsers', () => {
  it('read /etc/environment as pam_env does: quotes off, export allowed, comments skipped', () => {
    expect(parseEnvironmentFile('f', 'A=1\n# B=2\nexport C="x y"\nD=\'z\'\nnot a line\n')).toEqual([
      { file: 'f', line: 1, name: 'A', value: '1' },
      { file: 'f', line: 3, name: 'C', value: 'x y' },
      { file: 'f', line: 4, name: 'D', value: 'z' },
    ]);
  });

  it('read pam_env.conf: OVERRIDE over DEFAULT, quoted values, a name without a value skipped', () => {
    expect(parsePamEnvConf('f', 'A DEFAULT=1 OVERRIDE="two words"\nB DEFAULT=/b # note\nC\n')).toEqual([
      { file: 'f', line: 1, name: 'A', value: 'two words' },
      { file: 'f', line: 2, name: 'B', value: '/b' },
    ]);
  });
});
