/**
 * The backup tools' own "restricted" servers against a client that is not the stock one
 * (docs/threat-model.md, "Upstream restricted servers"), through a real sshd, each beside a
 * control: the recipe as docs/recipes.md had it, where the upstream restriction was the boundary.
 *
 * - rdiff-backup: the server unpickles the client's first message before any check, so a crafted
 *   pickle runs code as the account. Control (`--restrict-path P --restrict-mode update-only`,
 *   no sandbox): the code writes outside P and removes every increment. In a writable sandbox it
 *   still removes every increment (so the write recipe is withdrawn); in the read-only restore
 *   recipe it runs and can change nothing.
 * - borg: `borg key import` needs no passphrase and rewrites the repokey in the repository's
 *   config (`--append-only` does not cover it). Control: the owner's passphrase opens nothing
 *   afterwards. With the config bound read-only inside the writable repository, the import fails
 *   and the archives open.
 * - restic: with the repository password a thief adds snapshots dated 2099; `forget --keep-daily`
 *   on the server keeps those and forgets the real ones (control). The documented server-side
 *   retention, by when the server stored each snapshot, keeps the real ones. It rests on stored
 *   files staying as stored: a write to an existing name, sent as restic's REST protocol over
 *   the key, is refused under --append-only (the control, without it, replaces the file).
 * - git: a bare repository as `git init --bare` makes it takes a forced push and a branch deletion
 *   (control); with the recipe's receive.denyNonFastForwards and receive.denyDeletes both are
 *   refused, and `check` warns about the repository that lacks them.
 */
import { spawn, spawnSync } from 'node:child_process';
import { connect } from 'node:http2';
import { Duplex } from 'node:stream';
import { existsSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorizedKeyLine, SSH, type ClientKey } from '../../src/lab/throwaway-sshd.js';
import { BUNDLE, NODE, startLab, type Lab } from './lab.js';
import { clientEnv, runTool, sizes, sshCommand } from './tool-clients.js';

const IDS = ['rdiff-write', 'rdiff-restore', 'borg-old', 'borg', 'restic', 'git'] as const;
type Id = (typeof IDS)[number] | 'rdiff-old';

let lab: Lab;
let srv: string;
let local: string;
const keys = {} as Record<Id | 'restic-bare', ClientKey>;
const path = (...parts: string[]) => join(srv, ...parts);
const run = (program: string, args: string[], env: NodeJS.ProcessEnv, timeout?: number) => runTool(program, args, env, local, timeout);

