/**
 * The texts of the Debian package (scripts/deb-parts.mjs): its version (a Node security release
 * makes a newer one), control file, the installed.conf and logrotate snippet it shares with
 * install.sh, the launcher, the changelog and the DEP-5 copyright file.
 */
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import {
  changelog,
  changelogDate,
  controlFile,
  copyright,
  debArch,
  debFileName,
  debVersion,
  dep5License,
  installedConf,
  launcher,
  logrotate,
  RUNTIME_LINK,
} from '../scripts/deb-parts.mjs';
import { parseInstalled } from '../src/installed.js';

it('versions: upstream, Debian revision, and the bundled Node (none without it)', () => {
  expect(debVersion('0.1.0', 1, 'v24.21.0')).toBe('0.1.0-1+node24.21.0');
  expect(debVersion('0.1.0', 2, '24.21.1')).toBe('0.1.0-2+node24.21.1');
  expect(debVersion('0.1.0', 1, null)).toBe('0.1.0-1');
  expect(debFileName('0.1.0-1+node24.21.0', 'amd64')).toBe('ssh-dispatch_0.1.0-1+node24.21.0_amd64.deb');
});

it.each([
  ['an upstream version with a hyphen', () => debVersion('0.1.0-rc1', 1, null)],
  ['an upstream version not starting with a digit', () => debVersion('v0.1.0', 1, null)],
  ['a revision that is not a number', () => debVersion('0.1.0', 'x', null)],
  ['a Node version that is not x.y.z', () => debVersion('0.1.0', 1, '24')],
])('refuses %s', (_, make) => {
  expect(make).toThrow();
});

it("maps Node's architectures to Debian's, and refuses one it does not know", () => {
  expect(debArch('x64')).toBe('amd64');
  expect(debArch('arm64')).toBe('arm64');
  expect(() => debArch('ia32')).toThrow(/no Debian architecture/);
});

it('writes a control file dpkg reads: one field a line, continuation lines indented, no empty line', () => {
  const text = controlFile({
    version: '0.1.0-1+node24.21.0',
    arch: 'amd64',
    installedSizeKiB: 107046,
    depends: 'libc6 (>= 2.34)',
    maintainer: 'A <a@example.org>',
    homepage: undefined,
  });
  const lines = text.trimEnd().split('\n');
  expect(lines.every((l) => /^[A-Z][A-Za-z-]+: \S/.test(l) || /^ \S/.test(l))).toBe(true);
  expect(lines).toContain('Version: 0.1.0-1+node24.21.0');
  expect(lines).toContain('Installed-Size: 107046');
  expect(lines).toContain('Depends: libc6 (>= 2.34)');
  expect(lines.some((l) => l.startsWith('Homepage'))).toBe(false);
  // Nothing the admin did not ask for: openssh-server is suggested, never pulled in (apt would
  // start an sshd); bubblewrap starts nothing.
  expect(lines).toContain('Recommends: bubblewrap');
  expect(lines.find((l) => l.startsWith('Suggests:'))).toContain('openssh-server');
});

it("installed.conf is what the program's launcher reads: /etc/ssh-dispatch and /var/log/ssh-dispatch", () => {
  expect(parseInstalled(installedConf())).toEqual({ etc: '/etc/ssh-dispatch', logDir: '/var/log/ssh-dispatch' });
});

it("the logrotate snippet is install.sh's, to the byte", () => {
  const installSh = readFileSync(new URL('../install.sh', import.meta.url), 'utf8');
  const heredoc = /cat > "\$logrotate_dir\/ssh-dispatch" <<EOF\n([\s\S]*?\n)EOF\n/.exec(installSh);
  expect(heredoc).not.toBeNull();
  expect(logrotate('$log_dir')).toBe(heredoc![1]);
});

it('the launcher runs the bundle with the runtime postinst picked, passing every argument', () => {
  expect(launcher()).toBe(`#!/bin/sh\nexec ${RUNTIME_LINK} /usr/lib/ssh-dispatch/ssh-dispatch.cjs "$@"\n`);
});

it('the changelog entry: version, what it was built from, the runtime, an RFC 5322 date', () => {
  expect(changelogDate(0)).toBe('Thu, 01 Jan 1970 00:00:00 +0000');
  expect(changelogDate(1796601600 + 3723)).toBe('Mon, 07 Dec 2026 01:02:03 +0000');
  const text = changelog({
    version: '0.1.0-1+node24.21.0',
    maintainer: 'A <a@example.org>',
    epochSeconds: 0,
    commit: 'abcdef0123456789',
    nodeVersion: 'v24.21.0',
  });
  expect(text.split('\n')[0]).toBe('ssh-dispatch (0.1.0-1+node24.21.0) unstable; urgency=medium');
  expect(text).toContain('  * Built from ssh-dispatch 0.1.0 (git commit abcdef012345).');
  expect(text).toContain('  * Bundled runtime: Node.js 24.21.0.');
  expect(text).toContain('\n -- A <a@example.org>  Thu, 01 Jan 1970 00:00:00 +0000\n');
});

it('the copyright file (DEP-5) names every bundled licence once, with its text, and Node only when bundled', () => {
  const bundled = [
    { name: 'shell-quote', version: '1.12.0', license: dep5License('MIT'), copyright: '2013 James Halliday', text: 'MIT TEXT' },
    { name: 'yaml', version: '2.9.1', license: 'ISC', copyright: 'Eemeli Aro', text: 'ISC TEXT\n\nSECOND' },
  ];
  const withNode = copyright({
    years: '2026',
    projectLicense: 'Expat',
    projectText: 'EXPAT TEXT',
    bundled,
    node: { version: '24.21.0', text: 'NODE' },
  });
  const paragraphs = withNode.trimEnd().split('\n\n');
  expect(paragraphs[0]).toMatch(/^Format: https:\/\/www\.debian\.org\/doc\/packaging-manuals\/copyright-format\/1\.0\//);
  expect(paragraphs.filter((p) => p.startsWith('License: Expat\n'))).toEqual(['License: Expat\n EXPAT TEXT']);
  expect(paragraphs.filter((p) => p.startsWith('License: ISC\n'))).toEqual(['License: ISC\n ISC TEXT\n .\n SECOND']);
  expect(withNode).toContain(
    'Files: usr/lib/ssh-dispatch/*.cjs\nCopyright: 2026 ssh-dispatch contributors\n           2013 James Halliday',
  );
  expect(withNode).toContain('License: Expat and ISC\n');
  expect(withNode).toContain('Files: usr/lib/ssh-dispatch/node\n');
  expect(withNode).toContain('/usr/share/doc/ssh-dispatch/LICENSE.Node.js');
  const withoutNode = copyright({ years: '2026', projectLicense: 'Expat', projectText: 'EXPAT TEXT', bundled, node: null });
  expect(withoutNode).not.toContain('Node.js');
});
