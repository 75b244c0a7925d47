/**
 * Audit records to a central collector over TLS (RFC 5425): a real rsyslogd from Debian with
 * the gtls stream driver (rsyslog-gnutls), started by the test on 127.0.0.1 with its own config,
 * certificates (made by openssl here) and output file, never the system's. Records must arrive
 * with their fields intact; a collector the policy's CA did not sign, or whose certificate names
 * another host, gets nothing while the connection goes on and the file log has every record;
 * plain TCP to the TLS port delivers nothing. Each absence is asserted only after a record sent
 * after it arrived, so that it means something.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makePki, type Pki } from '../test-pki.js';
import { runBundle } from './run-bundle.js';
import { applyPolicy } from './lab.js';
import { startTlsCollector, type TlsCollector } from './tls-collector.js';

let dir: string;
let pki: Pki;
let collector: TlsCollector;
let audit: string;
/** The input with a certificate for IP:127.0.0.1 and DNS:localhost. */
let bothPort: number;
/** The input with a certificate for DNS:localhost only. */
let localhostPort: number;

/** What each staged CA file becomes after apply (it goes, or is replaced). */
const afterApply: (() => void)[] = [];

/** A copy of the good CA at `name`, broken by `breakIt` once the policy naming it is applied. */
function stagedCa(name: string, breakIt: (path: string) => void): string {
  const path = join(dir, name);
  writeFileSync(path, readFileSync(pki.ca));
  afterApply.push(() => breakIt(path));
  return path;
}

/** Writes a policy and applies it (keys serve only an applied policy), unless `apply` is false (for check's own tests). */
function writePolicy(name: string, tcp: string, ca: string | null, apply = true): string {
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
  if (apply) applyPolicy(path);
  return path;
}

/** The file log's records, in order. */
function fileRecords(): Record<string, unknown>[] {
  return existsSync(audit)
    ? readFileSync(audit, 'utf8')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>)
    : [];
}

/** Runs one connection through the bundle; returns its exit code and its records from the file log. */
function connection(
  policy: string,
  command: string,
): { code: number | null; stderr: string; records: Record<string, unknown>[]; ms: number } {
  const before = fileRecords().length;
  const started = Date.now();
  const result = runBundle(['--id', 'host1', '--policy', policy], { SSH_ORIGINAL_COMMAND: command });
  return { code: result.code, stderr: result.stderr, records: fileRecords().slice(before), ms: Date.now() - started };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ssh-dispatch-syslog-tls-'));
  audit = join(dir, 'audit.jsonl');
  pki = makePki(dir, { both: 'IP:127.0.0.1,DNS:localhost', 'localhost-only': 'DNS:localhost' });
  collector = await startTlsCollector(dir, {
    ca: pki.ca,
    cert: pki.servers.both!,
    inputs: { 'tls-both': null, 'tls-localhost': pki.servers['localhost-only']! },
  });
  bothPort = collector.ports['tls-both']!;
  localhostPort = collector.ports['tls-localhost']!;
}, 30_000);