beforeAll(async () => {
  lab = await startLab();
  srv = join(lab.sshd.dir, 'srv');
  local = join(lab.sshd.dir, 'local');
  for (const dir of ['rdiff/old', 'rdiff/write', 'rdiff/restore', 'borg', 'restic/host1', 'restic/bare/snapshots', 'git'])
    mkdirSync(path(dir), { recursive: true, mode: 0o700 });
  mkdirSync(join(local, 'data'), { recursive: true });
  writeFileSync(join(local, 'data', 'a.txt'), 'first\n');
  // borg's repositories are made on the server, once (the recipe): the config must exist to be bound read-only.
  for (const name of ['old', 'host1']) {
    const init = run('/usr/bin/borg', ['init', '-e', 'repokey', path('borg', name)], borgEnv('server', OWNER_PASSPHRASE));
    expect(init.code, init.out).toBe(0);
  }
  for (const name of ['old.git', 'project.git'])
    expect(spawnSync('/usr/bin/git', ['init', '-q', '--bare', '-b', 'main', path('git', name)]).status).toBe(0);
  // The git recipe's setup (docs/recipes.md): refuse rewriting and deleting refs.
  for (const setting of ['receive.denyNonFastForwards', 'receive.denyDeletes']) {
    expect(spawnSync('/usr/bin/git', ['--git-dir', path('git', 'project.git'), 'config', setting, 'true']).status).toBe(0);
  }
  const rdiff = (name: string) => path('rdiff', name);
  const project = path('git', 'project.git');
  lab.writePolicy(`version: 1
audit:
  file: {{AUDIT}}
identities:
  rdiff-write:
    rules:
      - name: rdiff-backup
        exec:
          command: [rdiff-backup, "..."]
          run: [/usr/bin/rdiff-backup, server, --restrict-path, ${rdiff('write')}, --restrict-mode, update-only]
          sandbox: { write: [${rdiff('write')}] }
  rdiff-restore:
    rules:
      - name: rdiff-restore
        exec:
          command: [rdiff-backup, "..."]
          run: [/usr/bin/rdiff-backup, server, --restrict-path, ${rdiff('restore')}]
          sandbox: { read: [${rdiff('restore')}] }
  borg-old:
    rules:
      - name: borg
        exec:
          command: [borg, serve, "..."]
          run: [/usr/bin/borg, serve, --restrict-to-repository, ${path('borg', 'old')}, --append-only]
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
      - name: push-old
        exec: { command: [git-receive-pack, ${path('git', 'old.git')}], program: /usr/bin/git-receive-pack }
      - name: fetch
        exec: { command: [git-upload-pack, ${project}], program: /usr/bin/git-upload-pack }
      - name: push
        exec: { command: [git-receive-pack, ${project}], program: /usr/bin/git-receive-pack }
`);
  for (const id of [...IDS, 'rdiff-old', 'restic-bare'] as const) keys[id] = await lab.sshd.newClientKey(id);
  lab.sshd.authorize([
    ...IDS.map((id) => lab.dispatchLine(keys[id], id)),
    // The control for rdiff-backup: its server with its own restrictions as the only boundary, on a
    // plain key (apply refuses it as a rule: UNSAFE, exec-rdiff-backup-server).
    authorizedKeyLine(
      'restrict',
      ['/usr/bin/rdiff-backup', 'server', '--restrict-path', rdiff('old'), '--restrict-mode', 'update-only'],
      keys['rdiff-old'],
    ),
    // The control for overwriting a stored file: rclone's server without --append-only.
    authorizedKeyLine('restrict', ['/usr/bin/rclone', 'serve', 'restic', '--stdio', path('restic', 'bare')], keys['restic-bare']),
  ]);
}, 60_000);

afterAll(async () => {
  await lab?.stop();
});

const OWNER_PASSPHRASE = 'owner passphrase';

/** borg's environment for `who` (its own cache and security directories in the lab), with a passphrase or none. */
function borgEnv(who: string, passphrase: string | null, rsh?: string): NodeJS.ProcessEnv {
  return clientEnv(local, {
    BORG_BASE_DIR: join(local, `borg-${who}`),
    ...(passphrase === null ? {} : { BORG_PASSPHRASE: passphrase }),
    ...(rsh ? { BORG_RSH: rsh } : {}),
    BORG_RELOCATED_REPO_ACCESS_IS_OK: 'yes',
  });
}

