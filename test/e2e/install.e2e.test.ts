/**
 * install.sh into a temp prefix, as CI can: what it writes, that the installed command works
 * (with the --etc and --log-dir it was installed with, no --policy), that a second run changes no
 * configuration and keeps the recorded directories, that a missing directory it was told to use
 * is an error, and that --uninstall removes exactly its files.
 */
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';

const repo = fileURLToPath(new URL('../../', import.meta.url));
let dir: string;
let prefix: string;
let etc: string;
let logs: string;
let logrotate: string;

function install(...args: string[]) {
  return installOnly('--prefix', prefix, '--etc', etc, '--log-dir', logs, '--logrotate-dir', logrotate, ...args);
}

/** install.sh with these arguments only (always a --prefix in the temp directory). */
function installOnly(...args: string[]) {
  const result = spawnSync('bash', [join(repo, 'install.sh'), ...args], {
    encoding: 'utf8',
    timeout: 120_000,
    // The machine's own node is 20: the installer must fall back to the one npm installed.
    env: { PATH: '/usr/bin:/bin' },
  });
  return { code: result.status, out: result.stdout + result.stderr };
}

const installed = () => join(prefix, 'bin', 'ssh-dispatch');
const manifestLines = () => readFileSync(join(prefix, 'lib', 'ssh-dispatch', 'MANIFEST'), 'utf8').split('\n');

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ssh-dispatch-install-'));
  prefix = join(dir, 'usr');
  etc = join(dir, 'etc', 'ssh-dispatch');
  logs = join(dir, 'log', 'ssh-dispatch');
  logrotate = join(dir, 'etc', 'logrotate.d');
  mkdirSync(logrotate, { recursive: true });
  // install.sh creates ETC and LOG_DIR, not the directories above them.
  mkdirSync(join(dir, 'log'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('installs the program, a runtime, the examples, man pages, completion, the directories and a logrotate snippet', () => {
  const result = install();
  expect(result.code, result.out).toBe(0);
  for (const file of [
    'lib/ssh-dispatch/ssh-dispatch.cjs',
    'lib/ssh-dispatch/ssh-dispatch-core.cjs',
    'lib/ssh-dispatch/ssh-dispatch-serve.cjs',
    'bin/ssh-dispatch',
    'share/ssh-dispatch/examples/rsync-backup.yaml',
    'share/ssh-dispatch/schema/audit.schema.json',
    'share/man/man8/ssh-dispatch.8',
    'share/man/man5/ssh-dispatch-policy.5',
    'share/bash-completion/completions/ssh-dispatch',
  ]) {
    expect(existsSync(join(prefix, file)), file).toBe(true);
  }
  expect(statSync(join(etc, 'policies')).mode & 0o777).toBe(0o755);
  // Group adm and set-group-ID as root: the logs created in it are readable by a monitoring agent in adm.
  expect(statSync(logs).mode & 0o7777).toBe(process.getuid?.() === 0 ? 0o2750 : 0o750);
  expect(readFileSync(join(logrotate, 'ssh-dispatch'), 'utf8')).toContain(`${logs}/*.jsonl`);
  // The installed command knows its --etc: the key line needs no --policy.
  expect(result.out).toContain(`authorized-key --id ID --command ${prefix}/bin/ssh-dispatch KEY.pub`);
  const conf = join(prefix, 'lib', 'ssh-dispatch', 'installed.conf');
  expect(readFileSync(conf, 'utf8')).toContain(`\netc=${etc}\nlog-dir=${logs}\n`);
  expect(statSync(conf).mode & 0o777).toBe(0o644);
});

it('the installed command works with no --policy: help, check, explain read the policy in --etc', () => {
  const command = installed();
  expect(spawnSync(command, ['--help'], { encoding: 'utf8' }).stdout).toContain('ssh-dispatch explain');
  const page = spawnSync('man', ['-l', join(prefix, 'share/man/man8/ssh-dispatch.8')], {
    encoding: 'utf8',
    env: { PATH: '/usr/bin:/bin', MANWIDTH: '100' },
  });
  expect(page.stdout).toContain('ssh-dispatch explain');
  // Without its audit.file (/var/log/ssh-dispatch/audit.jsonl): records go to the default, LOG_DIR/audit.jsonl.
  const example = readFileSync(join(prefix, 'share/ssh-dispatch/examples/commands.yaml'), 'utf8').replace(/^audit:\n(?: .*\n)+/m, '');
  expect(example).not.toContain('/var/log');
  writeFileSync(join(etc, 'policies', 'main.yaml'), example, { mode: 0o644 });
  // Control: the program without install.sh's record defaults to /etc/ssh-dispatch/policies (the bug, for the installed command).
  const policyFlag = /--policy PATH +policy file or directory \(default (.*)\)/;
  const bare = spawnSync(process.execPath, [join(repo, 'dist', 'ssh-dispatch.cjs'), 'explain', '--help'], { encoding: 'utf8' });
  expect(policyFlag.exec(bare.stdout)?.[1]).toBe('/etc/ssh-dispatch/policies');
  const help = spawnSync(command, ['explain', '--help'], { encoding: 'utf8' });
  expect(policyFlag.exec(help.stdout)?.[1]).toBe(join(etc, 'policies'));
  const check = spawnSync(command, ['check'], { encoding: 'utf8' });
  expect(check.status, check.stdout).toBe(0);
  // The example's directories do not exist here: warnings, never UNSAFE; "ok" only when nothing was found.
  expect(check.stdout).toMatch(/^(ok|\d+ warning\(s\)): 1 identities/m);
  expect(check.stdout).not.toContain('UNSAFE');
  expect(check.stdout).toContain(join(etc, 'policies'));
  const explain = spawnSync(command, ['explain', '--id', 'monitoring', '--from', '192.0.2.10', '--', 'df -h /srv/backup'], {
    encoding: 'utf8',
  });
  expect(explain.status, explain.stdout + explain.stderr).toBe(0);
});

it('a key line with no --policy is served the policy in --etc, and its record goes to --log-dir', () => {
  // Without the record a denial would be written to the machine's /var/log/ssh-dispatch: never run it so.
  expect(readFileSync(join(prefix, 'lib', 'ssh-dispatch', 'installed.conf'), 'utf8')).toContain(`log-dir=${logs}\n`);
  const applied = spawnSync(installed(), ['apply'], { encoding: 'utf8' });
  expect(applied.status, applied.stdout + applied.stderr).toBe(0);
  expect(applied.stdout).toMatch(/^apply: version 1 \(apply .* UTC by root\) is served from now on$/m);
  const run = spawnSync(installed(), ['--id', 'monitoring'], {
    encoding: 'utf8',
    env: { PATH: '/usr/bin:/bin', SSH_ORIGINAL_COMMAND: 'rm -rf /', SSH_CONNECTION: '192.0.2.10 50000 192.0.2.1 22' },
  });
  expect(run.status, run.stderr).toBe(126);
  // Decided by the policy (an identity it knows), not refused for a missing /etc/ssh-dispatch.
  const records = readFileSync(join(logs, 'audit.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  expect(records.at(-1)).toEqual(expect.objectContaining({ event: 'decision', id: 'monitoring', decision: 'deny', command: 'rm -rf /' }));
  expect(records.at(-1)!.reason).not.toBe('unknown-identity');
});

it('installed.conf is trusted like the code: writable by others, a symbolic link or an unknown line, and nothing runs', () => {
  const conf = join(prefix, 'lib', 'ssh-dispatch', 'installed.conf');
  const good = readFileSync(conf, 'utf8');
  const forced = { PATH: '/usr/bin:/bin', SSH_ORIGINAL_COMMAND: 'df -h /srv/backup', SSH_CONNECTION: '192.0.2.10 50000 192.0.2.1 22' };
  try {
    // Control: as installed, the admin command runs.
    expect(spawnSync(installed(), ['check'], { encoding: 'utf8' }).status).toBe(0);
    chmodSync(conf, 0o666);
    const check = spawnSync(installed(), ['check'], { encoding: 'utf8' });
    expect([check.status, check.stdout]).toEqual([2, '']);
    expect(check.stderr).toBe(
      `ssh-dispatch: ${conf}: writable by group or others (mode 0666): chmod go-w it; nothing runs until it is fixed\n`,
    );
    // A client is refused, and told nothing about the installation.
    const served = spawnSync(installed(), ['--id', 'monitoring'], { encoding: 'utf8', env: forced });
    expect([served.status, served.stdout, served.stderr]).toEqual([126, '', 'ssh-dispatch: refused: the installation is damaged\n']);
    chmodSync(conf, 0o644);
    writeFileSync(conf, `${good}policy=/tmp\n`);
    expect(spawnSync(installed(), ['check'], { encoding: 'utf8' }).stderr).toContain('unexpected line "policy=/tmp"');
    rmSync(conf);
    symlinkSync(join(dir, 'elsewhere.conf'), conf);
    expect(spawnSync(installed(), ['check'], { encoding: 'utf8' }).stderr).toContain('a symbolic link');
  } finally {
    rmSync(conf, { force: true });
    writeFileSync(conf, good, { mode: 0o644 });
  }
});

it('a second run replaces the program and keeps the configuration', () => {
  const policy = join(etc, 'policies', 'main.yaml');
  const before = readFileSync(policy, 'utf8');
  writeFileSync(join(logrotate, 'ssh-dispatch'), '# edited by the admin\n');
  const result = install();
  expect(result.code, result.out).toBe(0);
  expect(readFileSync(policy, 'utf8')).toBe(before);
  expect(readFileSync(join(logrotate, 'ssh-dispatch'), 'utf8')).toBe('# edited by the admin\n');
  // The second manifest still lists the snippet the first run wrote, once, and the settings.
  const manifest = manifestLines();
  expect(manifest.filter((line) => line === join(logrotate, 'ssh-dispatch'))).toHaveLength(1);
  expect(manifest).toEqual(expect.arrayContaining([`#etc=${etc}`, `#log-dir=${logs}`, `#logrotate-dir=${logrotate}`]));
  expect(new Set(manifest).size).toBe(manifest.length);
});

/**
 * A copy of this checkout whose build differs: its bundles carry another build id (a build never
 * reads what another compiled), or its core is `replaced` by a build that refuses the policy.
 */
function changedCheckout(name: string, replaceCore?: string): string {
  const copy = join(dir, name);
  mkdirSync(join(copy, 'dist'), { recursive: true });
  for (const file of ['install.sh']) writeFileSync(join(copy, file), readFileSync(join(repo, file)), { mode: 0o755 });
  spawnSync('cp', ['-r', join(repo, 'policies'), join(repo, 'schema'), copy]);
  spawnSync('cp', ['-r', join(repo, 'dist', 'man'), join(repo, 'dist', 'completion'), join(copy, 'dist')]);
  symlinkSync(join(repo, 'node_modules'), join(copy, 'node_modules'));
  const id = /build ([0-9a-f]{16})\)/.exec(
    spawnSync(process.execPath, [join(repo, 'dist', 'ssh-dispatch.cjs'), '--version'], { encoding: 'utf8' }).stdout,
  )![1]!;
  for (const file of readdirSync(join(repo, 'dist')).filter((f) => f.endsWith('.cjs'))) {
    const text = readFileSync(join(repo, 'dist', file), 'utf8').replaceAll(id, 'c4a46edb01d00000');
    writeFileSync(join(copy, 'dist', file), replaceCore && file === 'ssh-dispatch-core.cjs' ? replaceCore : text, { mode: 0o755 });
  }
  return copy;
}

it('a second install of a changed build keeps every key served (the new build re-validates the applied version first); one that refuses it installs nothing', () => {
  const forced = { PATH: '/usr/bin:/bin', SSH_ORIGINAL_COMMAND: 'df -h /srv/backup', SSH_CONNECTION: '192.0.2.10 50000 192.0.2.1 22' };
  const decided = () =>
    readFileSync(join(logs, 'audit.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((r) => r.event === 'decision')
      .at(-1);
  const served = () => spawnSync(installed(), ['--id', 'monitoring'], { encoding: 'utf8', env: forced });
  served();
  expect(decided()).toMatchObject({ decision: 'allow', rule: 'disk-free' });
  const changed = changedCheckout('changed');
  const result = spawnSync('bash', [join(changed, 'install.sh'), '--prefix', prefix], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin' } });
  expect(result.status, result.stdout + result.stderr).toBe(0);
  expect(result.stdout).toMatch(/^reapply: version 1 .* passes with this build and is served compiled by it$/m);
  expect(spawnSync(installed(), ['--version'], { encoding: 'utf8' }).stdout).toContain('c4a46edb01d00000');
  served();
  expect(decided()).toMatchObject({ decision: 'allow', rule: 'disk-free' });
  // What the new build compiled, and only that, is there for version 1.
  const compiled = join(etc, 'policies', '.ssh-dispatch-applied');
  const metas = spawnSync('sh', ['-c', `cat ${compiled}/*/v/1/compiled/*/meta.json`], { encoding: 'utf8' }).stdout;
  expect(
    metas
      .split('\n')
      .filter(Boolean)
      .map((m) => (JSON.parse(m) as { signature: string }).signature.split('\n')[0]),
  ).toEqual(['c4a46edb01d00000']);

  // A build that refuses the applied policy: install.sh stops before it replaces anything.
  const refusing = changedCheckout(
    'refusing',
    "process.stdout.write('/p/main.yaml:3: UNSAFE: made up by the test\\nrefused: this build refuses version 1\\n'); process.exit(1);\n",
  );
  const before = readFileSync(join(prefix, 'lib', 'ssh-dispatch', 'ssh-dispatch-core.cjs'));
  const refused = spawnSync('bash', [join(refusing, 'install.sh'), '--prefix', prefix], {
    encoding: 'utf8',
    env: { PATH: '/usr/bin:/bin' },
  });
  expect(refused.status).toBe(1);
  expect(refused.stdout).toContain('refused: this build refuses version 1');
  expect(refused.stderr).toContain(
    `install.sh: the new build refuses the policy served from ${join(etc, 'policies')} (above): nothing was installed`,
  );
  expect(readFileSync(join(prefix, 'lib', 'ssh-dispatch', 'ssh-dispatch-core.cjs'))).toEqual(before);
  served();
  expect(decided()).toMatchObject({ decision: 'allow', rule: 'disk-free' });
  // Back to this checkout's build, for the tests after this one.
  expect(install().code).toBe(0);
});

it('applied versions deleted by mistake: an upgrade adopts nothing (the files are not served unreviewed); over an install older than apply it adopts them', () => {
  const state = join(etc, 'policies', '.ssh-dispatch-applied');
  const kept = join(dir, 'applied-kept');
  const manifest = join(prefix, 'lib', 'ssh-dispatch', 'MANIFEST');
  renameSync(state, kept);
  try {
    const deleted = install();
    expect(deleted.code, deleted.out).toBe(0);
    expect(deleted.out).not.toContain('reapply --adopt');
    expect(deleted.out).toMatch(/reapply: nothing is applied at .*keys refuse every request until "ssh-dispatch apply"/);
    expect(existsSync(state)).toBe(false);
    // The control: a MANIFEST without the mark, as an install older than apply wrote it.
    writeFileSync(
      manifest,
      manifestLines()
        .filter((line) => line !== '#serves=applied')
        .join('\n'),
    );
    const older = install();
    expect(older.code, older.out).toBe(0);
    expect(older.out).toMatch(/^reapply --adopt: version 1 \(adopt .*\) is served from now on$/m);
    expect(manifestLines()).toContain('#serves=applied');
  } finally {
    rmSync(state, { recursive: true, force: true });
    renameSync(kept, state);
  }
});

it('a re-run given only --prefix keeps the --etc, --log-dir and --logrotate-dir the MANIFEST recorded', () => {
  // The bug: a re-run fell back to /etc/ssh-dispatch and /var/log/ssh-dispatch and created them.
  const result = installOnly('--prefix', prefix);
  expect(result.code, result.out).toBe(0);
  // No path outside the temp directory (" /etc/..." with its space), the note on the examples' audit.file aside.
  const said = result.out.replace(/^ {2}The examples set audit.file.*$/m, '');
  expect(said).not.toMatch(/ \/etc\/ssh-dispatch| \/var\/log| \/etc\/logrotate\.d/);
  expect(said).not.toMatch(new RegExp(`^created (?!${dir})`, 'm'));
  expect(manifestLines()).toEqual(expect.arrayContaining([`#etc=${etc}`, `#log-dir=${logs}`, `#logrotate-dir=${logrotate}`]));
  expect(readFileSync(join(prefix, 'lib', 'ssh-dispatch', 'installed.conf'), 'utf8')).toContain(`\netc=${etc}\nlog-dir=${logs}\n`);
  expect(spawnSync(installed(), ['check'], { encoding: 'utf8' }).status).toBe(0);
});

it('a flag given now wins over the MANIFEST, and is recorded', () => {
  const other = join(dir, 'etc', 'other');
  const moved = installOnly('--prefix', prefix, '--etc', other);
  expect(moved.code, moved.out).toBe(0);
  expect(manifestLines()).toEqual(expect.arrayContaining([`#etc=${other}`, `#log-dir=${logs}`]));
  expect(spawnSync(installed(), ['explain', '--help'], { encoding: 'utf8' }).stdout).toContain(`(default ${other}/policies)`);
  const back = installOnly('--prefix', prefix, '--etc', etc);
  expect(back.code, back.out).toBe(0);
  expect(manifestLines()).toContain(`#etc=${etc}`);
});

it('a missing directory it was told to use is an error, and nothing is installed', () => {
  const before = readFileSync(join(prefix, 'lib', 'ssh-dispatch', 'MANIFEST'), 'utf8');
  const missingRotate = installOnly('--prefix', prefix, '--logrotate-dir', join(dir, 'no-logrotate.d'));
  expect(missingRotate.code).toBe(1);
  expect(missingRotate.out).toContain(`install.sh: --logrotate-dir ${join(dir, 'no-logrotate.d')}: no such directory`);
  const missingAbove = installOnly('--prefix', prefix, '--log-dir', join(dir, 'nowhere', 'ssh-dispatch'));
  expect(missingAbove.code).toBe(1);
  expect(missingAbove.out).toContain(
    `does not exist (install.sh creates ${join(dir, 'nowhere', 'ssh-dispatch')}, not the directories above it)`,
  );
  expect(existsSync(join(dir, 'nowhere'))).toBe(false);
  // A recorded one that has gone (an unmounted disk, a typo fixed by hand) is not recreated elsewhere.
  renameSync(logrotate, `${logrotate}.away`);
  try {
    const recorded = installOnly('--prefix', prefix);
    expect(recorded.code).toBe(1);
    expect(recorded.out).toContain(
      `${logrotate}, recorded in ${join(prefix, 'lib', 'ssh-dispatch', 'MANIFEST')} by an earlier install, does not exist`,
    );
  } finally {
    renameSync(`${logrotate}.away`, logrotate);
  }
  expect(readFileSync(join(prefix, 'lib', 'ssh-dispatch', 'MANIFEST'), 'utf8')).toBe(before);
});

it('refuses to install below a directory others can write to', () => {
  const open = join(dir, 'open');
  mkdirSync(open);
  chmodSync(open, 0o777);
  const result = spawnSync('bash', [join(repo, 'install.sh'), '--prefix', join(open, 'usr'), '--etc', etc, '--log-dir', logs], {
    encoding: 'utf8',
    env: { PATH: '/usr/bin:/bin' },
  });
  expect(result.status).toBe(1);
  expect(result.stderr).toContain('is writable by group or others');
});

it('--account gives a service account its own compile cache and log, in the recorded --log-dir; the installed command uses the cache', () => {
  const cache = join(prefix, 'lib', 'ssh-dispatch', '.compile-cache');
  // Before --uninstall: without the MANIFEST's record this would install into /etc and /var/log.
  expect(manifestLines()).toContain(`#log-dir=${logs}`);
  if (process.getuid?.() !== 0) {
    const result = install('--account', 'nobody');
    expect(result.code).not.toBe(0);
    expect(result.out).toContain('--account needs root');
    return;
  }
  chmodSync(dir, 0o755);
  // As the issue ran it: only --account (and the prefix); the bug made its log in /var/log/ssh-dispatch.
  const result = installOnly('--prefix', prefix, '--account', 'nobody');
  expect(result.code, result.out).toBe(0);
  expect(result.out).toContain(`created ${join(logs, 'audit.nobody.jsonl')}`);
  expect(statSync(join(logs, 'sessions.nobody')).uid).toBe(65534);
  const own = statSync(join(cache, '65534'));
  expect([own.uid, own.mode & 0o777]).toEqual([65534, 0o700]);
  const run = spawnSync(
    '/usr/bin/setpriv',
    ['--reuid=65534', '--regid=65534', '--clear-groups', join(prefix, 'bin', 'ssh-dispatch'), '--help'],
    {
      encoding: 'utf8',
      env: { PATH: '/usr/bin:/bin', NODE_DEBUG_NATIVE: 'COMPILE_CACHE' },
    },
  );
  expect(run.status, run.stderr).toBe(0);
  expect(run.stderr).toContain(`creating cache directory ${cache}/65534/`);
});

it('--uninstall removes what both runs installed, the logrotate snippet too, and keeps policies and logs', () => {
  // Only --prefix: where the configuration and logs went, the manifest says.
  const result = spawnSync('bash', [join(repo, 'install.sh'), '--uninstall', '--prefix', prefix], {
    encoding: 'utf8',
    env: { PATH: '/usr/bin:/bin' },
  });
  const out = result.stdout + result.stderr;
  expect(result.status, out).toBe(0);
  expect(existsSync(join(prefix, 'bin', 'ssh-dispatch'))).toBe(false);
  expect(existsSync(join(prefix, 'lib', 'ssh-dispatch'))).toBe(false);
  // Nothing left below PREFIX/share: pages, completion and their (then empty) directories.
  expect(existsSync(join(prefix, 'share'))).toBe(true);
  expect(readdirSync(join(prefix, 'share'))).toEqual([]);
  // Written by the first run only ("if missing"), yet listed by the second.
  expect(existsSync(join(logrotate, 'ssh-dispatch'))).toBe(false);
  expect(out).toContain(`removed ${join(logrotate, 'ssh-dispatch')}`);
  expect(existsSync(join(etc, 'policies', 'main.yaml'))).toBe(true);
  expect(existsSync(logs)).toBe(true);
  expect(out).toContain(`kept: ${etc} (policies) and ${logs} (audit logs)`);
  expect(out).not.toMatch(/ \/etc\/ssh-dispatch|\/var\/log/);
});

it('--help comes first and tells the truth', () => {
  const result = spawnSync('bash', [join(repo, 'install.sh'), '--help'], { encoding: 'utf8' });
  expect(result.status).toBe(0);
  expect(result.stdout).toMatch(/^install.sh — install ssh-dispatch/);
  expect(result.stdout).toContain('--uninstall');
});
