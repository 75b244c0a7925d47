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
