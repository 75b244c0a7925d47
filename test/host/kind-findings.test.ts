/**
 * What `check` finds about a rule on this host, asked through its kind's host row
 * (host/kinds.ts findings): an exec program that cannot run, a pushed-into git repository that
 * takes forced pushes and deletions, and an rsync without --confine-root and --drop-D. The same
 * findings end to end: test/e2e/cli.e2e.test.ts and test/e2e/recipes-hostile.e2e.test.ts.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hostRowOf } from '../../src/host/kinds.js';
import { policyFrom } from '../helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'ssh-dispatch-kind-findings-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const context = { resolveProgram: (path: string) => path };
const found = (rule: string) => {
  const parsed = policyFrom(`version: 1\nidentities:\n  a:\n    rules:\n      - ${rule}\n`).identities.get('a')!.rules[0]!;
  return (hostRowOf(parsed.kind).findings?.(parsed, context) ?? []).map((f) => `${f.id} ${f.level}: ${f.message}`);
};

describe('exec', () => {
  it('a program that is not there: a warning; one that is: nothing', () => {
    expect(found(`{ name: x, exec: { command: "x", program: ${dir}/nothing } }`)).toEqual([
      `program-not-executable warning: rule "x": ${dir}/nothing is missing or not executable`,
    ]);
    expect(found('{ name: x, exec: { command: "true", program: /usr/bin/true } }')).toEqual([]);
  });

  it('git-receive-pack into a repository: its config read for the two denies', () => {
    const repository = (name: string, config: string | null) => {
      mkdirSync(join(dir, name));
      if (config !== null) writeFileSync(join(dir, name, 'config'), config);
      return `{ name: p, exec: { command: [git-receive-pack, ${join(dir, name)}], program: /usr/bin/git-receive-pack } }`;
    };
    const open = found(repository('open.git', '[core]\n\tbare = true\n')).filter((f) => !f.startsWith('program-not-executable'));
    expect(open).toEqual([
      expect.stringMatching(
        /^git-push-not-denied warning: rule "p" pushes into \S+open\.git, which does not set receive\.denyNonFastForwards or receive\.denyDeletes: .*git --git-dir \S+ config receive\.denyDeletes true/,
      ),
    ]);
    expect(
      found(repository('closed.git', '[receive]\n\tdenyNonFastForwards = true\n\tdenyDeletes = true\n')).filter(
        (f) => !f.startsWith('program-not-executable'),
      ),
    ).toEqual([]);
    expect(found(repository('none.git', null)).filter((f) => !f.startsWith('program-not-executable'))).toEqual([
      expect.stringMatching(/^git-config-unreadable warning: rule "p": cannot read \S+none\.git's git config/),
    ]);
  });
});

describe('rsync', () => {
  const rsync = (name: string, help: string) => {
    const program = join(dir, name);
    writeFileSync(program, `#!/bin/sh\nprintf '%s\\n' '${help}'\n`, { mode: 0o755 });
    return program;
  };

  it('an rsync without --confine-root and --drop-D: a warning naming its version; with them, or with root /, nothing', () => {
    const old = rsync('rsync-old', 'rsync  version 3.2.7  protocol version 31');
    const fresh = rsync('rsync-new', 'rsync  version 3.5.0  protocol version 32\n --confine-root\n --drop-D');
    expect(found(`{ name: o, rsync: { root: /srv/x, access: read, program: ${old} } }`)).toEqual([
      expect.stringMatching(
        /^rsync-lacks-confine-root warning: rule "o": \S+rsync-old \(rsync 3\.2\.7\) lacks --confine-root and --drop-D/,
      ),
    ]);
    expect(found(`{ name: n, rsync: { root: /srv/x, access: read, program: ${fresh} } }`)).toEqual([]);
    expect(found(`{ name: r, rsync: { root: /, access: read, program: ${old} } }`)).toEqual([]);
  });
});

describe('the kinds with nothing to find on the host', () => {
  it.each([['receive'], ['relay'], ['sftp']] as const)('%s: no findings row', (kind) => {
    expect(hostRowOf(kind).findings).toBeNull();
  });
});
