/**
 * History is read-only to a key under every sftp rule (docs/policy.md, "sftp"; docs/threat-model.md,
 * "sftp"), through the real sshd with stock clients: OpenSSH's sftp, scp
 * (SFTP) and scp -O, restic's and duplicity's sftp backends. Each attack runs beside its control,
 * a key whose forced command is OpenSSH's sftp-server, which shows the damage in the same run:
 *
 * - rename the stored invoice away, then put a fake under its name (overwrite: false, delete: false);
 * - chmod 000 a stored file;
 * - put, scp and scp -O over a stored file under overwrite: false;
 * - overwrite: true: replace a file that another snapshot shares (a hard link): the other name
 *   keeps its contents and mode; a resume (reput) of a stored file is refused;
 * - duplicity with overwrite: false: full, incr and restore work, and junk put over a stored
 *   volume is refused (the control's restore fails after it, while its incr still exits 0);
 * - restic with delete: false: init and backups from two hosts leave no lock file behind, and a
 *   `forget --prune` still removes nothing (the control's removes the snapshot).
 *
 * And every write session's end record says what it wrote (`writes`).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, linkSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorizedKeyLine, SSH, type ClientKey } from '../../src/lab/throwaway-sshd.js';
import { startLab, type Lab } from './lab.js';
import { fileClients } from './file-clients.js';

const SFTP_SERVER = '/usr/lib/openssh/sftp-server';
const NAMES = ['strict', 'replace', 'restic', 'dup', 'ro', 'bare'] as const;

let lab: Lab;
let base: string;
let local: string;
const keys = {} as Record<(typeof NAMES)[number], ClientKey>;
/** Each rule's root, and the bare key's directory of the same shape. */
const rootOf = (name: string) => join(base, name);

/** A root as the owner left it: an invoice, and two snapshots sharing one inode (rsync --link-dest). */
function storeHistory(root: string): void {
  mkdirSync(join(root, 'old'), { recursive: true, mode: 0o755 });
  mkdirSync(join(root, 'snap1'), { mode: 0o755 });
  mkdirSync(join(root, 'snap2'), { mode: 0o755 });
  writeFileSync(join(root, 'invoice.txt'), 'invoice 2024-001: 1,200.00\n');
  chmodSync(join(root, 'invoice.txt'), 0o644);
  writeFileSync(join(root, 'snap1', 'f'), 'yesterday\n');
  chmodSync(join(root, 'snap1', 'f'), 0o640);
  linkSync(join(root, 'snap1', 'f'), join(root, 'snap2', 'f'));
}

beforeAll(async () => {
  lab = await startLab({ extraConfig: [`Subsystem sftp ${SFTP_SERVER}`] });
  base = join(lab.sshd.dir, 'srv');
  local = join(lab.sshd.dir, 'local');
  for (const name of NAMES) mkdirSync(rootOf(name), { recursive: true, mode: 0o755 });
  mkdirSync(local);
  lab.writePolicy(`version: 1
audit:
  file: {{AUDIT}}
identities:
  strict: { rules: [ { name: drop, sftp: { root: ${rootOf('strict')}, access: read-write, delete: false, overwrite: false } } ] }
  replace: { rules: [ { name: exchange, sftp: { root: ${rootOf('replace')}, access: read-write, delete: false, overwrite: true } } ] }
  restic: { rules: [ { name: repo, sftp: { root: ${rootOf('restic')}, access: read-write, delete: false, overwrite: false } } ] }
  dup: { rules: [ { name: duplicity, sftp: { root: ${rootOf('dup')}, access: read-write, delete: false, overwrite: false } } ] }
  ro: { rules: [ { name: shelf, sftp: { root: ${rootOf('ro')}, access: read } } ] }
`);
  for (const name of NAMES) keys[name] = await lab.sshd.newClientKey(name);
  lab.sshd.authorize([
    ...(['strict', 'replace', 'restic', 'dup', 'ro'] as const).map((id) => lab.dispatchLine(keys[id], id)),
    authorizedKeyLine('restrict', [SFTP_SERVER], keys.bare),
  ]);
  writeFileSync(join(rootOf('ro'), 'small.txt'), 'small\n');
  writeFileSync(join(local, 'fake.txt'), 'invoice 2024-001: 9,999.00 to another account\n');
  writeFileSync(join(local, 'today.txt'), 'today\n');
  writeFileSync(join(local, 'junk'), 'junk\n');
  mkdirSync(join(local, 'data', 'sub'), { recursive: true });
  writeFileSync(join(local, 'data', 'a.txt'), 'a\n'.repeat(1000));
  writeFileSync(join(local, 'data', 'sub', 'b.txt'), 'b\n'.repeat(1000));
}, 30_000);

