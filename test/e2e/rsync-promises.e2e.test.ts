/**
 * What an rsync rule promises holds against the protocol, not only against the argv
 * (docs/threat-model.md, "rsync"; issue: a write-only key read stored files back through
 * block checksums, and delete: false was bypassed by --force and --partial-dir).
 *
 * Real rsync client, real rsync server, the built ssh-dispatch between them through a remote
 * shell that does what sshd does for a forced command (rrsync's test trick; the sshd path is in
 * rsync-promises-sshd.e2e.test.ts). Every attack also runs against a control, the same client
 * against a bare `rsync --server` in root: the control must show the leak or the damage, so a
 * passing test shows the defence at work and not an attack that never worked.
 *
 * Not covered here: what a rule with `access: read-write` tells its client (anything: it may
 * pull the file anyway), and filter merge files read on the receiver with `delete: true`
 * (docs/threat-model.md).
 */
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bytesFromBlockSums, writeDispatchRsh, applyPolicy } from './lab.js';

let dir: string;
let root: string;
let audit: string;
/** 3000 random bytes stored under root, mode 0600: what a thief with a write-only key wants. */
let shadow: Buffer;
const STORED = 'snap/2026-11-23/etc/shadow';

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ssh-dispatch-rsync-promises-'));
  chmodSync(dir, 0o755);
  root = join(dir, 'root');
  // The policy and the log in directories of their own, as on a real install: apply refuses
  // write rules whose directory holds or lies beside them (UNSAFE).
  audit = join(dir, 'log', 'audit.jsonl');
  mkdirSync(join(dir, 'etc'), { recursive: true, mode: 0o755 });
  mkdirSync(join(dir, 'log'), { mode: 0o700 });
  mkdirSync(join(root, 'snap', '2026-11-23', 'etc'), { recursive: true });
  shadow = randomBytes(3000);
  writeFileSync(join(root, STORED), shadow, { mode: 0o600 });
  // The thief's decoy: same name, different contents and size.
  mkdirSync(join(dir, 'decoy', 'etc'), { recursive: true });
  writeFileSync(join(dir, 'decoy', 'etc', 'shadow'), 'x\n');
  writeFileSync(
    join(dir, 'etc', 'policy.yaml'),
    `version: 1
audit: { file: ${audit} }
identities:
  push:     { rules: [ { name: push, rsync: { root: ${root}, access: write } } ] }
  pushdel:  { rules: [ { name: mirror, rsync: { root: ${root}, access: write, delete: true } } ] }
  pushcap:  { rules: [ { name: capped, rsync: { root: ${root}, access: write, delete: true, max-delete: 1 } } ] }
  both:     { rules: [ { name: both, rsync: { root: ${root}, access: read-write } } ] }
  snap:     { rules: [ { name: nightly, rsync: { root: ${root}, access: write, snapshot: true } } ] }
  snapnest: { rules: [ { name: nightly, rsync: { root: ${root}/snap, access: write, snapshot: true } } ] }
`,
    { mode: 0o600 },
  );
  applyPolicy(join(dir, 'etc', 'policy.yaml'));
  writeDispatchRsh(join(dir, 'dispatch-rsh'), join(dir, 'etc', 'policy.yaml'));
  // The control. Its destinations are always relative ("./"): a bare server has no root to keep them in.
  writeFileSync(join(dir, 'bare-rsh'), `#!/bin/sh\nshift\ncd ${root} && exec "$@"\n`, { mode: 0o755 });
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function rsync(rsh: 'dispatch-rsh' | 'bare-rsh', id: string, args: string[]): { code: number | null; out: string } {
  const result = spawnSync('/usr/bin/rsync', ['-e', join(dir, rsh), ...args.map((a) => a.replace('HOST:', `${id}:`))], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 30_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  return { code: result.status, out: result.stdout + result.stderr };
}

function lastRecord(event: 'decision' | 'end'): Record<string, unknown> {
  const records = readFileSync(audit, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return records.filter((r) => r.event === event).pop()!;
}

/** How many of the stored bytes the client got back, in place. */
function leaked(out: string): number {
  const bytes = bytesFromBlockSums(out);
  let same = 0;
  for (let i = 0; i < Math.min(bytes.length, shadow.length); i++) if (bytes[i] === shadow[i]) same++;
  return same;
}

const LEAK = ['-r', '-B1', '--debug=DELTASUM3'];

describe('a write-only key learns nothing of what is stored (block checksums of a basis)', () => {
  // Each way the client can choose which stored file is the basis of what it pushes.
  // --link-dest is served only by snapshot rules: there the basis is a sibling snapshot (snapnest's root is snap/).
  const routes: { route: string; args: (control: boolean) => string[]; id?: string; fresh?: string }[] = [
    {
      route: '--compare-dest',
      args: (control) => ['--compare-dest=../snap/2026-11-23', 'decoy/', control ? 'HOST:./fresh/' : 'HOST:fresh/'],
    },
    { route: '--copy-dest', args: (control) => ['--copy-dest=../snap/2026-11-23', 'decoy/', control ? 'HOST:./fresh/' : 'HOST:fresh/'] },
    {
      route: '--link-dest',
      args: (control) => [
        control ? '--link-dest=../snap/2026-11-23' : '--link-dest=../2026-11-23',
        'decoy/',
        control ? 'HOST:./fresh/' : 'HOST:fresh/',
      ],
      id: 'snapnest',
      fresh: 'snap/fresh',
    },
    { route: 'the same name pushed again', args: () => ['decoy/', 'HOST:snap/2026-11-23/'] },
  ];

  it.each(routes)(
    '$route: the bare server sends the file back byte for byte; the rule sends nothing',
    ({ args, id = 'push', fresh = 'fresh' }) => {
      const control = rsync('bare-rsh', 'push', [...LEAK, ...args(true)]);
      expect(control.code, control.out).toBe(0);
      expect(leaked(control.out)).toBe(shadow.length);

      writeFileSync(join(root, STORED), shadow, { mode: 0o600 }); // the control may have replaced it
      rmSync(join(root, fresh), { recursive: true, force: true });
      const attack = rsync('dispatch-rsh', id, [...LEAK, ...args(false)]);
      expect(attack.code, attack.out).toBe(0);
      expect(bytesFromBlockSums(attack.out).length).toBe(0);
      expect(lastRecord('decision').argv).toContain('--whole-file');
    },
  );

  it('a partial file as the basis (delete: true allows --partial-dir): nothing sent either', () => {
    const control = rsync('bare-rsh', 'pushdel', [
      ...LEAK,
      `--partial-dir=${join(root, 'snap', '2026-11-23', 'etc')}`,
      'decoy/etc/',
      'HOST:./fresh/',
    ]);
    expect(control.code, control.out).toBe(0);
    expect(leaked(control.out)).toBe(shadow.length);

    writeFileSync(join(root, STORED), shadow, { mode: 0o600 }); // the control consumed it
    rmSync(join(root, 'fresh'), { recursive: true, force: true });
    const attack = rsync('dispatch-rsh', 'pushdel', [...LEAK, '--partial-dir=/snap/2026-11-23/etc', 'decoy/etc/', 'HOST:fresh/']);
    expect(attack.code, attack.out).toBe(0);
    expect(bytesFromBlockSums(attack.out).length).toBe(0);
  });

  it('--fuzzy (a similar stored name as the basis) is refused', () => {
    writeFileSync(join(dir, 'decoy', 'etc', 'shadow-'), 'x\n');
    rmSync(join(dir, 'decoy', 'etc', 'shadow'));
    const control = rsync('bare-rsh', 'push', [...LEAK, '--fuzzy', 'decoy/', 'HOST:./snap/2026-11-23/']);
    expect(control.code, control.out).toBe(0);
    expect(leaked(control.out)).toBe(shadow.length);

    const attack = rsync('dispatch-rsh', 'push', [...LEAK, '--fuzzy', 'decoy/', 'HOST:snap/2026-11-23/']);
    expect(attack.code).not.toBe(0);
    expect(lastRecord('decision')).toMatchObject({ decision: 'deny', reason: 'rsync-option-refused' });
  });

  it('--checksum (is the stored file equal to my guess?) is refused; under read-write it works', () => {
    // The guess is right: same contents, different time. -c skips it; without -c it would be sent.
    mkdirSync(join(dir, 'guess', 'etc'), { recursive: true });
    writeFileSync(join(dir, 'guess', 'etc', 'shadow'), shadow);
    utimesSync(join(dir, 'guess', 'etc', 'shadow'), new Date('2020-01-01'), new Date('2020-01-01'));
    const control = rsync('bare-rsh', 'push', ['-rtci', '--dry-run', 'guess/', 'HOST:./snap/2026-11-23/']);
    expect(control.code, control.out).toBe(0);
    expect(control.out).not.toMatch(/^[<>]f.* etc\/shadow$/m); // "equal": the oracle answered

    const attack = rsync('dispatch-rsh', 'push', ['-rtci', '--dry-run', 'guess/', 'HOST:snap/2026-11-23/']);
    expect(attack.code).not.toBe(0);
    expect(lastRecord('decision')).toMatchObject({ decision: 'deny', reason: 'rsync-option-refused' });
    expect(rsync('dispatch-rsh', 'both', ['-rtci', '--dry-run', 'guess/', 'HOST:snap/2026-11-23/']).code).toBe(0);
  });

  it('an unchanged tree pushed with --link-dest is still linked, not copied', () => {
    mkdirSync(join(dir, 'src'));
    for (let i = 0; i < 20; i++) writeFileSync(join(dir, 'src', `f${i}`), randomBytes(4096));
    expect(rsync('dispatch-rsh', 'snap', ['-a', 'src/', 'HOST:day1/']).code).toBe(0);
    const second = rsync('dispatch-rsh', 'snap', ['-a', '--stats', '--link-dest=../day1', 'src/', 'HOST:day2/']);
    expect(second.code, second.out).toBe(0);
    expect(second.out).toMatch(/Number of regular files transferred: 0/);
    for (let i = 0; i < 20; i++) expect(statSync(join(root, 'day2', `f${i}`)).ino).toBe(statSync(join(root, 'day1', `f${i}`)).ino);
  });
});

/** Every name under directory `path` (none when it is not a directory any more): for "nothing disappeared" checks. */
function files(path: string): string[] {
  return existsSync(path) && lstatSync(path).isDirectory() ? readdirSync(path, { recursive: true }).map(String).sort() : [];
}

function storeSnapshot(name: string, count: number): void {
  mkdirSync(join(root, name), { recursive: true });
  for (let i = 0; i < count; i++) writeFileSync(join(root, name, `f${i}`), `${i}\n`);
}

describe('delete: false deletes nothing; max-delete caps every deletion', () => {
  beforeEach(() => {
    mkdirSync(join(dir, 'f'));
    writeFileSync(join(dir, 'f', '2026-11-20'), ''); // a file with the name of a stored snapshot directory
  });

  it('--force: a pushed file does not replace a stored directory tree', () => {
    storeSnapshot('2026-11-20', 10);
    const control = rsync('bare-rsh', 'push', ['-r', '--force', 'f/', 'HOST:./']);
    expect(control.code, control.out).toBe(0);
    expect(files(join(root, '2026-11-20'))).toEqual([]); // the tree is gone, a file in its place

    rmSync(join(root, '2026-11-20'), { force: true });
    storeSnapshot('2026-11-20', 10);
    expect(rsync('dispatch-rsh', 'push', ['-r', '--force', 'f/', 'HOST:/']).code).not.toBe(0);
    expect(files(join(root, '2026-11-20'))).toHaveLength(10);
    expect(lastRecord('decision')).toMatchObject({ decision: 'deny', reason: 'rsync-option-refused' });
  });

  it('max-delete caps the deletions of --force too, not only those of --delete', () => {
    storeSnapshot('2026-11-20', 10);
    const control = rsync('bare-rsh', 'pushcap', ['-r', '--force', 'f/', 'HOST:./']);
    expect(control.code, control.out).toBe(0);
    expect(files(join(root, '2026-11-20'))).toEqual([]);

    rmSync(join(root, '2026-11-20'), { force: true });
    storeSnapshot('2026-11-20', 10);
    const capped = rsync('dispatch-rsh', 'pushcap', ['-r', '--force', 'f/', 'HOST:/']);
    expect(capped.code, capped.out).not.toBe(0);
    expect(capped.out).toMatch(/max-delete limit/);
    expect(files(join(root, '2026-11-20')).length).toBeGreaterThanOrEqual(9);
    expect(lastRecord('decision').argv).toContain('--max-delete=1');
  });

  it('--partial-dir aimed at stored data is refused (rsync takes the file found there as the basis, then deletes it)', () => {
    mkdirSync(join(root, '2026-11-20b', 'etc'), { recursive: true });
    writeFileSync(join(root, '2026-11-20b', 'etc', 'shadow'), 'stored\n');
    mkdirSync(join(dir, 'src'));
    writeFileSync(join(dir, 'src', 'shadow'), 'mine\n');
    const control = rsync('bare-rsh', 'push', ['-r', '--partial-dir=2026-11-20b/etc', 'src/', 'HOST:./']);
    expect(control.code, control.out).toBe(0);
    expect(existsSync(join(root, '2026-11-20b', 'etc', 'shadow'))).toBe(false);

    mkdirSync(join(root, '2026-11-20b', 'etc'), { recursive: true });
    writeFileSync(join(root, '2026-11-20b', 'etc', 'shadow'), 'stored\n');
    expect(rsync('dispatch-rsh', 'push', ['-r', '--partial-dir=2026-11-20b/etc', 'src/', 'HOST:/']).code).not.toBe(0);
    expect(readFileSync(join(root, '2026-11-20b', 'etc', 'shadow'), 'utf8')).toBe('stored\n');
    expect(lastRecord('decision')).toMatchObject({ decision: 'deny', reason: 'rsync-option-refused' });
  });

  it('--delay-updates (whose .~tmp~ files are consumed the same way) is refused', () => {
    expect(rsync('dispatch-rsh', 'push', ['-r', '--delay-updates', 'f/', 'HOST:/']).code).not.toBe(0);
    expect(lastRecord('decision')).toMatchObject({ decision: 'deny', reason: 'rsync-option-refused' });
  });

  it('--temp-dir aimed at stored data leaves it as it was (temporary names are created exclusively)', () => {
    storeSnapshot('keep', 3);
    mkdirSync(join(dir, 'src'));
    writeFileSync(join(dir, 'src', 'f0'), 'new\n');
    const result = rsync('dispatch-rsh', 'push', ['-r', '--temp-dir=/keep', 'src/', 'HOST:/']);
    expect(result.code, result.out).toBe(0);
    expect(files(join(root, 'keep'))).toEqual(['f0', 'f1', 'f2']);
    expect(readFileSync(join(root, 'keep', 'f1'), 'utf8')).toBe('1\n');
  });

  it('a plain push under delete: false runs with --max-delete=0, and still stores what it sends', () => {
    mkdirSync(join(dir, 'src'));
    writeFileSync(join(dir, 'src', 'a'), 'a\n');
    expect(rsync('dispatch-rsh', 'push', ['-a', 'src/', 'HOST:day/']).code).toBe(0);
    expect(readFileSync(join(root, 'day', 'a'), 'utf8')).toBe('a\n');
    expect(lastRecord('decision').argv).toContain('--max-delete=0');
  });
});
