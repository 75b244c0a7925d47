/**
 * docs/recipes.md gives each backup tool's keys an account of their own: code that escapes a
 * tool's restriction runs with that account's rights only. Here, through a real sshd, logged in
 * as a system account made for the test (install.sh --account, as docs/keys.md says):
 * - rdiff-backup's pickled first message, through the recipe as it was (no sandbox, on a plain
 *   key: apply refuses it as a rule): the code runs as the account, not root, and cannot write or read root's files beside the repository
 *   (as root, recipes-hostile.e2e.test.ts shows it writing there);
 * - the borg recipe works as that account, its sandbox built through a user namespace, and the
 *   repokey still cannot be replaced.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorizedKeyLine, ThrowawaySshd, type ClientKey } from '../../src/lab/throwaway-sshd.js';
import { clientEnv, runTool, sshCommand } from './tool-clients.js';

const asRoot = process.getuid?.() === 0;
const ACCOUNT = 'sshd-e2e-recipes';
const repo = fileURLToPath(new URL('../../', import.meta.url));
const PASSPHRASE = 'owner passphrase';
let dir: string;
let srv: string;
let local: string;
let sshd: ThrowawaySshd | null = null;
const keys = {} as Record<'rdiff' | 'borg', ClientKey>;
let uid: number;
let gid: number;
let created = false;

/** Runs a tool on the server as the account, the way its admin sets a repository up. */
const asAccount = (program: string, args: string[], env: NodeJS.ProcessEnv) =>
  spawnSync(program, args, { uid, gid, env, cwd: dir, encoding: 'utf8', timeout: 30_000 });

