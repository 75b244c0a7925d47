/**
 * An sshd lab for end-to-end tests: a throwaway sshd, a policy directory and an audit log in its
 * temp dir, and authorized_keys lines that run the built bundle as the forced command.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { authorizedKeyLine, ThrowawaySshd, type ClientKey } from '../../src/lab/throwaway-sshd.js';

export const BUNDLE = fileURLToPath(new URL('../../dist/ssh-dispatch.cjs', import.meta.url));
/** The runtime the tests run on (npm puts the node devDependency first on PATH). */
export const NODE = process.execPath;

/**
 * A remote shell for `rsync -e` that does what sshd does for a forced command: the client's
 * words go into SSH_ORIGINAL_COMMAND and ssh-dispatch starts (rrsync's test suite uses the same
 * trick). The identity rides in the host name slot: `rsync -e RSH -a src/ push:dst/`.
 */
export function writeDispatchRsh(path: string, policy: string): void {
  // An environment as sshd builds it, not the test runner's (whose NODE_EXTRA_CA_CERTS or
  // SSL_CERT_FILE the dispatcher rightly refuses to start with).
  writeFileSync(
    path,
    `#!/bin/sh\nid="$1"; shift\nexec env -i PATH="$PATH" HOME="$HOME" USER="$USER" LOGNAME="$LOGNAME" SSH_ORIGINAL_COMMAND="$*" SSH_CONNECTION="127.0.0.1 40000 127.0.0.1 22" ${NODE} ${BUNDLE} --id "$id" --policy ${policy}\n`,
    { mode: 0o755 },
  );
}

/**
 * `ssh-dispatch apply` by the built bundle, as an admin runs it after an edit: keys serve only an
 * applied policy. Throws with apply's output when it refuses (an error or UNSAFE finding).
 */
export function applyPolicy(policy: string, env: NodeJS.ProcessEnv = process.env): void {
  const result = spawnSync(NODE, [BUNDLE, 'apply', '--policy', policy], { encoding: 'utf8', env, timeout: 60_000 });
  if (result.status !== 0) throw new Error(`apply --policy ${policy} failed (${result.status}): ${result.stdout}${result.stderr}`);
}

export interface Lab {
  sshd: ThrowawaySshd;
  policyDir: string;
  auditFile: string;
  /** Writes policies/main.yaml (mode 0600; `{{AUDIT}}` and `{{DIR}}` are filled in) and applies it, as an admin would. */
  writePolicy(yaml: string): void;
  records(): Record<string, unknown>[];
  recordsOf(session: string): Record<string, unknown>[];
  lastDecision(): Record<string, unknown>;
  /** Every record of the lab's audit logs (root's and the accounts'), checked against schema/audit.schema.json. */
  checkRecords(): RecordsChecked;
  /** An authorized_keys line that runs ssh-dispatch for `id`. */
  dispatchLine(key: ClientKey, id: string, options?: string): string;
  stop(): Promise<void>;
}

export async function startLab(options: { extraConfig?: string[] } = {}): Promise<Lab> {
  const sshd = await ThrowawaySshd.start(options);
  const policyDir = join(sshd.dir, 'policies');
  // A directory of its own, as on a real install: check calls write rules that overlap it unsafe.
  const auditFile = join(sshd.dir, 'log', 'audit.jsonl');
  mkdirSync(policyDir, { mode: 0o700 });
  mkdirSync(join(sshd.dir, 'log'), { mode: 0o700 });
  const records = () =>
    existsSync(auditFile)
      ? readFileSync(auditFile, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line) as Record<string, unknown>)
      : [];
  return {
    sshd,
    policyDir,
    auditFile,
    writePolicy(yaml) {
      writeFileSync(join(policyDir, 'main.yaml'), yaml.replaceAll('{{AUDIT}}', auditFile).replaceAll('{{DIR}}', sshd.dir), { mode: 0o600 });
      applyPolicy(policyDir);
    },
    records,
    recordsOf: (session) => records().filter((r) => r.session === session),
    lastDecision() {
      const decisions = records().filter((r) => r.event === 'decision');
      if (decisions.length === 0) throw new Error('no decision record');
      return decisions[decisions.length - 1]!;
    },
    checkRecords: () =>
      checkRecords(
        readdirSync(join(sshd.dir, 'log'))
          .filter((name) => name.endsWith('.jsonl'))
          .map((name) => join(sshd.dir, 'log', name)),
      ),
    dispatchLine: (key, id, options = 'restrict') => authorizedKeyLine(options, [NODE, BUNDLE, '--id', id, '--policy', policyDir], key),
    stop: () => sshd.stop(),
  };
}

