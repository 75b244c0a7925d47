/**
 * A compiled entry whose JSON does not validate is a miss: the applied version is compiled from
 * its own sources again, and the connection gets what they say, never what the bad file says.
 *
 * Each row corrupts one file of an entry this build wrote, in place (same owner and mode, so
 * every trust check still passes: only the shape is wrong), then loads again.
 *
 * Control: run against the cache of before the split (src/policy/cache.ts at e50bb3e, which cast
 * JSON.parse's result), 21 of these 23 corrupted rows fail: it took the bad file as a hit (a
 * rule of kind "shell", an rsync rule with its root missing or a number, a byte 999 in an
 * address, every bad logins file, ...). Only "not JSON" and "identities an object" (which threw)
 * were misses there too.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadLogins, loadPolicy, loadServed } from '../../src/policy/load.js';
import { applyFiles, compiledEntry } from './apply-fixture.js';

const FINGERPRINT = 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s';
const POLICY = `version: 1
audit:
  file: /var/log/ssh-dispatch/x.jsonl
  syslog: { socket: /dev/log, facility: auth }
identities:
  a:
    from: [192.0.2.0/24]
    rules:
      - name: t
        exec: { command: "/bin/true", env: { LANG: C } }
  b:
    keys: ["${FINGERPRINT}"]
    accounts: [backup]
    rules:
      - name: r
        rsync: { root: /srv, access: read }
      - name: hop
        relay: { to: ["10.0.0.0/24:22"] }
      - name: up
        receive: { dir: /srv/up, name: "u-{timestamp}.bin" }
      - name: files
        sftp: { root: /srv/files, access: read }
`;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ssh-dispatch-cache-corrupt-'));
  writeFileSync(join(dir, 'main.yaml'), POLICY, { mode: 0o600 });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** The one entry's directory. */
const entry = (): string => compiledEntry(dir, 1);

/** Rewrites one file of the entry: its JSON changed by `change`, or replaced by text. */
function corrupt(file: string, change: ((json: any) => void) | string): void {
  const path = join(entry(), file);
  if (typeof change === 'string') return writeFileSync(path, change);
  const json = JSON.parse(readFileSync(path, 'utf8'));
  change(json);
  writeFileSync(path, JSON.stringify(json));
}

const rule = (kind: string) => (json: any) => json.rules.find((r: any) => r.kind === kind);

type Row = [what: string, identity: 'a' | 'b', file: string, change: ((json: any) => void) | string];
const ROWS: Row[] = [
  ['not JSON', 'a', 'id/a.json', '{"name": "a",'],
  ['a rule of an unknown kind', 'b', 'id/b.json', (j) => (rule('rsync')(j).kind = 'shell')],
  ['a rule with a key missing (rsync root)', 'b', 'id/b.json', (j) => delete rule('rsync')(j).root],
  ['a rule with a key of the wrong type (rsync root a number)', 'b', 'id/b.json', (j) => (rule('rsync')(j).root = 1)],
  ['a rule with a key added', 'b', 'id/b.json', (j) => (rule('rsync')(j).run = 'sh -c id')],
  ['a rule with an access of no kind', 'b', 'id/b.json', (j) => (rule('rsync')(j).access = 'everything')],
  ['exec: pattern a string, not a list', 'a', 'id/a.json', (j) => (rule('exec')(j).pattern = '*')],
  ['exec: env named __proto__', 'a', 'id/a.json', (j) => (rule('exec')(j).env = JSON.parse('{"__proto__": "x"}'))],
  ['relay: port a string', 'b', 'id/b.json', (j) => (rule('relay')(j).to[0].port = '22')],
  ['relay: an address range of 5 bytes', 'b', 'id/b.json', (j) => rule('relay')(j).to[0].range.bytes.$bytes.push(0)],
  ['receive: max-bytes null', 'b', 'id/b.json', (j) => (rule('receive')(j).maxBytes = null)],
  ['sftp: delete a string', 'b', 'id/b.json', (j) => (rule('sftp')(j).delete = 'yes')],
  ['identity: a byte 999 in from', 'a', 'id/a.json', (j) => (j.from[0].bytes.$bytes[0] = 999)],
  ['identity: rules missing', 'a', 'id/a.json', (j) => delete j.rules],
  ['identity: keys a string', 'b', 'id/b.json', (j) => (j.keys = FINGERPRINT)],
  ["identity: another identity's name", 'a', 'id/a.json', (j) => (j.name = 'b')],
  ['meta: audit file a number', 'a', 'meta.json', (j) => (j.audit.file = 1)],
  ['meta: a syslog facility of no kind', 'a', 'meta.json', (j) => (j.audit.syslog.facility = 'kern')],
  ['meta: identities a string', 'a', 'meta.json', (j) => (j.identities = 'a')],
  ['meta: identities an object', 'a', 'meta.json', (j) => (j.identities = { a: true })],
];

describe('a compiled entry that does not validate is a miss, compiled again from the version sources', () => {
  it.each(ROWS)('%s', async (_what, identity, file, change) => {
    const parsed = await loadPolicy(dir);
    await applyFiles(dir);
    corrupt(file, change);
    const again = await loadServed(dir, identity);
    expect(again.ok && again.from).toBe('sources');
    if (!parsed.ok || !again.ok) throw new Error('the policy did not load');
    expect(again.policy.identities.get(identity)).toEqual(parsed.policy.identities.get(identity));
    expect(again.policy.audit).toEqual(parsed.policy.audit);
  });

  it('the control: an entry left as written is a hit', async () => {
    await applyFiles(dir);
    const again = await loadServed(dir, 'b');
    expect(again.ok && again.from).toBe('compiled');
  });
});

describe('compiled logins that do not validate are a miss, read from the version sources', () => {
  const BY_KEY = { account: 'backup', fingerprint: FINGERPRINT };
  const KEY_FILE = `logins/backup/keys/${FINGERPRINT.slice('SHA256:'.length)}.json`;

  it.each<[string, ((json: any) => void) | string]>([
    ['keys a string', (j) => (j[0].keys = FINGERPRINT)],
    ['a login with no identity', (j) => delete j[0].identity],
    ['a login, not a list of them', JSON.stringify({ identity: 'b', from: null, expires: null, keys: [FINGERPRINT], principals: null })],
  ])('%s', async (_what, change) => {
    await applyFiles(dir);
    const parsed = await loadLogins(dir, BY_KEY);
    expect(parsed).toMatchObject({ ok: true, logins: { backup: [{ identity: 'b' }] } });
    corrupt(KEY_FILE, change);
    expect(await loadLogins(dir, BY_KEY)).toEqual(parsed);
  });
});