afterAll(async () => {
  await collector?.stop();
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

    const first = await collector.arrivedFor(allowed.records[0]!.session, 2);
    const second = await collector.arrivedFor(refused.records[0]!.session, 1);
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
    const arrived = await collector.arrivedFor(allowed.records[0]!.session, 2);
    expect(arrived.map((a) => [a.input, a.record])).toEqual(allowed.records.map((r) => ['tls-localhost', r]));
  });

  // What must not reach the collector: each policy's connection is allowed and logged, then a
  // good connection to the same input follows; once its records are there, the first's absence
  // is an absence.
  it.each([
    [
      "a CA that did not sign the collector's certificate",
      () => ({ tcp: `127.0.0.1:${bothPort}`, ca: pki.otherCa }),
      () => `127.0.0.1:${bothPort}`,
    ],
    [
      'a certificate for DNS:localhost only, reached at 127.0.0.1',
      () => ({ tcp: `127.0.0.1:${localhostPort}`, ca: pki.ca }),
      () => `localhost:${localhostPort}`,
    ],
    [
      'a certificate for localhost only, reached as localhost but verified against the other CA',
      () => ({ tcp: `localhost:${localhostPort}`, ca: pki.otherCa }),
      () => `localhost:${localhostPort}`,
    ],
    // apply refuses a CA file that does not load (check's syslog-tls findings): these two are
    // what a connection meets when the file goes or changes after apply.
    [
      'a CA file that does not exist (removed after apply)',
      () => ({ tcp: `127.0.0.1:${bothPort}`, ca: stagedCa('gone.pem', (path) => rmSync(path)) }),
      () => `127.0.0.1:${bothPort}`,
    ],
    [
      'a CA file that is no PEM (replaced after apply)',
      () => ({
        tcp: `127.0.0.1:${bothPort}`,
        ca: stagedCa('not-pem.pem', (path) => writeFileSync(path, readFileSync(pki.servers.both!.key.replace(/\.key$/, '.ext')))),
      }),
      () => `127.0.0.1:${bothPort}`,
    ],
    ['plain TCP (no tls) to the TLS port', () => ({ tcp: `127.0.0.1:${bothPort}`, ca: null }), () => `127.0.0.1:${bothPort}`],
  ])('%s: nothing arrives, the connection is allowed and in the file log, within the bound', async (name, bad, good) => {
    const slug = name.replace(/[^a-z0-9]+/gi, '-').slice(0, 40);
    const { tcp, ca } = bad();
    const policy = writePolicy(`${slug}-bad.yaml`, tcp, ca);
    for (const breakIt of afterApply.splice(0)) breakIt();
    const refused = connection(policy, 'true');
    expect(refused.code).toBe(0);
    // Nothing said about it on the client's stderr (the program's output is the client's).
    expect(refused.stderr).toBe('');
    expect(refused.records.map((r) => [r.event, r.decision ?? r.outcome])).toEqual([
      ['decision', 'allow'],
      ['end', expect.anything()],
    ]);
    // Two records, each abandoned at 500 ms at worst: seconds, not the runner's 20 s timeout.
    expect(refused.ms).toBeLessThan(5_000);
    const marker = connection(writePolicy(`${slug}-good.yaml`, good(), pki.ca), 'true');
    expect(marker.code).toBe(0);
    await collector.arrivedFor(marker.records[0]!.session, 2);
    expect(collector.arrivals().filter((a) => a.record.session === refused.records[0]!.session)).toEqual([]);
  });
});

describe('check', () => {
  it.each([
    ['a CA file that does not exist', () => join(dir, 'no-such-ca.pem'), /cannot be read \(ENOENT\)/],
    ['a file without a certificate', () => pki.servers.both!.key, /holds no PEM certificate/],
    [
      'a certificate whose PEM is damaged',
      () => {
        const damaged = join(dir, 'damaged.pem');
        writeFileSync(damaged, readFileSync(pki.ca, 'utf8').replace(/^(-----BEGIN CERTIFICATE-----\n)(.{8})/m, '$1AAAAAAAA'));
        return damaged;
      },
      /has a certificate that does not parse \(number 1 of 1\)/,
    ],
  ])('reports %s as an error at the ca line', (_name, ca, message) => {
    const policy = writePolicy('check.yaml', `127.0.0.1:${bothPort}`, ca(), false);
    const result = runBundle(['check', '--policy', policy]);
    expect(result.code).toBe(1);
    const line = result.stdout.split('\n').find((l) => l.includes('audit.syslog.tls.ca'));
    expect(line).toMatch(new RegExp(`^${policy.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:6: error: audit\\.syslog\\.tls\\.ca: `));
    expect(line).toMatch(message);
  });

  it('has nothing to say about a good CA file', () => {
    const result = runBundle(['check', '--policy', writePolicy('check-good.yaml', `127.0.0.1:${bothPort}`, pki.ca, false)]);
    expect(result.stdout).not.toContain('audit.syslog.tls');
    expect(result.code).toBe(0);
  });
});
