/**
 * docs/recipes.md, each recipe with the real client through a real sshd, and what a thief with
 * the key tries, beside a control where it shows something: the same attempt through a key
 * whose forced command is what a sysadmin writes without us (the server program without its
 * restricting options, or `exec $SSH_ORIGINAL_COMMAND`).
 *
 * - borg: exec `run:` fixes `borg serve --restrict-to-repository R --append-only` whatever the
 *   client sends, in a sandbox with R writable and R/config read-only; a thief's delete + compact
 *   leaves every segment (the control's shrinks the repository), and `borg init` elsewhere is refused.
 * - rdiff-backup's recipes are tested against a hostile client in recipes-hostile.e2e.test.ts
 *   (its server's own restriction holds only against the stock client).
 * - restic through rclone: `run:` fixes `rclone serve restic --stdio --append-only R`, in a
 *   sandbox with R writable; a thief's `forget --prune` fails (the control's removes the snapshot).
 * - git: one exec rule per repository and direction, the repository set up with the recipe's
 *   deny settings; a thief's push to another repository is refused (the control's lands). Forced
 *   pushes and deletions: recipes-hostile.e2e.test.ts.
 * - duplicity: its sftp backend against an sftp rule with `delete: false, overwrite: false`; a thief's
 *   `remove-all-but-n-full` removes nothing (the control's removes the old chain).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorizedKeyLine, type ClientKey } from '../../src/lab/throwaway-sshd.js';
import { startLab, type Lab } from './lab.js';
import { clientEnv as toolEnv, runTool, sizes, sshCommand as toolSsh } from './tool-clients.js';

const SFTP_SERVER = '/usr/lib/openssh/sftp-server';
const TOOLS = ['borg', 'borgBare', 'restic', 'resticBare', 'git', 'gitBare', 'dup', 'dupBare'] as const;
type KeyName = (typeof TOOLS)[number];

let lab: Lab;
let srv: string;
let local: string;
const keys = {} as Record<KeyName, ClientKey>;
const path = (...parts: string[]) => join(srv, ...parts);

beforeAll(async () => {
  lab = await startLab({ extraConfig: [`Subsystem sftp ${SFTP_SERVER}`] });
  srv = join(lab.sshd.dir, 'srv');
  local = join(lab.sshd.dir, 'local');
  for (const dir of ['borg', 'restic/host1', 'git', 'dup/host1', 'dup/bare']) mkdirSync(path(dir), { recursive: true, mode: 0o700 });
  mkdirSync(join(local, 'data', 'sub'), { recursive: true });
  writeFileSync(join(local, 'data', 'a.txt'), 'first\n'.repeat(1000));
  writeFileSync(join(local, 'data', 'sub', 'b.bin'), Buffer.alloc(200_000, 7));
  // The recipe makes the repository on the server, once: its config must exist to be bound read-only.
  const init = runTool(
    '/usr/bin/borg',
    ['init', '-e', 'none', path('borg', 'host1')],
    toolEnv(local, { BORG_BASE_DIR: join(local, 'borg-server') }),
    local,
  );
  expect(init.code, init.out).toBe(0);
  lab.writePolicy(`version: 1
audit:
  file: {{AUDIT}}
identities:
  borg:
    rules:
      - name: borg
        exec:
          command: [borg, serve, "..."]
          run: [/usr/bin/borg, serve, --restrict-to-repository, ${path('borg', 'host1')}, --append-only]
          sandbox: { write: [${path('borg', 'host1')}], read: [${path('borg', 'host1', 'config')}] }
  restic:
    rules:
      - name: restic
        exec:
          command: [rclone, serve, restic, --stdio, "..."]
          run: [/usr/bin/rclone, serve, restic, --stdio, --append-only, ${path('restic', 'host1')}]
          sandbox: { write: [${path('restic', 'host1')}] }
  git:
    rules:
      - name: fetch
        exec: { command: [git-upload-pack, ${path('git', 'project.git')}], program: /usr/bin/git-upload-pack }
      - name: push
        exec: { command: [git-receive-pack, ${path('git', 'project.git')}], program: /usr/bin/git-receive-pack }
  dup:
    rules:
      - name: duplicity
        sftp: { root: ${path('dup', 'host1')}, access: read-write, delete: false, overwrite: false }
`);
  for (const name of TOOLS) keys[name] = await lab.sshd.newClientKey(name);
  const passThrough = (key: ClientKey) => `restrict,command="eval \\"$SSH_ORIGINAL_COMMAND\\"" ${key.publicKey}`;
  lab.sshd.authorize([
    ...(['borg', 'restic', 'git', 'dup'] as const).map((id) => lab.dispatchLine(keys[id], id)),
    // The controls: the same servers without their restricting options.
    authorizedKeyLine('restrict', ['/usr/bin/borg', 'serve'], keys.borgBare),
    authorizedKeyLine('restrict', ['/usr/bin/rclone', 'serve', 'restic', '--stdio', path('restic', 'bare')], keys.resticBare),
    passThrough(keys.gitBare),
    authorizedKeyLine('restrict', [SFTP_SERVER], keys.dupBare),
  ]);
}, 30_000);

afterAll(async () => {
  await lab?.stop();
});

const sshCommand = (key: ClientKey) => toolSsh(lab.sshd, key);
const clientEnv = (extra: Record<string, string> = {}) => toolEnv(local, extra);
const run = (program: string, args: string[], env: NodeJS.ProcessEnv, timeout?: number) => runTool(program, args, env, local, timeout);

/** borg's data segments (data/N/M), by name and size. */
const segments = (repo: string) => new Map([...sizes(repo)].filter(([name]) => /^data\/\d+\/\d+$/.test(name)));

