/**
 * `ssh-dispatch demo`: a throwaway sshd on 127.0.0.1 wired to this very ssh-dispatch, one key,
 * one identity, a few real requests (allowed and refused), then the audit log they left.
 * Everything lives in a temp dir that is removed at the end; sshd is stopped by its pid.
 */
import { mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { printable } from '../audit/escape.js';
import { authorizedKeyLine, ThrowawaySshd } from '../lab/throwaway-sshd.js';

export const DEMO_HELP = `Usage: ssh-dispatch demo

Starts a throwaway OpenSSH sshd on 127.0.0.1 (temp keys, temp config, nothing of /etc/ssh or
~/.ssh), sets ssh-dispatch as the forced command of a temp key, sends allowed and refused
requests through real ssh, and prints the audit records. Needs openssh-server and
openssh-client. Exit status: 0 when every request got the expected decision.`;

interface Step {
  title: string;
  command: string | null;
  expect: 'allow' | 'deny';
}

const ARCHIVE = 'host1-2026-11-23.tar.gz';

const STEPS: Step[] = [
  { title: 'The backup job verifies last night\'s archive', command: `sha256sum ${ARCHIVE}`, expect: 'allow' },
  { title: 'The backup job checks the space used', command: 'du -sh .', expect: 'allow' },
  { title: 'A stolen key asks for a shell', command: 'sh -c id', expect: 'deny' },
  { title: 'It tries to read the policy through the allowed checksum command', command: 'sha256sum ../policies/demo.yaml', expect: 'deny' },
  { title: 'It chains a second command', command: 'du -sh .; cat /etc/shadow', expect: 'deny' },
  { title: 'It smuggles a command substitution', command: `sha256sum $(id -u).tar.gz`, expect: 'deny' },
  { title: 'It opens an interactive session (no command)', command: null, expect: 'deny' },
];

function policyText(backups: string, auditFile: string): string {
  return `# The demo's policy: one identity, two harmless commands, nothing else.
version: 1
audit:
  file: ${auditFile}
identities:
  demo-backup:
    rules:
      - name: checksum
        exec:
          command: "sha256sum *.tar.gz"     # one glob per word; * never matches / or ..
          program: /usr/bin/sha256sum
          cwd: ${backups}
      - name: disk-usage
        exec:
          command: "du -sh ."
          program: /usr/bin/du
          cwd: ${backups}
`;
}

export async function runDemo(): Promise<number> {
  const bundle = realpathSync(process.argv[1]!);
  const sshd = await ThrowawaySshd.start();
  try {
    const backups = join(sshd.dir, 'backups');
    const policies = join(sshd.dir, 'policies');
    const auditFile = join(sshd.dir, 'audit.jsonl');
    mkdirSync(backups, { mode: 0o700 });
    mkdirSync(policies, { mode: 0o700 });
    writeFileSync(join(backups, ARCHIVE), gzipSync('pretend this is a tarball\n'));
    const policy = policyText(backups, auditFile);
    writeFileSync(join(policies, 'demo.yaml'), policy, { mode: 0o600 });

    const key = await sshd.newClientKey('demo');
    const line = authorizedKeyLine('restrict', [process.execPath, bundle, '--id', 'demo-backup', '--policy', policies], key);
    sshd.authorize([line]);

    const out: string[] = [];
    out.push(`ssh-dispatch demo: a throwaway sshd (pid ${sshd.pid}) on 127.0.0.1:${sshd.port}, logging in as ${sshd.user}`);
    out.push('', 'authorized_keys:', `  ${line.replace(/(ssh-ed25519 \S{20})\S+/, '$1...')}`, '', 'policy (demo.yaml):');
    out.push(...policy.trimEnd().split('\n').map((l) => `  ${l}`));
    console.log(out.join('\n'));

    let surprises = 0;
    for (const [i, step] of STEPS.entries()) {
      const result = await sshd.ssh(key, step.command);
      const got = result.code === 0 ? 'allow' : result.code === 126 ? 'deny' : `exit ${result.code}`;
      if (got !== step.expect) surprises++;
      const shown = step.command === null ? `ssh ${sshd.user}@127.0.0.1` : `ssh ${sshd.user}@127.0.0.1 '${step.command}'`;
      console.log(`\n${i + 1}. ${step.title} (expected: ${step.expect})\n   $ ${printable(shown)}`);
      const output = (result.stdout.toString('utf8') + result.stderr).trimEnd();
      for (const l of output.split('\n').filter(Boolean)) console.log(`   ${printable(l.replace(sshd.dir, '$DEMO'))}`);
      console.log(`   exit status ${result.code}${got === step.expect ? '' : '   <-- NOT AS EXPECTED'}`);
    }

    console.log(`\nThe audit log (${auditFile.replace(sshd.dir, '$DEMO')}), one decision record per connection, an end record per program run:`);
    for (const text of readFileSync(auditFile, 'utf8').split('\n').filter(Boolean)) {
      const r = JSON.parse(text) as Record<string, unknown>;
      const time = String(r.ts).slice(11, 19);
      if (r.event === 'decision') {
        const why = r.decision === 'allow' ? `rule ${String(r.rule)}` : String(r.reason);
        const command = r.command === null ? '(no command)' : JSON.stringify(r.command);
        console.log(`  ${time}  ${String(r.session).slice(0, 8)}  ${String(r.decision).padEnd(5)}  ${why.padEnd(22)}  ${printable(command)}`);
      } else {
        console.log(`  ${time}  ${String(r.session).slice(0, 8)}  end    exit ${String(r.exit).padEnd(17)}  ${String(r.duration_ms)} ms`);
      }
    }
    console.log(surprises === 0 ? '\nEvery request got the expected decision.' : `\n${surprises} request(s) did not get the expected decision.`);
    return surprises === 0 ? 0 : 1;
  } finally {
    await sshd.stop();
  }
}