afterAll(async () => {
  await lab?.stop();
});

const { clientOptions, sftp, scp } = fileClients(
  () => lab.sshd,
  () => local,
);
const read = (path: string) => readFileSync(path, 'utf8');
const mode = (path: string) => statSync(path).mode & 0o7777;
const lastSession = () => String(lab.lastDecision().session);
const refusalsOf = (session: string) =>
  lab.recordsOf(session).flatMap((r) => (r.event === 'file' && r.refused !== undefined ? [[r.op, r.path, r.refused]] : []));
const endOf = (session: string) => lab.recordsOf(session).find((r) => r.event === 'end')!;

/** A fresh directory of history for one test: in the rule's root for a rule's key, beside it for the bare key. */
let serial = 0;
function history(name: string): { dir: string; client: string } {
  const sub = `h${serial++}`;
  const dir = join(rootOf(name), sub);
  mkdirSync(dir, { mode: 0o755 });
  storeHistory(dir);
  // The bare sftp-server has no root: it is given the host path.
  return { dir, client: name === 'bare' ? dir : `/${sub}` };
}

describe('names: rename away, then put under the old name', () => {
  it('control: OpenSSH’s sftp-server lets the stored invoice be renamed away and a fake put in its place', () => {
    const { dir, client } = history('bare');
    const result = sftp(keys.bare, [`rename ${client}/invoice.txt ${client}/old/invoice.txt`, `put fake.txt ${client}/invoice.txt`]);
    expect(result.code, result.out).toBe(0);
    expect(read(join(dir, 'invoice.txt'))).toContain('9,999.00');
  });

  it('the rule (delete: false, overwrite: false): the rename is refused, so is the put; the invoice is as stored', () => {
    const { dir, client } = history('strict');
    const result = sftp(keys.strict, [
      `-rename ${client}/invoice.txt ${client}/old/invoice.txt`,
      `-put fake.txt ${client}/invoice.txt`,
      `-rename ${client}/snap1 ${client}/gone`,
    ]);
    expect(result.code, result.out).toBe(0);
    expect(read(join(dir, 'invoice.txt'))).toBe('invoice 2024-001: 1,200.00\n');
    expect(existsSync(join(dir, 'old', 'invoice.txt'))).toBe(false);
    expect(existsSync(join(dir, 'snap1', 'f'))).toBe(true);
    expect(refusalsOf(lastSession())).toEqual([
      ['rename', `${client}/invoice.txt`, 'no-delete'],
      ['write', `${client}/invoice.txt`, 'no-overwrite'],
      ['rename', `${client}/snap1`, 'no-delete'],
    ]);
  });
});

describe('attributes: chmod 000 of a stored file', () => {
  it('control: OpenSSH’s sftp-server sets it', () => {
    const { dir, client } = history('bare');
    expect(sftp(keys.bare, [`chmod 000 ${client}/invoice.txt`]).code).toBe(0);
    expect(mode(join(dir, 'invoice.txt'))).toBe(0);
  });

  it.each(['strict', 'replace'] as const)('the rule (%s): refused, the mode is as stored', (name) => {
    const { dir, client } = history(name);
    const result = sftp(keys[name], [`-chmod 000 ${client}/invoice.txt`, `-chmod 000 ${client}/snap2/f`]);
    expect(result.code, result.out).toBe(0);
    expect(mode(join(dir, 'invoice.txt'))).toBe(0o644);
    expect(mode(join(dir, 'snap1', 'f'))).toBe(0o640);
    expect(refusalsOf(lastSession()).map((r) => r[2])).toEqual(
      name === 'strict' ? ['no-overwrite', 'no-overwrite'] : ['history', 'history'],
    );
  });
});

