/**
 * Fail closed: every way the dispatcher itself can be broken ends in a denial, and the
 * program is never run. These run the bundle as sshd would, with a crafted environment.
 */
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyPolicy, BUNDLE, NODE } from './lab.js';
import { runBundle } from './run-bundle.js';

let dir: string;
let marker: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ssh-dispatch-failclosed-'));
  // Apart from the policy and the logs: apply refuses a rule that writes where they are.
  mkdirSync(join(dir, 'out'));
  mkdirSync(join(dir, 'logs'));
  marker = join(dir, 'out', 'marker');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** The policy's path, in a directory of its own: apply refuses a rule that writes beside its policy. */
function policyFile(): string {
  mkdirSync(join(dir, 'etc'), { recursive: true, mode: 0o755 });
  return join(dir, 'etc', 'policy.yaml');
}

/** A policy whose one rule creates the marker file: if the marker exists, the program ran. */
function policyThatTouches(auditFile: string, mode = 0o600): string {
  const policy = policyFile();
  writeFileSync(
    policy,
    `version: 1
audit:
  file: ${auditFile}
identities:
  t:
    rules:
      - name: touch
        exec:
          command: ["/usr/bin/touch", "${marker}"]
`,
    { mode },
  );
  chmodSync(policy, mode);
  applyPolicy(policy);
  return policy;
}

const sshEnv = (extra: NodeJS.ProcessEnv = {}) => ({
  SSH_ORIGINAL_COMMAND: `/usr/bin/touch ${marker}`,
  SSH_CONNECTION: '127.0.0.1 50000 127.0.0.1 22',
  ...extra,
});

