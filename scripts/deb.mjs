// npm run deb: builds ssh-dispatch_VERSION_ARCH.deb from dist/ (npm run build) with dpkg-deb.
//
//   node scripts/deb.mjs [--out DIR] [--no-runtime] [--dist DIR]
//
//   --out DIR      where the .deb goes (default deb/); the staging tree is built in a temp dir
//   --dist DIR     the build to package (default dist/; tests give a stand-in)
//   --no-runtime   without the bundled Node (Architecture: all, Depends: nodejs (>= 22.15)),
//                  for systems whose Node is new enough
//
// Reproducible: the same tree gives the same bytes (SOURCE_DATE_EPOCH, default the last commit's
// time; every file's mtime set to it; owners root:root; dpkg-deb sorts the file list; one xz
// thread). What the package holds and why: docs/packaging.md; the texts: scripts/deb-parts.mjs.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
  lutimesSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import {
  BUNDLED_NODE,
  changelog,
  controlFile,
  copyright,
  debArch,
  debFileName,
  debVersion,
  dep5License,
  EXPAT_TEXT,
  installedConf,
  launcher,
  LIB,
  logrotate,
  NODE_LICENSE,
  PACKAGE,
} from './deb-parts.mjs';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
/** Bumped when the packaging changes and nothing else does (ssh-dispatch and Node the same). */
const REVISION = 1;
const MAINTAINER = process.env.DEB_MAINTAINER ?? 'ssh-dispatch maintainers <ssh-dispatch@users.noreply.github.com>';
/** npm packages esbuild bundles into the .cjs files: package.json's dependencies. */
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));

function parseArgs(argv) {
  const options = { out: join(ROOT, 'deb'), runtime: true, dist: join(ROOT, 'dist') };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out' && argv[i + 1]) options.out = resolve(argv[++i]);
    else if (argv[i] === '--dist' && argv[i + 1]) options.dist = resolve(argv[++i]);
    else if (argv[i] === '--no-runtime') options.runtime = false;
    else throw new Error(`usage: node scripts/deb.mjs [--out DIR] [--no-runtime] [--dist DIR] (not ${argv[i]})`);
  }
  return options;
}

