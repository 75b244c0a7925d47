/**
 * A stolen key against a receive rule's history (docs/policy.md, "Retention" and "Names"),
 * through the real sshd with `ssh host receive ...`. Each attack has its control:
 *
 * - the flood: N+1 junk uploads under `keep: 3` prune the owner's real upload when the rule has
 *   no window (`keep-within: 0`, a bare count as before windows); with the default window it
 *   survives, and past max-uploads the flood is refused before anything is read, on record;
 * - names: a plain key that stores under the client's name (the bare tool) lets the thief take a
 *   far-future name, which a "newest by name" restore then picks, and the template's next names,
 *   which push the owner's upload to a -1 suffix; the rule refuses every one of them;
 * - a chosen name that is taken is refused, not suffixed.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorizedKeyLine, SSH, type ClientKey } from '../../src/lab/throwaway-sshd.js';
import { renderName } from '../../src/rules/receive/match.js';
import { startLab, type Lab } from './lab.js';
import { waitFor } from './wait.js';

let lab: Lab;
const keys: Record<string, ClientKey> = {};
const dirs: Record<string, string> = {};

beforeAll(async () => {
  lab = await startLab();
  for (const name of ['guarded', 'counted', 'named', 'bare', 'burst', 'swap']) {
    dirs[name] = join(lab.sshd.dir, name);
    mkdirSync(dirs[name]!, { mode: 0o700 });
  }
  lab.writePolicy(`version: 1
audit:
  file: {{AUDIT}}
identities:
  nightly:
    rules:
      - name: dumps
        receive: { dir: ${dirs.guarded}, name: "db-{timestamp}.dump", keep: 3 }
  nightly-count:
    rules:
      - name: dumps-count
        receive: { dir: ${dirs.counted}, name: "db-{timestamp}.dump", keep: 3, keep-within: 0 }
  named:
    rules:
      - name: named
        receive: { dir: ${dirs.named}, name: "db-{timestamp}.dump", client-name: "*.dump" }
  owner-bare:
    rules:
      - name: owner-bare
        receive: { dir: ${dirs.bare}, name: "db-{timestamp}.dump" }
  burst:
    rules:
      - name: burst
        receive: { dir: ${dirs.burst}, name: "b-{timestamp}.bin", keep: 2, keep-within: 1d, max-uploads: 4 }
  swap:
    rules:
      - name: swap
        receive: { dir: ${dirs.swap}, name: "s-{timestamp}.bin", max-bytes: 2MiB, min-free: 1MiB }
`);
  // The bare tool: a plain key whose forced command stores stdin under the name the client gives.
  const bareStore = join(lab.sshd.dir, 'bare-store');
  writeFileSync(bareStore, `#!/bin/sh\nexec cat > ${dirs.bare}/"$SSH_ORIGINAL_COMMAND"\n`, { mode: 0o755 });
  for (const id of ['nightly', 'nightly-count', 'named', 'owner-bare', 'thief-bare', 'burst', 'swap'])
    keys[id] = await lab.sshd.newClientKey(id);
  lab.sshd.authorize([
    ...['nightly', 'nightly-count', 'named', 'owner-bare', 'burst', 'swap'].map((id) => lab.dispatchLine(keys[id]!, id)),
    authorizedKeyLine('restrict', [bareStore], keys['thief-bare']!),
  ]);
}, 60_000);

afterAll(async () => {
  await lab?.stop();
});

const stored = (dir: string) =>
  readdirSync(dir)
    .filter((n) => !n.startsWith('.'))
    .sort();
const temps = (dir: string) => readdirSync(dir).filter((n) => n.startsWith('.'));
const endOf = (session: unknown) => lab.recordsOf(String(session)).find((r) => r.event === 'end')!;
/** What a restore that takes the newest by name gets. */
const newestByName = (dir: string) => stored(dir).at(-1);

/** One upload; its stored name from the receipt, its end record. */
async function upload(id: string, command: string | null, input: Buffer) {
  const result = await lab.sshd.ssh(keys[id]!, command, { input });
  const decision = lab.lastDecision();
  return { result, name: result.stdout.toString().split(' ')[0]!, decision, end: endOf(decision.session) };
}

