/**
 * The launcher's compile cache: V8 code is code, so it is used only from a directory as trusted
 * as ssh-dispatch itself, one per account. Node says what it does with its cache when
 * NODE_DEBUG_NATIVE=COMPILE_CACHE is set; these tests read that.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BUNDLE, NODE } from './lab.js';

let dir: string;
const uid = process.getuid!();

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ssh-dispatch-launcher-'));
  copyFileSync(BUNDLE, join(dir, 'ssh-dispatch.cjs'));
  copyFileSync(BUNDLE.replace(/ssh-dispatch\.cjs$/, 'ssh-dispatch-core.cjs'), join(dir, 'ssh-dispatch-core.cjs'));
  copyFileSync(BUNDLE.replace(/ssh-dispatch\.cjs$/, 'ssh-dispatch-serve.cjs'), join(dir, 'ssh-dispatch-serve.cjs'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function help(): string {
  const result = spawnSync(NODE, [join(dir, 'ssh-dispatch.cjs'), '--help'], {
    encoding: 'utf8',
    env: { PATH: '/usr/bin:/bin', NODE_DEBUG_NATIVE: 'COMPILE_CACHE' },
  });
  expect(result.status, result.stderr).toBe(0);
  return result.stderr;
}

/** What an installer (or, for root, the launcher itself) makes. */
function ownCacheDir(): string {
  const own = join(dir, '.compile-cache', String(uid));
  mkdirSync(own, { recursive: true, mode: 0o700 });
  chmodSync(join(dir, '.compile-cache'), 0o755);
  return own;
}

describe('the compile cache', () => {
  it('is used from the account’s own directory, and read back on the next start', () => {
    const own = ownCacheDir();
    expect(help()).toContain(`creating cache directory ${own}/`);
    expect(help()).toMatch(new RegExp(`reading cache from ${own}/.*success`));
  });

  it('is created by the launcher for root', () => {
    if (uid !== 0) return expect(help()).not.toContain('[compile cache]');
    expect(help()).toContain(`creating cache directory ${join(dir, '.compile-cache', '0')}/`);
  });

  it.each([
    ['the account’s directory is writable by others', (own: string) => chmodSync(own, 0o777)],
    ['the account’s directory is writable by its group', (own: string) => chmodSync(own, 0o770)],
    ['the parent is writable by others', () => chmodSync(join(dir, '.compile-cache'), 0o777)],
  ])('is not used when %s', (_what, spoil) => {
    spoil(ownCacheDir());
    expect(help()).not.toContain('[compile cache]');
  });
});

/** The pids whose process group is `pgid`, read from /proc. */
function processGroup(pgid: number): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(name)) continue;
    try {
      // pid (comm) state ppid pgrp ...: comm may hold spaces, so read after its last ")".
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]) === pgid) pids.push(Number(name));
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}

describe('the log-review commands', () => {
  it('logs --follow is one process (Node replaced by execve with the smaller young generation): SIGTERM ends it and leaves nothing running', async () => {
    const log = join(dir, 'audit.jsonl');
    writeFileSync(
      log,
      `${JSON.stringify({ ts: '2026-01-01T00:00:00.000Z', event: 'decision', session: '0123456789abcdef', id: 'h1', decision: 'deny', reason: 'no-rule-matched', command: 'x' })}\n`,
    );
    // A process group of its own, as a shell gives a job: whatever the launcher starts is in it.
    const child = spawn(NODE, [join(dir, 'ssh-dispatch.cjs'), 'logs', '--follow', '--log', log], {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: '/usr/bin:/bin' },
    });
    const pid = child.pid!;
    try {
      let out = '';
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          if (out.includes('no-rule-matched')) resolve();
        });
        child.on('exit', (code) => reject(new Error(`exited early (${code})`)));
      });
      expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')).toContain('--max-semi-space-size=4');
      expect(processGroup(pid)).toEqual([pid]);
      const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
      process.kill(pid, 'SIGTERM');
      expect(await exited).toBe('SIGTERM');
      expect(processGroup(pid)).toEqual([]);
    } finally {
      for (const left of processGroup(pid)) process.kill(left, 'SIGKILL');
    }
  });
});

