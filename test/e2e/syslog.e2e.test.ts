/**
 * Audit records into a real syslog daemon: rsyslogd from Debian's packages, started by the test
 * on 127.0.0.1 with its own config, socket and output file (never the system's). Records must
 * arrive over the local socket and over TCP with their fields intact; the file log stays the
 * source of truth, so a collector that is down changes nothing but a short wait.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBundle } from './run-bundle.js';
import { applyPolicy } from './lab.js';
import { waitFor } from './wait.js';

let dir: string;
let daemon: ChildProcess;
let daemonExited: Promise<unknown>;
let port: number;
let audit: string;

/** A port nothing listens on (nothing is asked to bind it: it stands for a collector that is down). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port: p } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return p;
}

function writePolicy(name: string, tcp: string): string {
  const path = join(dir, name);
  writeFileSync(
    path,
    `version: 1
audit:
  file: ${audit}
  syslog: { socket: ${join(dir, 'log.sock')}, tcp: "${tcp}", facility: local3 }
identities:
  host1:
    rules:
      - { name: nightly, exec: { command: "true", program: /bin/true } }
`,
    { mode: 0o600 },
  );
  applyPolicy(path);
  return path;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ssh-dispatch-syslog-'));
  audit = join(dir, 'audit.jsonl');
  const portFile = join(dir, 'tcp.port');
  // The socket's input parses RFC 5424 (what logger --rfc5424 sends) with the regular parser
  // chain: imuxsock's default special parser reads only syslog(3)'s local format (docs/policy.md).
  // Port 0: rsyslogd binds a port of the kernel's choosing and writes it down, so no port is
  // picked here and handed over (someone else could take it in between).
  writeFileSync(
    join(dir, 'rsyslog.conf'),
    `global(workDirectory="${dir}")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="${join(dir, 'log.sock')}" UseSpecialParser="off")
module(load="imtcp")
input(type="imtcp" address="127.0.0.1" port="0" listenPortFileName="${portFile}")
template(name="fields" type="list") {
  property(name="inputname") constant(value=" ") property(name="procid") constant(value=" ")
  property(name="syslogfacility-text") constant(value=" ") property(name="syslogseverity-text") constant(value=" ")
  property(name="app-name") constant(value=" ") property(name="msgid") constant(value=" ")
  property(name="msg" droplastlf="on") constant(value="\\n")
}
*.* action(type="omfile" file="${join(dir, 'received.log')}" template="fields")
`,
  );
  daemon = spawn('/usr/sbin/rsyslogd', ['-n', '-f', join(dir, 'rsyslog.conf'), '-i', join(dir, 'rsyslogd.pid')], { stdio: 'ignore' });
  daemonExited = new Promise((r) => daemon.once('exit', r));
  port = await waitFor(
    'rsyslogd to listen on its socket and TCP port',
    async () => {
      if (daemon.exitCode !== null) throw new Error(`rsyslogd exited (${daemon.exitCode})`);
      const written = existsSync(portFile) ? Number(readFileSync(portFile, 'utf8').trim()) : 0;
      if (!(written > 0) || !existsSync(join(dir, 'log.sock'))) return null;
      const up = await new Promise<boolean>((r) => {
        const s = connect({ host: '127.0.0.1', port: written }, () => (s.destroy(), r(true)));
        s.on('error', () => r(false));
      });
      return up && written;
    },
    { timeoutMs: 10_000 },
  );
}, 30_000);

afterAll(async () => {
  if (daemon?.pid && daemon.exitCode === null) {
    daemon.kill('SIGTERM');
    await daemonExited;
  }
  rmSync(dir, { recursive: true, force: true });
});

/** The lines of received.log from ssh-dispatch, once there are at least `count`. */
async function received(count: number): Promise<string[]> {
  const file = join(dir, 'received.log');
  const ours = () =>
    existsSync(file)
      ? readFileSync(file, 'utf8')
          .split('\n')
          .filter((l) => l.includes('ssh-dispatch'))
      : [];
  try {
    return await waitFor(`${count} records in received.log`, () => ours().length >= count && ours(), { timeoutMs: 10_000 });
  } catch {
    return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
  }
}

describe('syslog', () => {
  it('each record arrives twice (local socket and TCP), fields intact, refusals at notice', async () => {
    const policy = writePolicy('policy.yaml', `127.0.0.1:${port}`);
    expect(runBundle(['--id', 'host1', '--policy', policy], { SSH_ORIGINAL_COMMAND: 'true' }).code).toBe(0);
    expect(runBundle(['--id', 'host1', '--policy', policy], { SSH_ORIGINAL_COMMAND: 'cat /etc/shadow; id\u001b[2J' }).code).toBe(126);
    const fileRecords = readFileSync(audit, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(fileRecords).toHaveLength(3);
    const lines = await received(6);
    expect(lines).toHaveLength(6);
    // Split on single spaces: a message with a leading space (logger's default local format)
    // would leave an empty field before the JSON and fail to parse.
    const parsed = lines.map((line) => {
      const [input, procid, facility, severity, app, msgid, ...rest] = line.split(' ');
      return { input, procid, facility, severity, app, msgid, record: JSON.parse(rest.join(' ')) as Record<string, unknown> };
    });
    for (const input of ['imtcp', 'imuxsock']) {
      const copies = parsed.filter((p) => p.input === input);
      expect(copies.map((c) => c.record)).toEqual(fileRecords);
      expect(copies.every((c) => c.facility === 'local3' && c.app === 'ssh-dispatch')).toBe(true);
      expect(copies.map((c) => c.severity)).toEqual(['info', 'info', 'notice']);
      // MSGID the record's event and PROCID the dispatcher's pid, by either path.
      expect(copies.map((c) => c.msgid)).toEqual(['decision', 'end', 'decision']);
      const [first, second, third] = copies.map((c) => c.procid);
      expect([first, third]).toEqual([expect.stringMatching(/^\d+$/), expect.stringMatching(/^\d+$/)]);
      expect([second, third === first]).toEqual([first, false]);
    }
    const procids = (input: string) => parsed.filter((p) => p.input === input).map((p) => p.procid);
    expect(procids('imuxsock')).toEqual(procids('imtcp'));
    // The control characters of the refused command arrive escaped, never raw.
    expect(readFileSync(join(dir, 'received.log'), 'utf8')).not.toContain('\u001b');
  });

  it('a collector that is down changes nothing but a short wait', async () => {
    const policy = writePolicy('down.yaml', `127.0.0.1:${await freePort()}`);
    const started = Date.now();
    const result = runBundle(['--id', 'host1', '--policy', policy], { SSH_ORIGINAL_COMMAND: 'true' });
    expect(result.code).toBe(0);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
