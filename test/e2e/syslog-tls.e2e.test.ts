/**
 * Audit records to a central collector over TLS (RFC 5425): a real rsyslogd from Debian with
 * the gtls stream driver (rsyslog-gnutls), started by the test on 127.0.0.1 with its own config,
 * certificates (made by openssl here) and output file, never the system's. Records must arrive
 * with their fields intact; a collector the policy's CA did not sign, or whose certificate names
 * another host, gets nothing while the connection goes on and the file log has every record;
 * plain TCP to the TLS port delivers nothing. Each absence is asserted only after a record sent
 * after it arrived, so that it means something.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makePki, type Pki } from '../test-pki.js';
import { runBundle } from './run-bundle.js';
import { waitFor } from './wait.js';

let dir: string;
let pki: Pki;
let daemon: ChildProcess;
let daemonExited: Promise<unknown>;
let audit: string;
/** The input with a certificate for IP:127.0.0.1 and DNS:localhost. */
let bothPort: number;
/** The input with a certificate for DNS:localhost only. */
let localhostPort: number;

interface Arrival {
  input: string;
  facility: string;
  severity: string;
  app: string;
  msgid: string;
  record: Record<string, unknown>;
}

function writePolicy(name: string, tcp: string, ca: string | null): string {
  const path = join(dir, name);
  writeFileSync(
    path,
    `version: 1
audit:
  file: ${audit}
  syslog:
    tcp: "${tcp}"
${ca === null ? '' : `    tls: { ca: ${ca} }\n`}    facility: local3
identities:
  host1:
    rules:
      - { name: nightly, exec: { command: "true", program: /bin/true } }
`,
    { mode: 0o600 },
  );
  return path;
}

/** The file log's records, in order. */
function fileRecords(): Record<string, unknown>[] {
  return existsSync(audit) ? readFileSync(audit, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) : [];
}

/** Runs one connection through the bundle; returns its exit code and its records from the file log. */
function connection(policy: string, command: string): { code: number | null; stderr: string; records: Record<string, unknown>[]; ms: number } {
  const before = fileRecords().length;
  const started = Date.now();
  const result = runBundle(['--id', 'host1', '--policy', policy], { SSH_ORIGINAL_COMMAND: command });
  return { code: result.code, stderr: result.stderr, records: fileRecords().slice(before), ms: Date.now() - started };
}

/** What the collector wrote, each line parsed (its template: the fields, then the JSON message). */
function arrivals(): Arrival[] {
  const file = join(dir, 'received.log');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => {
    const [input, facility, severity, app, msgid, ...rest] = line.split(' ');
    return { input: input!, facility: facility!, severity: severity!, app: app!, msgid: msgid!, record: JSON.parse(rest.join(' ')) as Record<string, unknown> };
  });
}