describe('the flood: keep: 3 and N+1 junk uploads', () => {
  it('control: without a window (keep-within: 0) the junk prunes the real upload, and the record says so', async () => {
    const real = await upload('nightly-count', 'receive', Buffer.from('the real dump'));
    expect(real.result.code, real.result.stderr).toBe(0);
    const removed: string[] = [];
    for (let i = 0; i < 4; i++) {
      const junk = await upload('nightly-count', 'receive', Buffer.from(`junk ${i}`));
      expect(junk.result.code, junk.result.stderr).toBe(0);
      removed.push(...((junk.end.writes as { removed: string[] }).removed ?? []));
    }
    expect(stored(dirs.counted!)).not.toContain(real.name);
    expect(
      stored(dirs.counted!)
        .map((n) => readFileSync(join(dirs.counted!, n), 'utf8'))
        .sort(),
    ).toEqual(['junk 1', 'junk 2', 'junk 3']);
    expect(removed).toContain(real.name);
  }, 60_000);

  it('with the default window the real upload survives; past max-uploads the flood is refused before it is read, on record', async () => {
    const real = await upload('nightly', 'receive', Buffer.from('the real dump'));
    expect(real.result.code, real.result.stderr).toBe(0);
    expect(real.end).toMatchObject({
      outcome: 'stored',
      exit: 0,
      writes: { created: [real.name], created_count: 1, removed: [], bytes: 13 },
    });
    const started = performance.now();
    const accepted: string[] = [];
    let refused: Awaited<ReturnType<typeof upload>> | null = null;
    // A thief sends as many as it is allowed, and one more: 4 MiB, so that reading it would show.
    for (let i = 0; i < 10 && !refused; i++) {
      const junk = await upload('nightly', 'receive', i < 4 ? Buffer.from(`junk ${i}`) : Buffer.alloc(4 * 1024 * 1024, i));
      if (junk.result.code === 0) accepted.push(junk.name);
      else refused = junk;
    }
    const seconds = (performance.now() - started) / 1000;
    // keep: 3 without expect-every: a 3d window and at most 6 uploads within it.
    expect(accepted).toHaveLength(5);
    expect(stored(dirs.guarded!)).toContain(real.name);
    expect(readFileSync(join(dirs.guarded!, real.name), 'utf8')).toBe('the real dump');
    expect(stored(dirs.guarded!)).toHaveLength(6);
    expect(refused!.result.code).toBe(1);
    expect(refused!.result.stderr).toContain('max-uploads is 6');
    expect(refused!.end).toMatchObject({
      outcome: 'flood',
      exit: 1,
      bytes: 0,
      writes: { created: [], created_count: 0, removed_count: 0, bytes: 0 },
    });
    expect(temps(dirs.guarded!)).toEqual([]);
    console.info(`flood: ${accepted.length} junk uploads stored and the next refused in ${seconds.toFixed(1)} s; the real upload kept`);
  }, 120_000);
});

describe('names: far-future and the template next names', () => {
  // The names a thief plants ahead of the owner: this second's and the next 20 seconds'.
  const soon = () => Array.from({ length: 21 }, (_, i) => renderName('db-{timestamp}.dump', new Date(Date.now() + i * 1000), 'x'));
  const far = 'db-9999-12-31-235959.dump';

  it('control: a plain key storing under the client name lets the thief take them; the owner is pushed to -1 and a newest-by-name restore gets the thief', async () => {
    const names = [far, ...soon()];
    const planted = await Promise.all(names.map((name) => lab.sshd.ssh(keys['thief-bare']!, name, { input: Buffer.from('thief') })));
    expect(planted.map((r) => r.code)).toEqual(names.map(() => 0));
    const owner = await upload('owner-bare', 'receive', Buffer.from('owner'));
    expect(owner.result.code, owner.result.stderr).toBe(0);
    expect(owner.name).toMatch(/^db-[0-9-]+-1\.dump$/);
    expect(readFileSync(join(dirs.bare!, owner.name.replace('-1.dump', '.dump')), 'utf8')).toBe('thief');
    expect(readFileSync(join(dirs.bare!, newestByName(dirs.bare!)!), 'utf8')).toBe('thief');
  }, 60_000);

  it('the rule refuses every one of them before reading; the owner keeps the plain name and the newest name', async () => {
    const names = [far, 'db-99999-01-01-000000.dump', 'db-2026.dump', ...soon()];
    const denied = () =>
      lab.records().filter((r) => r.event === 'decision' && r.id === 'named' && r.reason === 'receive-name-reserved').length;
    const before = denied();
    const results = await Promise.all(names.map((name) => lab.sshd.ssh(keys.named!, `receive ${name}`, { input: Buffer.from('thief') })));
    expect(results.map((r) => r.code)).toEqual(names.map(() => 126));
    expect(denied() - before).toBe(names.length);
    expect(stored(dirs.named!)).toEqual([]);
    const owner = await upload('named', 'receive', Buffer.from('owner'));
    expect(owner.result.code, owner.result.stderr).toBe(0);
    expect(owner.name).toMatch(/^db-[0-9]{4}-[0-9]{2}-[0-9]{2}-[0-9]{6}\.dump$/);
    expect(newestByName(dirs.named!)).toBe(owner.name);
    // A name apart from the template's is the client's to choose.
    const manual = await upload('named', 'receive manual.dump', Buffer.from('manual'));
    expect(manual.result.code, manual.result.stderr).toBe(0);
    expect(manual.name).toBe('manual.dump');
  }, 120_000);

  it("the template's own names keep their same-second -1 suffix", async () => {
    // Earlier uploads of this second and the next 20 (put there directly: the rule gives those names).
    const taken = soon();
    for (const name of taken) writeFileSync(join(dirs.named!, name), 'earlier');
    const next = await upload('named', 'receive', Buffer.from('same second'));
    expect(next.result.code, next.result.stderr).toBe(0);
    expect(taken).toContain(next.name.replace(/-1\.dump$/, '.dump'));
    expect(next.name).toMatch(/-1\.dump$/);
    expect(readFileSync(join(dirs.named!, next.name), 'utf8')).toBe('same second');
  }, 60_000);

  it('a chosen name that is taken is refused, not suffixed, before anything is read', async () => {
    const before = statSync(join(dirs.named!, 'manual.dump'));
    const again = await upload('named', 'receive manual.dump', Buffer.alloc(1024 * 1024, 7));
    expect(again.result.code).toBe(1);
    expect(again.result.stderr).toContain('manual.dump is taken');
    expect(again.end).toMatchObject({ outcome: 'name-taken', exit: 1, bytes: 0, writes: { created: [] } });
    expect(readFileSync(join(dirs.named!, 'manual.dump'), 'utf8')).toBe('manual');
    expect(statSync(join(dirs.named!, 'manual.dump')).ino).toBe(before.ino);
    expect(stored(dirs.named!).filter((n) => n.startsWith('manual'))).toEqual(['manual.dump']);
    expect(temps(dirs.named!)).toEqual([]);
  }, 60_000);
});