describe('rdiff-backup: the server runs what the client pickles, before --restrict-path or --restrict-mode is looked at', () => {
  /** rdiff-backup's framing of one object: 'o', a request number, a 7-byte length, the pickle. */
  const hostileFirstMessage = (shellCommand: string): Buffer => {
    // Data only: a pickle whose __reduce__ names os.system, built by python3's own pickle.
    const script =
      'import os, pickle, sys\nclass Run:\n    def __reduce__(self):\n        return (os.system, (sys.argv[1],))\nbody = pickle.dumps(Run(), 4)\nsys.stdout.buffer.write(b"o" + (1).to_bytes(1, "big") + len(body).to_bytes(7, "big") + body)\n';
    const built = spawnSync('/usr/bin/python3', ['-c', script, shellCommand]);
    expect(built.status, String(built.stderr)).toBe(0);
    return built.stdout;
  };
  /** A repository with one increment: two backups, a second apart by rdiff-backup's own clock. */
  const twoBackups = (repo: string) => {
    for (const [text, time] of [
      ['first\n', '1000000000'],
      ['second\n', '1000086400'],
    ] as const) {
      writeFileSync(join(local, 'data', 'a.txt'), text);
      const result = run('/usr/bin/rdiff-backup', ['--current-time', time, 'backup', join(local, 'data'), repo], clientEnv(local));
      expect(result.code, result.out).toBe(0);
    }
    expect(readdirSync(join(repo, 'rdiff-backup-data', 'increments')).length).toBeGreaterThan(0);
  };
  const attack = async (id: Id, repo: string) => {
    const marker = path(`ran-outside-${id}`);
    const command = `echo RAN-AS-UID-$(id -u); rm -rf ${repo}/rdiff-backup-data; echo planted > ${marker}`;
    const result = await lab.sshd.ssh(keys[id], 'rdiff-backup --server', { input: hostileFirstMessage(command), timeoutMs: 20_000 });
    return {
      out: result.stdout.toString('utf8'),
      ranOutside: existsSync(marker),
      increments: existsSync(join(repo, 'rdiff-backup-data', 'increments')),
    };
  };

  it('control, the recipe as it was (update-only, no sandbox; on a plain key, since apply refuses it as a rule): the code runs as the account, writes outside its path and removes every increment', async () => {
    const repo = path('rdiff', 'old');
    twoBackups(repo);
    const result = await attack('rdiff-old', repo);
    expect(result.out).toContain(`RAN-AS-UID-${process.getuid?.()}`);
    expect(result.ranOutside).toBe(true);
    expect(result.increments).toBe(false);
  }, 30_000);

  it('in a sandbox with the repository writable: nothing outside it, but every increment is still removed (the write recipe is withdrawn)', async () => {
    const repo = path('rdiff', 'write');
    twoBackups(repo);
    const result = await attack('rdiff-write', repo);
    expect(result.out).toContain('RAN-AS-UID-');
    expect(result.ranOutside).toBe(false);
    expect(result.increments).toBe(false);
  }, 30_000);

  it('the restore recipe (sandbox read-only): the code runs and changes nothing; an honest restore and listing work', async () => {
    const repo = path('rdiff', 'restore');
    twoBackups(repo);
    const before = sizes(repo);
    const result = await attack('rdiff-restore', repo);
    expect(result.out).toContain('RAN-AS-UID-');
    expect(result.ranOutside).toBe(false);
    expect(result.increments).toBe(true);
    expect(sizes(repo)).toEqual(before);

    const { command, host } = sshCommand(lab.sshd, keys['rdiff-restore']);
    const schema = `${command} {h} rdiff-backup --server`;
    const restore = run(
      '/usr/bin/rdiff-backup',
      ['--remote-schema', schema, 'restore', '--at', '1B', `${host}::${repo}`, join(local, 'restored')],
      clientEnv(local),
    );
    // Exit 2: a warning that restore.log cannot be written in a read-only repository.
    expect(restore.code, restore.out).toBe(2);
    expect(restore.out).toContain('restore.log');
    expect(readFileSync(join(local, 'restored', 'a.txt'), 'utf8')).toBe('first\n');
    const list = run('/usr/bin/rdiff-backup', ['--remote-schema', schema, 'list', 'increments', `${host}::${repo}`], clientEnv(local));
    expect(list.code, list.out).toBe(0);
    expect(list.out).toMatch(/Found 1 increments/);
    // A backup through the restore key is refused by the read-only filesystem, not by rdiff-backup's goodwill.
    const backup = run(
      '/usr/bin/rdiff-backup',
      ['--remote-schema', schema, 'backup', join(local, 'data'), `${host}::${repo}`],
      clientEnv(local),
    );
    expect(backup.code, backup.out).not.toBe(0);
    expect(sizes(repo)).toEqual(before);
  }, 40_000);
});

