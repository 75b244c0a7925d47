/**
 * The sandbox, run for real (act/sandbox.ts, docs/policy.md "The sandbox"): the built bundle as
 * the forced command, an exec rule whose program is a probe script, with and without `sandbox`.
 * Each promise has its control: the same probe in a rule without a sandbox shows what the
 * namespace takes away. rsync rules run in it by default: their tests (rsync*.e2e.test.ts,
 * rrsync-attacks) pass inside it, and the race harness there switches pinning off.
 */
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { applyPolicy, BUNDLE } from './lab.js';
import { runBundle } from './run-bundle.js';

const asRoot = process.getuid?.() === 0;
const NOBODY = 65534;

let dir: string;
let audit: string;
let policy: string;
let data: string;
let shelf: string;

const PROBE = `#!/bin/sh
# One line per question, so a test can read each answer.
try() { label="$1"; shift; if "$@" >/dev/null 2>/tmp/err; then echo "$label: ok"; else echo "$label: failed: $(head -c 200 /tmp/err | tr '\\n' ' ')"; fi; }
echo "shadow: $(cat /etc/shadow 2>&1 | head -c 40 | tr '\\n' ' ')"
try ssh-dir ls /etc/ssh/sshd_config
try home ls /root
try var ls /var/log
try proc1-root ls /proc/1/root/usr
try write-data touch DATA/new-$(id -u)
try write-shelf touch SHELF/new
try write-etc touch /etc/probe
try write-top touch /probe
try read-shelf cat SHELF/stored
echo "caps: $(grep CapEff /proc/self/status | tr -d '\\t')"
echo "uid: $(id -u)"
`;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ssh-dispatch-sandbox-'));
  chmodSync(dir, 0o755);
  audit = join(dir, 'log', 'audit.jsonl');
  mkdirSync(join(dir, 'log'), { mode: 0o755 });
  data = join(dir, 'data');
  shelf = join(dir, 'shelf');
  mkdirSync(data, { mode: 0o755 });
  mkdirSync(shelf, { mode: 0o755 });
  writeFileSync(join(shelf, 'stored'), 'stored\n', { mode: 0o644 });
  writeFileSync(join(shelf, 'probe.sh'), PROBE.replaceAll('DATA', data).replaceAll('SHELF', shelf), { mode: 0o755 });
  if (asRoot) {
    chownSync(data, NOBODY, NOBODY);
    chownSync(join(dir, 'log'), NOBODY, NOBODY);
  }
  // The policies in a directory of their own: apply refuses write rules beside them.
  mkdirSync(join(dir, 'etc'), { mode: 0o755 });
  policy = join(dir, 'etc', 'policy.yaml');
  // Another account writes its own audit log: a file root created first would refuse it.
  const policyText = (log: string) => `version: 1
audit: { file: ${log} }
identities:
  bare: { rules: [ { name: bare, exec: { command: [probe, ${shelf}/probe.sh], program: /bin/sh } } ] }
  boxed: { rules: [ { name: boxed, exec: { command: [probe, ${shelf}/probe.sh], program: /bin/sh, sandbox: { read: [${shelf}], write: [${data}] } } } ] }
  files: { rules: [ { name: files, sftp: { root: ${data}, access: read-write } } ] }
  missing: { rules: [ { name: missing, exec: { command: [probe, ${shelf}/probe.sh], program: /bin/sh, sandbox: { read: [${shelf}, ${dir}/gone] } } } ] }
`;
  writeFileSync(policy, policyText(audit), { mode: 0o644 });
  // nobody's records go to its own log beside the policy's: log/nobody.nobody.jsonl.
  writeFileSync(join(dir, 'etc', 'policy-nobody.yaml'), policyText(join(dir, 'log', 'nobody.jsonl')), { mode: 0o644 });
  // Applied with the directory there (apply refuses a sandbox path that does not exist), then
  // gone: what a connection meets when a path is removed after apply.
  mkdirSync(join(dir, 'gone'));
  applyPolicy(policy);
  applyPolicy(join(dir, 'etc', 'policy-nobody.yaml'));
  rmSync(join(dir, 'gone'), { recursive: true });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function probe(id: string, as?: number): Record<string, string> {
  const command = `probe ${shelf}/probe.sh`;
  const env = { SSH_ORIGINAL_COMMAND: command, SSH_CONNECTION: '127.0.0.1 40000 127.0.0.1 22', HOME: '/', USER: 'x', LOGNAME: 'x' };
  const args = ['--id', id, '--policy', as === undefined ? policy : join(dir, 'etc', 'policy-nobody.yaml')];
  const result =
    as === undefined
      ? runBundle(args, env)
      : runBundle(['--reuid', String(as), '--regid', String(as), '--clear-groups', '--', ...args], env, undefined, '/usr/bin/setpriv');
  const answers: Record<string, string> = { exit: String(result.code), stderr: result.stderr };
  for (const line of result.stdout.split('\n')) {
    const colon = line.indexOf(': ');
    if (colon > 0) answers[line.slice(0, colon)] = line.slice(colon + 2);
  }
  return answers;
}

