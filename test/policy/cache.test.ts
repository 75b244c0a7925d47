/**
 * The compiled policy cache: found only for exactly the files it was made from, trusted only
 * like the policy itself, and equal to what parsing gives.
 */
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CACHE_DIR_NAME } from '../../src/policy/cache.js';
import { loadLogins, loadPolicy } from '../../src/policy/load.js';

let dir: string;
const policy = (extra = '') => `version: 1
identities:
  a:
    from: [192.0.2.0/24, "2001:db8::/32"]
    rules:
      - name: t
        exec: { command: "/bin/true" }
  b:
    rules:
      - name: r
        rsync: { root: /srv, access: read }
      - name: hop
        relay: { to: ["10.0.0.0/24:22", "db.internal:5432", "[2001:db8::/64]:22"] }
      - name: up
        receive: { dir: /srv/up, name: "u-{timestamp}.bin", keep: 3 }
${extra}`;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ssh-dispatch-cache-'));
  writeFileSync(join(dir, 'main.yaml'), policy(), { mode: 0o600 });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const load = (identity = 'a') => loadPolicy(dir, { identity, writeCache: true });

describe('the compiled policy cache', () => {
  it('is written on the first load and read on the next, equal to the parsed policy', async () => {
    const first = await load();
    expect(first.ok && first.cache).toBe('written');
    const second = await load();
    expect(second.ok && second.cache).toBe('hit');
    if (!first.ok || !second.ok) return;
    expect(second.policy.identities.get('a')).toEqual(first.policy.identities.get('a'));
    expect(second.policy.identities.get('a')!.from![0]!.bytes).toBeInstanceOf(Uint8Array);
    expect(second.policy.audit).toEqual(first.policy.audit);
  });

  it('gives every rule kind back exactly as parsed, address ranges included (found by the relay e2e test)', async () => {
    const parsed = await loadPolicy(dir);
    await load('b');
    const hit = await load('b');
    expect(hit.ok && hit.cache).toBe('hit');
    if (!parsed.ok || !hit.ok) return;
    expect(hit.policy.identities.get('b')).toEqual(parsed.policy.identities.get('b'));
    const relay = hit.policy.identities.get('b')!.rules[1]!;
    expect(relay.kind === 'relay' && relay.to[0]!.range!.bytes).toBeInstanceOf(Uint8Array);
  });

  it('holds only the identity asked for', async () => {
    await load();
    const hit = await load('b');
    expect(hit.ok && hit.cache).toBe('hit');
    expect(hit.ok && [...hit.policy.identities.keys()]).toEqual(['b']);
  });

  it('knows an identity the policy lacks', async () => {
    await load();
    const hit = await load('nobody');
    expect(hit.ok && hit.cache).toBe('hit');
    expect(hit.ok && hit.policy.identities.size).toBe(0);
  });

  it('is not found after an edit, and the old one is removed', async () => {
    await load();
    writeFileSync(join(dir, 'main.yaml'), policy('  c:\n    rules: []\n'));
    const after = await load('c');
    expect(after.ok && after.cache).toBe('written');
    expect(after.ok && after.policy.identities.has('c')).toBe(true);
    expect(readdirSync(join(dir, CACHE_DIR_NAME))).toHaveLength(1);
  });

  it('is not found after an edit that keeps size and mtime (ctime still changes)', async () => {
    await load();
    writeFileSync(join(dir, 'main.yaml'), policy().replace('/bin/true', '/bin/fals'));
    utimesSync(join(dir, 'main.yaml'), new Date(0), new Date(0));
    const after = await load();
    expect(after.ok && after.cache).toBe('written');
    expect(after.ok && after.policy.identities.get('a')!.rules[0]).toMatchObject({ program: '/bin/fals' });
  });

  it('is not found after a new file appears', async () => {
    await load();
    writeFileSync(join(dir, 'more.yaml'), 'version: 1\nidentities:\n  d:\n    rules: []\n', { mode: 0o600 });
    const after = await load('d');
    expect(after.ok && after.policy.identities.has('d')).toBe(true);
  });

  it('does not bypass the policy file checks', async () => {
    await load();
    chmodSync(join(dir, 'main.yaml'), 0o666);
    const after = await load();
    expect(after.ok).toBe(false);
  });

  it('is ignored when its files are writable by others', async () => {
    const first = await load();
    expect(first.ok && first.cache).toBe('written');
    const [key] = readdirSync(join(dir, CACHE_DIR_NAME));
    chmodSync(join(dir, CACHE_DIR_NAME, key!, 'id', 'a.json'), 0o666);
    const after = await loadPolicy(dir, { identity: 'a' });
    expect(after.ok && after.cache).toBe('not used');
  });

  it('is never consulted for an --id that is not a valid name', async () => {
    await load();
    const odd = await load('../meta');
    expect(odd.ok && odd.cache).toBe('not used');
    expect(odd.ok && odd.policy.identities.size).toBe(0);
  });

  it('is not written when parsing only (explain)', async () => {
    const parsed = await loadPolicy(dir);
    expect(parsed.ok && parsed.cache).toBe('not used');
    expect(existsSync(join(dir, CACHE_DIR_NAME))).toBe(false);
  });
});