describe('borg: the repokey lives in the repository config, which --append-only does not protect', () => {
  const borg = (id: 'borg' | 'borg-old', args: string[], passphrase: string | null) => {
    const { command, host } = sshCommand(lab.sshd, keys[id]);
    const repo = `ssh://${host}${path('borg', id === 'borg' ? 'host1' : 'old')}`;
    return run(
      '/usr/bin/borg',
      args.map((a) => a.replace('REPO', repo)),
      borgEnv(`${id}-${passphrase === null ? 'thief' : 'owner'}`, passphrase, command),
    );
  };
  /** What a thief does without the passphrase: export the key blob for the repository id, import junk under that id. */
  const importJunk = (id: 'borg' | 'borg-old') => {
    const exported = join(local, `exported-${id}`);
    const exportResult = borg(id, ['key', 'export', 'REPO', exported], null);
    expect(exportResult.code, exportResult.out).toBe(0);
    const junk = join(local, `junk-${id}`);
    writeFileSync(junk, `${readFileSync(exported, 'utf8').split('\n')[0]}\nnot a key\n`);
    return borg(id, ['key', 'import', 'REPO', junk], null);
  };

  it('control, the recipe as it was: key import without the passphrase replaces the repokey and every archive is lost', () => {
    expect(borg('borg-old', ['create', 'REPO::monday', 'data'], OWNER_PASSPHRASE).code).toBe(0);
    const config = readFileSync(path('borg', 'old', 'config'), 'utf8');
    const result = importJunk('borg-old');
    expect(result.code, result.out).toBe(0);
    expect(readFileSync(path('borg', 'old', 'config'), 'utf8')).not.toBe(config);
    const list = borg('borg-old', ['list', '--short', 'REPO'], OWNER_PASSPHRASE);
    expect(list.code, list.out).not.toBe(0);
    expect(list.out).not.toMatch(/^monday$/m);
  }, 30_000);

  it('config bound read-only inside the writable repository: the import fails, the archives open with the owner’s passphrase, backups go on', () => {
    expect(borg('borg', ['create', 'REPO::monday', 'data'], OWNER_PASSPHRASE).code).toBe(0);
    const config = readFileSync(path('borg', 'host1', 'config'), 'utf8');
    const result = importJunk('borg');
    expect(result.code, result.out).not.toBe(0);
    expect(readFileSync(path('borg', 'host1', 'config'), 'utf8')).toBe(config);
    const changed = run(
      '/usr/bin/borg',
      ['key', 'change-passphrase', `ssh://${sshCommand(lab.sshd, keys.borg).host}${path('borg', 'host1')}`],
      { ...borgEnv('borg-owner', OWNER_PASSPHRASE, sshCommand(lab.sshd, keys.borg).command), BORG_NEW_PASSPHRASE: 'thief' },
    );
    expect(changed.code, changed.out).not.toBe(0);
    expect(readFileSync(path('borg', 'host1', 'config'), 'utf8')).toBe(config);
    for (const args of [
      ['create', 'REPO::tuesday', 'data'],
      ['check', '--archives-only', 'REPO'],
    ]) {
      const step = borg('borg', args, OWNER_PASSPHRASE);
      expect(step.code, `${args.join(' ')}: ${step.out}`).toBe(0);
    }
    const list = borg('borg', ['list', '--short', 'REPO'], OWNER_PASSPHRASE);
    expect(list.code, list.out).toBe(0);
    expect(list.out.split('\n').filter(Boolean).sort()).toEqual(['monday', 'tuesday']);
    // borg's full check records its progress in the config: through the key it fails; it runs on the server.
    expect(borg('borg', ['check', 'REPO'], OWNER_PASSPHRASE).code).not.toBe(0);
    expect(lab.lastDecision()).toMatchObject({ decision: 'allow', id: 'borg' });
  }, 60_000);
});