describe('contents under overwrite: false: put, scp and scp -O over a stored file', () => {
  it('control: OpenSSH’s sftp-server replaces the contents', () => {
    const { dir, client } = history('bare');
    expect(sftp(keys.bare, [`put fake.txt ${client}/invoice.txt`]).code).toBe(0);
    expect(read(join(dir, 'invoice.txt'))).toContain('9,999.00');
  });

  it.each([
    ['sftp put', (client: string) => sftp(keys.strict, [`-put fake.txt ${client}/invoice.txt`])],
    ['sftp reput', (client: string) => sftp(keys.strict, [`-reput fake.txt ${client}/invoice.txt`])],
    ['scp (SFTP)', (client: string) => scp(keys.strict, ['fake.txt', `HOST:${client}/invoice.txt`])],
    ['scp -O', (client: string) => scp(keys.strict, ['-O', 'fake.txt', `HOST:${client}/invoice.txt`])],
  ])('the rule: %s is refused, the invoice is as stored', (_name, upload) => {
    const { dir, client } = history('strict');
    upload(client);
    expect(read(join(dir, 'invoice.txt'))).toBe('invoice 2024-001: 1,200.00\n');
    expect(refusalsOf(lastSession()).map((r) => r[2])).toContain('no-overwrite');
  });
});

describe('overwrite: true replaces a file by a new inode: a hard link elsewhere keeps its contents and mode', () => {
  it('control: OpenSSH’s sftp-server writes into the shared inode, so yesterday’s snapshot changes too, and reput appends to both', () => {
    const { dir, client } = history('bare');
    expect(sftp(keys.bare, [`put -p today.txt ${client}/snap2/f`]).code).toBe(0);
    expect(read(join(dir, 'snap1', 'f'))).toBe('today\n');
    expect(mode(join(dir, 'snap1', 'f'))).not.toBe(0o640);
    writeFileSync(join(local, 'longer.txt'), 'today\nand more\n');
    expect(sftp(keys.bare, [`reput longer.txt ${client}/snap2/f`]).code).toBe(0);
    expect(read(join(dir, 'snap1', 'f'))).toBe('today\nand more\n');
  });

  it.each([
    ['sftp put -p', (client: string) => sftp(keys.replace, [`put -p today.txt ${client}/snap2/f`])],
    ['scp -p (SFTP)', (client: string) => scp(keys.replace, ['-p', 'today.txt', `HOST:${client}/snap2/f`])],
    ['scp -O -p', (client: string) => scp(keys.replace, ['-O', '-p', 'today.txt', `HOST:${client}/snap2/f`])],
  ])('the rule: %s replaces snap2/f; snap1/f is yesterday’s, mode 0640; the end record says replaced', (_name, upload) => {
    const { dir, client } = history('replace');
    const result = upload(client);
    expect(result.code, result.out).toBe(0);
    expect(read(join(dir, 'snap2', 'f'))).toBe('today\n');
    expect(read(join(dir, 'snap1', 'f'))).toBe('yesterday\n');
    expect(mode(join(dir, 'snap1', 'f'))).toBe(0o640);
    expect(statSync(join(dir, 'snap1', 'f')).ino).not.toBe(statSync(join(dir, 'snap2', 'f')).ino);
    // Nothing of the replacement is left beside it.
    expect(readdirSync(join(dir, 'snap2'))).toEqual(['f']);
    expect(endOf(lastSession())).toMatchObject({
      outcome: 'exited',
      writes: { replaced: [`${client}/snap2/f`], created: [], removed: [], bytes: 6 },
    });
  });

  it('the rule: a resume (reput) of a stored file appends to a copy: snap2/f gets the rest, snap1/f stays as stored', () => {
    const { dir, client } = history('replace');
    writeFileSync(join(local, 'longer.txt'), 'yesterday\nand more\n');
    const result = sftp(keys.replace, [`reput longer.txt ${client}/snap2/f`]);
    expect(result.code, result.out).toBe(0);
    expect(read(join(dir, 'snap2', 'f'))).toBe('yesterday\nand more\n');
    expect(read(join(dir, 'snap1', 'f'))).toBe('yesterday\n');
    expect(mode(join(dir, 'snap1', 'f'))).toBe(0o640);
    expect(readdirSync(join(dir, 'snap2'))).toEqual(['f']);
  });
});

