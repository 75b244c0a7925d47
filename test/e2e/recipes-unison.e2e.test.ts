/**
 * unison (docs/recipes.md, "unison"), with the real unison through a real sshd: the client sends
 * `unison -server __new-rpc-mode` (2.52; a pattern without the last word refuses it), which an
 * exec rule serves in a sandbox where one directory (and unison's archive directory) is writable.
 * The owner's sync goes both ways; a thief's sync of another directory on the server reads
 * nothing of it and writes nothing there (unison "succeeds" into the sandbox's throwaway files). The control: the same rule without the sandbox syncs
 * that directory into the thief's hands.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientKey } from '../../src/lab/throwaway-sshd.js';
import { startLab, type Lab } from './lab.js';
import { clientEnv, runTool, sshCommand } from './tool-clients.js';

let lab: Lab;
let srv: string;
let local: string;
const keys = {} as Record<'unison' | 'bare' | 'old', ClientKey>;
const path = (...parts: string[]) => join(srv, ...parts);

beforeAll(async () => {
  lab = await startLab();
  srv = join(lab.sshd.dir, 'srv', 'unison');
  local = join(lab.sshd.dir, 'local');
  for (const dir of ['host1', 'state-host1', 'other']) mkdirSync(path(dir), { recursive: true, mode: 0o700 });
  writeFileSync(path('other', 'private.txt'), 'not for this key\n');
  // The same mode on both roots, so that the first sync has no conflict over the roots' own properties.
  mkdirSync(join(local, 'mine'), { recursive: true, mode: 0o700 });
  writeFileSync(join(local, 'mine', 'notes.txt'), 'from the laptop\n');
  const rule = (name: string, pattern: string, sandbox: boolean) => `      - name: ${name}
        exec:
          command: [${pattern}]
          program: /usr/bin/unison
          env: { HOME: ${path('state-host1')}, UNISON: ${path('state-host1')} }
${sandbox ? `          sandbox: { write: [${path('host1')}, ${path('state-host1')}] }\n` : ''}`;
  lab.writePolicy(`version: 1
audit:
  file: {{AUDIT}}
identities:
  unison:
    rules:
${rule('unison', 'unison, -server, __new-rpc-mode', true)}  bare:
    rules:
${rule('unison', 'unison, -server, __new-rpc-mode', false)}  old:
    rules:
${rule('unison', 'unison, -server', true)}`);
  for (const id of ['unison', 'bare', 'old'] as const) keys[id] = await lab.sshd.newClientKey(id);
  lab.sshd.authorize((['unison', 'bare', 'old'] as const).map((id) => lab.dispatchLine(keys[id], id)));
}, 30_000);

afterAll(() => lab?.stop());

/** `unison -batch LOCAL ssh://HOST/REMOTE`, the key's options as -sshargs, the client's own archive in the lab. */
function unison(key: ClientKey, localDir: string, remote: string): { code: number | null; out: string } {
  const { command, host } = sshCommand(lab.sshd, key);
  const [ssh, ...options] = command.split(' ');
  return runTool(
    '/usr/bin/unison',
    ['-batch', '-sshcmd', ssh!, '-sshargs', options.join(' '), localDir, `ssh://${host}/${remote}`],
    clientEnv(local, { UNISON: join(local, `.unison-${key.name}`) }),
    local,
  );
}

describe('unison -server __new-rpc-mode through an exec rule, sandboxed to one directory', () => {
  it('the owner syncs both ways', () => {
    const first = unison(keys.unison, join(local, 'mine'), path('host1'));
    expect(first.code, first.out).toBe(0);
    expect(readFileSync(path('host1', 'notes.txt'), 'utf8')).toBe('from the laptop\n');
    expect(lab.lastDecision()).toMatchObject({ decision: 'allow', rule: 'unison', argv: ['/usr/bin/unison', '-server', '__new-rpc-mode'] });
    writeFileSync(path('host1', 'server.txt'), 'from the server\n');
    const second = unison(keys.unison, join(local, 'mine'), path('host1'));
    expect(second.code, second.out).toBe(0);
    expect(readFileSync(join(local, 'mine', 'server.txt'), 'utf8')).toBe('from the server\n');
  }, 40_000);

  it('a pattern without __new-rpc-mode refuses unison 2.52', () => {
    const result = unison(keys.old, join(local, 'mine'), path('host1'));
    expect(result.code, result.out).not.toBe(0);
    expect(lab.lastDecision()).toMatchObject({ id: 'old', decision: 'deny', reason: 'no-rule-matched' });
  }, 30_000);

  it('a thief syncing another directory reads nothing of it and leaves it as it was; without the sandbox it gets it (control)', () => {
    const loot = join(local, 'loot');
    mkdirSync(loot);
    writeFileSync(join(loot, 'planted.txt'), 'planted\n');
    // In the sandbox that directory does not exist: unison creates it in the sandbox's throwaway
    // filesystem and exits 0, and nothing of it reaches the server's disk.
    const thief = unison(keys.unison, loot, path('other'));
    expect(thief.code, thief.out).toBe(0);
    expect(lab.lastDecision()).toMatchObject({ id: 'unison', decision: 'allow' });
    expect(existsSync(join(loot, 'private.txt'))).toBe(false);
    expect(existsSync(path('other', 'planted.txt'))).toBe(false);
    expect(readFileSync(path('other', 'private.txt'), 'utf8')).toBe('not for this key\n');

    const control = join(local, 'loot-control');
    mkdirSync(control);
    // unison exits 1 (the two roots' modes differ, a skipped conflict); the file came across.
    const result = unison(keys.bare, control, path('other'));
    expect(readFileSync(join(control, 'private.txt'), 'utf8'), result.out).toBe('not for this key\n');
  }, 40_000);
});