/** The server-side retention script of docs/recipes.md ("restic, through rclone"), as printed there. */
function arrivalScript(): string {
  const doc = readFileSync(fileURLToPath(new URL('../../docs/recipes.md', import.meta.url)), 'utf8');
  const block = /```sh\n(#!\/bin\/sh\n# restic-forget-by-arrival[\s\S]*?)```/.exec(doc);
  expect(block, 'docs/recipes.md has the restic-forget-by-arrival script').not.toBeNull();
  const file = join(local, 'restic-forget-by-arrival');
  writeFileSync(file, block![1]!, { mode: 0o755 });
  return file;
}

describe('restic: retention by the dates the client wrote into its snapshots', () => {
  const repo = () => path('restic', 'host1');
  const resticEnv = () => clientEnv(local, { RESTIC_PASSWORD: 'correct horse', XDG_CACHE_HOME: join(local, 'cache') });
  const restic = (args: string[]) => {
    const { command, host } = sshCommand(lab.sshd, keys.restic);
    return run(
      '/usr/bin/restic',
      ['-o', `rclone.program=${command} ${host}`, '-o', 'rclone.args=rclone serve restic --stdio', '-r', 'rclone:host1', ...args],
      resticEnv(),
    );
  };
  const snapshotFiles = () => new Set(readdirSync(join(repo(), 'snapshots')));
  /** One backup through the key, dated `time` by the client; its snapshot file as the server stored it. */
  const backup = (time: Date, arrived: Date | null) => {
    const before = snapshotFiles();
    const result = restic(['backup', '--time', time.toISOString().slice(0, 19).replace('T', ' '), 'data']);
    expect(result.code, result.out).toBe(0);
    const id = [...snapshotFiles()].find((name) => !before.has(name))!;
    // The server's clock when it stored the file; the test stands in for days that passed.
    if (arrived) utimesSync(join(repo(), 'snapshots', id), arrived, arrived);
    return id;
  };
  const server = (args: string[]) => run('/usr/bin/restic', ['-r', repo(), ...args], resticEnv(), 60_000);

  it('a thief’s snapshots dated 2099 make forget --keep-daily drop the real ones (control); retention by arrival on the server keeps them', () => {
    expect(restic(['init']).code).toBe(0);
    const day = 86_400_000;
    const now = Date.now();
    // Two real backups in one week a month ago (the same 7-day bucket of the epoch), and two recent ones.
    const week = Math.floor((now - 20 * day) / (7 * day)) * 7 * day;
    const old1 = backup(new Date(week + 3_600_000), new Date(week + 3_600_000));
    const old2 = backup(new Date(week + 7_200_000), new Date(week + 7_200_000));
    const recent = [backup(new Date(now - 2 * day), new Date(now - 2 * day)), backup(new Date(now - day), new Date(now - day))];
    // The thief: the key and the repository password, three snapshots from the far future.
    const fakes = ['2099-01-01', '2099-01-02', '2099-01-03'].map((date) => backup(new Date(`${date}T12:00:00Z`), null));

    // Kept: what arrived in the last 7 days (the thief's too: it cannot displace anything), and the
    // first arrival of each older week for 8 weeks; the second backup of that old week goes.
    const script = arrivalScript();
    const pruned = run('/bin/sh', [script, repo(), '7', '8'], resticEnv(), 60_000);
    expect(pruned.code, pruned.out).toBe(0);
    expect(snapshotFiles()).toEqual(new Set([old1, ...recent, ...fakes]));
    expect(snapshotFiles().has(old2)).toBe(false);

    // The control: the same repository, retention by the snapshots' own dates.
    const control = server(['forget', '--keep-daily', '3', '--prune']);
    expect(control.code, control.out).toBe(0);
    expect(snapshotFiles()).toEqual(new Set(fakes));
  }, 120_000);
});