describe('every write session says what it wrote', () => {
  it('sftp: the end record names what was created and keeps bytes', () => {
    const { client } = history('strict');
    const result = sftp(keys.strict, [`put today.txt ${client}/new.txt`, `put junk ${client}/tmp`, `rename ${client}/tmp ${client}/final`]);
    expect(result.code, result.out).toBe(0);
    expect(endOf(lastSession())).toMatchObject({
      writes: {
        created: [`${client}/new.txt`, `${client}/final`],
        created_count: 2,
        replaced: [],
        removed: [],
        bytes: 11,
        sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      },
    });
  });
});

describe('file records are capped per session', () => {
  it('a read-only key getting one file 1,100 times leaves 1,000 file records; the end record counts all and says how many were left out', () => {
    const result = sftp(
      keys.ro,
      Array.from({ length: 1100 }, () => 'get small.txt /dev/null'),
    );
    expect(result.code, result.out.slice(-500)).toBe(0);
    const session = lastSession();
    expect(lab.recordsOf(session).filter((r) => r.event === 'file')).toHaveLength(1000);
    expect(endOf(session)).toMatchObject({ outcome: 'exited', files: { read: 1100, unrecorded: 100 } });
    // A read rule writes nothing, and says nothing of writes.
    expect(endOf(session).writes).toBeUndefined();
  }, 60_000);
});