/** The collector's records of a session, once there are `count`. */
async function arrivedFor(session: unknown, count: number): Promise<Arrival[]> {
  return waitFor(`${count} records of session ${String(session)} at the collector`, () => {
    const ours = arrivals().filter((a) => a.record.session === session);
    return ours.length >= count && ours;
  }, { timeoutMs: 10_000 });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ssh-dispatch-syslog-tls-'));
  audit = join(dir, 'audit.jsonl');
  pki = makePki(dir, { both: 'IP:127.0.0.1,DNS:localhost', 'localhost-only': 'DNS:localhost' });
  // The gtls driver, server side, anonymous clients (ssh-dispatch has no client certificate):
  // the default certificate through global(), as docs/policy.md shows; a second input with a
  // certificate of its own (per-input streamDriver.* parameters, rsyslog 8.2108 and later).
  // Port 0 and listenPortFileName as in syslog.e2e.test.ts. Only ssh-dispatch's messages go to
  // received.log (rsyslogd's own, such as refused handshakes, to rsyslogd.log).
  writeFileSync(
    join(dir, 'rsyslog.conf'),
    `global(workDirectory="${dir}"
  DefaultNetstreamDriverCAFile="${pki.ca}"
  DefaultNetstreamDriverCertFile="${pki.servers.both!.cert}"
  DefaultNetstreamDriverKeyFile="${pki.servers.both!.key}")
module(load="imtcp" StreamDriver.Name="gtls" StreamDriver.Mode="1" StreamDriver.AuthMode="anon")
input(type="imtcp" name="tls-both" address="127.0.0.1" port="0" listenPortFileName="${join(dir, 'both.port')}")
input(type="imtcp" name="tls-localhost" address="127.0.0.1" port="0" listenPortFileName="${join(dir, 'localhost.port')}"
  streamDriver.CertFile="${pki.servers['localhost-only']!.cert}" streamDriver.KeyFile="${pki.servers['localhost-only']!.key}")
template(name="fields" type="list") {
  property(name="inputname") constant(value=" ")
  property(name="syslogfacility-text") constant(value=" ") property(name="syslogseverity-text") constant(value=" ")
  property(name="app-name") constant(value=" ") property(name="msgid") constant(value=" ")
  property(name="msg" droplastlf="on") constant(value="\\n")
}
if $app-name == "ssh-dispatch" then {
  action(type="omfile" file="${join(dir, 'received.log')}" template="fields")
  stop
}
*.* action(type="omfile" file="${join(dir, 'rsyslogd.log')}")
`,
  );
  daemon = spawn('/usr/sbin/rsyslogd', ['-n', '-f', join(dir, 'rsyslog.conf'), '-i', join(dir, 'rsyslogd.pid')], { stdio: 'ignore' });
  daemonExited = new Promise((r) => daemon.once('exit', r));
  const portOf = async (file: string) => {
    const path = join(dir, file);
    return waitFor(`rsyslogd to listen (${file})`, async () => {
      if (daemon.exitCode !== null) throw new Error(`rsyslogd exited (${daemon.exitCode})`);
      const written = existsSync(path) ? Number(readFileSync(path, 'utf8').trim()) : 0;
      if (!(written > 0)) return null;
      const up = await new Promise<boolean>((r) => {
        const s = connect({ host: '127.0.0.1', port: written }, () => (s.destroy(), r(true)));
        s.on('error', () => r(false));
      });
      return up && written;
    }, { timeoutMs: 10_000 });
  };
  bothPort = await portOf('both.port');
  localhostPort = await portOf('localhost.port');
}, 30_000);