export interface RecordsChecked {
  /** How many records were read. */
  records: number;
  /** The records that do not validate: the line, and what the schema says of it. */
  invalid: string[];
}

let auditSchema: ValidateFunction | null = null;

/** The records of the audit logs `files` against the published schema: what the dispatcher wrote, as consumers will read it. */
export function checkRecords(files: readonly string[]): RecordsChecked {
  auditSchema ??= new Ajv2020({ allErrors: true, strictRequired: false }).compile(
    JSON.parse(readFileSync(fileURLToPath(new URL('../../schema/audit.schema.json', import.meta.url)), 'utf8')) as object,
  );
  const checked: RecordsChecked = { records: 0, invalid: [] };
  for (const file of files) {
    for (const line of readFileSync(file, 'utf8').split('\n').filter(Boolean)) {
      checked.records++;
      let record: unknown;
      try {
        record = JSON.parse(line);
      } catch {
        checked.invalid.push(`${line.slice(0, 200)}: not JSON`);
        continue;
      }
      if (!auditSchema(record)) checked.invalid.push(`${line.slice(0, 200)}: ${JSON.stringify(auditSchema.errors?.slice(0, 3))}`);
    }
  }
  return checked;
}

/**
 * Mounts a tmpfs of `size` at `path`: a real small filesystem, for tests that fill one. Needs
 * mount(2): root, and a kernel and container that allow tmpfs; false where it cannot be had.
 */
export function mountSmall(path: string, size: string, mode = '0700'): boolean {
  mkdirSync(path, { recursive: true });
  return (
    process.getuid?.() === 0 && spawnSync('/usr/bin/mount', ['-t', 'tmpfs', '-o', `size=${size},mode=${mode}`, 'tmpfs', path]).status === 0
  );
}

/**
 * The bytes a client rebuilds from the block checksums a server sent it: with `-B1` each block is
 * one byte, and rsync's weak checksum of one byte carries it in its low 8 bits
 * (`--debug=DELTASUM3` prints them on the client: `chunk[N] len=1 offset=N sum1=ffa7ffa7`).
 */
export function bytesFromBlockSums(out: string): Buffer {
  return Buffer.from([...out.matchAll(/^chunk\[\d+\] len=1 offset=\d+ sum1=[0-9a-f]{6}([0-9a-f]{2})$/gm)].map((m) => parseInt(m[1]!, 16)));
}

/** ssh's options for a key, and its target, apart: for rsync -e and rsnapshot's ssh_args. */
export function sshOptionsOf(sshd: ThrowawaySshd, key: ClientKey): { args: string[]; target: string } {
  const args = sshd.sshArgs(key);
  const target = args.pop()!;
  return { args, target };
}

/** The stock rsync client through the lab's sshd with `key`; `HOST:` in an argument is its host. */
export function rsyncThrough(
  sshd: ThrowawaySshd,
  key: ClientKey,
  args: string[],
  options: { cwd?: string; timeoutMs?: number } = {},
): { code: number | null; out: string } {
  const { shell, host } = sshd.rsyncRemoteShell(key);
  const result = spawnSync('/usr/bin/rsync', ['-e', shell, ...args.map((a) => a.replace('HOST:', `${host}:`))], {
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 60_000,
    cwd: options.cwd,
    maxBuffer: 64 * 1024 * 1024,
  });
  return { code: result.status, out: result.stdout + result.stderr };
}