function git(...args) {
  try {
    return execFileSync('git', ['-C', ROOT, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

/** The bundled runtime: npm's node package (devDependencies), its binary and licence. */
function bundledNode() {
  const bin = join(ROOT, 'node_modules/node/bin/node');
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run npm ci first`);
  const version = execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim().replace(/^v/, '');
  const arch = execFileSync(bin, ['-p', 'process.arch'], { encoding: 'utf8' }).trim();
  const licenseDir = readdirSync(join(ROOT, 'node_modules/node/node_modules')).find((d) => d.startsWith('node-linux-'));
  if (!licenseDir) throw new Error('node_modules/node/node_modules/node-linux-*/LICENSE is missing: run npm ci first');
  const text = readFileSync(join(ROOT, 'node_modules/node/node_modules', licenseDir, 'LICENSE'), 'utf8');
  return { bin, version, arch, text };
}

function bundledDependencies() {
  return Object.keys(pkg.dependencies ?? {})
    .sort()
    .map((name) => {
      const dir = join(ROOT, 'node_modules', name);
      const meta = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      const text = readFileSync(join(dir, 'LICENSE'), 'utf8');
      const holder = /^Copyright.*$/m.exec(text)?.[0].replace(/^Copyright\s*(\(c\)\s*)?/i, '') ?? `the authors of ${name}`;
      return { name, version: meta.version, license: dep5License(meta.license), copyright: holder, text };
    });
}

/** What dpkg-shlibdeps says the bundled runtime needs (libc6, libstdc++6, libgcc-s1). */
function shlibDepends(staging, binary) {
  const work = mkdtempSync(join(tmpdir(), 'ssh-dispatch-shlibs-'));
  try {
    mkdirSync(join(work, 'debian'));
    writeFileSync(join(work, 'debian/control'), `Source: ${PACKAGE}\n\nPackage: ${PACKAGE}\nArchitecture: any\n`);
    const out = execFileSync('dpkg-shlibdeps', ['-O', join(staging, binary.slice(1))], {
      cwd: work,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const match = /^shlibs:Depends=(.*)$/m.exec(out);
    if (!match) throw new Error(`dpkg-shlibdeps said nothing about ${binary}`);
    return match[1];
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function withoutShebang(text) {
  if (!text.startsWith('#!')) throw new Error('dist/ssh-dispatch.cjs: expected a #! line');
  return text.slice(text.indexOf('\n') + 1);
}

function put(staging, path, mode, content) {
  const file = join(staging, path.slice(1));
  mkdirSync(dirname(file), { recursive: true });
  if (typeof content === 'string' || Buffer.isBuffer(content)) writeFileSync(file, content);
  else copyFileSync(content.from, file);
  chmodSync(file, mode);
}

/** Every file and directory below `dir`, sorted (for md5sums, sizes and mtimes). */
function walk(dir, base = dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const full = join(dir, name);
    out.push(full.slice(base.length + 1));
    if (lstatSync(full).isDirectory()) out.push(...walk(full, base));
  }
  return out;
}

/** The files under /: the program, its docs and configuration (DEBIAN/ comes after). */
function stageFiles(staging, { node, deps, version, epoch, commit, options }) {
  const dist = (f) => ({ from: join(options.dist, f) });
  for (const f of ['ssh-dispatch-core.cjs', 'ssh-dispatch-serve.cjs', 'ssh-dispatch-files.cjs'])
    put(staging, `${LIB}/${f}`, 0o644, dist(f));
  // The launcher is run by the runtime postinst picked (/usr/bin/ssh-dispatch), never as a script:
  // without its #!/usr/bin/env node line, which would name whatever node PATH finds first.
  put(staging, `${LIB}/ssh-dispatch.cjs`, 0o644, withoutShebang(readFileSync(join(options.dist, 'ssh-dispatch.cjs'), 'utf8')));
  put(staging, `${LIB}/installed.conf`, 0o644, installedConf());
  if (node) {
    // Stripped as dh_strip strips an executable (18 MB less; the dynamic symbols stay).
    mkdirSync(join(staging, dirname(BUNDLED_NODE).slice(1)), { recursive: true });
    execFileSync('strip', [
      '--strip-unneeded',
      '--remove-section=.comment',
      '--remove-section=.note',
      '-o',
      join(staging, BUNDLED_NODE.slice(1)),
      node.bin,
    ]);
    chmodSync(join(staging, BUNDLED_NODE.slice(1)), 0o755);
    // Node's LICENSE, as released: its own licence and those of what it embeds (V8, OpenSSL,
    // ICU, zlib, ...), named from the copyright file.
    put(staging, `/usr/share/doc/ssh-dispatch/${NODE_LICENSE}`, 0o644, node.text);
  }
  // Each override only where its tag can arise (lintian reports an unused one).
  const overrides = readFileSync(join(ROOT, 'packaging/lintian-overrides'), 'utf8')
    .split('\n')
    .filter((line) => (node ? !line.includes('initial-upload-closes-no-bugs') : !line.includes(`[${BUNDLED_NODE.slice(1)}]`)));
  put(staging, `/usr/share/lintian/overrides/${PACKAGE}`, 0o644, overrides.join('\n'));
  put(staging, '/usr/bin/ssh-dispatch', 0o755, launcher());
  const gz = (file) => gzipSync(readFileSync(file), { level: 9 }); // gzip's header has no name or time here
  put(staging, '/usr/share/man/man8/ssh-dispatch.8.gz', 0o644, gz(join(options.dist, 'man/ssh-dispatch.8')));
  put(staging, '/usr/share/man/man5/ssh-dispatch-policy.5.gz', 0o644, gz(join(options.dist, 'man/ssh-dispatch-policy.5')));
  put(staging, '/usr/share/bash-completion/completions/ssh-dispatch', 0o644, dist('completion/ssh-dispatch'));
  for (const f of ['policy.schema.json', 'audit.schema.json'])
    put(staging, `/usr/share/ssh-dispatch/schema/${f}`, 0o644, { from: join(ROOT, 'schema', f) });
  const doc = '/usr/share/doc/ssh-dispatch';
  for (const f of readdirSync(join(ROOT, 'policies'))
    .filter((f) => f.endsWith('.yaml'))
    .sort()) {
    put(staging, `${doc}/examples/${f}`, 0o644, { from: join(ROOT, 'policies', f) });
  }
  // The examples name ../schema/policy.schema.json (for editors with a YAML language server).
  symlinkSync('../../ssh-dispatch/schema', join(staging, doc.slice(1), 'schema'));
  const first = Number(git('log', '--reverse', '--format=%ad', '--date=format:%Y').split('\n')[0]) || null;
  const last = new Date(epoch * 1000).getUTCFullYear();
  const copyrightText = copyright({
    years: first && first < last ? `${first}-${last}` : String(last),
    projectLicense: dep5License(pkg.license),
    projectText: `Copyright ${first && first < last ? `${first}-${last}` : last} ssh-dispatch contributors\n\n${EXPAT_TEXT}`,
    bundled: deps,
    node: node && { version: node.version, text: node.text },
  });
  put(staging, `${doc}/copyright`, 0o644, copyrightText);
  put(
    staging,
    `${doc}/changelog.Debian.gz`,
    0o644,
    gzipSync(changelog({ version, maintainer: MAINTAINER, epochSeconds: epoch, commit, nodeVersion: node?.version }), { level: 9 }),
  );
  put(staging, '/etc/logrotate.d/ssh-dispatch', 0o644, logrotate());
  // Empty: example policies are documentation; the admin writes the live ones.
  mkdirSync(join(staging, 'etc/ssh-dispatch/policies'), { recursive: true });
}

function build(options) {
  const node = options.runtime ? bundledNode() : null;
  const deps = bundledDependencies();
  for (const f of [
    'ssh-dispatch.cjs',
    'ssh-dispatch-core.cjs',
    'ssh-dispatch-serve.cjs',
    'ssh-dispatch-files.cjs',
    'man/ssh-dispatch.8',
    'man/ssh-dispatch-policy.5',
    'completion/ssh-dispatch',
  ]) {
    if (!existsSync(join(options.dist, f))) throw new Error(`${join(options.dist, f)} is missing: run npm run build first`);
  }
  const epoch = Number(process.env.SOURCE_DATE_EPOCH || git('log', '-1', '--format=%ct') || 0);
  const commit = git('rev-parse', 'HEAD');
  const version = debVersion(pkg.version, REVISION, node?.version ?? null);
  const arch = node ? debArch(node.arch) : 'all';
  const staging = mkdtempSync(join(tmpdir(), 'ssh-dispatch-deb-'));
  try {
    chmodSync(staging, 0o755);
    stageFiles(staging, { node, deps, version, epoch, commit, options });
    const files = walk(staging);
    const regular = files.filter((f) => lstatSync(join(staging, f)).isFile());
    const md5sums = regular
      .map(
        (f) =>
          `${createHash('md5')
            .update(readFileSync(join(staging, f)))
            .digest('hex')}  ${f}\n`,
      )
      .join('');
    // Installed-Size: dpkg's way, 1 KiB per started KiB of each file, 1 per directory and link.
    const installedSizeKiB = files.reduce((sum, f) => {
      const st = lstatSync(join(staging, f));
      return sum + (st.isFile() ? Math.ceil(st.size / 1024) : 1);
    }, 0);
    const depends = node ? shlibDepends(staging, BUNDLED_NODE) : 'nodejs (>= 22.15)';
    const control = controlFile({ version, arch, installedSizeKiB, depends, maintainer: MAINTAINER, homepage: undefined });
    put(staging, '/DEBIAN/control', 0o644, control);
    put(staging, '/DEBIAN/md5sums', 0o644, md5sums);
    put(staging, '/DEBIAN/conffiles', 0o644, '/etc/logrotate.d/ssh-dispatch\n');
    put(staging, '/DEBIAN/triggers', 0o644, { from: join(ROOT, 'packaging/triggers') });
    for (const script of ['postinst', 'postrm']) put(staging, `/DEBIAN/${script}`, 0o755, { from: join(ROOT, 'packaging', script) });
    for (const f of walk(staging)) lutimesSync(join(staging, f), epoch, epoch);
    utimesSync(staging, epoch, epoch);
    mkdirSync(options.out, { recursive: true });
    const deb = join(options.out, debFileName(version, arch));
    execFileSync('dpkg-deb', ['--root-owner-group', '--threads-max=1', '-Zxz', '-z6', '--build', staging, deb], {
      env: { ...process.env, SOURCE_DATE_EPOCH: String(epoch) },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const sha256 = createHash('sha256').update(readFileSync(deb)).digest('hex');
    process.stdout.write(`${deb}\n  ${version} ${arch}, installed size ${installedSizeKiB} KiB, sha256 ${sha256}\n`);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

try {
  build(parseArgs(process.argv.slice(2)));
} catch (error) {
  process.stderr.write(`deb: ${error.message}\n`);
  process.exit(1);
}