afterAll(async () => {
  if (daemon?.pid && daemon.exitCode === null) {
    daemon.kill('SIGTERM');
    await daemonExited;
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('syslog over TLS to rsyslogd (gtls)', () => {
  it('the decision and end records arrive over TLS, fields intact; a refusal at notice', async () => {
    const policy = writePolicy('tls.yaml', `127.0.0.1:${bothPort}`, pki.ca);
    const allowed = connection(policy, 'true');
    expect(allowed.code).toBe(0);
    // Not a word on stderr, which is the client's: Node warns there when SNI is an IP address.
    expect(allowed.stderr).toBe('');
    expect(allowed.records.map((r) => r.event)).toEqual(['decision', 'end']);
    const refused = connection(policy, 'cat /etc/shadow; id\u001b[2J');
    expect(refused.code).toBe(126);
    expect(refused.records.map((r) => [r.event, r.decision])).toEqual([['decision', 'deny']]);

    const first = await arrivedFor(allowed.records[0]!.session, 2);
    const second = await arrivedFor(refused.records[0]!.session, 1);
    expect(first.map((a) => a.record)).toEqual(allowed.records);
    expect(second.map((a) => a.record)).toEqual(refused.records);
    expect([...first, ...second].map((a) => [a.input, a.facility, a.severity, a.app, a.msgid])).toEqual([
      ['tls-both', 'local3', 'info', 'ssh-dispatch', 'decision'],
      ['tls-both', 'local3', 'info', 'ssh-dispatch', 'end'],
      ['tls-both', 'local3', 'notice', 'ssh-dispatch', 'decision'],
    ]);
    // The refused command's control characters arrive escaped, never raw.
    expect(readFileSync(join(dir, 'received.log'), 'utf8')).not.toContain('\u001b');
  });

  it('a collector reached by name: its certificate names localhost, and so does tcp', async () => {
    const allowed = connection(writePolicy('by-name.yaml', `localhost:${localhostPort}`, pki.ca), 'true');
    expect(allowed.code).toBe(0);
    const arrived = await arrivedFor(allowed.records[0]!.session, 2);
    expect(arrived.map((a) => [a.input, a.record])).toEqual(allowed.records.map((r) => ['tls-localhost', r]));
  });

  // What must not reach the collector: each policy's connection is allowed and logged, then a
  // good connection to the same input follows; once its records are there, the first's absence
  // is an absence.
  it.each([
    ['a CA that did not sign the collector\'s certificate', () => ({ tcp: `127.0.0.1:${bothPort}`, ca: pki.otherCa }), () => `127.0.0.1:${bothPort}`],
    ['a certificate for DNS:localhost only, reached at 127.0.0.1', () => ({ tcp: `127.0.0.1:${localhostPort}`, ca: pki.ca }), () => `localhost:${localhostPort}`],
    ['a certificate for localhost only, reached as localhost but verified against the other CA', () => ({ tcp: `localhost:${localhostPort}`, ca: pki.otherCa }), () => `localhost:${localhostPort}`],
    ['a CA file that does not exist', () => ({ tcp: `127.0.0.1:${bothPort}`, ca: join(dir, 'no-such-ca.pem') }), () => `127.0.0.1:${bothPort}`],
    ['a CA file that is no PEM', () => ({ tcp: `127.0.0.1:${bothPort}`, ca: pki.servers.both!.key.replace(/\.key$/, '.ext') }), () => `127.0.0.1:${bothPort}`],
    ['plain TCP (no tls) to the TLS port', () => ({ tcp: `127.0.0.1:${bothPort}`, ca: null }), () => `127.0.0.1:${bothPort}`],
  ])('%s: nothing arrives, the connection is allowed and in the file log, within the bound', async (name, bad, good) => {
    const slug = name.replace(/[^a-z0-9]+/gi, '-').slice(0, 40);
    const { tcp, ca } = bad();
    const refused = connection(writePolicy(`${slug}-bad.yaml`, tcp, ca), 'true');
    expect(refused.code).toBe(0);
    // Nothing said about it on the client's stderr (the program's output is the client's).
    expect(refused.stderr).toBe('');
    expect(refused.records.map((r) => [r.event, r.decision ?? r.outcome])).toEqual([['decision', 'allow'], ['end', expect.anything()]]);
    // Two records, each abandoned at 500 ms at worst: seconds, not the runner's 20 s timeout.
    expect(refused.ms).toBeLessThan(5_000);
    const marker = connection(writePolicy(`${slug}-good.yaml`, good(), pki.ca), 'true');
    expect(marker.code).toBe(0);
    await arrivedFor(marker.records[0]!.session, 2);
    expect(arrivals().filter((a) => a.record.session === refused.records[0]!.session)).toEqual([]);
  });
});

describe('check', () => {
  it.each([
    ['a CA file that does not exist', () => join(dir, 'no-such-ca.pem'), /cannot be read \(ENOENT\)/],
    ['a file without a certificate', () => pki.servers.both!.key, /holds no PEM certificate/],
    ['a certificate whose PEM is damaged', () => {
      const damaged = join(dir, 'damaged.pem');
      writeFileSync(damaged, readFileSync(pki.ca, 'utf8').replace(/^(-----BEGIN CERTIFICATE-----\n)(.{8})/m, '$1AAAAAAAA'));
      return damaged;
    }, /has a certificate that does not parse \(number 1 of 1\)/],
  ])('reports %s as an error at the ca line', (_name, ca, message) => {
    const policy = writePolicy('check.yaml', `127.0.0.1:${bothPort}`, ca());
    const result = runBundle(['check', '--policy', policy]);
    expect(result.code).toBe(1);
    const line = result.stdout.split('\n').find((l) => l.includes('audit.syslog.tls.ca'));
    expect(line).toMatch(new RegExp(`^${policy.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:6: error: audit\\.syslog\\.tls\\.ca: `));
    expect(line).toMatch(message);
  });

  it('has nothing to say about a good CA file', () => {
    const result = runBundle(['check', '--policy', writePolicy('check-good.yaml', `127.0.0.1:${bothPort}`, pki.ca)]);
    expect(result.stdout).not.toContain('audit.syslog.tls');
    expect(result.code).toBe(0);
  });
});