describe('restic: what the server stored stays as stored (the retention by arrival rests on it)', () => {
  /**
   * One request of restic's REST protocol the way restic's rclone backend sends it: HTTP/2 over
   * the ssh session's stdin and stdout (rclone serve restic --stdio).
   */
  const post = (key: ClientKey, name: string, body: string): Promise<number> =>
    new Promise((resolve, reject) => {
      const ssh = spawn(SSH, [...lab.sshd.sshArgs(key, ['-T']), 'rclone serve restic --stdio'], { stdio: ['pipe', 'pipe', 'ignore'] });
      const session = connect('http://localhost', { createConnection: () => Duplex.from({ readable: ssh.stdout, writable: ssh.stdin }) });
      const timer = setTimeout(() => done(new Error('no answer in 15 s')), 15_000);
      const done = (result: number | Error) => {
        clearTimeout(timer);
        session.destroy();
        ssh.kill();
        if (typeof result === 'number') resolve(result);
        else reject(result);
      };
      session.on('error', done);
      const request = session.request({ ':method': 'POST', ':path': `/snapshots/${name}`, 'content-type': 'application/octet-stream' });
      request.on('response', (headers) => done(Number(headers[':status'])));
      request.on('error', done);
      request.end(body);
    });

  it('a write to an existing snapshot file is refused with --append-only (the control’s replaces it); a new name is stored', async () => {
    const snapshots = join(path('restic', 'host1'), 'snapshots');
    // The recipe's repository has its snapshots by now (the retention test ran first); make sure of one.
    if (!existsSync(snapshots) || readdirSync(snapshots).length === 0) {
      mkdirSync(snapshots, { recursive: true });
      writeFileSync(join(snapshots, 'a'.repeat(64)), 'stored\n');
    }
    const name = readdirSync(snapshots)[0]!;
    const stored = readFileSync(join(snapshots, name));
    expect(await post(keys.restic, name, 'replaced by the thief')).toBe(403);
    expect(readFileSync(join(snapshots, name))).toEqual(stored);
    expect(lab.lastDecision()).toMatchObject({ decision: 'allow', rule: 'restic' });
    expect(await post(keys.restic, 'b'.repeat(64), 'a new one')).toBe(200);
    expect(readFileSync(join(snapshots, 'b'.repeat(64)), 'utf8')).toBe('a new one');

    writeFileSync(path('restic', 'bare', 'snapshots', name), 'stored\n');
    expect(await post(keys['restic-bare'], name, 'replaced by the thief')).toBe(200);
    expect(readFileSync(path('restic', 'bare', 'snapshots', name), 'utf8')).toBe('replaced by the thief');
  }, 30_000);
});