function endRecord(log = audit): Record<string, unknown> {
  return readFileSync(log, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((r) => r.event === 'end')
    .pop()!;
}

describe.runIf(asRoot)('a root program in the sandbox', () => {
  it('control: without a sandbox the probe reads /etc/shadow, the host keys, /root and /var, and writes anywhere', () => {
    const bare = probe('bare');
    expect(bare.shadow).toMatch(/^root:/);
    for (const key of ['ssh-dir', 'home', 'var', 'write-etc', 'write-top', 'write-shelf']) expect(bare[key], key).toBe('ok');
    for (const path of ['/etc/probe', '/probe', join(shelf, 'new')]) rmSync(path, { force: true });
  });

  it('sees no password hashes, host keys, homes, /var or host processes', () => {
    const boxed = probe('boxed');
    expect(boxed.exit, boxed.stderr).toBe('0');
    // Covered by /dev/null on a nodev mount: it cannot even be opened.
    expect(boxed.shadow).toBe('cat: /etc/shadow: Permission denied ');
    for (const key of ['ssh-dir', 'home', 'var']) expect(boxed[key], key).toMatch(/failed: .*No such file or directory/);
    // /proc is the namespace's own: its pid 1 is bwrap's, whose root is the sandbox's.
    expect(boxed['proc1-root']).toBe('ok');
  });

  it('writes only where the rule says; elsewhere the write fails visibly (read-only), it does not vanish', () => {
    const boxed = probe('boxed');
    expect(boxed['write-data']).toBe('ok');
    expect(existsSync(join(data, 'new-0'))).toBe(true);
    for (const key of ['write-shelf', 'write-etc', 'write-top']) expect(boxed[key], key).toMatch(/failed: .*Read-only file system/);
    expect(boxed['read-shelf']).toBe('ok');
    expect(existsSync('/etc/probe') || existsSync(join(shelf, 'new'))).toBe(false);
  });

  it('keeps only the file capabilities of its job: chown, DAC override, fowner, fsetid (0x1b); never CAP_SYS_ADMIN, nor CAP_DAC_READ_SEARCH (open_by_handle_at opens any inode, whatever the namespace shows)', () => {
    expect(probe('bare').caps).not.toBe('CapEff:000000000000001b');
    expect(probe('boxed').caps).toBe('CapEff:000000000000001b');
  });

  it('a path that cannot be bound: nothing runs, the end record says sandbox-failed', () => {
    const missing = probe('missing');
    expect(missing.exit).not.toBe('0');
    expect(missing.uid).toBeUndefined();
    expect(endRecord()).toMatchObject({ rule: 'missing', outcome: 'sandbox-failed' });
  });
});

describe.runIf(asRoot)('a non-root account (nobody) in the sandbox: bwrap through an unprivileged user namespace', () => {
  it('runs, writes where the rule says and nowhere else, with no capabilities', () => {
    const boxed = probe('boxed', NOBODY);
    expect(boxed.exit, boxed.stderr).toBe('0');
    expect(boxed.uid).toBe(String(NOBODY));
    expect(boxed['write-data']).toBe('ok');
    // /etc refuses nobody anyway; the namespace's own root is the one to try.
    expect(boxed['write-top']).toMatch(/failed: .*Read-only file system/);
    expect(boxed.caps).toBe('CapEff:0000000000000000');
    expect(endRecord(join(dir, 'log', 'nobody.nobody.jsonl'))).toMatchObject({ rule: 'boxed', outcome: 'exited', exit: 0 });
  });

  it('an sftp rule serves it too: put and get in its root, nothing outside', () => {
    const launcher = join(dir, 'sftp-as-nobody');
    const nobodyPolicy = join(dir, 'etc', 'policy-nobody.yaml');
    writeFileSync(
      launcher,
      `#!/bin/sh\nexec /usr/bin/setpriv --reuid ${NOBODY} --regid ${NOBODY} --clear-groups /usr/bin/env -i PATH=/usr/bin:/bin SSH_ORIGINAL_COMMAND=internal-sftp SSH_CONNECTION="127.0.0.1 1 127.0.0.1 22" ${process.execPath} ${BUNDLE} --id files --policy ${nobodyPolicy}\n`,
      { mode: 0o755 },
    );
    writeFileSync(
      join(dir, 'batch'),
      `put ${join(shelf, 'stored')} up.txt\nget up.txt ${join(dir, 'back.txt')}\n-get /etc/passwd ${join(dir, 'passwd')}\n`,
    );
    const result = spawnSync('/usr/bin/sftp', ['-D', launcher, '-b', join(dir, 'batch')], { encoding: 'utf8', timeout: 30_000 });
    expect(result.status, result.stdout + result.stderr).toBe(0);
    expect(readFileSync(join(data, 'up.txt'), 'utf8')).toBe('stored\n');
    expect(readFileSync(join(dir, 'back.txt'), 'utf8')).toBe('stored\n');
    expect(existsSync(join(dir, 'passwd'))).toBe(false);
    expect(endRecord(join(dir, 'log', 'nobody.nobody.jsonl'))).toMatchObject({
      rule: 'files',
      outcome: 'exited',
      exit: 0,
      files: { write: 1, read: 1 },
    });
  });
});
