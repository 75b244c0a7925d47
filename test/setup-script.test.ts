/**
 * scripts/setup.sh: `npm run demo` installs only what the demo uses, `npm test` what the tests
 * drive too, and apt-get waits for another apt's lock instead of failing (issue 28).
 *
 * Nothing here installs, removes or locks anything of this machine's: the plan comes from
 * SETUP_DRY_RUN=1 with a stand-in dpkg-query, and the lock tests run the real apt-get in an apt
 * root of their own (APT_CONFIG: Dir is a temp dir, no sources, an empty dpkg status), so that its
 * lock files are the temp dir's and there is nothing it could install. A python3 helper holds a
 * lock there the way apt and dpkg take it (fcntl, lockf). `id` is a stand-in saying root, so the
 * script reaches apt-get as any user.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';

const repo = fileURLToPath(new URL('../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'ssh-dispatch-setup-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const DEMO = ['openssh-server', 'openssh-client', 'rsync', 'bubblewrap'];

/** A bin dir with a dpkg-query reporting `installed` as installed (and nothing else), and `id` saying root. */
function standIns(name: string, installed: readonly string[]): string {
  const bin = join(dir, name);
  mkdirSync(bin);
  const lines = installed.map((p) => `echo '${p} ii '`).join('\n');
  writeFileSync(join(bin, 'dpkg-query'), `#!/bin/sh\n${lines}\nexit 1\n`);
  writeFileSync(join(bin, 'id'), '#!/bin/sh\necho 0\n');
  chmodSync(join(bin, 'dpkg-query'), 0o755);
  chmodSync(join(bin, 'id'), 0o755);
  return bin;
}

function plan(purpose: string, bin: string): { status: number | null; lines: string[] } {
  const env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, SETUP_DRY_RUN: '1' };
  const ran = spawnSync('bash', [join(repo, 'scripts/setup.sh'), purpose], { encoding: 'utf8', env });
  return { status: ran.status, lines: ran.stdout.trim().split('\n') };
}

const field = (lines: string[], label: string): string[] =>
  (lines.find((l) => l.startsWith(`setup: ${label}: `)) ?? '').split(': ')[2]?.split(' ') ?? [];

describe('what each purpose installs (SETUP_DRY_RUN=1)', () => {
  const nothing = standIns('nothing-installed', []);

  it('npm run demo sets up the demo, npm test the tests', () => {
    const scripts = (JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    expect(scripts.demo).toMatch(/^bash scripts\/setup\.sh demo && /);
    expect(scripts.test).toMatch(/^bash scripts\/setup\.sh test && /);
  });

  it("the demo's set is exactly what the demo runs; the tests' adds the clients they drive", () => {
    const demo = plan('demo', nothing);
    expect(demo.status).toBe(0);
    expect(field(demo.lines, 'demo needs')).toEqual(DEMO);
    expect(field(demo.lines, 'missing')).toEqual(DEMO);
    const test = field(plan('test', nothing).lines, 'test needs');
    expect(test.slice(0, DEMO.length)).toEqual(DEMO);
    for (const client of ['restic', 'borgbackup', 'rclone', 'rdiff-backup', 'duplicity', 'rsnapshot', 'backuppc-rsync', 'rsyslog-gnutls']) {
      expect(test).toContain(client);
      expect(field(demo.lines, 'demo needs')).not.toContain(client);
    }
  });

  it('apt-get update and install, each with the lock timeout, for only what is missing', () => {
    const { lines } = plan('demo', standIns('rsync-missing', ['openssh-server', 'openssh-client', 'bubblewrap']));
    expect(lines.filter((l) => l.startsWith('setup: would run: '))).toEqual([
      'setup: would run: apt-get -o DPkg::Lock::Timeout=600 update -qq',
      'setup: would run: apt-get -o DPkg::Lock::Timeout=600 install -y -q rsync',
    ]);
  });

  it('no apt-get at all when everything is installed', () => {
    const { lines } = plan('test', standIns('all-installed', field(plan('test', nothing).lines, 'test needs')));
    expect(field(lines, 'missing')).toEqual(['(none)']);
    expect(lines.some((l) => l.includes('would run'))).toBe(false);
  });

  it('an unknown purpose is refused', () => {
    expect(plan('everything', nothing).status).toBe(2);
  });
});

/** An apt root in a temp dir: apt-get reads only it (APT_CONFIG), locks only its files, and has no sources. */
function aptRoot(name: string): { config: string; root: string } {
  const root = join(dir, name);
  for (const sub of [
    'etc/apt/apt.conf.d',
    'etc/apt/preferences.d',
    'etc/apt/sources.list.d',
    'var/lib/dpkg',
    'var/lib/apt/lists/partial',
    'var/cache/apt/archives/partial',
    'var/log/apt',
  ]) {
    mkdirSync(join(root, sub), { recursive: true });
  }
  writeFileSync(join(root, 'var/lib/dpkg/status'), '');
  writeFileSync(join(root, 'etc/apt/sources.list'), '');
  const config = join(root, 'apt.conf');
  writeFileSync(config, `Dir "${root}/";\nDir::State::status "${root}/var/lib/dpkg/status";\n`);
  return { config, root };
}

// Lock holders and setup runs still going when a test ends (a failed one): killed by pid, a setup
// run with its process group (its own, from detached: apt-wait.sh and apt-get with it).
const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    if (child.spawnargs[0] === 'bash') process.kill(-child.pid!, 'SIGKILL');
    else child.kill('SIGKILL');
  }
});

