/**
 * `scp -p` and modes through an sftp rule (docs/recipes.md, "scp -p and modes"): the file server
 * takes the rule's umask from every mode a client asks for, so 0644 arrives as 0600 under the
 * default umask ("0077") and as 0644 under "0022"; -p's times arrive either way. Both scp
 * protocols, SFTP (the default) and legacy (-O), with the real scp.
 */
import { chmodSync, mkdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientKey } from '../../src/lab/throwaway-sshd.js';
import { fileClients } from './file-clients.js';
import { startLab, type Lab } from './lab.js';

let lab: Lab;
let local: string;
const roots = { strict: '', shared: '' };
const keys = {} as Record<'strict' | 'shared', ClientKey>;
const MTIME = new Date('2026-01-02T03:04:05Z');

beforeAll(async () => {
  lab = await startLab({ extraConfig: ['Subsystem sftp /usr/lib/openssh/sftp-server'] });
  local = join(lab.sshd.dir, 'local');
  mkdirSync(local);
  for (const name of ['strict', 'shared'] as const) {
    roots[name] = join(lab.sshd.dir, 'srv', name);
    mkdirSync(roots[name], { recursive: true, mode: 0o755 });
  }
  for (const [name, mode] of [
    ['doc.txt', 0o644],
    ['tool.sh', 0o755],
  ] as const) {
    writeFileSync(join(local, name), `${name}\n`);
    chmodSync(join(local, name), mode);
    utimesSync(join(local, name), MTIME, MTIME);
  }
  lab.writePolicy(`version: 1
audit:
  file: {{AUDIT}}
identities:
  strict: { rules: [ { name: files, sftp: { root: ${roots.strict}, access: write } } ] }
  shared: { rules: [ { name: files, sftp: { root: ${roots.shared}, access: write, umask: "0022" } } ] }
`);
  for (const name of ['strict', 'shared'] as const) keys[name] = await lab.sshd.newClientKey(name);
  lab.sshd.authorize((['strict', 'shared'] as const).map((id) => lab.dispatchLine(keys[id], id)));
});

afterAll(() => lab?.stop());

const { scp } = fileClients(
  () => lab.sshd,
  () => local,
);

describe('scp -p keeps modes within what the rule umask allows', () => {
  it.each([
    ['strict', 'SFTP', [], { 'doc.txt': 0o600, 'tool.sh': 0o700 }],
    ['strict', 'legacy', ['-O'], { 'doc.txt': 0o600, 'tool.sh': 0o700 }],
    ['shared', 'SFTP', [], { 'doc.txt': 0o644, 'tool.sh': 0o755 }],
    ['shared', 'legacy', ['-O'], { 'doc.txt': 0o644, 'tool.sh': 0o755 }],
  ] as const)('umask of %s, scp over %s', (id, protocol, flags, modes) => {
    // A new file each time: not the one the other protocol left.
    for (const name of Object.keys(modes)) rmSync(join(roots[id], name), { force: true });
    const result = scp(keys[id], [...flags, '-p', 'doc.txt', 'tool.sh', 'HOST:']);
    expect(result.code, result.out).toBe(0);
    for (const [name, mode] of Object.entries(modes)) {
      const stat = statSync(join(roots[id], name));
      expect([name, (stat.mode & 0o7777).toString(8)]).toEqual([name, mode.toString(8)]);
      expect(stat.mtime.getTime()).toBe(MTIME.getTime());
    }
  });
});