describe('borg: run fixes --restrict-to-repository and --append-only', () => {
  const borg = (key: ClientKey, args: string[]) => {
    const { command, host } = sshCommand(key);
    const env = clientEnv({
      BORG_RSH: command,
      BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK: 'yes',
      BORG_BASE_DIR: join(local, `borg-${key.name}`),
    });
    return run(
      '/usr/bin/borg',
      args.map((a) =>
        a
          .replace('REPO', `ssh://${host}${path('borg', key === keys.borg ? 'host1' : 'bare')}`)
          .replace('ELSEWHERE', `ssh://${host}${path('borg', `elsewhere-${key.name}`)}`),
      ),
      env,
    );
  };

  it('a backup works; a thief cannot remove data nor start a repository elsewhere; plain borg serve lets it', () => {
    for (const key of [keys.borg, keys.borgBare]) {
      // The recipe's repository was made on the server (beforeAll); the control's through its key.
      for (const [args, what] of [
        ...(key === keys.borgBare ? ([[['init', '-e', 'none', 'REPO'], 'init']] as const) : []),
        [['create', 'REPO::monday', 'data'], 'create monday'],
        [['create', 'REPO::tuesday', 'data'], 'create tuesday'],
      ] as const) {
        const result = borg(key, [...args]);
        expect(result.code, `${key.name} ${what}: ${result.out}`).toBe(0);
      }
      const list = borg(key, ['list', '--short', 'REPO']);
      expect(list.out.split('\n').filter(Boolean).sort(), list.out).toEqual(['monday', 'tuesday']);
    }
    expect(lab.lastDecision()).toMatchObject({
      decision: 'allow',
      rule: 'borg',
      argv: ['/usr/bin/borg', 'serve', '--restrict-to-repository', path('borg', 'host1'), '--append-only'],
    });

    // The thief deletes both archives and compacts: append-only keeps every segment as it was.
    const before = segments(path('borg', 'host1'));
    for (const args of [
      ['delete', 'REPO::monday'],
      ['delete', 'REPO::tuesday'],
      ['compact', 'REPO'],
    ])
      borg(keys.borg, args);
    const after = segments(path('borg', 'host1'));
    expect(before.size).toBeGreaterThan(0);
    for (const [name, size] of before) expect(after.get(name), name).toBe(size);

    // The control: the same through `borg serve` alone frees the data for good.
    const bareBefore = segments(path('borg', 'bare'));
    for (const args of [
      ['delete', 'REPO::monday'],
      ['delete', 'REPO::tuesday'],
      ['compact', 'REPO'],
    ]) {
      const result = borg(keys.borgBare, args);
      expect(result.code, result.out).toBe(0);
    }
    const bareAfter = segments(path('borg', 'bare'));
    expect([...bareBefore.keys()].filter((name) => bareAfter.get(name) === bareBefore.get(name))).toHaveLength(0);

    // A repository of the thief's choosing: borg refuses it; the control creates it.
    const elsewhere = borg(keys.borg, ['init', '-e', 'none', 'ELSEWHERE']);
    expect(elsewhere.code, elsewhere.out).not.toBe(0);
    expect(elsewhere.out).toMatch(/not allowed|PathNotAllowed/i);
    expect(existsSync(path('borg', 'elsewhere-borg'))).toBe(false);
    expect(borg(keys.borgBare, ['init', '-e', 'none', 'ELSEWHERE']).code).toBe(0);
    expect(existsSync(path('borg', 'elsewhere-borgBare'))).toBe(true);
  }, 60_000);
});