describe('the login index in the cache (authorized-keys-command)', () => {
  const BY_KEY = { account: 'backup', fingerprint: 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s' };
  const withLogins = () =>
    writeFileSync(
      join(dir, 'main.yaml'),
      policy('  c:\n    keys: ["SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s"]\n    accounts: [backup]\n    rules: []\n'),
      { mode: 0o600 },
    );

  it("is read from the cache a connection wrote, equal to the parsed policy's", async () => {
    withLogins();
    const first = await loadLogins(dir, BY_KEY);
    expect(first).toMatchObject({
      ok: true,
      logins: { backup: [{ identity: 'c', from: null, keys: ['SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s'], principals: null }] },
    });
    const [key] = readdirSync(join(dir, CACHE_DIR_NAME));
    expect(
      existsSync(join(dir, CACHE_DIR_NAME, key!, 'logins', 'backup', 'keys', 'uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s.json')),
    ).toBe(true);
    // The YAML is unreadable now: only the cache can answer.
    chmodSync(join(dir, 'main.yaml'), 0o000);
    const second = await loadLogins(dir, BY_KEY, { uid: 0 });
    expect(second).toEqual(first);
    // One file per account and key: another account, or another key, reads only that it has none.
    expect(await loadLogins(dir, { ...BY_KEY, account: 'www-data' }, { uid: 0 })).toEqual({ ok: true, logins: {} });
    expect(await loadLogins(dir, { ...BY_KEY, fingerprint: 'SHA256:zzzzztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s' }, { uid: 0 })).toEqual({
      ok: true,
      logins: {},
    });
    expect(await loadLogins(dir, { account: 'backup', principals: true }, { uid: 0 })).toEqual({ ok: true, logins: {} });
  });

  it('is not trusted when others may write it', async () => {
    withLogins();
    await loadLogins(dir, BY_KEY);
    const [key] = readdirSync(join(dir, CACHE_DIR_NAME));
    const file = join(dir, CACHE_DIR_NAME, key!, 'logins', 'backup', 'keys', 'uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s.json');
    chmodSync(file, 0o666);
    writeFileSync(file, '[{"identity":"evil","from":null,"expires":null,"keys":null,"principals":["x"]}]');
    const again = await loadLogins(dir, BY_KEY);
    expect(again).toMatchObject({ ok: true, logins: { backup: [{ identity: 'c' }] } });
  });

  it('--approved reads the approved entry, not the files', async () => {
    withLogins();
    const loaded = await loadPolicy(dir, { writeCache: true });
    if (!loaded.ok || !loaded.approve) throw new Error('not written');
    expect(loaded.approve()).toBe('approved');
    writeFileSync(join(dir, 'main.yaml'), policy(), { mode: 0o600 });
    expect(await loadLogins(dir, BY_KEY, { approved: true })).toMatchObject({ ok: true, logins: { backup: [{ identity: 'c' }] } });
    expect(await loadLogins(dir, BY_KEY)).toMatchObject({ ok: true, logins: {} });
  });
});

describe('review fixes (issue 19)', () => {
  it('--approved serves each policy its own approval: two files side by side are approved apart', async () => {
    const a = join(dir, 'a.yml');
    const b = join(dir, 'b.yml');
    writeFileSync(a, 'version: 1\nidentities:\n  ida:\n    rules: []\n', { mode: 0o600 });
    writeFileSync(b, 'version: 1\nidentities:\n  idb:\n    rules: []\n', { mode: 0o600 });
    const loadedA = await loadPolicy(a, { writeCache: true });
    if (!loadedA.ok || !loadedA.approve) throw new Error('not written');
    expect(loadedA.approve()).toBe('approved');
    // b was never approved: its --approved keys get no policy, not a's.
    expect(await loadPolicy(b, { identity: 'ida', approved: true })).toMatchObject({ ok: false });
    expect(await loadLogins(b, { account: 'backup', principals: true }, { approved: true })).toMatchObject({ ok: false });
    expect(await loadPolicy(a, { identity: 'ida', approved: true })).toMatchObject({ ok: true, cache: 'hit' });
    const loadedB = await loadPolicy(b, { writeCache: true });
    if (!loadedB.ok || !loadedB.approve) throw new Error('not written');
    expect(loadedB.approve()).toBe('approved');
    // Both approvals stand, each for its own file, whichever was written last.
    expect((await loadPolicy(a, { identity: 'ida', approved: true })).ok).toBe(true);
    expect(await loadPolicy(b, { identity: 'idb', approved: true })).toMatchObject({
      ok: true,
      policy: { identities: new Map([['idb', expect.anything()]]) },
    });
  });

  it.each([
    ['a policy others may read: so may they its cache', 0o644, 0o644, 0o755],
    ["a policy only its group may read: the cache too, with the policy file's group", 0o640, 0o640, 0o750],
    ['a policy only root reads: nobody else reads its cache', 0o600, 0o600, 0o700],
  ])('%s', async (_name, policyMode, fileMode, dirMode) => {
    chmodSync(join(dir, 'main.yaml'), policyMode);
    const loaded = await loadPolicy(dir, { writeCache: true });
    expect(loaded).toMatchObject({ ok: true, cache: 'written' });
    const [key] = readdirSync(join(dir, CACHE_DIR_NAME)).filter((name) => /^[0-9a-f]+$/.test(name));
    const entry = join(dir, CACHE_DIR_NAME, key!);
    expect(statSync(entry).mode & 0o777).toBe(dirMode);
    expect(statSync(join(entry, 'id')).mode & 0o777).toBe(dirMode);
    expect(statSync(join(entry, 'logins')).mode & 0o777).toBe(dirMode);
    for (const file of ['meta.json', 'id/a.json']) expect(statSync(join(entry, file)).mode & 0o777).toBe(fileMode);
    expect(statSync(join(entry, 'meta.json')).gid).toBe(statSync(join(dir, 'main.yaml')).gid);
    // And it is read back.
    expect(await loadPolicy(dir, { identity: 'a' })).toMatchObject({ ok: true, cache: 'hit' });
  });
});

describe('second review (issue 19)', () => {
  it('a hardened umask (077) still leaves the cache root and the approved pointer readable by other accounts', async () => {
    const before = process.umask(0o077);
    try {
      chmodSync(join(dir, 'main.yaml'), 0o644);
      const loaded = await loadPolicy(dir, { writeCache: true });
      if (!loaded.ok || !loaded.approve) throw new Error('not written');
      expect(loaded.approve()).toBe('approved');
    } finally {
      process.umask(before);
    }
    const root = join(dir, CACHE_DIR_NAME);
    expect(statSync(root).mode & 0o777).toBe(0o755);
    const pointer = readdirSync(root).find((name) => name.startsWith('approved.'))!;
    expect(statSync(join(root, pointer)).mode & 0o777).toBe(0o644);
    const [entry] = readdirSync(root).filter((name) => /^[0-9a-f]+$/.test(name));
    expect(statSync(join(root, entry!, 'meta.json')).mode & 0o777).toBe(0o644);
  });

  it('a cache root made 0750 by an earlier run is repaired', async () => {
    await loadPolicy(dir, { writeCache: true });
    chmodSync(join(dir, CACHE_DIR_NAME), 0o750);
    writeFileSync(join(dir, 'main.yaml'), policy('  z:\n    rules: []\n'), { mode: 0o600 });
    await loadPolicy(dir, { writeCache: true });
    expect(statSync(join(dir, CACHE_DIR_NAME)).mode & 0o777).toBe(0o755);
  });

  it("two policy files side by side: neither evicts the other's entry, nor lends it its audit settings", async () => {
    const a = join(dir, 'a.yml');
    const b = join(dir, 'b.yml');
    writeFileSync(a, 'version: 1\naudit: { file: /var/log/A.jsonl }\nidentities:\n  ida:\n    rules: []\n', { mode: 0o600 });
    writeFileSync(b, 'version: 1\naudit: { file: /var/log/B.jsonl }\nidentities:\n  idb:\n    rules: []\n', { mode: 0o600 });
    await loadPolicy(a, { writeCache: true });
    await loadPolicy(b, { writeCache: true });
    expect(await loadPolicy(a, { identity: 'ida' })).toMatchObject({ ok: true, cache: 'hit' });
    // a breaks: its refusals go where a's last good version said, not b's.
    writeFileSync(a, 'version: 1\nidentities:\n  ida:\n    form: []\n', { mode: 0o600 });
    expect(await loadPolicy(a, { identity: 'ida' })).toMatchObject({ ok: false, lastAudit: { file: '/var/log/A.jsonl' } });
  });
});