describe('git: receive.denyNonFastForwards and receive.denyDeletes, set by the recipe and looked for by check', () => {
  const git = (args: string[], cwd = local) => {
    const { command, host } = sshCommand(lab.sshd, keys.git);
    const env = clientEnv(local, {
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
  const ref = (repo: string, name: string) =>
    spawnSync('/usr/bin/git', ['--git-dir', repo, 'rev-parse', '--verify', '-q', name], { encoding: 'utf8' }).stdout.trim();

  it('a forced push and a branch deletion land in a repository without them (control) and are refused with them; check warns about the first', () => {
    const work = join(local, 'work');
    expect(spawnSync('/usr/bin/git', ['init', '-q', '-b', 'main', work]).status).toBe(0);
    writeFileSync(join(work, 'README'), 'history\n');
    expect(git(['add', 'README'], work).code).toBe(0);
    expect(git(['commit', '-q', '-m', 'history'], work).code).toBe(0);
    expect(git(['branch', 'topic'], work).code).toBe(0);
    for (const repo of ['old.git', 'project.git']) {
      const push = git(['push', '-q', `HOST:${path('git', repo)}`, 'main', 'topic'], work);
      expect(push.code, `${repo}: ${push.out}`).toBe(0);
    }
    expect(lab.lastDecision()).toMatchObject({ decision: 'allow', rule: 'push' });
    const history = ref(path('git', 'project.git'), 'refs/heads/main');
    // The thief: an unrelated commit forced over main, and topic deleted.
    expect(git(['checkout', '-q', '--orphan', 'junk'], work).code).toBe(0);
    expect(git(['commit', '-q', '-m', 'nothing here'], work).code).toBe(0);
    for (const repo of ['old.git', 'project.git']) {
      const forced = git(['push', '-q', '--force', `HOST:${path('git', repo)}`, 'junk:main'], work);
      const deleted = git(['push', '-q', `HOST:${path('git', repo)}`, ':topic'], work);
      if (repo === 'old.git') {
        expect(forced.code, forced.out).toBe(0);
        expect(deleted.code, deleted.out).toBe(0);
        expect(ref(path('git', repo), 'refs/heads/main')).not.toBe(history);
        expect(ref(path('git', repo), 'refs/heads/topic')).toBe('');
      } else {
        expect(forced.code, forced.out).not.toBe(0);
        expect(forced.out).toMatch(/non-fast-forward/);
        expect(deleted.code, deleted.out).not.toBe(0);
        expect(deleted.out).toMatch(/deletion prohibited/);
        expect(ref(path('git', repo), 'refs/heads/main')).toBe(history);
        expect(ref(path('git', repo), 'refs/heads/topic')).toBe(history);
        // What it still can: add a branch (history stays where it was).
        expect(git(['push', '-q', `HOST:${path('git', repo)}`, 'junk:refs/heads/added'], work).code).toBe(0);
        expect(ref(path('git', repo), 'refs/heads/added')).not.toBe('');
      }
    }
    // The owner's clone is as it was.
    const clone = git(['clone', '-q', `HOST:${path('git', 'project.git')}`, join(local, 'clone')]);
    expect(clone.code, clone.out).toBe(0);
    expect(readFileSync(join(local, 'clone', 'README'), 'utf8')).toBe('history\n');

    const check = spawnSync(NODE, [BUNDLE, 'check', '--policy', lab.policyDir], {
      encoding: 'utf8',
      env: { PATH: '/usr/bin:/bin' },
      timeout: 30_000,
    });
    const lines = check.stdout.split('\n');
    expect(
      lines.filter((l) => /"push-old".*receive\.denyNonFastForwards/.test(l)),
      check.stdout,
    ).toHaveLength(1);
    expect(
      lines.filter((l) => /"push".*receive\.deny/.test(l)),
      check.stdout,
    ).toHaveLength(0);
  }, 60_000);
});

describe('check on these rules', () => {
  it('calls the unsandboxed rdiff-backup server UNSAFE, and apply refuses it; the sandboxed writable one a warning; the restore recipe neither', () => {
    // The served policy, with the recipe as it was added back: the edit an admin might try.
    const edited = join(lab.sshd.dir, 'edited');
    mkdirSync(edited, { mode: 0o700 });
    const served = readFileSync(join(lab.policyDir, 'main.yaml'), 'utf8');
    writeFileSync(
      join(edited, 'main.yaml'),
      served.replace(
        'identities:\n',
        `identities:\n  rdiff-old:\n    rules:\n      - name: rdiff-backup\n        exec:\n          command: [rdiff-backup, "..."]\n          run: [/usr/bin/rdiff-backup, server, --restrict-path, ${path('rdiff', 'old')}, --restrict-mode, update-only]\n`,
      ),
      { mode: 0o600 },
    );
    const run = (command: string) =>
      spawnSync(NODE, [BUNDLE, command, '--policy', edited], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin' }, timeout: 30_000 });
    const check = run('check');
    const about = (rule: string, level: string) =>
      check.stdout.split('\n').filter((l) => l.includes(`${level}: rule "${rule}"`) && l.includes('unpickles'));
    expect(about('rdiff-backup', 'UNSAFE'), check.stdout).toHaveLength(1);
    expect(about('rdiff-backup', 'warning'), check.stdout).toHaveLength(1);
    expect(about('rdiff-restore', 'UNSAFE').length + about('rdiff-restore', 'warning').length, check.stdout).toBe(0);
    expect(check.status).toBe(1);
    const applied = run('apply');
    expect(applied.status).toBe(1);
    expect(applied.stdout).toMatch(/^refused: nothing changed; nothing is served yet$/m);
  }, 30_000);
});