describe('restic through rclone: run fixes rclone serve restic --append-only and the repository', () => {
  const restic = (key: ClientKey, args: string[], timeout?: number) => {
    const { command, host } = sshCommand(key);
    // restic starts rclone.program with rclone.args and the repository's name after them: here
    // ssh, which sends `rclone serve restic --stdio NAME`; the rule drops NAME and the rest.
    const options = ['-o', `rclone.program=${command} ${host}`, '-o', 'rclone.args=rclone serve restic --stdio', '-r', 'rclone:host1'];
    return run(
      '/usr/bin/restic',
      [...options, ...args],
      clientEnv({ RESTIC_PASSWORD: 'correct horse', XDG_CACHE_HOME: join(local, 'cache') }),
      timeout,
    );
  };
  const snapshots = (key: ClientKey) => {
    // --no-lock: a thief's refused forget leaves its exclusive lock behind (append-only cannot remove it).
    const result = restic(key, ['snapshots', '--json', '--no-lock']);
    expect(result.code, result.out).toBe(0);
    const json = result.out.split('\n').find((line) => line.startsWith('['))!;
    return (JSON.parse(json) as { short_id: string }[]).map((s) => s.short_id);
  };

  it('a backup works; a thief cannot forget and prune snapshots; rclone serve restic without --append-only lets it', () => {
    for (const key of [keys.restic, keys.resticBare]) {
      for (const args of [['init'], ['backup', 'data'], ['backup', 'data']]) {
        const result = restic(key, args);
        expect(result.code, `${key.name} ${args.join(' ')}: ${result.out}`).toBe(0);
      }
      expect(snapshots(key)).toHaveLength(2);
    }
    expect(lab.lastDecision()).toMatchObject({
      decision: 'allow',
      rule: 'restic',
      argv: ['/usr/bin/rclone', 'serve', 'restic', '--stdio', '--append-only', path('restic', 'host1')],
    });
    expect(existsSync(path('restic', 'host1', 'config'))).toBe(true);

    // Every removal is refused (403): restic retries each for most of a minute before it gives up,
    // so the thief's attempt is cut short here; nothing it asked to remove is gone.
    const files = sizes(path('restic', 'host1'));
    const forget = restic(keys.restic, ['forget', '--keep-last', '1', '--prune'], 5000);
    expect(forget.code, forget.out).not.toBe(0);
    expect(snapshots(keys.restic)).toHaveLength(2);
    const after = sizes(path('restic', 'host1'));
    for (const [name, size] of files) expect(after.get(name), name).toBe(size);
    expect([...after.keys()].filter((name) => !files.has(name)).every((name) => name.startsWith('locks/'))).toBe(true);

    const control = restic(keys.resticBare, ['forget', '--keep-last', '1', '--prune']);
    expect(control.code, control.out).toBe(0);
    expect(snapshots(keys.resticBare)).toHaveLength(1);
  }, 30_000);
});

describe('git: one exec rule per repository and direction', () => {
  const git = (key: ClientKey, args: string[], cwd = local) => {
    const { command, host } = sshCommand(key);
    const env = clientEnv({
      GIT_SSH_COMMAND: command,
      GIT_AUTHOR_NAME: 'a',
      GIT_AUTHOR_EMAIL: 'a@example.org',
      GIT_COMMITTER_NAME: 'a',
      GIT_COMMITTER_EMAIL: 'a@example.org',
    });
    const result = spawnSync(
      '/usr/bin/git',
      args.map((a) => a.replace('HOST:', `${host}:`)),
      { cwd, env, encoding: 'utf8', timeout: 25_000 },
    );
    return { code: result.status, out: `${result.stdout}${result.stderr}` };
  };
  const head = (repo: string) =>
    spawnSync('/usr/bin/git', ['--git-dir', repo, 'rev-parse', '--verify', '-q', 'refs/heads/main'], { encoding: 'utf8' }).stdout.trim();

  it('clone and push work; a thief cannot push to or fetch another repository; a pass-through key can', () => {
    for (const name of ['project.git', 'other.git'])
      expect(spawnSync('/usr/bin/git', ['init', '-q', '--bare', '-b', 'main', path('git', name)]).status).toBe(0);
    // The recipe's setup: forced pushes and deletions refused (recipes-hostile.e2e.test.ts shows both).
    for (const setting of ['receive.denyNonFastForwards', 'receive.denyDeletes'])
      expect(spawnSync('/usr/bin/git', ['--git-dir', path('git', 'project.git'), 'config', setting, 'true']).status).toBe(0);
    const work = join(local, 'work');
    expect(spawnSync('/usr/bin/git', ['init', '-q', '-b', 'main', work]).status).toBe(0);
    writeFileSync(join(work, 'README'), 'hello\n');
    expect(git(keys.git, ['add', 'README'], work).code).toBe(0);
    expect(git(keys.git, ['commit', '-q', '-m', 'first'], work).code).toBe(0);

    const push = git(keys.git, ['push', '-q', `HOST:${path('git', 'project.git')}`, 'main'], work);
    expect(push.code, push.out).toBe(0);
    expect(lab.lastDecision()).toMatchObject({ decision: 'allow', rule: 'push' });
    const clone = git(keys.git, ['clone', '-q', `HOST:${path('git', 'project.git')}`, join(local, 'clone')]);
    expect(clone.code, clone.out).toBe(0);
    expect(existsSync(join(local, 'clone', 'README'))).toBe(true);
    expect(lab.lastDecision()).toMatchObject({ decision: 'allow', rule: 'fetch' });

    // Another repository on the same server: refused both ways; the pass-through key pushes there.
    const theft = git(keys.git, ['push', '-q', `HOST:${path('git', 'other.git')}`, 'main'], work);
    expect(theft.code, theft.out).not.toBe(0);
    expect(lab.lastDecision()).toMatchObject({ decision: 'deny', reason: 'no-rule-matched' });
    expect(head(path('git', 'other.git'))).toBe('');
    const read = git(keys.git, ['ls-remote', `HOST:${path('git', 'other.git')}`]);
    expect(read.code, read.out).not.toBe(0);
    const control = git(keys.gitBare, ['push', '-q', `HOST:${path('git', 'other.git')}`, 'main'], work);
    expect(control.code, control.out).toBe(0);
    expect(head(path('git', 'other.git'))).toBe(head(path('git', 'project.git')));
  }, 30_000);
});

