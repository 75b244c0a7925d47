/**
 * The Debian package's maintainer scripts (packaging/postinst, postrm), run with their paths
 * pointed into a temp dir (each script sets them once at its top), and the package build
 * (scripts/deb.mjs) from a stand-in dist/: the same tree gives the same bytes, and what it holds.
 * scripts/deb-check.sh installs the real package into the system; these never touch it.
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
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';

const repo = fileURLToPath(new URL('../', import.meta.url));
const top = mkdtempSync(join(tmpdir(), 'ssh-dispatch-deb-'));
afterAll(() => rmSync(top, { recursive: true, force: true }));

let dir: string;
let n = 0;
beforeEach(() => {
  dir = join(top, String(++n));
  mkdirSync(dir);
});

function write(path: string, text: string, mode = 0o644): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  chmodSync(path, mode);
}

/** packaging/NAME with its path variables set to `values`; each must be set in the script. */
function script(name: 'postinst' | 'postrm', values: Record<string, string>): string {
  let text = readFileSync(join(repo, 'packaging', name), 'utf8');
  for (const [key, value] of Object.entries(values)) {
    const line = new RegExp(`^${key}=.*$`, 'm');
    expect(text, `${name} sets ${key}= at its top`).toMatch(line);
    text = text.replace(line, `${key}='${value}'`);
  }
  const file = join(dir, name);
  write(file, text, 0o755);
  return file;
}

function run(file: string, arg: string, env: Record<string, string> = {}) {
  const result = spawnSync('sh', [file, arg], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env } });
  return { code: result.status, stderr: result.stderr, stdout: result.stdout };
}

const group = spawnSync('id', ['-gn'], { encoding: 'utf8' }).stdout.trim();

/** A package's files as postinst finds them: the bundled node, a command that answers reapply, a system node. */
function installed(options: { systemNodeNew?: boolean; bundled?: boolean } = {}) {
  const lib = join(dir, 'usr/lib/ssh-dispatch');
  mkdirSync(lib, { recursive: true });
  if (options.bundled !== false) write(join(lib, 'node'), '#!/bin/sh\nexit 0\n', 0o755);
  // The system node answers the process.execve probe: 0 when new enough.
  write(join(dir, 'usr/bin/node'), `#!/bin/sh\nexit ${options.systemNodeNew ? 0 : 1}\n`, 0o755);
  // /usr/bin/ssh-dispatch: records its arguments; reapply exits REAPPLY_EXIT, saying why on a refusal.
  write(
    join(dir, 'usr/bin/ssh-dispatch'),
    `#!/bin/sh\necho "$*" >> '${join(dir, 'calls')}'\n[ "\${REAPPLY_EXIT:-0}" = 0 ] || echo "ssh-dispatch: /etc/ssh-dispatch/policies: applied version 3 refused: rules.yaml:4: unknown key" >&2\nexit "\${REAPPLY_EXIT:-0}"\n`,
    0o755,
  );
  const postinst = script('postinst', {
    lib,
    log_dir: join(dir, 'var/log/ssh-dispatch'),
    log_owner: userInfo().username,
    log_group: group,
    dispatch: join(dir, 'usr/bin/ssh-dispatch'),
    system_node: join(dir, 'usr/bin/node'),
  });
  return { lib, postinst, logDir: join(dir, 'var/log/ssh-dispatch'), calls: () => readFileSync(join(dir, 'calls'), 'utf8') };
}