describe('fail closed', () => {
  it('runs the program when all is well (the control case)', () => {
    const audit = join(dir, 'logs', 'audit.jsonl');
    const result = runBundle(['--id', 't', '--policy', policyThatTouches(audit)], sshEnv());
    expect(result.code).toBe(0);
    expect(existsSync(marker)).toBe(true);
  });

  // Values Node and the loader accept silently, so that what is checked is our refusal. LD_AUDIT
  // is in test/request/session-env.test.ts only: ld.so reports a missing audit library on stderr.
  it.each([
    ['NODE_PATH', '/nonexistent'],
    // NODE_OPTIONS must hold something Node accepts, or Node itself exits before our code runs.
    ['NODE_OPTIONS', '--no-warnings'],
    ['LD_LIBRARY_PATH', '/nonexistent'],
    ['GLIBC_TUNABLES', 'glibc.malloc.perturb=0'],
    ['OPENSSL_CONF', '/nonexistent'],
    ['NODE_COMPILE_CACHE', '/nonexistent'],
    ['NODE_REDIRECT_WARNINGS', '/dev/null'],
  ])('refuses to run with %s set, and records why', (name, value) => {
    const audit = join(dir, 'logs', 'audit.jsonl');
    const result = runBundle(['--id', 't', '--policy', policyThatTouches(audit)], sshEnv({ [name]: value }));
    expect(result.code).toBe(126);
    expect(result.stderr).toMatch(/^ssh-dispatch: refused by the server's policy \(session [0-9a-f]{8}\); ask its administrator\n$/);
    expect(existsSync(marker)).toBe(false);
    const record = JSON.parse(readFileSync(audit, 'utf8').trim()) as Record<string, unknown>;
    expect(record).toMatchObject({ decision: 'deny', reason: 'unsafe-environment', detail: `set: ${name}` });
  });

  it('denies when the audit log directory does not exist', () => {
    const result = runBundle(['--id', 't', '--policy', policyThatTouches(join(dir, 'missing', 'audit.jsonl'))], sshEnv());
    expect(result.code).toBe(126);
    expect(existsSync(marker)).toBe(false);
  });

  it('denies when the audit log is a directory', () => {
    const audit = join(dir, 'logs', 'audit.jsonl');
    mkdirSync(audit);
    const result = runBundle(['--id', 't', '--policy', policyThatTouches(audit)], sshEnv());
    expect(result.code).toBe(126);
    expect(existsSync(marker)).toBe(false);
  });

  it('denies when the audit log is a symbolic link, and writes nothing through it', () => {
    const target = join(dir, 'elsewhere');
    writeFileSync(target, '');
    const audit = join(dir, 'logs', 'audit.jsonl');
    symlinkSync(target, audit);
    const result = runBundle(['--id', 't', '--policy', policyThatTouches(audit)], sshEnv());
    expect(result.code).toBe(126);
    expect(existsSync(marker)).toBe(false);
    expect(readFileSync(target, 'utf8')).toBe('');
  });

  it('denies when the account may not write the audit log (permissions), and runs nothing', () => {
    // As root (CI), the dispatcher runs as nobody against a root-owned log; otherwise the log's
    // directory is made read-only for this user. Either way open(2) fails with EACCES.
    chmodSync(dir, 0o755);
    const logDir = join(dir, 'log');
    const work = join(dir, 'work');
    mkdirSync(logDir, { mode: 0o755 });
    mkdirSync(work, { mode: 0o777 });
    chmodSync(work, 0o777);
    marker = join(work, 'marker');
    const audit = join(logDir, 'audit.jsonl');
    const policy = policyThatTouches(audit, 0o644);
    const asRoot = process.getuid?.() === 0;
    const run = () => {
      const prefix = asRoot ? ['/usr/bin/setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] : [];
      const argv = [...prefix, NODE, BUNDLE, '--id', 't', '--policy', policy];
      return spawnSync(argv[0]!, argv.slice(1), { env: { PATH: '/usr/bin:/bin', ...sshEnv() }, encoding: 'utf8', timeout: 20_000 });
    };
    // Control: a log the account may write, and the program runs.
    if (asRoot) chmodSync(logDir, 0o777);
    expect(run().status).toBe(0);
    expect(existsSync(marker)).toBe(true);
    rmSync(marker);
    // Now it may not.
    // As nobody, the records go to nobody's own log beside the policy's (audit.nobody.jsonl).
    const written = asRoot ? join(logDir, 'audit.nobody.jsonl') : audit;
    expect(existsSync(written)).toBe(true);
    if (asRoot) {
      chmodSync(logDir, 0o755);
      chownSync(written, 0, 0);
      chmodSync(written, 0o600);
    } else {
      chmodSync(written, 0o400);
    }
    const result = run();
    expect(result.status).toBe(126);
    expect(result.stderr).toMatch(/^ssh-dispatch: refused by the server's policy \(session [0-9a-f]{8}\); ask its administrator\n$/);
    expect(existsSync(marker)).toBe(false);
  });

  it('denies when the forced-command line has no --id', () => {
    const result = runBundle(['--policy', policyThatTouches(join(dir, 'logs', 'audit.jsonl'))], sshEnv());
    expect(result.code).toBe(126);
    expect(existsSync(marker)).toBe(false);
  });

  it('denies when the forced-command line has an unknown flag', () => {
    const result = runBundle(['--id', 't', '--shell', '--policy', policyThatTouches(join(dir, 'logs', 'audit.jsonl'))], sshEnv());
    expect(result.code).toBe(126);
    expect(existsSync(marker)).toBe(false);
  });

  it('ignores the client environment for choosing the policy or identity', () => {
    const audit = join(dir, 'logs', 'audit.jsonl');
    const result = runBundle(
      ['--id', 't', '--policy', policyThatTouches(audit)],
      sshEnv({ SSH_DISPATCH_POLICY: '/tmp/x', SSH_DISPATCH_ID: 'root' }),
    );
    expect(result.code).toBe(0);
    expect(JSON.parse(readFileSync(audit, 'utf8').split('\n')[0]!)).toMatchObject({ id: 't', decision: 'allow' });
  });
});

describe('signals from the program', () => {
  /**
   * rsync's exit_cleanup() sends SIGUSR1 to its process group on any error exit, which includes
   * the supervising dispatcher. Node's default answer to SIGUSR1 is to open a debugger on
   * 127.0.0.1:9229 (found while testing a failed rsync push, 2026-11-24).
   */
  it('a SIGUSR1 or SIGUSR2 to the process group neither opens a debugger nor ends the dispatcher', () => {
    const audit = join(dir, 'logs', 'audit.jsonl');
    const policy = policyFile();
    writeFileSync(
      policy,
      `version: 1\naudit:\n  file: ${audit}\nidentities:\n  t:\n    rules:\n      - name: signal-group\n        exec:\n          command: ["/bin/sh", "-c", "trap '' USR1 USR2; kill -USR1 0; kill -USR2 0; sleep 0.3; exit 3"]\n`,
      { mode: 0o600 },
    );
    applyPolicy(policy);
    const result = runBundle(['--id', 't', '--policy', policy], {
      SSH_ORIGINAL_COMMAND: `/bin/sh -c "trap '' USR1 USR2; kill -USR1 0; kill -USR2 0; sleep 0.3; exit 3"`,
    });
    expect(result.stderr).not.toContain('Debugger listening');
    expect(result.code).toBe(3);
    const records = readFileSync(audit, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records[1]).toMatchObject({ event: 'end', exit: 3 });
  });
});

describe('what the program inherits', () => {
  /**
   * Node ignores SIGPIPE and SIGXFSZ; ignored signals survive execve. A program handed over with
   * execve saw EPIPE instead of dying quietly on a closed pipe (found 2026-11-24).
   */
  it.each([
    ['execve', 'false'],
    ['spawn', 'true'],
  ])('no ignored signals with %s', (_how, supervise) => {
    const audit = join(dir, 'logs', 'audit.jsonl');
    const policy = policyFile();
    writeFileSync(
      policy,
      `version: 1\naudit:\n  file: ${audit}\nidentities:\n  t:\n    rules:\n      - name: show\n        exec:\n          command: ["/bin/grep", "SigIgn", "/proc/self/status"]\n          supervise: ${supervise}\n`,
      { mode: 0o600 },
    );
    applyPolicy(policy);
    const result = runBundle(['--id', 't', '--policy', policy], { SSH_ORIGINAL_COMMAND: '/bin/grep SigIgn /proc/self/status' });
    expect(result.stdout.trim()).toBe('SigIgn:\t0000000000000000');
  });

  it('a file-size limit on the audit log is a denial, and nothing runs', () => {
    const audit = join(dir, 'logs', 'audit.jsonl');
    writeFileSync(audit, 'x'.repeat(20_000));
    const policy = policyThatTouches(audit);
    const result = spawnSync('/usr/bin/prlimit', ['--fsize=10000', NODE, BUNDLE, '--id', 't', '--policy', policy], {
      env: { PATH: '/usr/bin:/bin', SSH_ORIGINAL_COMMAND: `/usr/bin/touch ${marker}` },
      encoding: 'utf8',
    });
    expect(result.status).toBe(126);
    expect(result.stderr).toMatch(/^ssh-dispatch: refused by the server's policy \(session [0-9a-f]{8}\); ask its administrator\n$/);
    expect(existsSync(marker)).toBe(false);
  });
});

// A policy that does not load names no audit file, so the record goes to the default one,
// /var/log/ssh-dispatch/audit.jsonl: seen here in a mount namespace of the dispatcher's own,
// where /var/log is a temp dir (needs root and unshare(2); skipped where they cannot be had).
const canUnshare = process.getuid?.() === 0 && spawnSync('/usr/bin/unshare', ['--mount', '/bin/true']).status === 0;

describe.runIf(canUnshare)('a policy that does not load', () => {
  /** The bundle with `args`, its /var/log replaced by `varLog` (for it alone). */
  function runWithVarLog(varLog: string, args: string[], env: NodeJS.ProcessEnv) {
    const script = 'mount --bind "$0" /var/log && exec "$@"';
    const result = spawnSync(
      '/usr/bin/unshare',
      ['--mount', '--propagation', 'private', '/bin/sh', '-c', script, varLog, NODE, BUNDLE, ...args],
      { env: { PATH: '/usr/bin:/bin', ...env }, encoding: 'utf8', timeout: 20_000 },
    );
    return { code: result.status, stderr: result.stderr };
  }

  it('never applied, and the files do not load either: denies, runs nothing, and records policy-not-applied in the default audit log', () => {
    const varLog = join(dir, 'var-log');
    mkdirSync(join(varLog, 'ssh-dispatch'), { recursive: true, mode: 0o700 });
    const policy = join(dir, 'broken.yaml');
    writeFileSync(
      policy,
      `version: 1\nidentities:\n  t:\n    rules:\n      - name: touch\n        exec:\n          command: ["/usr/bin/touch", "${marker}"]\n        frobnicate: true\n`,
      { mode: 0o600 },
    );
    const result = runWithVarLog(varLog, ['--id', 't', '--policy', policy], sshEnv());
    expect(result.code).toBe(126);
    expect(result.stderr).toMatch(/^ssh-dispatch: refused by the server's policy \(session [0-9a-f]{8}\); ask its administrator\n$/);
    expect(existsSync(marker)).toBe(false);
    const records = readFileSync(join(varLog, 'ssh-dispatch', 'audit.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      event: 'decision',
      id: 't',
      decision: 'deny',
      reason: 'policy-not-applied',
      detail: expect.stringContaining('ssh-dispatch apply'),
    });
    // The control: the real /var/log was not written.
    expect(
      existsSync('/var/log/ssh-dispatch/audit.jsonl') &&
        readFileSync('/var/log/ssh-dispatch/audit.jsonl', 'utf8').includes(String(records[0]!.session)),
    ).toBe(false);
  });

  it('an edit that breaks the files serves the applied version still; a served version this build cannot load is refused into the log it named, not the default (issue 18)', () => {
    const varLog = join(dir, 'var-log-2');
    mkdirSync(join(varLog, 'ssh-dispatch'), { recursive: true, mode: 0o700 });
    const policyDir = join(dir, 'edited');
    mkdirSync(policyDir, { mode: 0o700 });
    const own = join(dir, 'own-log', 'audit.jsonl');
    mkdirSync(join(dir, 'own-log'), { mode: 0o700 });
    const good = `version: 1\naudit: { file: ${own} }\nidentities:\n  t:\n    rules:\n      - { name: ok, exec: { command: /bin/true } }\n`;
    writeFileSync(join(policyDir, 'main.yaml'), good, { mode: 0o600 });
    applyPolicy(policyDir);
    writeFileSync(join(policyDir, 'main.yaml'), `${good}        frobnicate: true\n`, { mode: 0o600 });
    expect(runWithVarLog(varLog, ['--id', 't', '--policy', policyDir], sshEnv({ SSH_ORIGINAL_COMMAND: '/bin/true' })).code).toBe(0);
    const read = () =>
      readFileSync(own, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((r) => r.event === 'decision');
    expect(read().at(-1)).toMatchObject({ decision: 'allow', rule: 'ok' });
    // What an upgrade to a build that refuses the version looks like: what the old build compiled is
    // another build's, and the version's own files do not load.
    const state = join(policyDir, '.ssh-dispatch-applied');
    const [hash] = readdirSync(state);
    const compiled = join(state, hash!, 'v', '1', 'compiled');
    const [entry] = readdirSync(compiled);
    const meta = join(compiled, entry!, 'meta.json');
    const json = JSON.parse(readFileSync(meta, 'utf8')) as { signature: string };
    writeFileSync(meta, JSON.stringify({ ...json, signature: json.signature.replace(/^[^\n]+/, 'another-build') }));
    writeFileSync(join(state, hash!, 'v', '1', 'src', '0'), `${good}        frobnicate: true\n`);
    const result = runWithVarLog(varLog, ['--id', 't', '--policy', policyDir], sshEnv());
    expect(result.code).toBe(126);
    expect(read().at(-1)).toMatchObject({
      decision: 'deny',
      reason: 'policy-unloadable',
      detail: expect.stringContaining('does not load with this build'),
    });
    expect(existsSync(join(varLog, 'ssh-dispatch', 'audit.jsonl'))).toBe(false);
  });
});