describe('restic: its sftp backend under delete: false', () => {
  const restic = (key: ClientKey, repo: string, args: string[], timeout = 60_000) => {
    const { options, host } = clientOptions(key);
    const ssh = [SSH, ...options.map((a) => (a === '-P' ? '-p' : a)), host, '-s', 'sftp'].join(' ');
    return spawnSync('/usr/bin/restic', ['-r', `sftp:ignored:${repo}`, '-o', `sftp.command=${ssh}`, '--no-cache', ...args], {
      cwd: local,
      encoding: 'utf8',
      timeout,
      env: { PATH: '/usr/bin:/bin', RESTIC_PASSWORD: 'correct horse', HOME: local },
    });
  };
  const snapshots = (key: ClientKey, repo: string) => {
    const result = restic(key, repo, ['snapshots', '--json', '--no-lock']);
    expect(result.status, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as { hostname: string }[];
  };

  it('init and backups from two hosts leave no lock behind; forget --prune removes nothing (the control’s, through OpenSSH’s sftp-server, removes a snapshot)', () => {
    const repos = {
      rule: { key: keys.restic, repo: '/repo', dir: join(rootOf('restic'), 'repo') },
      bare: { key: keys.bare, repo: join(rootOf('bare'), 'restic'), dir: join(rootOf('bare'), 'restic') },
    };
    for (const { key, repo } of Object.values(repos)) {
      const init = restic(key, repo, ['init']);
      expect(init.status, init.stderr).toBe(0);
      for (const host of ['host-a', 'host-b']) {
        const backup = restic(key, repo, ['backup', '--host', host, join(local, 'data')]);
        expect(backup.status, `${host}: ${backup.stderr}`).toBe(0);
      }
      const list = restic(key, repo, ['snapshots']);
      expect(list.status, list.stderr).toBe(0);
      expect(
        snapshots(key, repo)
          .map((s) => s.hostname)
          .sort(),
      ).toEqual(['host-a', 'host-b']);
    }
    // Each session removed the lock it made: another host's exclusive operation finds none.
    expect(readdirSync(join(repos.rule.dir, 'locks'))).toEqual([]);
    expect(readdirSync(join(repos.bare.dir, 'locks'))).toEqual([]);
    // What the rule's sessions wrote is on record, and the lock is not among what they left.
    const ends = lab.records().filter((r) => r.event === 'end' && r.id === 'restic');
    expect(
      ends.some((r) =>
        ((r.writes as { created?: string[] } | undefined)?.created ?? []).some((name) => name.startsWith('/repo/snapshots/')),
      ),
    ).toBe(true);
    expect(
      ends.every((r) => !((r.writes as { created?: string[] } | undefined)?.created ?? []).some((name) => name.startsWith('/repo/locks/'))),
    ).toBe(true);

    // History stays: forget --prune through the rule removes nothing ...
    // One group, so that one snapshot is to go. Every removal is refused, and restic 0.14 retries
    // each for most of a minute before it gives up: it is stopped after 5 s, the files are what count.
    const forget = restic(keys.restic, '/repo', ['forget', '--keep-last', '1', '--group-by', '', '--prune'], 5_000);
    expect(forget.status).not.toBe(0);
    expect(snapshots(keys.restic, '/repo')).toHaveLength(2);
    // ... while through OpenSSH's sftp-server it removes a snapshot.
    const control = restic(keys.bare, repos.bare.repo, ['forget', '--keep-last', '1', '--group-by', '', '--prune']);
    expect(control.status, control.stderr).toBe(0);
    expect(snapshots(keys.bare, repos.bare.repo)).toHaveLength(1);
  }, 240_000);
});

describe('duplicity: its sftp backend under overwrite: false, delete: false', () => {
  const duplicity = (key: ClientKey, target: string, args: string[]) => {
    const port = lab.sshd.sshArgs(key).at(-2)!;
    const user = lab.sshd.sshArgs(key).at(-1)!.split('@')[0]!;
    // One try: duplicity's default is five, 30 s apart, for a refusal that will not change.
    const options = [
      '--num-retries',
      '1',
      '--no-encryption',
      '--archive-dir',
      join(local, `dup-${key.name}`),
      '--name',
      'host1',
      '--ssh-options',
      `-oIdentityFile=${key.privateKeyFile} -oUserKnownHostsFile=${join(lab.sshd.dir, 'known_hosts')}`,
    ];
    const result = spawnSync(
      '/usr/bin/duplicity',
      [...args.map((a) => (a === 'URL' ? `sftp://${user}@127.0.0.1:${port}/${target}` : a)), ...options],
      { cwd: local, encoding: 'utf8', timeout: 60_000, env: { PATH: '/usr/bin:/bin', HOME: local, LANG: 'C.UTF-8' } },
    );
    return { code: result.status, out: `${result.stdout}${result.stderr}` };
  };
  const volume = (dir: string) => readdirSync(dir).find((name) => /^duplicity-full\..*\.vol1\.difftar/.test(name))!;

  it('full, incr and restore work; junk put over the full volume is refused (the control’s restore fails after it, its incr exits 0)', () => {
    const sides = {
      rule: { key: keys.dup, target: 'chain', dir: join(rootOf('dup'), 'chain') },
      bare: { key: keys.bare, target: `/${join(rootOf('bare'), 'dup')}`, dir: join(rootOf('bare'), 'dup') },
    };
    for (const [side, { key, target }] of Object.entries(sides)) {
      const full = duplicity(key, target, ['full', join(local, 'data'), 'URL']);
      expect(full.code, `${side} full: ${full.out}`).toBe(0);
      writeFileSync(join(local, 'data', `${side}-later.txt`), 'later\n');
      const incr = duplicity(key, target, ['incr', join(local, 'data'), 'URL']);
      expect(incr.code, `${side} incr: ${incr.out}`).toBe(0);
    }
    expect(lab.lastDecision()).toMatchObject({ decision: 'allow', rule: 'duplicity' });

    // The thief puts junk over the stored full volume.
    const ruleVolume = volume(sides.rule.dir);
    const kept = read(join(sides.rule.dir, ruleVolume));
    sftp(keys.dup, [`-put junk /chain/${ruleVolume}`]);
    expect(read(join(sides.rule.dir, ruleVolume))).toBe(kept);
    expect(refusalsOf(lastSession())).toEqual([['write', `/chain/${ruleVolume}`, 'no-overwrite']]);
    const bareVolume = volume(sides.bare.dir);
    expect(sftp(keys.bare, [`put junk ${join(sides.bare.dir, bareVolume)}`]).code).toBe(0);

    for (const [side, { key, target }] of Object.entries(sides)) {
      // The owner's next incr says nothing either way ...
      writeFileSync(join(local, 'data', `${side}-next.txt`), 'next\n');
      const incr = duplicity(key, target, ['incr', join(local, 'data'), 'URL']);
      expect(incr.code, `${side} incr after: ${incr.out}`).toBe(0);
    }
    // ... only a restore tells.
    const restored = duplicity(keys.dup, 'chain', ['restore', 'URL', join(local, 'restored-rule')]);
    expect(restored.code, restored.out).toBe(0);
    expect(read(join(local, 'restored-rule', 'sub', 'b.txt'))).toBe('b\n'.repeat(1000));
    expect(read(join(local, 'restored-rule', 'rule-later.txt'))).toBe('later\n');
    const control = duplicity(keys.bare, sides.bare.target, ['restore', 'URL', join(local, 'restored-bare')]);
    expect(control.code, control.out).not.toBe(0);
  }, 240_000);
});