describe('postinst', () => {
  it('configure: the bundled runtime when the system node is too old, the log dir 2750, the applied policy re-validated', () => {
    const pkg = installed({ systemNodeNew: false });
    const result = run(pkg.postinst, 'configure');
    expect(result.code, result.stderr).toBe(0);
    expect(readlinkSync(join(pkg.lib, 'runtime'))).toBe(join(pkg.lib, 'node'));
    expect(statSync(pkg.logDir).mode & 0o7777).toBe(0o2750);
    expect(pkg.calls()).toBe('reapply\n');
  });

  it('configure: the system node when it is new enough (the control: the same files with an old one, above)', () => {
    const pkg = installed({ systemNodeNew: true });
    expect(run(pkg.postinst, 'configure').code).toBe(0);
    expect(readlinkSync(join(pkg.lib, 'runtime'))).toBe(join(dir, 'usr/bin/node'));
  });

  it('configure fails loudly when this build refuses the applied policy, saying why and what to do', () => {
    const pkg = installed();
    const refused = run(pkg.postinst, 'configure', { REAPPLY_EXIT: '1' });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('applied version 3 refused: rules.yaml:4'); // reapply's reason
    expect(refused.stderr).toContain('this build REFUSES the applied policy');
    expect(refused.stderr).toContain('ssh-dispatch apply && dpkg --configure ssh-dispatch');
    // Control: the same files, reapply passing.
    expect(run(pkg.postinst, 'configure', { REAPPLY_EXIT: '0' }).code).toBe(0);
  });

  it('an existing log directory is left as the admin set it', () => {
    const pkg = installed();
    mkdirSync(pkg.logDir, { recursive: true, mode: 0o700 });
    chmodSync(pkg.logDir, 0o700);
    expect(run(pkg.postinst, 'configure').code).toBe(0);
    expect(statSync(pkg.logDir).mode & 0o7777).toBe(0o700);
  });

  it('fails when there is no usable runtime (no bundled one, the system one too old)', () => {
    const pkg = installed({ bundled: false, systemNodeNew: false });
    const result = run(pkg.postinst, 'configure');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('install nodejs >= 22.15');
    expect(existsSync(join(pkg.lib, 'runtime'))).toBe(false);
  });

  it('triggered (/usr/bin/node changed): picks the runtime again, and re-validates nothing', () => {
    const pkg = installed({ systemNodeNew: false });
    expect(run(pkg.postinst, 'configure').code).toBe(0);
    write(join(dir, 'usr/bin/node'), '#!/bin/sh\nexit 0\n', 0o755); // nodejs 24 installed
    expect(run(pkg.postinst, 'triggered', { REAPPLY_EXIT: '1' }).code).toBe(0);
    expect(readlinkSync(join(pkg.lib, 'runtime'))).toBe(join(dir, 'usr/bin/node'));
    expect(pkg.calls()).toBe('reapply\n'); // configure's only
  });

  it('refuses an argument it does not know', () => {
    expect(run(installed().postinst, 'frobnicate').code).toBe(1);
  });
});

describe('postrm', () => {
  /** What an installed, used package leaves beside its files: runtime link, caches, logs, applied versions. */
  function used() {
    const lib = join(dir, 'usr/lib/ssh-dispatch');
    const etc = join(dir, 'etc/ssh-dispatch');
    const logDir = join(dir, 'var/log/ssh-dispatch');
    write(join(lib, '.compile-cache/0/x.cache'), 'x');
    mkdirSync(join(lib, '.compile-cache/0'), { recursive: true });
    write(join(lib, 'node'), '');
    rmSync(join(lib, 'node')); // dpkg removed the package's files before postrm runs
    spawnSync('ln', ['-s', '/usr/lib/ssh-dispatch/node', join(lib, 'runtime')]);
    write(join(logDir, 'audit.jsonl'), '{}\n');
    write(join(etc, 'policies/.ssh-dispatch-cache/k/meta.json'), '{}');
    write(join(etc, 'policies/.ssh-dispatch-applied/h/current'), '1\n');
    const postrm = script('postrm', { lib, etc, log_dir: logDir });
    return { lib, etc, logDir, postrm };
  }

  it('remove: the runtime link and compile caches go (and with them /usr/lib/ssh-dispatch); policies and logs stay', () => {
    const pkg = used();
    write(join(pkg.etc, 'policies/backup.yaml'), 'version: 1\n');
    expect(run(pkg.postrm, 'remove').code).toBe(0);
    expect(existsSync(pkg.lib)).toBe(false);
    expect(readFileSync(join(pkg.logDir, 'audit.jsonl'), 'utf8')).toBe('{}\n');
    expect(existsSync(join(pkg.etc, 'policies/backup.yaml'))).toBe(true);
    expect(existsSync(join(pkg.etc, 'policies/.ssh-dispatch-applied/h/current'))).toBe(true);
  });

  it("purge: logs, caches and applied versions go; the admin's policy file stays, and the directories holding it", () => {
    const pkg = used();
    write(join(pkg.etc, 'policies/backup.yaml'), 'version: 1\n');
    expect(run(pkg.postrm, 'remove').code).toBe(0);
    expect(run(pkg.postrm, 'purge').code).toBe(0);
    expect(existsSync(pkg.logDir)).toBe(false);
    expect(readdirSync(join(pkg.etc, 'policies'))).toEqual(['backup.yaml']);
  });

  it('purge without admin files: nothing of /etc/ssh-dispatch is left (the control for the kept file above)', () => {
    const pkg = used();
    expect(run(pkg.postrm, 'purge').code).toBe(0);
    expect(existsSync(pkg.etc)).toBe(false);
    expect(existsSync(pkg.lib)).toBe(false);
    expect(existsSync(pkg.logDir)).toBe(false);
  });

  it('upgrade touches nothing', () => {
    const pkg = used();
    expect(run(pkg.postrm, 'upgrade').code).toBe(0);
    expect(lstatSync(join(pkg.lib, 'runtime')).isSymbolicLink()).toBe(true);
    expect(existsSync(join(pkg.logDir, 'audit.jsonl'))).toBe(true);
  });
});

