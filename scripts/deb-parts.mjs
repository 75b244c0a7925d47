// The texts of the Debian package that scripts/deb.mjs builds (npm run deb): pure functions of
// their inputs, no I/O, so that test/deb-parts.test.ts checks them without building anything.
// docs/packaging.md says what the package holds and why.

export const PACKAGE = 'ssh-dispatch';
/** Where the package installs the program: install.sh's PREFIX/lib/ssh-dispatch with PREFIX=/usr. */
export const LIB = '/usr/lib/ssh-dispatch';
export const ETC = '/etc/ssh-dispatch';
export const LOG_DIR = '/var/log/ssh-dispatch';
/** The runtime postinst picks (the system's Node or the bundled one): a symlink the launcher runs. */
export const RUNTIME_LINK = `${LIB}/runtime`;
/** The bundled Node, used when /usr/bin/node is missing or too old. */
export const BUNDLED_NODE = `${LIB}/node`;
/** The one system Node considered: dpkg's file trigger on it re-picks the runtime when it changes. */
export const SYSTEM_NODE = '/usr/bin/node';
/** Node's LICENSE, beside the copyright file that names it. */
export const NODE_LICENSE = 'LICENSE.Node.js';

const VERSION_RE = /^[0-9][A-Za-z0-9.+~]*$/;

/**
 * The package's version: the upstream version (package.json), a Debian revision, and the bundled
 * Node's version. A Node security release bumps the package version by itself (0.1.0-1+node24.21.0
 * sorts before 0.1.0-1+node24.21.1 in dpkg's order), so apt upgrades it; without a bundled runtime
 * there is no suffix.
 */
export function debVersion(upstream, revision, nodeVersion) {
  if (!VERSION_RE.test(upstream) || upstream.includes('-')) throw new Error(`not an upstream version: ${JSON.stringify(upstream)}`);
  if (!/^[0-9]+$/.test(String(revision))) throw new Error(`not a Debian revision: ${JSON.stringify(revision)}`);
  if (nodeVersion === null) return `${upstream}-${revision}`;
  const node = String(nodeVersion).replace(/^v/, '');
  if (!/^[0-9]+\.[0-9]+\.[0-9]+$/.test(node)) throw new Error(`not a Node.js version: ${JSON.stringify(nodeVersion)}`);
  return `${upstream}-${revision}+node${node}`;
}

/** Debian's architecture name for Node's process.arch (the bundled runtime's). */
export function debArch(nodeArch) {
  const arch = { x64: 'amd64', arm64: 'arm64', arm: 'armhf', ppc64: 'ppc64el', s390x: 's390x', riscv64: 'riscv64' }[nodeArch];
  if (arch === undefined) throw new Error(`no Debian architecture known for Node's ${nodeArch}`);
  return arch;
}

export function debFileName(version, arch) {
  return `${PACKAGE}_${version.replace(/^[0-9]+:/, '')}_${arch}.deb`;
}

/**
 * DEBIAN/control. `depends`: what dpkg-shlibdeps found for the bundled runtime (empty without
 * one); bubblewrap is recommended, not required: without it rsync and sftp rules refuse
 * (fail closed) and the rest works.
 */
export function controlFile({ version, arch, installedSizeKiB, depends, maintainer, homepage }) {
  const fields = [
    ['Package', PACKAGE],
    ['Version', version],
    ['Architecture', arch],
    ['Maintainer', maintainer],
    ['Installed-Size', String(installedSizeKiB)],
    ['Depends', depends],
    ['Recommends', 'bubblewrap'],
    // Not openssh-server: apt would install and start an sshd the admin did not ask for.
    ['Suggests', 'openssh-server, rsync, logrotate'],
    ['Section', 'admin'],
    ['Priority', 'optional'],
    ['Homepage', homepage],
    [
      'Description',
      [
        'SSH forced-command dispatcher with whitelist policies',
        ' ssh-dispatch is set as the command= of keys in authorized_keys. It reads',
        ' the command the client sent (SSH_ORIGINAL_COMMAND), matches it against YAML',
        ' whitelist policies (rsync, uploads, SFTP, relays and plain commands), runs',
        ' or serves it in a bubblewrap sandbox, and writes a JSON-lines audit record',
        ' for every decision.',
        ' .',
        ' This package bundles the Node.js 24 runtime it needs; the system Node.js is',
        ' used instead when it is 22.15 or newer.',
      ].join('\n'),
    ],
  ];
  return fields
    .filter(([, value]) => value !== undefined && value !== '')
    .map(([key, value]) => `${key}: ${value}`)
    .join('\n')
    .concat('\n');
}

/** install.sh's installed.conf for PREFIX=/usr: the defaults the installed command reads (src/installed.ts). */
export function installedConf() {
  return `# Written by the Debian package: the defaults of the installed ssh-dispatch (--etc, --log-dir).\netc=${ETC}\nlog-dir=${LOG_DIR}\n`;
}

/** /usr/bin/ssh-dispatch: install.sh's two-line launcher, with the runtime postinst picked. */
export function launcher() {
  return `#!/bin/sh\nexec ${RUNTIME_LINK} ${LIB}/ssh-dispatch.cjs "$@"\n`;
}

