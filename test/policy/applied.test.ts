/**
 * Keys serve the applied version (issue 27): never the files as they are now. Each attack on the
 * files (a typo, a chmod g+w slip, a new file) is shown against loadPolicy (the control: the
 * files as they are do not load, or say something else) and against loadServed (what keys get:
 * the applied version, unchanged). The compiled entry is trusted only like the policy itself,
 * and any doubt about it falls back to the version's own sources, never to the files.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadLogins, loadPolicy, loadServed } from '../../src/policy/load.js';
import { applyFiles, compiledEntry, stateDir } from './apply-fixture.js';

const FINGERPRINT = 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s';
let dir: string;
const policy = (extra = '') => `version: 1
identities:
  a:
    from: [192.0.2.0/24, "2001:db8::/32"]
    rules:
      - name: t
        exec: { command: "/bin/true" }
  b:
    keys: ["${FINGERPRINT}"]
    accounts: [backup]
    rules:
      - name: r
        rsync: { root: /srv, access: read }
      - name: hop
        relay: { to: ["10.0.0.0/24:22", "db.internal:5432", "[2001:db8::/64]:22"] }
      - name: up
        receive: { dir: /srv/up, name: "u-{timestamp}.bin", keep: 3 }
${extra}`;
const file = () => join(dir, 'main.yaml');
const rules = (loaded: Awaited<ReturnType<typeof loadServed>>, id = 'a') =>
  loaded.ok ? loaded.policy.identities.get(id)?.rules.map((r) => r.name) : loaded;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ssh-dispatch-applied-'));
  writeFileSync(file(), policy(), { mode: 0o600 });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('before the first apply', () => {
  it('every key is refused as not applied, and says what to run', async () => {
    const served = await loadServed(dir, 'a');
    expect(served).toMatchObject({ ok: false, notApplied: true });
    expect(!served.ok && served.errors[0]!.message).toMatch(/ssh-dispatch apply/);
    expect(await loadLogins(dir, { account: 'backup', fingerprint: FINGERPRINT })).toMatchObject({ ok: false });
    // The control: the files themselves load.
    expect((await loadPolicy(dir)).ok).toBe(true);
  });
});

describe('after apply', () => {
  it('serves the applied version, compiled, equal to the parsed policy (every rule kind, address ranges as bytes)', async () => {
    await applyFiles(dir);
    const parsed = await loadPolicy(dir);
    for (const id of ['a', 'b']) {
      const served = await loadServed(dir, id);
      expect(served).toMatchObject({ ok: true, version: 1, from: 'compiled' });
      if (!parsed.ok || !served.ok) return;
      expect(served.policy.identities.get(id)).toEqual(parsed.policy.identities.get(id));
      expect([...served.policy.identities.keys()]).toEqual([id]);
      expect(served.policy.audit).toEqual(parsed.policy.audit);
    }
    const served = await loadServed(dir, 'b');
    const relay = served.ok ? served.policy.identities.get('b')!.rules[1]! : null;
    expect(relay?.kind === 'relay' && relay.to[0]!.range!.bytes).toBeInstanceOf(Uint8Array);
  });

  it('knows an identity the version lacks, and never looks up an --id that is not a valid name', async () => {
    await applyFiles(dir);
    const nobody = await loadServed(dir, 'nobody');
    expect(nobody).toMatchObject({ ok: true, from: 'compiled' });
    expect(nobody.ok && nobody.policy.identities.size).toBe(0);
    const odd = await loadServed(dir, '../meta');
    expect(odd.ok && odd.policy.identities.size).toBe(0);
  });

  it.each([
    ['a typo', () => writeFileSync(file(), `${policy()}\tbroken: [\n`)],
    ['a chmod g+w slip', () => chmodSync(file(), 0o664)],
    ['a world-writable file', () => chmodSync(file(), 0o666)],
    ['the rule removed', () => writeFileSync(file(), policy().replace('      - name: t\n        exec: { command: "/bin/true" }\n', ''))],
    [
      'a new file with a new identity',
      () => writeFileSync(join(dir, 'more.yaml'), 'version: 1\nidentities:\n  c:\n    rules: []\n', { mode: 0o600 }),
    ],
    ['the policy file deleted', () => rmSync(file())],
  ])('%s changes nothing served until the next apply', async (_what, edit) => {
    await applyFiles(dir);
    edit();
    // The control: the files as they are now say something else, or nothing.
    const now = await loadPolicy(dir);
    expect(now.ok && rules(now) !== undefined && JSON.stringify(rules(now)) === '["t"]' && !now.policy.identities.has('c')).toBe(false);
    expect(rules(await loadServed(dir, 'a'))).toEqual(['t']);
    const c = await loadServed(dir, 'c');
    expect(c.ok && c.policy.identities.size).toBe(0);
  });

  it('the next apply serves the edit as version 2', async () => {
    await applyFiles(dir);
    writeFileSync(file(), policy().replace('/bin/true', '/bin/false').replace('  b:\n', '  c:\n    rules: []\n  b:\n'), { mode: 0o600 });
    expect((await applyFiles(dir)).version).toBe(2);
    const served = await loadServed(dir, 'a');
    expect(served).toMatchObject({ ok: true, version: 2, from: 'compiled' });
    expect(served.ok && served.policy.identities.get('a')!.rules[0]).toMatchObject({ program: '/bin/false' });
    expect((await loadServed(dir, 'c')).ok).toBe(true);
  });
});

describe('the compiled entry is trusted like the policy; a doubt reads the version, never the files', () => {
  it('writable by others: compiled from the version sources instead (the files, edited, are not read)', async () => {
    const { version } = await applyFiles(dir);
    writeFileSync(file(), policy().replace('/bin/true', '/bin/evil'), { mode: 0o600 });
    const entry = compiledEntry(dir, version);
    chmodSync(join(entry, 'id', 'a.json'), 0o666);
    const served = await loadServed(dir, 'a');
    expect(served).toMatchObject({ ok: true, from: 'sources' });
    expect(served.ok && served.policy.identities.get('a')!.rules[0]).toMatchObject({ program: '/bin/true' });
  });

  it('gone (an upgrade: another build compiled it): compiled from the version sources', async () => {
    const { version } = await applyFiles(dir);
    rmSync(compiledEntry(dir, version), { recursive: true });
    expect(await loadServed(dir, 'a')).toMatchObject({ ok: true, version: 1, from: 'sources' });
  });

  it('the sources untrusted too: refused (not applied files, not another version)', async () => {
    const { version } = await applyFiles(dir);
    rmSync(compiledEntry(dir, version), { recursive: true });
    chmodSync(join(stateDir(dir), 'v', String(version), 'src', '0'), 0o666);
    const served = await loadServed(dir, 'a');
    expect(served).toMatchObject({ ok: false });
    expect(!served.ok && served.notApplied).toBeUndefined();
  });

  it('a current pointer others may write is not believed, and says so', async () => {
    await applyFiles(dir);
    chmodSync(join(stateDir(dir), 'current'), 0o666);
    const served = await loadServed(dir, 'a');
    expect(!served.ok && served.errors[0]!.message).toMatch(/current is unreadable or not trusted/);
  });

  it('a current pointer naming a version that is not there: refused', async () => {
    await applyFiles(dir);
    writeFileSync(join(stateDir(dir), 'current'), '7\n');
    expect(await loadServed(dir, 'a')).toMatchObject({ ok: false });
  });

  it('a version that no longer compiles with this build is refused, with the audit settings it named', async () => {
    writeFileSync(file(), `version: 1\naudit: { file: /var/log/A.jsonl }\n${policy().replace('version: 1\n', '')}`, { mode: 0o600 });
    const { version } = await applyFiles(dir);
    rmSync(join(compiledEntry(dir, version), 'id'), { recursive: true });
    // What a later build would refuse, written into the version's own sources.
    const source = join(stateDir(dir), 'v', String(version), 'src', '0');
    writeFileSync(source, `${readFileSync(source, 'utf8')}\tbroken: [\n`);
    const served = await loadServed(dir, 'a');
    expect(served).toMatchObject({ ok: false, lastAudit: { file: '/var/log/A.jsonl' } });
    expect(!served.ok && served.errors[0]!.message).toMatch(/does not load with this build.*reapply/);
  });
});

describe('two policies side by side are applied apart', () => {
  it("one's apply never serves the other", async () => {
    const a = join(dir, 'a.yml');
    const b = join(dir, 'b.yml');
    writeFileSync(a, 'version: 1\naudit: { file: /var/log/A.jsonl }\nidentities:\n  ida:\n    rules: []\n', { mode: 0o600 });
    writeFileSync(b, 'version: 1\naudit: { file: /var/log/B.jsonl }\nidentities:\n  idb:\n    rules: []\n', { mode: 0o600 });
    await applyFiles(a);
    expect(await loadServed(b, 'ida')).toMatchObject({ ok: false, notApplied: true });
    await applyFiles(b);
    expect(await loadServed(a, 'ida')).toMatchObject({ ok: true, policy: { audit: { file: '/var/log/A.jsonl' } } });
    expect(await loadServed(b, 'idb')).toMatchObject({ ok: true, policy: { audit: { file: '/var/log/B.jsonl' } } });
  });
});

describe('who may read what apply writes', () => {
  it.each([
    ['a policy others may read: so may they its version', 0o644, 0o644, 0o755],
    ["a policy only its group may read: the version too, with the policy file's group", 0o640, 0o640, 0o750],
    ['a policy only root reads: nobody else reads its version', 0o600, 0o600, 0o700],
  ])('%s', async (_name, policyMode, fileMode, dirMode) => {
    chmodSync(file(), policyMode);
    const { version } = await applyFiles(dir);
    const entry = compiledEntry(dir, version);
    const versionDir = join(stateDir(dir), 'v', String(version));
    for (const path of [entry, join(entry, 'id'), join(entry, 'logins'), versionDir, join(versionDir, 'src')])
      expect(statSync(path).mode & 0o777).toBe(dirMode);
    for (const path of [
      join(entry, 'meta.json'),
      join(entry, 'id', 'a.json'),
      join(versionDir, 'src', '0'),
      join(versionDir, 'version.json'),
    ])
      expect(statSync(path).mode & 0o777).toBe(fileMode);
    expect(statSync(join(entry, 'meta.json')).gid).toBe(statSync(file()).gid);
  });

  it('a hardened umask (077) still leaves the state directories and the current pointer readable by other accounts', async () => {
    chmodSync(file(), 0o644);
    const before = process.umask(0o077);
    try {
      await applyFiles(dir);
    } finally {
      process.umask(before);
    }
    const state = stateDir(dir);
    for (const path of [join(dir, '.ssh-dispatch-applied'), state, join(state, 'v')]) expect(statSync(path).mode & 0o777).toBe(0o755);
    expect(statSync(join(state, 'current')).mode & 0o777).toBe(0o644);
  });
});

describe('logins (authorized-keys-command) are served from the applied version too', () => {
  const BY_KEY = { account: 'backup', fingerprint: FINGERPRINT };

  it('equal to the parsed policy, one file per account and key; an edit changes nothing until apply', async () => {
    await applyFiles(dir);
    const first = await loadLogins(dir, BY_KEY);
    expect(first).toMatchObject({ ok: true, logins: { backup: [{ identity: 'b', from: null, keys: [FINGERPRINT], principals: null }] } });
    // The files are unreadable now and say another thing: only the applied version answers.
    writeFileSync(file(), policy().replace(FINGERPRINT, 'SHA256:zzzzztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s'));
    chmodSync(file(), 0o000);
    expect(await loadLogins(dir, BY_KEY)).toEqual(first);
    expect(await loadLogins(dir, { ...BY_KEY, account: 'www-data' })).toEqual({ ok: true, logins: {} });
    expect(await loadLogins(dir, { account: 'backup', principals: true })).toEqual({ ok: true, logins: {} });
  });

  it('a logins file others may write is not believed: read from the version sources', async () => {
    const { version } = await applyFiles(dir);
    const path = join(compiledEntry(dir, version), 'logins', 'backup', 'keys', `${FINGERPRINT.slice(7)}.json`);
    chmodSync(path, 0o666);
    writeFileSync(path, '[{"identity":"evil","from":null,"expires":null,"keys":null,"principals":["x"]}]');
    expect(await loadLogins(dir, BY_KEY)).toMatchObject({ ok: true, logins: { backup: [{ identity: 'b' }] } });
  });
});