describe('the package build (npm run deb), from a stand-in dist/', () => {
  const EPOCH = 1796601600;
  function standInDist(): string {
    const dist = join(top, 'dist');
    if (existsSync(dist)) return dist;
    write(join(dist, 'ssh-dispatch.cjs'), '#!/usr/bin/env node\n"use strict";launcher();\n', 0o755);
    for (const f of ['ssh-dispatch-core.cjs', 'ssh-dispatch-serve.cjs', 'ssh-dispatch-files.cjs', 'completion/ssh-dispatch'])
      write(join(dist, f), `${f}\n`);
    write(join(dist, 'man/ssh-dispatch.8'), '.TH SSH-DISPATCH 8\n');
    write(join(dist, 'man/ssh-dispatch-policy.5'), '.TH SSH-DISPATCH-POLICY 5\n');
    return dist;
  }
  function build(out: string, epoch: number): Buffer {
    const result = spawnSync(process.execPath, [join(repo, 'scripts/deb.mjs'), '--no-runtime', '--dist', standInDist(), '--out', out], {
      encoding: 'utf8',
      env: { ...process.env, SOURCE_DATE_EPOCH: String(epoch) },
    });
    expect(result.status, result.stderr).toBe(0);
    return readFileSync(join(out, 'ssh-dispatch_0.1.0-1_all.deb'));
  }
  const dpkgDeb = (...args: string[]) => spawnSync('dpkg-deb', args, { encoding: 'utf8', maxBuffer: 1 << 26 }).stdout;

  it('gives the same bytes twice, and other bytes for another SOURCE_DATE_EPOCH (the control)', () => {
    const first = build(join(dir, 'a'), EPOCH);
    expect(build(join(dir, 'b'), EPOCH).equals(first)).toBe(true);
    expect(build(join(dir, 'c'), EPOCH + 1).equals(first)).toBe(false);
  });

  it('holds the program, an empty policy directory, the examples as documentation, one conffile', () => {
    build(join(dir, 'out'), EPOCH);
    const deb = join(dir, 'out/ssh-dispatch_0.1.0-1_all.deb');
    expect(dpkgDeb('-f', deb, 'Version', 'Architecture', 'Depends')).toBe(
      'Version: 0.1.0-1\nArchitecture: all\nDepends: nodejs (>= 22.15)\n',
    );
    const listing = dpkgDeb('-c', deb).trimEnd().split('\n');
    const entry = (path: string) => listing.find((l) => l.endsWith(` ./${path}`) || l.includes(` ./${path} -> `));
    expect(listing.every((l) => l.includes(' root/root '))).toBe(true);
    expect(listing.filter((l) => l.includes(' ./etc/ssh-dispatch/policies/'))).toHaveLength(1); // itself: empty
    expect(entry('etc/ssh-dispatch/policies/')).toMatch(/^drwxr-xr-x /);
    expect(entry('usr/bin/ssh-dispatch')).toMatch(/^-rwxr-xr-x /);
    expect(entry('usr/lib/ssh-dispatch/ssh-dispatch.cjs')).toMatch(/^-rw-r--r-- /);
    expect(entry('usr/lib/ssh-dispatch/node')).toBeUndefined();
    expect(entry('var/log/ssh-dispatch/')).toBeUndefined(); // made by postinst, so that purge removes it
    for (const example of readdirSync(join(repo, 'policies')).filter((f) => f.endsWith('.yaml'))) {
      expect(entry(`usr/share/doc/ssh-dispatch/examples/${example}`), example).toBeDefined();
    }
    for (const path of [
      'usr/share/man/man8/ssh-dispatch.8.gz',
      'usr/share/man/man5/ssh-dispatch-policy.5.gz',
      'usr/share/doc/ssh-dispatch/copyright',
    ]) {
      expect(entry(path), path).toBeDefined();
    }
    expect(dpkgDeb('-I', deb, 'conffiles')).toBe('/etc/logrotate.d/ssh-dispatch\n');
    const extract = join(dir, 'x');
    spawnSync('dpkg-deb', ['-x', deb, extract]);
    // Run by the runtime postinst picked, never by a #! naming whatever node PATH finds first.
    expect(readFileSync(join(extract, 'usr/lib/ssh-dispatch/ssh-dispatch.cjs'), 'utf8')).toBe('"use strict";launcher();\n');
  });

  it("orders versions so that a Node security release, a revision and a new upstream each upgrade (dpkg's order)", () => {
    const order = ['0.1.0-1+node24.21.0', '0.1.0-1+node24.21.1', '0.1.0-1+node24.100.0', '0.1.0-2+node24.21.0', '0.2.0-1+node24.0.0'];
    for (let i = 1; i < order.length; i++) {
      expect(spawnSync('dpkg', ['--compare-versions', order[i - 1]!, 'lt', order[i]!]).status, `${order[i - 1]} < ${order[i]}`).toBe(0);
    }
    expect(spawnSync('dpkg', ['--compare-versions', order[1]!, 'lt', order[0]!]).status).toBe(1); // the control
  });
});
