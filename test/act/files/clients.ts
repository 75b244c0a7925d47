/**
 * The real OpenSSH clients against the file server, without sshd: `sftp -D` runs a server
 * program directly, and `scp -S` runs test/act/files/fake-ssh.ts in place of ssh. The server is
 * the shipped program (src/serve-files.ts), bundled once into a temp directory.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { FileEvent, FileSummary } from '../../../src/act/files/events.js';
import type { FilePolicy } from '../../../src/act/files/policy.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const NODE = process.execPath;
export const OPENSSH_SFTP_SERVER = '/usr/lib/openssh/sftp-server';

export interface FilesFixture {
  dir: string;
  /** The root: a directory of its own, beside which lie things the client must not reach. */
  root: string;
  server: string;
  fakeSsh: string;
  cleanup(): void;
}

export async function makeFilesFixture(): Promise<FilesFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'files-lab-'));
  const server = join(dir, 'serve-files.cjs');
  const options = { bundle: true, platform: 'node', format: 'cjs', target: 'node22', logLevel: 'warning' } as const;
  await build({ ...options, entryPoints: [join(here, '../../../src/serve-files.ts')], outfile: server });
  await build({ ...options, entryPoints: [join(here, 'fake-ssh.ts')], outfile: join(dir, 'fake-ssh.cjs') });
  const fakeSsh = join(dir, 'fake-ssh');
  writeFileSync(fakeSsh, `#!/bin/sh\nexec '${NODE}' '${dir}/fake-ssh.cjs' "$@"\n`);
  chmodSync(fakeSsh, 0o755);
  return { dir, root: join(dir, 'root'), server, fakeSsh, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  events: FileEvent[];
  summary: FileSummary | null;
}

function collect(lab: FilesFixture, run: ReturnType<typeof spawnSync>, eventsFile: string): Run {
  let lines: object[] = [];
  try {
    lines = readFileSync(eventsFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line));
  } catch {}
  rmSync(eventsFile, { force: true });
  const summary = lines.find((line) => 'summary' in line) as { summary: FileSummary } | undefined;
  return {
    status: run.status,
    stdout: String(run.stdout),
    stderr: String(run.stderr),
    events: lines.filter((line) => !('summary' in line)) as FileEvent[],
    summary: summary?.summary ?? null,
  };
}

let serial = 0;

/** `sftp -b` with the given batch lines, against our server under a policy, or OpenSSH's. */
export function sftp(lab: FilesFixture, policy: Partial<FilePolicy> | 'openssh', batch: string[], cwd = lab.dir): Run {
  const n = serial++;
  const batchFile = join(lab.dir, `batch-${n}`);
  const eventsFile = join(lab.dir, `events-${n}`);
  writeFileSync(batchFile, `${batch.join('\n')}\n`);
  let server: string;
  if (policy === 'openssh') server = `${OPENSSH_SFTP_SERVER} -d ${lab.root}`;
  else {
    server = join(lab.dir, `serve-${n}.sh`);
    const launch = JSON.stringify({ protocol: 'sftp', policy: fullPolicy(lab, policy) });
    writeFileSync(server, `#!/bin/sh\nexec '${NODE}' '${lab.server}' '${launch}' 3>>'${eventsFile}'\n`);
    chmodSync(server, 0o755);
  }
  const run = spawnSync('sftp', ['-D', server, '-b', batchFile], { cwd, timeout: 20_000, encoding: 'utf8' });
  return collect(lab, run, eventsFile);
}

/** scp (legacy with '-O', else SFTP) with the given arguments, remote paths as `x:PATH`. */
export function scp(lab: FilesFixture, policy: Partial<FilePolicy>, args: string[], cwd = lab.dir): Run {
  const eventsFile = join(lab.dir, `events-${serial++}`);
  const env = { ...process.env, FILES_POLICY: JSON.stringify(fullPolicy(lab, policy)), FILES_EVENTS: eventsFile, FILES_SERVER: lab.server };
  const run = spawnSync('scp', ['-q', '-S', lab.fakeSsh, ...args], { cwd, env, timeout: 20_000, encoding: 'utf8' });
  return collect(lab, run, eventsFile);
}

export function fullPolicy(lab: FilesFixture, policy: Partial<FilePolicy>): FilePolicy {
  return {
    root: lab.root,
    access: 'read-write',
    delete: true,
    overwrite: true,
    umask: 0o022,
    minFreeBytes: 0,
    idleTimeoutMs: 0,
    ...policy,
  };
}
