/**
 * The attack classes of rsync 3.5.0's rrsync tests, ported as our own end-to-end tests against
 * the rsync rule: real rsync client, real rsync server, the built ssh-dispatch between them
 * (through a remote-shell script that does what sshd does for a forced command).
 *
 * Each attack also runs against a control: the same client against a bare `rsync --server` in
 * root, with no dispatcher. The control must show the leak or the damage, so a test that passes
 * here shows the defence at work, not an attack that never worked.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  lchownSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BUNDLE, NODE, writeDispatchRsh, applyPolicy } from './lab.js';
import { bindsOf, bwrapArgs, hostLayout } from '../../src/act/sandbox.js';
import { ROOT_CAPS } from '../../src/rules/sandbox.js';

const asRoot = process.getuid?.() === 0;
/** The local attacker's uid when we can make one (nobody); rsync trusts symlinks of root and of itself. */
const ATTACKER = 65534;

let dir: string;
let root: string;
let outside: string;
let src: string;
let local: string;
let audit: string;
const started: ChildProcess[] = [];

const SECRET = 'TOPSECRET-5f1c';

function writeScripts(): void {
  writeFileSync(
    join(dir, 'etc', 'policy.yaml'),
    `version: 1
audit:
  file: ${audit}
identities:
  push: { rules: [ { name: push, rsync: { root: ${root}, access: write } } ] }
  pull: { rules: [ { name: pull, rsync: { root: ${root}, access: read } } ] }
  keep: { rules: [ { name: keep, rsync: { root: ${root}, access: write, overwrite: false } } ] }
`,
    { mode: 0o600 },
  );
  applyPolicy(join(dir, 'etc', 'policy.yaml'));
  writeDispatchRsh(join(dir, 'dispatch-rsh'), join(dir, 'etc', 'policy.yaml'));
  // The control: what the client's words do with no dispatcher at all.
  writeFileSync(join(dir, 'bare-rsh'), `#!/bin/sh\nshift\ncd ${root} && exec "$@"\n`, { mode: 0o755 });
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ssh-dispatch-rrsync-attacks-'));
  chmodSync(dir, 0o755);
  root = join(dir, 'root');
  outside = join(dir, 'outside');
  src = join(dir, 'src');
  local = join(dir, 'local');
  // The policy and the log in directories of their own, as on a real install: apply refuses
  // write rules whose directory holds or lies beside them (UNSAFE).
  audit = join(dir, 'log', 'audit.jsonl');
  mkdirSync(join(dir, 'etc'), { recursive: true, mode: 0o755 });
  mkdirSync(join(dir, 'log'), { recursive: true, mode: 0o755 });
  for (const d of [root, outside, src, local]) mkdirSync(d, { mode: 0o755 });
  mkdirSync(join(root, 'dst'));
  writeFileSync(join(root, 'dst', 'a.txt'), 'alpha\n');
  writeFileSync(join(root, 'dst', 'b.txt'), 'bravo\n');
  writeFileSync(join(outside, 'secret'), `${SECRET}\n`);
  writeFileSync(join(src, 'a.txt'), 'new alpha\n');
  writeScripts();
});

