/**
 * Loading from disk: StrictModes-like ownership and mode checks, directories of files,
 * duplicates across files. A policy that does not load is an error value, never an exception.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadPolicy } from '../../src/policy/load.js';
import { formatPolicyError } from '../../src/values/policy-error.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ssh-dispatch-load-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const identity = (name: string) =>
  `version: 1\nidentities:\n  ${name}:\n    rules:\n      - name: t\n        exec: { command: /bin/true }\n`;

function write(name: string, text: string, mode = 0o600): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  chmodSync(path, mode);
  return path;
}

async function errors(path: string): Promise<string> {
  const loaded = await loadPolicy(path);
  if (loaded.ok) throw new Error('expected the policy not to load');
  return loaded.errors.map(formatPolicyError).join('\n');
}

describe('loadPolicy', () => {
  it('loads one file', async () => {
    const loaded = await loadPolicy(write('a.yaml', identity('a')));
    expect(loaded.ok && [...loaded.policy.identities.keys()]).toEqual(['a']);
    expect(loaded.ok && loaded.policy.audit.file).toBe('/var/log/ssh-dispatch/audit.jsonl');
  });

  it('loads every *.yaml and *.yml file of a directory, in name order, and nothing else', async () => {
    write('b.yaml', identity('b'));
    write('a.yml', identity('a'));
    write('c.yaml.bak', 'not yaml: [');
    write('.hidden.yaml', 'not yaml: [');
    write('README', 'hello');
    const loaded = await loadPolicy(dir);
    expect(loaded.ok && loaded.policy.files.map((f) => f.slice(dir.length + 1))).toEqual(['a.yml', 'b.yaml']);
  });

  it('refuses a group-writable file', async () => {
    expect(await errors(write('a.yaml', identity('a'), 0o620))).toContain(
      'a.yaml: policy file is writable by group or others (mode 0620): chmod go-w it',
    );
  });

  it('refuses a world-writable file', async () => {
    expect(await errors(write('a.yaml', identity('a'), 0o606))).toContain('writable by group or others');
  });

  it('refuses a world-writable policy directory, even a sticky one', async () => {
    write('a.yaml', identity('a'));
    chmodSync(dir, 0o1777);
    expect(await errors(dir)).toContain('policy directory is writable by group or others (mode 1777)');
  });

  it('refuses a policy below a writable, non-sticky directory', async () => {
    const sub = join(dir, 'open');
    mkdirSync(sub);
    chmodSync(dir, 0o777);
    writeFileSync(join(sub, 'a.yaml'), identity('a'), { mode: 0o600 });
    expect(await errors(join(sub, 'a.yaml'))).toContain(`directory ${dir} is writable by group or others (mode 0777)`);
  });

  it('refuses a symbolic link inside a policy directory', async () => {
    const target = write('real.txt', identity('a'));
    symlinkSync(target, join(dir, 'link.yaml'));
    expect(await errors(dir)).toContain('link.yaml: is a symbolic link');
  });

  it('refuses a missing path', async () => {
    expect(await errors(join(dir, 'nope.yaml'))).toContain('nope.yaml: cannot read: ENOENT');
  });

  it('refuses an empty directory', async () => {
    expect(await errors(dir)).toContain('no *.yaml or *.yml files in this directory');
  });

  it('refuses a duplicate identity across files, naming both places', async () => {
    write('a.yaml', identity('same'));
    write('b.yaml', identity('same'));
    expect(await errors(dir)).toMatch(/b\.yaml:3: identities\.same: duplicate identity \(first in .*a\.yaml:3\)/);
  });

  it('refuses audit settings in two files', async () => {
    write('a.yaml', 'version: 1\naudit:\n  file: /tmp/a.jsonl\n');
    write('b.yaml', 'version: 1\naudit:\n  file: /tmp/b.jsonl\n');
    expect(await errors(dir)).toContain('audit: audit is already set in');
  });

  it('refuses a file owned by another user', async () => {
    const path = write('a.yaml', identity('a'));
    // As the loader sees it when run by uid 4242 (not root, not the owner).
    const loaded = await loadPolicy(path, { uid: 4242 });
    if (process.getuid?.() === 0) {
      expect(loaded.ok).toBe(true); // root owns it: trusted for everyone
    } else {
      expect(loaded.ok).toBe(false);
    }
  });

  it('reports an error in one file of several, with its path', async () => {
    write('a.yaml', identity('a'));
    write('b.yaml', 'version: 1\nidentities:\n  b:\n    rules: nope\n');
    expect(await errors(dir)).toContain('b.yaml:4: identities.b.rules: expected a list, got "nope"');
  });
});

describe('a policy that stops loading keeps the audit settings of the last one that did (issue 18: its refusals never reached the syslog collector)', () => {
  it('after a broken edit, the error carries the last good audit file and syslog target, from the compiled cache', async () => {
    mkdirSync(join(dir, 'p'), { mode: 0o700 });
    const good = `version: 1\naudit:\n  file: ${join(dir, 'log', 'audit.jsonl')}\n  syslog: { tcp: "127.0.0.1:5514" }\n${identity('a').replace('version: 1\n', '')}`;
    const file = join(dir, 'p', 'main.yaml');
    writeFileSync(file, good, { mode: 0o600 });
    const first = await loadPolicy(join(dir, 'p'), { writeCache: true });
    expect(first.ok && first.cache).toBe('written');
    writeFileSync(file, `${good}\tbroken: [\n`, { mode: 0o600 });
    const broken = await loadPolicy(join(dir, 'p'), { writeCache: true, identity: 'a' });
    expect(broken.ok).toBe(false);
    expect(!broken.ok && broken.lastAudit).toEqual({
      file: join(dir, 'log', 'audit.jsonl'),
      syslog: expect.objectContaining({ tcp: expect.anything() }),
    });
  });

  it('after a chmod g+w slip, the same (issue 27: the refusal went to the default log, a test wrote the real one)', async () => {
    mkdirSync(join(dir, 'p'), { mode: 0o700 });
    const file = join(dir, 'p', 'main.yaml');
    writeFileSync(file, `version: 1\naudit: { file: ${join(dir, 'log', 'audit.jsonl')} }\n${identity('a').replace('version: 1\n', '')}`, {
      mode: 0o600,
    });
    expect((await loadPolicy(join(dir, 'p'), { writeCache: true })).ok).toBe(true);
    chmodSync(file, 0o664);
    const slipped = await loadPolicy(join(dir, 'p'), { writeCache: true, identity: 'a' });
    expect(!slipped.ok && slipped.errors[0]!.message).toMatch(/writable by group or others/);
    expect(!slipped.ok && slipped.lastAudit).toEqual({ file: join(dir, 'log', 'audit.jsonl'), syslog: null });
  });

  it('with no cache (the first policy never loaded): no last audit, the default applies', async () => {
    const broken = await loadPolicy(write('a.yaml', 'version: 1\nidentities: [\n'));
    expect(!broken.ok && broken.lastAudit).toBeUndefined();
  });
});

describe('--approved: the policy check last passed, not the files as they are now (issue 18: an apply step)', () => {
  it('serves the approved version until the next approval; an edit alone changes nothing, and housekeeping keeps it', async () => {
    mkdirSync(join(dir, 'p'), { mode: 0o700 });
    const file = join(dir, 'p', 'main.yaml');
    writeFileSync(file, identity('a'), { mode: 0o600 });
    const approved = async () => loadPolicy(join(dir, 'p'), { identity: 'a', approved: true });
    expect((await approved()).ok).toBe(false);
    const first = await loadPolicy(join(dir, 'p'), { writeCache: true });
    expect(first.ok && first.approve?.()).toBe('approved');
    expect(first.ok && first.approve?.()).toBe('unchanged');
    // An edit (a second rule), and a connection without --approved that writes the new cache.
    writeFileSync(file, `${identity('a')}      - name: u\n        exec: { command: /bin/false }\n`, { mode: 0o600 });
    const live = await loadPolicy(join(dir, 'p'), { identity: 'a', writeCache: true });
    expect(live.ok && live.policy.identities.get('a')!.rules.map((r) => r.name)).toEqual(['t', 'u']);
    const still = await approved();
    expect(still.ok && still.policy.identities.get('a')!.rules.map((r) => r.name)).toEqual(['t']);
    // A broken edit: approved keys go on serving the approved version.
    writeFileSync(file, 'version: 1\nidentities: [\n', { mode: 0o600 });
    expect((await approved()).ok).toBe(true);
    // check passes on a new version: approved from then on.
    writeFileSync(file, `${identity('a')}      - name: v\n        exec: { command: /bin/false }\n`, { mode: 0o600 });
    const next = await loadPolicy(join(dir, 'p'), { writeCache: true });
    expect(next.ok && next.approve?.()).toBe('approved');
    const now = await approved();
    expect(now.ok && now.policy.identities.get('a')!.rules.map((r) => r.name)).toEqual(['t', 'v']);
  });
});