describe('duplicity: its sftp backend against an sftp rule with delete: false', () => {
  const duplicity = (key: ClientKey, args: string[], scheme = 'sftp', target = key === keys.dup ? 'chain' : `/${path('dup', 'bare')}`) => {
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
    return run(
      '/usr/bin/duplicity',
      [...args.map((a) => (a === 'URL' ? `${scheme}://${user}@127.0.0.1:${port}/${target}` : a)), ...options],
      clientEnv(),
      20_000,
    );
  };

  it('scp:// is not served (docs/recipes.md: sftp:// only): mkdir -p and ls -1 refused, the first volume lands as a file named like the directory, the next is refused', () => {
    const before = lab.records().length;
    const result = duplicity(keys.dup, ['full', join(local, 'data'), 'URL'], 'scp', 'scp-chain');
    const refused = lab
      .records()
      .slice(before)
      .filter((r) => r.event === 'decision' && r.decision === 'deny')
      .map((r) => String(r.command));
    expect(refused).toEqual(expect.arrayContaining(["mkdir -p 'scp-chain'", "ls -1 'scp-chain'"]));
    // overwrite: false is what makes it fail loudly; with overwrite: true every volume replaces the last, exit 0 (issue 29).
    expect(result.out).toContain('Permission denied (no-overwrite)');
    expect(result.code).not.toBe(0);
    expect(statSync(path('dup', 'host1', 'scp-chain')).isFile()).toBe(true);
  });

  it('full backups and a listing work; a thief cannot remove a chain; plain sftp-server lets it', () => {
    for (const key of [keys.dup, keys.dupBare]) {
      for (const round of [1, 2]) {
        const result = duplicity(key, ['full', join(local, 'data'), 'URL']);
        expect(result.code, `${key.name} full ${round}: ${result.out}`).toBe(0);
        if (round === 1) spawnSync('/bin/sleep', ['1.1']); // chains are named by the second
      }
      const status = duplicity(key, ['collection-status', 'URL']);
      expect(status.code, status.out).toBe(0);
      expect(status.out).toMatch(/Found 1 secondary backup chain/);
    }
    expect(lab.lastDecision()).toMatchObject({ decision: 'allow', rule: 'duplicity' });

    const kept = sizes(path('dup', 'host1', 'chain'));
    const remove = duplicity(keys.dup, ['remove-all-but-n-full', '1', '--force', 'URL']);
    // duplicity reports each refused delete and exits 0 all the same: the files are what counts.
    expect(remove.code, remove.out).not.toBeNull(); // it ended, not our timeout
    expect(remove.out).toContain('PermissionError: Permission denied');
    expect(sizes(path('dup', 'host1', 'chain'))).toEqual(kept);
    expect(lab.records().some((r) => r.event === 'file' && typeof r.refused === 'string' && r.op === 'remove')).toBe(true);

    const bareKept = sizes(path('dup', 'bare'));
    const control = duplicity(keys.dupBare, ['remove-all-but-n-full', '1', '--force', 'URL']);
    expect(control.code, control.out).toBe(0);
    expect(sizes(path('dup', 'bare')).size).toBeLessThan(bareKept.size);
  }, 30_000);
});