/** Holds an fcntl write lock on `file` (as apt and dpkg take theirs) until killed; resolves once held. */
async function holdLock(file: string): Promise<ChildProcess> {
  const script =
    'import fcntl,os,sys\nfd=os.open(sys.argv[1],os.O_RDWR|os.O_CREAT,0o640)\nfcntl.lockf(fd,fcntl.LOCK_EX)\nprint("held",flush=True)\nsys.stdin.read()\n';
  const holder = spawn('/usr/bin/python3', ['-c', script, file], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(holder);
  await new Promise<void>((resolve, reject) => {
    holder.stdout!.on('data', (d: Buffer) => d.toString().includes('held') && resolve());
    holder.on('exit', (code) => reject(new Error(`lock holder exited (${code})`)));
  });
  return holder;
}

/** scripts/setup.sh demo with nothing installed, apt-get in `config`'s root. */
let noneInstalled: string | undefined;
function setup(config: string, timeout: number) {
  noneInstalled ??= standIns('none-installed', []);
  const env = {
    ...process.env,
    PATH: `${noneInstalled}:${process.env.PATH}`,
    APT_CONFIG: config,
    SETUP_APT_LOCK_TIMEOUT: String(timeout),
  };
  const child = spawn('bash', [join(repo, 'scripts/setup.sh'), 'demo'], { env, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  children.push(child);
  let stderr = '';
  const seen: { text: string; resolve: () => void }[] = [];
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
    for (const s of seen) if (stderr.includes(s.text)) s.resolve();
  });
  const done = new Promise<{ status: number | null; stderr: string }>((resolve) =>
    child.on('close', (status) => resolve({ status, stderr })),
  );
  const saw = (text: string) => new Promise<void>((resolve) => (stderr.includes(text) ? resolve() : seen.push({ text, resolve })));
  return { done, saw };
}

describe('another apt holding a lock: setup waits, then goes on (apt-get in a temp apt root)', () => {
  for (const lock of ['var/lib/dpkg/lock-frontend', 'var/lib/apt/lists/lock']) {
    it(`${lock}: waits while it is held and goes on once it is freed`, async () => {
      const { config, root } = aptRoot(`wait-${lock.replaceAll('/', '-')}`);
      const holder = await holdLock(join(root, lock));
      const run = setup(config, 60);
      await run.saw(`Could not get lock ${join(root, lock)}`); // apt-get tried, and is waiting
      holder.kill('SIGTERM');
      const { status, stderr } = await run.done;
      // Past the lock: apt-get looked the packages up (this root has no sources, so it finds none).
      expect(stderr).toContain('Unable to locate package openssh-server');
      expect(stderr).not.toContain('gave up');
      expect(status).not.toBe(0);
    });

    it(`${lock}: gives up after the timeout and says what to do; control: with no wait (the old setup) it fails at once`, async () => {
      const { config, root } = aptRoot(`give-up-${lock.replaceAll('/', '-')}`);
      await holdLock(join(root, lock));
      for (const timeout of [0, 1]) {
        const { status, stderr } = await setup(config, timeout).done;
        expect(status).not.toBe(0);
        expect(stderr).toContain(`setup: gave up after ${timeout} s waiting for another apt or dpkg`);
        expect(stderr).toContain('SETUP_APT_LOCK_TIMEOUT=SECONDS');
        expect(stderr).not.toContain('Unable to locate package');
      }
    });
  }
});