describe('the serve bundle’s code cache (made after a run: src/code-cache.ts)', () => {
  beforeEach(() => {
    mkdirSync(join(dir, 'policies'), { mode: 0o755 });
    chmodSync(join(dir, 'policies'), 0o755);
    writeFileSync(
      join(dir, 'policies', 'p.yaml'),
      `version: 1\naudit: { file: ${join(dir, 'audit.jsonl')} }\nidentities:\n  t:\n    rules:\n      - { name: t, exec: { command: "true", program: /bin/true, supervise: false } }\n`,
      { mode: 0o644 },
    );
    // Applied by this copy of the build: keys serve only an applied policy, compiled by their own build.
    admin('apply');
  });

  function admin(command: string): void {
    const result = spawnSync(NODE, [join(dir, 'ssh-dispatch.cjs'), command, '--policy', join(dir, 'policies')], { encoding: 'utf8' });
    expect(result.status, result.stdout + result.stderr).toBe(0);
  }

  /** A forced-command request for `true`, allowed and execve'd, in `dir`'s own policy. */
  function allowTrue(): { status: number | null; stderr: string } {
    const policy = join(dir, 'policies');
    const result = spawnSync(NODE, [join(dir, 'ssh-dispatch.cjs'), '--id', 't', '--policy', policy], {
      encoding: 'utf8',
      env: { PATH: '/usr/bin:/bin', SSH_ORIGINAL_COMMAND: 'true', SSH_CONNECTION: '127.0.0.1 50000 127.0.0.1 22' },
    });
    return { status: result.status, stderr: result.stderr };
  }
  const caches = (own: string) => readdirSync(own).filter((name) => name.endsWith('.v8cache'));

  it('is written by the first run that read no YAML, before execve, keyed by the bundle’s content, and then only read', () => {
    const own = ownCacheDir();
    // A run that parses YAML makes no model for the cache: with the applied version's compiled
    // form gone (another build's, after an upgrade), it compiles the version's own files.
    const state = join(dir, 'policies', '.ssh-dispatch-applied');
    for (const hash of readdirSync(state)) rmSync(join(state, hash, 'v', '1', 'compiled'), { recursive: true });
    expect(allowTrue().status).toBe(0);
    expect(caches(own)).toEqual([]);
    admin('reapply');
    expect(allowTrue().status).toBe(0);
    const key = /^\/\* code-cache-key: ([0-9a-f]+) \*\//.exec(readFileSync(join(dir, 'ssh-dispatch-serve.cjs'), 'utf8'))![1]!;
    const [name] = caches(own);
    expect(name).toMatch(
      new RegExp(
        `^ssh-dispatch-serve\\.forced\\.${key}\\.[0-9a-z]+-[0-9a-z]+\\.${process.version.replaceAll('.', '\\.')}-${process.arch}\\.v8cache$`,
      ),
    );
    const written = readFileSync(join(own, caches(own)[0]!));
    expect(allowTrue().status).toBe(0);
    expect(readFileSync(join(own, caches(own)[0]!)).equals(written)).toBe(true);
  });

  it('one V8 rejects is replaced, and the request is served all the same', () => {
    const own = ownCacheDir();
    allowTrue();
    allowTrue();
    const [name] = caches(own);
    writeFileSync(join(own, name!), 'not a code cache');
    const result = allowTrue();
    expect(result.status, result.stderr).toBe(0);
    expect(readFileSync(join(own, name!)).length).toBeGreaterThan(1000);
  });

  it('one damaged past its header is replaced, and the request is served all the same (V8 checks no checksum: it was exit 133 for every later start)', () => {
    const own = ownCacheDir();
    allowTrue();
    allowTrue();
    const [name] = caches(own);
    const file = join(own, name!);
    const written = readFileSync(file);
    const damaged = Buffer.from(written);
    for (let i = 5000; i < 5064; i++) damaged[i]! ^= 0xff;
    writeFileSync(file, damaged);
    const result = allowTrue();
    expect(result.status, result.stderr).toBe(0);
    expect(readFileSync(file).equals(damaged)).toBe(false);
    expect(allowTrue().status).toBe(0);
  });

  /** A refused request (the policy has no rule for it); the client's line says which code refused it. */
  function refused(): { status: number | null; stderr: string } {
    const result = spawnSync(NODE, [join(dir, 'ssh-dispatch.cjs'), '--id', 't', '--policy', join(dir, 'policies')], {
      encoding: 'utf8',
      env: { PATH: '/usr/bin:/bin', SSH_ORIGINAL_COMMAND: 'false', SSH_CONNECTION: '127.0.0.1 50000 127.0.0.1 22' },
    });
    return { status: result.status, stderr: result.stderr };
  }

  it('made before an edit of the bundle that keeps its length and key line is not run: the edited code is', () => {
    const own = ownCacheDir();
    expect(refused().stderr).toContain("refused by the server's policy");
    expect(caches(own)).toHaveLength(1);
    // The control: the cache made by a refusal is read, and the line is the same.
    expect(refused().stderr).toContain("refused by the server's policy");
    // A fix patched in by hand, one word of the same length: V8 checks only the source's length.
    const serve = join(dir, 'ssh-dispatch-serve.cjs');
    const text = readFileSync(serve, 'utf8');
    expect(text).toContain("refused by the server's policy (session");
    writeFileSync(serve, text.replace("refused by the server's policy (session", "REFUSED by the server's policy (session"));
    const result = refused();
    expect(result.status).toBe(126);
    expect(result.stderr).toContain('REFUSED by');
  });

  it('is not used in a directory others may write', () => {
    const own = ownCacheDir();
    chmodSync(own, 0o777);
    allowTrue();
    expect(allowTrue().status).toBe(0);
    expect(caches(own)).toEqual([]);
  });
});