describe('the cap under concurrent uploads', () => {
  it('12 uploads at once against max-uploads: 4 store at most 4; the rest end as floods on record', async () => {
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => lab.sshd.ssh(keys.burst!, 'receive', { input: Buffer.from(`burst ${i}`) })),
    );
    const ok = results.filter((r) => r.code === 0).length;
    const ends = lab.records().filter((r) => r.event === 'end' && r.rule === 'burst');
    expect(ends).toHaveLength(12);
    expect(ok).toBeGreaterThanOrEqual(1);
    expect(ok).toBeLessThanOrEqual(4);
    expect(stored(dirs.burst!)).toHaveLength(ok);
    expect(ends.filter((r) => r.outcome === 'flood')).toHaveLength(12 - ok);
    expect(results.filter((r) => r.code !== 0).map((r) => r.code)).toEqual(Array(12 - ok).fill(1));
    expect(temps(dirs.burst!)).toEqual([]);
    console.info(`burst: ${ok} of 12 concurrent uploads stored under max-uploads: 4`);
  }, 60_000);
});

describe("the receiver's cleanup removes only the inode it wrote", () => {
  /** An upload held open: 1 MiB sent, its temp file found; `finish` sends 2 MiB more (past max-bytes) and ends. */
  async function heldUpload() {
    const known = new Set(temps(dirs.swap!));
    const client = spawn(SSH, [...lab.sshd.sshArgs(keys.swap!), 'receive'], { stdio: ['pipe', 'ignore', 'pipe'] });
    const closed = new Promise<number | null>((r) => client.once('close', (code) => r(code)));
    client.stdin.on('error', () => {});
    client.stdin.write(Buffer.alloc(1024 * 1024, 1));
    const temp = await waitFor('the upload temp file to hold data', () =>
      temps(dirs.swap!).find((name) => {
        try {
          return !known.has(name) && statSync(join(dirs.swap!, name)).size > 0;
        } catch {
          return false;
        }
      }),
    );
    return {
      path: join(dirs.swap!, temp),
      finish: async () => {
        client.stdin.end(Buffer.alloc(2 * 1024 * 1024, 2));
        return closed;
      },
    };
  }

  it('control: its own temp file, moved away and back, is removed when the upload fails', async () => {
    const held = await heldUpload();
    renameSync(held.path, `${held.path}.away`);
    renameSync(`${held.path}.away`, held.path);
    expect(await held.finish()).toBe(1);
    await waitFor('the end record', () => lab.records().filter((r) => r.event === 'end' && r.rule === 'swap').length === 1);
    expect(existsSync(held.path)).toBe(false);
  }, 60_000);

  it('another file put under its temp name survives the failed upload; its own inode is not published', async () => {
    const held = await heldUpload();
    renameSync(held.path, join(dirs.swap!, 'moved-away.bin'));
    writeFileSync(held.path, "the owner's file");
    expect(await held.finish()).toBe(1);
    const end = await waitFor('the end record', () => lab.records().filter((r) => r.event === 'end' && r.rule === 'swap')[1]);
    expect(end).toMatchObject({ outcome: 'too-large', writes: { created: [] } });
    expect(readFileSync(held.path, 'utf8')).toBe("the owner's file");
    expect(stored(dirs.swap!).filter((n) => n.startsWith('s-'))).toEqual([]);
  }, 60_000);
});