/** The logrotate snippet install.sh writes (test/deb-parts.test.ts holds them to the same text). */
export function logrotate(logDir = LOG_DIR) {
  return `# ssh-dispatch opens the audit log anew for every connection, so rotating by rename is safe.
${logDir}/*.jsonl {
    weekly
    rotate 26
    compress
    delaycompress
    missingok
    notifempty
    # Each file is recreated with its own owner, group and mode: root's, and each account's.
    create
}
`;
}

/** RFC 5322 date (debian/changelog's) of a Unix time, in UTC. */
export function changelogDate(epochSeconds) {
  const d = new Date(epochSeconds * 1000);
  const day = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][d.getUTCDay()];
  const month = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getUTCMonth()];
  const pad = (n) => String(n).padStart(2, '0');
  return `${day}, ${pad(d.getUTCDate())} ${month} ${d.getUTCFullYear()} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

/** changelog.Debian: one entry for this build (what it was built from, and with which runtime). */
export function changelog({ version, maintainer, epochSeconds, commit, nodeVersion }) {
  const lines = [`${PACKAGE} (${version}) unstable; urgency=medium`, ''];
  lines.push(`  * Built from ssh-dispatch ${version.split('-')[0]}${commit ? ` (git commit ${commit.slice(0, 12)})` : ''}.`);
  if (nodeVersion) lines.push(`  * Bundled runtime: Node.js ${String(nodeVersion).replace(/^v/, '')}.`);
  lines.push('', ` -- ${maintainer}  ${changelogDate(epochSeconds)}`, '');
  return lines.join('\n');
}

/** The DEP-5 short name of an npm licence (DEP-5 calls MIT Expat). */
export function dep5License(npmLicense) {
  return npmLicense === 'MIT' ? 'Expat' : npmLicense;
}

/** package.json says MIT and the tree has no LICENSE file: the Expat text, for the copyright file. */
export const EXPAT_TEXT = `Permission is hereby granted, free of charge, to any person obtaining a copy of this
software and associated documentation files (the "Software"), to deal in the Software
without restriction, including without limitation the rights to use, copy, modify, merge,
publish, distribute, sublicense, and/or sell copies of the Software, and to permit persons
to whom the Software is furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or
substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED,
INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR
PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE
FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR
OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER
DEALINGS IN THE SOFTWARE.`;

/** A licence text as a DEP-5 paragraph body: each line indented, empty lines as " .". */
function licenseBody(text) {
  return text
    .replace(/\r\n/g, '\n')
    .trimEnd()
    .split('\n')
    .map((line) => (line.trim() === '' ? ' .' : ` ${line.trimEnd()}`))
    .join('\n');
}

/**
 * debian/copyright, machine-readable (DEP-5): ssh-dispatch itself, the npm dependencies bundled
 * into its .cjs files, and (with a bundled runtime) Node.js, whose LICENSE covers what it embeds.
 * `years`: of ssh-dispatch's copyright (2026, or 2026-2027); `bundled`: [{ name, version, license,
 * copyright, text }] for each npm dependency.
 */
export function copyright({ years, projectLicense, projectText, bundled, node }) {
  const out = [
    'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/',
    `Upstream-Name: ${PACKAGE}`,
    'Comment: The files under /usr/lib/ssh-dispatch/*.cjs are esbuild bundles of',
    ' ssh-dispatch and of the npm packages listed below (Files: lines name them by',
    ' the bundle that contains them).',
    '',
    'Files: *',
    `Copyright: ${years} ssh-dispatch contributors`,
    `License: ${projectLicense}`,
    '',
  ];
  if (bundled.length > 0) {
    const licenses = [...new Set([projectLicense, ...bundled.map((dep) => dep.license)])];
    out.push(
      'Files: usr/lib/ssh-dispatch/*.cjs',
      `Copyright: ${years} ssh-dispatch contributors`,
      ...bundled.map((dep) => `           ${dep.copyright}`),
      `License: ${licenses.join(' and ')}`,
      'Comment: ssh-dispatch and these npm packages, bundled:',
      ...bundled.map((dep) => ` ${dep.name} ${dep.version} (${dep.license})`),
      '',
    );
  }
  if (node) {
    out.push(
      'Files: usr/lib/ssh-dispatch/node',
      'Copyright: Node.js contributors, and the authors of the components it embeds',
      'License: Node.js',
      `Comment: The Node.js ${node.version} runtime, as released on nodejs.org (the npm`,
      ` package node-linux-*), stripped; its LICENSE is ${NODE_LICENSE} here.`,
      '',
    );
  }
  out.push(`License: ${projectLicense}`, licenseBody(projectText), '');
  const seen = new Set([projectLicense]);
  for (const dep of bundled) {
    if (seen.has(dep.license)) continue;
    seen.add(dep.license);
    out.push(`License: ${dep.license}`, licenseBody(dep.text), '');
  }
  if (node) {
    // Its 160 kB hold the full texts of the Apache 2.0 and GPL licences, which Debian's copyright
    // files name instead of copying (lintian: copyright-file-contains-full-apache-2-license).
    out.push(
      'License: Node.js',
      ` The licence of Node.js ${node.version} and of every component built into it (V8,`,
      " libuv, OpenSSL, ICU, zlib, llhttp, nghttp2 and others) is Node.js's LICENSE",
      ` file, installed unchanged as /usr/share/doc/ssh-dispatch/${NODE_LICENSE}.`,
      ' Node.js itself is under the Expat (MIT) licence.',
      '',
    );
  }
  return out.join('\n');
}