afterEach(() => {
  for (const child of started.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  process.chdir(tmpdir());
  rmSync(dir, { recursive: true, force: true });
});
afterAll(() => process.chdir(tmpdir()));

function rsync(rsh: 'dispatch-rsh' | 'bare-rsh', id: string, args: string[]): { code: number | null; out: string } {
  const result = spawnSync('/usr/bin/rsync', ['-e', join(dir, rsh), ...args.map((a) => a.replace('HOST:', `${id}:`))], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: result.status, out: result.stdout + result.stderr };
}

function decisions(): Record<string, unknown>[] {
  if (!existsSync(audit)) return [];
  return readFileSync(audit, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((r) => r.event === 'decision');
}

function lastDecision(): Record<string, unknown> {
  return decisions().pop()!;
}

/** Every file under `path`, with contents, for "nothing leaked" and "nothing changed" checks. */
function tree(path: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (p: string, rel: string) => {
    for (const name of readdirSync(p)) {
      const full = join(p, name);
      const stats = lstatSync(full);
      if (stats.isDirectory()) walk(full, `${rel}${name}/`);
      else out[`${rel}${name}`] = stats.isFile() ? readFileSync(full, 'utf8') : `<${stats.isSymbolicLink() ? 'symlink' : 'special'}>`;
    }
  };
  walk(path, '');
  return out;
}

/** A directory inside root becomes a symlink out of it, as a local user with write access there would do it. */
function swapForSymlink(name: string, target: string): void {
  renameSync(join(root, name), join(root, `${name}.moved`));
  symlinkSync(target, join(root, name));
  if (asRoot) lchownSync(join(root, name), ATTACKER, ATTACKER);
}

describe('symlink swap between the check and rsync’s open (CVE-2026-53783 class)', () => {
  /**
   * A deterministic race: the remote shell runs what the dispatcher would run (its plan, from
   * `explain --json`), enters the directory first as the dispatcher does, then signals "ready" and
   * waits; the test swaps the checked directory for a symlink and says "go"; only then does rsync
   * start. The attacker always wins the race, so the outcome shows what the defence holds.
   */
  type Mode = 'pinned' | 'unpinned' | 'sandboxed-unpinned';
  /** The namespace the dispatcher builds for a pull from root (act/sandbox.ts), around whatever argv the harness runs. */
  function pullSandbox(): string[] {
    const args = bwrapArgs(
      {
        sandbox: { read: [root], write: [], rootCaps: [...ROOT_CAPS.read] },
        runtime: [],
        read: bindsOf([root]),
        write: [],
        cwd: root,
        statusFd: null,
        argv: [],
      },
      hostLayout(),
    );
    return ['/usr/bin/bwrap', ...args];
  }

  function harness(mode: Mode): string {
    const script = join(dir, `race-${mode}.mjs`);
    writeFileSync(
      script,
      `import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
const [, , id, ...words] = process.argv;
const command = words.join(' ');
const plan = JSON.parse(execFileSync(${JSON.stringify(NODE)}, [${JSON.stringify(BUNDLE)}, 'explain', '--json', '--id', id, '--policy', ${JSON.stringify(join(dir, 'etc', 'policy.yaml'))}, '--', command], { encoding: 'utf8' }));
if (plan.decision !== 'allow') { process.stderr.write('harness: denied ' + plan.reason + '\\n'); process.exit(126); }
let argv = plan.argv;
if (${JSON.stringify(mode)} !== 'pinned') {
  // What ran before pinning: rsync in root, the operands as the client named them.
  const operands = words.slice(words.indexOf('.') + 1);
  argv = [...argv.slice(0, argv.indexOf('--') + 2), ...operands];
  process.chdir(${JSON.stringify(root)});
} else {
  process.chdir(plan.cwd);
}
writeFileSync(${JSON.stringify(join(dir, 'ready'))}, '');
const deadline = Date.now() + 20000;
while (!existsSync(${JSON.stringify(join(dir, 'go'))}) && Date.now() < deadline) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
// The sandbox, with the pinning switched off: bwrap builds the namespace only now, after the swap.
if (${JSON.stringify(mode)} === 'sandboxed-unpinned') argv = [...${JSON.stringify(mode === 'sandboxed-unpinned' ? pullSandbox() : [])}, ...argv];
process.execve(argv[0], argv, { PATH: '/usr/bin:/bin' });
`,
    );
    const rsh = join(dir, `race-${mode}-rsh`);
    writeFileSync(rsh, `#!/bin/sh\nexec ${NODE} ${script} "$@"\n`, { mode: 0o755 });
    return rsh;
  }

  async function racePull(mode: Mode, remote: string, options: string[] = []): Promise<{ code: number | null; out: string }> {
    const client = spawn('/usr/bin/rsync', ['-e', harness(mode), '-a', ...options, `pull:${remote}`, 'local/'], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    started.push(client);
    let out = '';
    client.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    client.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    for (let i = 0; i < 2000 && !existsSync(join(dir, 'ready')); i++) await new Promise((r) => setTimeout(r, 10));
    expect(existsSync(join(dir, 'ready')), out).toBe(true);
    swapForSymlink('dst', outside);
    writeFileSync(join(dir, 'go'), '');
    const code = await new Promise<number | null>((resolve) => client.on('exit', (c) => resolve(c)));
    return { code, out };
  }

  it('control: rsync started in root by name follows the swapped-in symlink and sends the secret', async () => {
    await racePull('unpinned', 'dst/');
    expect(tree(local)).toMatchObject({ secret: `${SECRET}\n` });
  });

  it('control: a --relative pull (dst/secret, no /./) in root by name follows the swapped-in symlink', async () => {
    writeFileSync(join(root, 'dst', 'secret'), 'stored\n');
    await racePull('unpinned', 'dst/secret', ['-R']);
    expect(tree(local)).toEqual({ 'dst/secret': `${SECRET}\n` });
  });

  // The kernel as the boundary: the dispatcher's own path pinning switched off, rsync started in
  // root by name as before pinning, but in the sandbox. Outside root nothing exists to leak.
  it.each([
    ['dst/', []],
    ['dst/secret', ['-R']],
  ])('in the sandbox with pinning switched off, a pull of %s %j after the swap leaks nothing', async (remote, options) => {
    writeFileSync(join(root, 'dst', 'secret'), 'stored\n');
    const result = await racePull('sandboxed-unpinned', remote, options);
    expect(result.code, result.out).not.toBe(0);
    // The symlink leads to a path the namespace does not hold.
    expect(result.out).toMatch(/(change_dir|link_stat) ".*\/root\/dst(\/secret)?" failed: No such file or directory/);
    expect(Object.values(tree(local)).join('')).not.toContain(SECRET);
  });

  it('a pull of dir/ runs in the directory the dispatcher entered: the swap changes nothing', async () => {
    const result = await racePull('pinned', 'dst/');
    expect(result.code, result.out).toBe(0);
    expect(tree(local)).toEqual({ 'a.txt': 'alpha\n', 'b.txt': 'bravo\n' });
  });

  it('a pull of dir/file: the parent is held and the leaf is named, so a swapped parent changes nothing', async () => {
    const result = await racePull('pinned', 'dst/a.txt');
    expect(result.code, result.out).toBe(0);
    expect(tree(local)).toEqual({ 'a.txt': 'alpha\n' });
  });

  it('a swap before the dispatcher enters the directory is seen there and refused, and recorded so', () => {
    // The check (in explain's plan) saw a directory; by the time a connection enters it, it is a
    // symlink. The forced-command path checks again by entering: denied, and no secret moves.
    const planned = spawnSync(
      NODE,
      [
        BUNDLE,
        'explain',
        '--json',
        '--id',
        'pull',
        '--policy',
        join(dir, 'etc', 'policy.yaml'),
        '--',
        'rsync --server --sender -logDtpre.iLsfxCIvu . dst/',
      ],
      { encoding: 'utf8' },
    );
    expect(JSON.parse(planned.stdout)).toMatchObject({ decision: 'allow', cwd: join(root, 'dst') });
    swapForSymlink('dst', outside);
    const result = rsync('dispatch-rsh', 'pull', ['-a', 'HOST:dst/', 'local/']);
    expect(result.code).not.toBe(0);
    expect(lastDecision()).toMatchObject({ decision: 'deny', reason: 'rsync-symlink-escape' });
    expect(tree(local)).toEqual({});
  });

  it('a live race: pulls while another process swaps the directory and a symlink back and forth, until 5 were let through', async () => {
    mkdirSync(join(root, 'dst.dir'));
    writeFileSync(join(root, 'dst.dir', 'a.txt'), 'alpha\n');
    rmSync(join(root, 'dst'), { recursive: true });
    symlinkSync(outside, join(root, 'dst.lnk'));
    if (asRoot) lchownSync(join(root, 'dst.lnk'), ATTACKER, ATTACKER);
    // Each rename is atomic; "dst" is in turn the directory, absent, the symlink, absent.
    const swapper = spawn(
      NODE,
      [
        '-e',
        `const fs = require('fs'); process.chdir(${JSON.stringify(root)}); for (;;) { for (const n of ['dst.dir', 'dst.lnk']) { try { fs.renameSync(n, 'dst'); fs.renameSync('dst', n); } catch {} } }`,
      ],
      { stdio: 'ignore' },
    );
    started.push(swapper);
    // About one pull in eight finds the directory in place at both the check and the entry and
    // is let through: those are the ones a swap could have turned. Run until 5 were (bounded).
    const outcomes: string[] = [];
    const allowed = () => outcomes.filter((o) => o === 'allow').length;
    for (let i = 0; i < 250 && allowed() < 5; i++) {
      rmSync(local, { recursive: true, force: true });
      mkdirSync(local);
      const client = spawn('/usr/bin/rsync', ['-e', join(dir, 'dispatch-rsh'), '-a', 'pull:dst/', 'local/'], { cwd: dir, stdio: 'ignore' });
      await new Promise((resolve) => client.on('exit', resolve));
      const got = tree(local);
      expect(Object.values(got).join('')).not.toContain(SECRET);
      outcomes.push(String(lastDecision().decision));
    }
    swapper.kill('SIGKILL');
    // The race was run: the dispatcher let pulls through (the directory was there) and refused others.
    expect(allowed()).toBe(5);
    expect(outcomes).toContain('deny');
  }, 60_000);

  describe.runIf(asRoot)('a push into a directory swapped for a symlink a local user owns (root receiver)', () => {
    it('control: with the walk switched off (--insecure-links, server-side only) the upload lands outside', () => {
      swapForSymlink('dst', outside);
      writeFileSync(join(dir, 'bare-rsh'), `#!/bin/sh\nshift\nshift\ncd ${root} && exec /usr/bin/rsync --server --insecure-links "$@"\n`, {
        mode: 0o755,
      });
      rsync('bare-rsh', 'push', ['-a', 'src/', 'HOST:dst/']);
      expect(tree(outside)).toHaveProperty('a.txt');
    });

    it('the dispatcher’s argv, run after the swap: rsync 3.5 refuses the attacker’s symlink', () => {
      const planned = JSON.parse(
        spawnSync(
          NODE,
          [
            BUNDLE,
            'explain',
            '--json',
            '--id',
            'push',
            '--policy',
            join(dir, 'etc', 'policy.yaml'),
            '--',
            'rsync --server -logDtpre.iLsfxCIvu . dst/',
          ],
          { encoding: 'utf8' },
        ).stdout,
      ) as { argv: string[]; cwd: string };
      swapForSymlink('dst', outside);
      writeFileSync(join(dir, 'bare-rsh'), `#!/bin/sh\ncd ${planned.cwd} && exec ${planned.argv.map((a) => `'${a}'`).join(' ')}\n`, {
        mode: 0o755,
      });
      const result = rsync('bare-rsh', 'push', ['-a', 'src/', 'HOST:dst/']);
      expect(result.code).not.toBe(0);
      expect(tree(outside)).toEqual({ secret: `${SECRET}\n` });
    });
  });
});

describe('in-band merge files: filter rules travel over the protocol, not in argv', () => {
  // An exclude-only per-directory merge file named in an ancestor of the transfer directory is
  // read by the sender: which names go missing tells the client what the file says.
  beforeEach(() => writeFileSync(join(dir, '.leak'), '- a.txt\n'));

  it('control: a bare rsync server reads the file outside root and a.txt goes missing', () => {
    expect(rsync('bare-rsh', 'pull', ['-a', `--filter=: ${join(dir, '.leak')}`, 'HOST:dst/', 'local/']).code).toBe(0);
    expect(Object.keys(tree(local))).toEqual(['b.txt']);
  });

  it('through ssh-dispatch (--confine-root) the file is not read: everything arrives', () => {
    const result = rsync('dispatch-rsh', 'pull', ['-a', `--filter=: ${join(dir, '.leak')}`, 'HOST:dst/', 'local/']);
    expect(result.code, result.out).toBe(0);
    expect(Object.keys(tree(local)).sort()).toEqual(['a.txt', 'b.txt']);
    expect(lastDecision().argv).toContain(`--confine-root=${root}`);
  });

  it('a merge file inside root keeps working', () => {
    writeFileSync(join(root, 'dst', '.rules'), '- b.txt\n');
    expect(rsync('dispatch-rsh', 'pull', ['-a', '--filter=: .rules', 'HOST:dst/', 'local/']).code).toBe(0);
    expect(Object.keys(tree(local)).sort()).toEqual(['.rules', 'a.txt']);
  });
});

describe('--debug leaks', () => {
  beforeEach(() => writeFileSync(join(dir, '.leak'), '- nothing\n'));

  it('control: -M--debug=FILTER4 makes a bare server say which files outside root exist', () => {
    const result = rsync('bare-rsh', 'pull', ['-a', '-M--debug=FILTER4', `--filter=: ${join(dir, '.leak')}`, 'HOST:dst/', 'local/']);
    expect(result.out).toContain(`parse_filter_file(${join(dir, '.leak')}`);
  });

  it.each([['-M--debug=FILTER4'], ['-M--debug=ALL4'], ['-M--debug=NSTR']])(
    '%s is refused before rsync runs, and nothing is said about other files',
    (option) => {
      const result = rsync('dispatch-rsh', 'pull', ['-a', option, `--filter=: ${join(dir, '.leak')}`, 'HOST:dst/', 'local/']);
      expect(result.code).not.toBe(0);
      expect(result.out).not.toContain(dir);
      expect(lastDecision()).toMatchObject({ decision: 'deny', reason: 'rsync-option-refused' });
      expect(tree(local)).toEqual({});
    },
  );
});

describe('no-overwrite: nothing that exists is changed, by any route', () => {
  beforeEach(() => {
    writeFileSync(join(root, 'dst', 'a.txt'), 'original\n');
    mkdirSync(join(src, 'sub'));
    writeFileSync(join(src, 'sub', 'new.txt'), 'new\n');
  });

  it('control: a bare server overwrites', () => {
    rsync('bare-rsh', 'keep', ['-a', 'src/', 'HOST:dst/']);
    expect(readFileSync(join(root, 'dst', 'a.txt'), 'utf8')).toBe('new alpha\n');
  });

  it('a plain push adds new files and leaves the existing one as it was', () => {
    expect(rsync('dispatch-rsh', 'keep', ['-a', 'src/', 'HOST:dst/']).code).toBe(0);
    expect(tree(join(root, 'dst'))).toEqual({ 'a.txt': 'original\n', 'b.txt': 'bravo\n', 'sub/new.txt': 'new\n' });
  });

  it.each([
    [['-b']],
    [['--backup-dir=bk']],
    [['-M--backup-dir=../bk']],
    [['--partial-dir=.p']],
    [['--delay-updates']],
    [['--inplace']],
    [['--append']],
    [['-M--log-file=dst/a.txt']],
    [['--suffix=~', '-b']],
  ])('%j is refused, and no file in root changes', (options) => {
    const before = tree(root);
    const result = rsync('dispatch-rsh', 'keep', ['-a', ...options, 'src/', 'HOST:dst/']);
    expect(result.code).not.toBe(0);
    expect(lastDecision()).toMatchObject({ decision: 'deny', reason: 'rsync-option-refused' });
    expect(tree(root)).toEqual(before);
  });

  it('a name that exists as another type (file for dir, dir for file, symlink for file) is left alone', () => {
    mkdirSync(join(root, 'dst', 'd'));
    writeFileSync(join(root, 'dst', 'd', 'inner'), 'keep\n');
    writeFileSync(join(root, 'dst', 'f'), 'file\n');
    writeFileSync(join(src, 'd'), 'now a file\n');
    mkdirSync(join(src, 'f'));
    writeFileSync(join(src, 'f', 'y'), 'y\n');
    rmSync(join(src, 'a.txt'));
    symlinkSync('/etc/passwd', join(src, 'a.txt'));
    const before = tree(root);
    rsync('dispatch-rsh', 'keep', ['-a', 'src/', 'HOST:dst/']);
    const after = tree(root);
    expect(after).toMatchObject(before);
    expect(after['dst/a.txt']).toBe('original\n');
  });
});

describe('--files-from in write-only mode: the server would read a file and send it as the list', () => {
  it('control: a bare server sends the contents of a file outside root to the client', () => {
    const result = rsync('bare-rsh', 'push', ['-a', `--files-from=:${join(outside, 'secret')}`, 'src/', 'HOST:dst/']);
    expect(result.out).toContain(SECRET);
  });

  it.each([['--files-from=:OUTSIDE/secret'], ['--files-from=:dst/a.txt']])('%s is refused, and the client learns nothing', (option) => {
    const result = rsync('dispatch-rsh', 'push', ['-a', option.replace('OUTSIDE', outside), 'src/', 'HOST:dst/']);
    expect(result.code).not.toBe(0);
    expect(result.out).not.toContain(SECRET);
    expect(result.out).not.toContain('alpha');
    expect(lastDecision()).toMatchObject({ decision: 'deny', reason: 'rsync-option-refused' });
  });

  it('a list the client sends itself (a local --files-from) is how a push works, and does', () => {
    writeFileSync(join(dir, 'list'), 'a.txt\n');
    expect(rsync('dispatch-rsh', 'push', ['-a', `--files-from=${join(dir, 'list')}`, 'src/', 'HOST:dst/']).code).toBe(0);
    expect(readFileSync(join(root, 'dst', 'a.txt'), 'utf8')).toBe('new alpha\n');
  });
});

describe('archive mode with devices and specials: -a means -D', () => {
  beforeEach(() => {
    expect(spawnSync('/usr/bin/mkfifo', [join(src, 'fifo')]).status).toBe(0);
    if (asRoot) expect(spawnSync('/usr/bin/mknod', [join(src, 'null'), 'c', '1', '3']).status).toBe(0);
  });

  it('control: a bare server creates them', () => {
    rsync('bare-rsh', 'push', ['-a', 'src/', 'HOST:dst/']);
    expect(lstatSync(join(root, 'dst', 'fifo')).isFIFO()).toBe(true);
    if (asRoot) expect(lstatSync(join(root, 'dst', 'null')).isCharacterDevice()).toBe(true);
  });

  it('through ssh-dispatch (--drop-D) only the regular files arrive, and the push still succeeds', () => {
    const result = rsync('dispatch-rsh', 'push', ['-a', 'src/', 'HOST:dst/']);
    expect(result.code, result.out).toBe(0);
    expect(lastDecision().argv).toContain('--drop-D');
    expect(existsSync(join(root, 'dst', 'fifo'))).toBe(false);
    expect(existsSync(join(root, 'dst', 'null'))).toBe(false);
    expect(readFileSync(join(root, 'dst', 'a.txt'), 'utf8')).toBe('new alpha\n');
  });

  it('--write-devices and --copy-devices are refused', () => {
    expect(rsync('dispatch-rsh', 'push', ['-a', '--write-devices', 'src/', 'HOST:dst/']).code).not.toBe(0);
    expect(lastDecision()).toMatchObject({ decision: 'deny', reason: 'rsync-option-refused' });
    expect(rsync('dispatch-rsh', 'pull', ['-a', '-M--copy-devices', 'HOST:dst/', 'local/']).code).not.toBe(0);
    expect(lastDecision()).toMatchObject({ decision: 'deny', reason: 'rsync-option-refused' });
  });
});
