/**
 * lftp's sftp (docs/recipes.md, "lftp"), with the real lftp through a real sshd against an sftp
 * rule (`delete: false`, `overwrite: false`): `mirror -R` uploads a tree (run again, it exits 0,
 * its directory time refused as history), `ls` and `get` read it back; the thief's `rm`, `mv` and `put` over a stored file are refused and leave it as stored,
 * and `..` does not leave the rule's root. The control: OpenSSH's sftp-server as the forced
 * command takes the same `rm` and reads a file outside the directory.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorizedKeyLine, SSH, type ClientKey } from '../../src/lab/throwaway-sshd.js';
import { startLab, type Lab } from './lab.js';

const SFTP_SERVER = '/usr/lib/openssh/sftp-server';
let lab: Lab;
let root: string;
let local: string;
const keys = {} as Record<'lftp' | 'bare', ClientKey>;

beforeAll(async () => {
  lab = await startLab({ extraConfig: [`Subsystem sftp ${SFTP_SERVER}`] });
  root = join(lab.sshd.dir, 'srv', 'lftp', 'host1');
  local = join(lab.sshd.dir, 'local');
  mkdirSync(root, { recursive: true, mode: 0o700 });
  mkdirSync(join(local, 'data', 'sub'), { recursive: true });
  writeFileSync(join(local, 'data', 'a.txt'), 'first\n');
  writeFileSync(join(local, 'data', 'sub', 'b.txt'), 'second\n');
  writeFileSync(join(local, 'junk'), 'junk\n');
  writeFileSync(join(lab.sshd.dir, 'srv', 'lftp', 'outside.txt'), 'outside\n');
  lab.writePolicy(`version: 1
audit:
  file: {{AUDIT}}
identities:
  lftp:
    rules:
      - name: files
        sftp: { root: ${root}, access: read-write, delete: false, overwrite: false }
`);
  for (const name of ['lftp', 'bare'] as const) keys[name] = await lab.sshd.newClientKey(name);
  lab.sshd.authorize([lab.dispatchLine(keys.lftp, 'lftp'), authorizedKeyLine('restrict', [SFTP_SERVER], keys.bare)]);
}, 30_000);

afterAll(() => lab?.stop());

/** lftp -c with the recipe's settings: ssh (the key's options) as sftp:connect-program, an empty password, no retries. */
function lftp(key: ClientKey, commands: string[]): { code: number | null; out: string } {
  const options = lab.sshd.sshArgs(key);
  options.splice(options.indexOf('-p'), 3); // the port is the URL's, the destination lftp's.
  const script = [
    `set sftp:connect-program "${[SSH, '-a', '-x', ...options].join(' ')}"`,
    'set net:max-retries 1',
    'set cmd:fail-exit yes',
    `open sftp://${lab.sshd.user}:@127.0.0.1:${lab.sshd.port}`,
    ...commands,
  ].join('; ');
  const result = spawnSync('/usr/bin/lftp', ['-c', script], {
    cwd: local,
    encoding: 'utf8',
    timeout: 30_000,
    env: { PATH: '/usr/bin:/bin', HOME: local, LANG: 'C.UTF-8' },
  });
  return { code: result.status, out: `${result.stdout}${result.stderr}` };
}

describe('lftp sftp:// against an sftp rule', () => {
  it('mirror -R, ls and get work; rm, mv and put over a stored file are refused; .. stays in the root', () => {
    const upload = lftp(keys.lftp, ['mirror -R data data']);
    expect(upload.code, upload.out).toBe(0);
    expect(readFileSync(join(root, 'data', 'sub', 'b.txt'), 'utf8')).toBe('second\n');
    expect(lab.lastDecision()).toMatchObject({ decision: 'allow', rule: 'files' });
    // The next night, nothing changed: mirror sends no file, but sets the time of a directory an
    // earlier session stored: refused as history, and lftp exits 0.
    const again = lftp(keys.lftp, ['mirror -R data data']);
    expect(again.code, again.out).toBe(0);
    expect(readFileSync(join(root, 'data', 'a.txt'), 'utf8')).toBe('first\n');
    const list = lftp(keys.lftp, ['cls -1 data/']);
    expect(list.code, list.out).toBe(0);
    expect(list.out.split('\n').filter(Boolean).sort()).toEqual(['data/a.txt', 'data/sub/']);
    const get = lftp(keys.lftp, ['get data/a.txt -o got.txt']);
    expect(get.code, get.out).toBe(0);
    expect(readFileSync(join(local, 'got.txt'), 'utf8')).toBe('first\n');

    // The thief: each refused, the stored file as it was.
    for (const command of ['rm data/a.txt', 'mv data/a.txt data/gone.txt', 'put junk -o data/a.txt']) {
      const result = lftp(keys.lftp, [command]);
      expect(result.code, `${command}: ${result.out}`).not.toBe(0);
      expect(readFileSync(join(root, 'data', 'a.txt'), 'utf8'), command).toBe('first\n');
    }
    expect(existsSync(join(root, 'data', 'gone.txt'))).toBe(false);
    const outside = lftp(keys.lftp, ['get ../outside.txt -o stolen.txt']);
    expect(outside.code, outside.out).not.toBe(0);
    expect(existsSync(join(local, 'stolen.txt'))).toBe(false);
    const refused = lab.records().filter((r) => r.event === 'file' && r.refused);
    expect(refused.map((r) => [r.op, r.path, r.refused])).toEqual([
      ['setstat', '/data/sub', 'no-overwrite'],
      ['remove', '/data/a.txt', 'no-delete'],
      ['rename', '/data/a.txt', 'no-delete'],
      ['write', '/data/a.txt', 'no-overwrite'],
    ]);
    // The upload itself was refused nothing.
    expect(lab.records().filter((r) => r.event === 'decision' && r.decision === 'deny')).toEqual([]);
  }, 50_000);

  it('control: sftp-server as the forced command takes the rm and serves the file outside', () => {
    const bare = join(lab.sshd.dir, 'srv', 'lftp');
    const rm = lftp(keys.bare, [`rm ${join(root, 'data', 'sub', 'b.txt')}`]);
    expect(rm.code, rm.out).toBe(0);
    expect(existsSync(join(root, 'data', 'sub', 'b.txt'))).toBe(false);
    const get = lftp(keys.bare, [`get ${join(bare, 'outside.txt')} -o stolen.txt`]);
    expect(get.code, get.out).toBe(0);
    expect(readFileSync(join(local, 'stolen.txt'), 'utf8')).toBe('outside\n');
  }, 30_000);
});