describe.runIf(asRoot)('the recipes logged in as an account of their own', () => {
  beforeAll(async () => {
    try {
      execFileSync(
        '/usr/sbin/useradd',
        ['--system', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/bin/sh', '--password', '*', ACCOUNT],
        { stdio: 'ignore' },
      );
    } catch {
      // Left over from an interrupted run: used as it is, removed after.
    }
    created = true;
    const entry = readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .find((l) => l.startsWith(`${ACCOUNT}:`))!
      .split(':');
    [uid, gid] = [Number(entry[2]), Number(entry[3])];
    dir = mkdtempSync(join(tmpdir(), 'ssh-dispatch-recipes-account-'));
    chmodSync(dir, 0o755);
    const etc = join(dir, 'etc', 'ssh-dispatch');
    const logs = join(dir, 'log', 'ssh-dispatch');
    srv = join(dir, 'srv');
    local = join(dir, 'local');
    mkdirSync(join(dir, 'etc', 'logrotate.d'), { recursive: true });
    // install.sh makes --log-dir itself, never the directories above it.
    mkdirSync(join(dir, 'log'));
    // The account's repositories, and beside them root's own files.
    for (const path of [srv, join(srv, 'rdiff'), join(srv, 'borg'), join(srv, 'base')]) {
      mkdirSync(path, { recursive: true, mode: 0o700 });
      chownSync(path, uid, gid);
    }
    mkdirSync(join(dir, 'root-only'), { mode: 0o755 });
    writeFileSync(join(dir, 'root-only', 'secret'), 'root only\n', { mode: 0o600 });
    mkdirSync(join(local, 'data'), { recursive: true });
    writeFileSync(join(local, 'data', 'a.txt'), 'first\n', { mode: 0o644 });
    chmodSync(local, 0o755);

    const installed = spawnSync(
      'bash',
      [
        join(repo, 'install.sh'),
        '--prefix',
        join(dir, 'usr'),
        '--etc',
        etc,
        '--log-dir',
        logs,
        '--logrotate-dir',
        join(dir, 'etc', 'logrotate.d'),
        '--account',
        ACCOUNT,
      ],
      { encoding: 'utf8', env: { PATH: '/usr/bin:/bin' }, timeout: 120_000 },
    );
    expect(installed.status, installed.stdout + installed.stderr).toBe(0);

    // The repositories, made on the server by the account.
    const serverEnv = { PATH: '/usr/bin:/bin', HOME: srv, BORG_BASE_DIR: join(srv, 'base'), BORG_PASSPHRASE: PASSPHRASE };
    for (const time of ['1000000000', '1000086400']) {
      const backup = asAccount(
        '/usr/bin/rdiff-backup',
        ['--current-time', time, 'backup', join(local, 'data'), join(srv, 'rdiff', 'host1')],
        serverEnv,
      );
      expect(backup.status, backup.stdout + backup.stderr).toBe(0);
    }
    const init = asAccount('/usr/bin/borg', ['init', '-e', 'repokey', join(srv, 'borg', 'host1')], serverEnv);
    expect(init.status, init.stdout + init.stderr).toBe(0);

    writeFileSync(
      join(etc, 'policies', 'main.yaml'),
      `version: 1
audit: { file: ${logs}/audit.jsonl }
identities:
  borg:
    rules:
      - name: borg
        exec:
          command: [borg, serve, "..."]
          run: [/usr/bin/borg, serve, --restrict-to-repository, ${join(srv, 'borg', 'host1')}, --append-only]
          sandbox: { write: [${join(srv, 'borg', 'host1')}], read: [${join(srv, 'borg', 'host1', 'config')}] }
`,
      { mode: 0o644 },
    );
    const command = join(dir, 'usr', 'bin', 'ssh-dispatch');
    const applied = spawnSync(command, ['apply', '--policy', join(etc, 'policies')], {
      encoding: 'utf8',
      env: { PATH: '/usr/bin:/bin' },
      timeout: 30_000,
    });
    expect(applied.status, applied.stdout + applied.stderr).toBe(0);
    sshd = await ThrowawaySshd.start({ user: ACCOUNT });
    for (const id of ['rdiff', 'borg'] as const) {
      keys[id] = await sshd.newClientKey(id);
    }
    sshd.authorize([
      // rdiff-backup's recipe as it was (no sandbox): apply refuses it as a rule (UNSAFE), so it
      // runs here on a plain key, its own restrictions the only boundary; the account is the point.
      authorizedKeyLine(
        'restrict',
        ['/usr/bin/rdiff-backup', 'server', '--restrict-path', join(srv, 'rdiff', 'host1'), '--restrict-mode', 'update-only'],
        keys.rdiff,
      ),
      authorizedKeyLine('restrict', [command, '--id', 'borg', '--policy', join(etc, 'policies')], keys.borg),
    ]);
  }, 180_000);

  afterAll(async () => {
    await sshd?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (created) spawnSync('/usr/sbin/userdel', [ACCOUNT], { stdio: 'ignore' });
  });

  it('rdiff-backup’s pickled first message runs as the account: root’s files beside the repository are out of its reach', async () => {
    const script =
      'import os, pickle, sys\nclass Run:\n    def __reduce__(self):\n        return (os.system, (sys.argv[1],))\nbody = pickle.dumps(Run(), 4)\nsys.stdout.buffer.write(b"o" + (1).to_bytes(1, "big") + len(body).to_bytes(7, "big") + body)\n';
    const planted = join(dir, 'root-only', 'planted');
    const command = `echo RAN-AS-UID-$(id -u); cat ${join(dir, 'root-only', 'secret')}; echo planted > ${planted}`;
    const message = spawnSync('/usr/bin/python3', ['-c', script, command]).stdout;
    const result = await sshd!.ssh(keys.rdiff, 'rdiff-backup --server', { input: message, timeoutMs: 20_000 });
    const out = result.stdout.toString('utf8');
    expect(out).toContain(`RAN-AS-UID-${uid}`);
    expect(uid).not.toBe(0);
    expect(out).not.toContain('root only');
    expect(result.stderr).toMatch(/Permission denied/);
    expect(existsSync(planted)).toBe(false);
  }, 30_000);

  it('the borg recipe works as the account (its sandbox built in a user namespace), and the repokey cannot be replaced', () => {
    const { command, host } = sshCommand(sshd!, keys.borg);
    const url = `ssh://${host}${join(srv, 'borg', 'host1')}`;
    const borg = (args: string[], passphrase: string | null) =>
      runTool(
        '/usr/bin/borg',
        args.map((a) => a.replace('REPO', url)),
        clientEnv(local, {
          BORG_RSH: command,
          BORG_BASE_DIR: join(local, `borg-${passphrase ? 'owner' : 'thief'}`),
          BORG_RELOCATED_REPO_ACCESS_IS_OK: 'yes',
          ...(passphrase ? { BORG_PASSPHRASE: passphrase } : {}),
        }),
        local,
      );
    const create = borg(['create', 'REPO::monday', 'data'], PASSPHRASE);
    expect(create.code, create.out).toBe(0);
    const exported = join(local, 'exported');
    expect(borg(['key', 'export', 'REPO', exported], null).code).toBe(0);
    writeFileSync(join(local, 'junk'), `${readFileSync(exported, 'utf8').split('\n')[0]}\nnot a key\n`);
    const config = readFileSync(join(srv, 'borg', 'host1', 'config'), 'utf8');
    expect(borg(['key', 'import', 'REPO', join(local, 'junk')], null).code).not.toBe(0);
    expect(readFileSync(join(srv, 'borg', 'host1', 'config'), 'utf8')).toBe(config);
    const list = borg(['list', '--short', 'REPO'], PASSPHRASE);
    expect(list.code, list.out).toBe(0);
    // sshd's "Could not chdir to home directory /nonexistent" comes through as a Remote: line.
    expect(list.out.split('\n').filter((line) => line && !line.startsWith('Remote:'))).toEqual(['monday']);
  }, 60_000);
});
