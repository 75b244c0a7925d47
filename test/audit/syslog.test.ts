/**
 * Syslog copies over TCP and TLS against collectors in this process (node:net and node:tls
 * servers on 127.0.0.1, certificates made by openssl in a temp dir): the TLS frame is the TCP
 * frame (RFC 5425 keeps RFC 6587's octet counting), the certificate is checked against the
 * policy's CA file alone and the host of `tcp`, and whatever fails sends nothing, throws
 * nothing and ends within the bound. The real collector (rsyslogd with gtls) is
 * test/e2e/syslog-tls.e2e.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCaFile, rfc5424Frame, sendToSyslog } from '../../src/audit/syslog.js';
import type { SyslogSettings } from '../../src/policy/schema.js';
import type { AuditRecord } from '../../src/audit/record.js';
import { waitFor } from '../e2e/wait.js';
import { makePki, type Pki } from '../test-pki.js';

interface Collector {
  port: number;
  /** What each connection sent before it ended, with the SNI name it asked for (TLS). */
  received: { data: string; servername: string | false | null | undefined }[];
  /** Connections accepted (over TLS: handshakes completed), whether or not they sent anything. */
  connections: number;
  server: Server;
}

/** Every connection the test servers accepted, for afterAll to end (server.close waits for them). */
const accepted = new Set<Socket>();

async function listen(server: Server, collector: Omit<Collector, 'port' | 'server'>): Promise<Collector> {
  server.on('connection', (socket: Socket) => accepted.add(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(collector, { port: (server.address() as { port: number }).port, server });
}

function record(collector: Omit<Collector, 'port' | 'server'>, socket: Socket | TLSSocket): void {
  collector.connections++;
  let data = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => (data += chunk));
  socket.on('error', () => socket.destroy());
  socket.on('end', () => {
    collector.received.push({ data, servername: 'servername' in socket ? socket.servername : undefined });
    socket.end();
  });
}

function tcpCollector(): Promise<Collector> {
  const collector = { received: [], connections: 0 };
  return listen(
    createTcpServer((socket) => record(collector, socket)),
    collector,
  );
}

function tlsCollector(server: { cert: string; key: string }): Promise<Collector> {
  const collector = { received: [], connections: 0 };
  const tls = createTlsServer({ cert: readFileSync(server.cert), key: readFileSync(server.key) }, (socket) => record(collector, socket));
  // A client that refuses the certificate aborts the handshake: nothing to record.
  tls.on('tlsClientError', () => {});
  return listen(tls, collector);
}

let dir: string;
let pki: Pki;
let both: Collector;
let localhostOnly: Collector;
let addressOnly: Collector;
let plain: Collector;
const servers: Server[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ssh-dispatch-syslog-tls-'));
  pki = makePki(dir, { both: 'IP:127.0.0.1,DNS:localhost', 'localhost-only': 'DNS:localhost', 'address-only': 'IP:127.0.0.1' });
  both = await tlsCollector(pki.servers.both!);
  localhostOnly = await tlsCollector(pki.servers['localhost-only']!);
  addressOnly = await tlsCollector(pki.servers['address-only']!);
  plain = await tcpCollector();
  servers.push(both.server, localhostOnly.server, addressOnly.server, plain.server);
});

afterAll(async () => {
  for (const socket of accepted) socket.destroy();
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  rmSync(dir, { recursive: true, force: true });
});

let serial = 0;
/** A record of its own (its own session), so that each arrival can be told apart. */
function aRecord(): AuditRecord {
  serial++;
  return {
    ts: '2026-11-23T07:16:53.000Z',
    event: 'decision',
    session: `test-${serial}`,
    id: 'host1',
    user: 'root',
    client: null,
    key: null,
    command: 'true',
    decision: 'allow',
    rule: 'r',
    rule_at: 'p.yaml:1',
    argv: ['/usr/bin/true'],
  };
}

function settings(host: string, port: number, ca: string | null): SyslogSettings {
  return { socket: null, tcp: { host, port }, tls: ca === null ? null : { ca, where: { file: 'p.yaml', line: 5 } }, facility: 'local3' };
}

/** A file of its own in the temp dir (the CA cache is by path: each case needs a path it has not read). */
function caFile(name: string, content: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

/** Sends, and returns how long it took; it must not throw. */
async function timedSend(s: SyslogSettings, r: AuditRecord): Promise<number> {
  const started = Date.now();
  await sendToSyslog(s, r);
  return Date.now() - started;
}

/** Waits until `collector` got a connection whose data contains `marker`; returns every connection's data. */
async function arrived(collector: Collector, marker: string): Promise<string[]> {
  await waitFor(`${marker} at the collector`, () => collector.received.some((r) => r.data.includes(marker)), { timeoutMs: 5_000 });
  return collector.received.map((r) => r.data);
}

describe('syslog over TLS (RFC 5425)', () => {
  it('sends the same octet-counted frame as plain TCP (RFC 6587 3.4.1 inside TLS)', async () => {
    const r = aRecord();
    await sendToSyslog(settings('127.0.0.1', plain.port, null), r);
    await sendToSyslog(settings('127.0.0.1', both.port, pki.ca), r);
    const overTcp = (await arrived(plain, String(r.session))).find((d) => d.includes(String(r.session)));
    const overTls = (await arrived(both, String(r.session))).find((d) => d.includes(String(r.session)));
    const expected = rfc5424Frame(r, 'local3', hostname(), process.pid);
    expect(overTcp).toBe(expected);
    expect(overTls).toBe(expected);
    expect(expected).toMatch(/^\d+ <158>1 2026-11-23T07:16:53\.000Z \S+ ssh-dispatch \d+ decision - \{/);
    expect(Number(expected.split(' ')[0])).toBe(Buffer.byteLength(expected) - expected.indexOf(' ') - 1);
  });

  it.each([
    ['an IP address: checked against the IP entries, no SNI (RFC 6066 allows no address)', '127.0.0.1', 'both', false],
    ['a name: checked against the DNS entries, and sent as SNI', 'localhost', 'both', 'localhost'],
    ['a name, the certificate having only it', 'localhost', 'localhost-only', 'localhost'],
    ['an address, the certificate having only it', '127.0.0.1', 'address-only', false],
  ] as const)('a collector reached by %s', async (_name, host, server, servername) => {
    const collector = { both, 'localhost-only': localhostOnly, 'address-only': addressOnly }[server];
    const r = aRecord();
    await sendToSyslog(settings(host, collector.port, pki.ca), r);
    await arrived(collector, String(r.session));
    expect(collector.received.find((c) => c.data.includes(String(r.session)))?.servername).toBe(servername);
  });

  // Each case sends a record that must not arrive, then one that must (the same collector, a
  // good CA): once the second is there, the absence of the first means something.
  it.each([
    ["a CA that did not sign the collector's certificate", () => pki.otherCa, '127.0.0.1', 'both'],
    ['a certificate for localhost only, reached at 127.0.0.1', () => pki.ca, '127.0.0.1', 'localhost-only'],
    ['a certificate for 127.0.0.1 only, reached as localhost', () => pki.ca, 'localhost', 'address-only'],
    ['a CA file that does not exist', () => join(dir, 'missing.pem'), '127.0.0.1', 'both'],
    ['a CA file that is not PEM', () => caFile('garbage.pem', 'not a certificate\n'), '127.0.0.1', 'both'],
    ['an empty CA file', () => caFile('empty.pem', ''), '127.0.0.1', 'both'],
    [
      'a CA file whose PEM is broken',
      () => caFile('broken.pem', readFileSync(pki.ca, 'utf8').replace(/^(-----BEGIN CERTIFICATE-----\n)..../m, '$1!!!!')),
      '127.0.0.1',
      'both',
    ],
    ["a CA file that is the server's key", () => pki.servers.both!.key, '127.0.0.1', 'both'],
    ['a directory for a CA file', () => dir, '127.0.0.1', 'both'],
    [
      'a FIFO for a CA file (a blocking read would hold the connection)',
      () => {
        const fifo = join(dir, 'fifo.pem');
        spawnSync('/usr/bin/mkfifo', [fifo]);
        return fifo;
      },
      '127.0.0.1',
      'both',
    ],
  ] as const)('%s: nothing reaches the collector, nothing throws, within the bound', async (_name, ca, host, server) => {
    const collector = { both, 'localhost-only': localhostOnly, 'address-only': addressOnly }[server];
    const refused = aRecord();
    const took = await timedSend(settings(host, collector.port, ca()), refused);
    expect(took).toBeLessThan(2_000);
    const good = aRecord();
    await sendToSyslog(settings(server === 'localhost-only' ? 'localhost' : '127.0.0.1', collector.port, pki.ca), good);
    const all = await arrived(collector, String(good.session));
    expect(all.filter((d) => d.includes(String(refused.session)))).toEqual([]);
  });

  it('a TLS sender to a plain TCP collector delivers no readable record', async () => {
    const r = aRecord();
    expect(await timedSend(settings('127.0.0.1', plain.port, pki.ca), r)).toBeLessThan(2_000);
    const marker = aRecord();
    await sendToSyslog(settings('127.0.0.1', plain.port, null), marker);
    const all = await arrived(plain, String(marker.session));
    expect(all.filter((d) => d.includes(String(r.session)))).toEqual([]);
  });

  it('a collector that accepts and never answers the handshake: abandoned at the bound, the connection closed', async () => {
    const sockets: Socket[] = [];
    let closed = 0;
    // It reads (and so sees the client go) but never says a word of the handshake.
    const silent = createTcpServer((socket) => {
      sockets.push(socket);
      socket.on('close', () => closed++);
      socket.on('error', () => {});
      socket.resume();
    });
    servers.push(silent);
    silent.on('connection', (socket: Socket) => accepted.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    const took = await timedSend(settings('127.0.0.1', port, pki.ca), aRecord());
    expect(took).toBeGreaterThanOrEqual(400);
    expect(took).toBeLessThan(2_000);
    expect(sockets).toHaveLength(1);
    // Abandoned, not left open to finish later: the client end is gone.
    await waitFor('the abandoned connection to close', () => closed === 1, { timeoutMs: 2_000 });
  });

  it('reads the CA file once per process: a later change to it is not seen', async () => {
    const ca = caFile('cached.pem', readFileSync(pki.ca));
    const first = aRecord();
    await sendToSyslog(settings('127.0.0.1', both.port, ca), first);
    await arrived(both, String(first.session));
    writeFileSync(ca, readFileSync(pki.otherCa));
    const second = aRecord();
    await sendToSyslog(settings('127.0.0.1', both.port, ca), second);
    await arrived(both, String(second.session));
  });

  it('a CA file first read unreadable stays skipped (no retry on every record)', async () => {
    const ca = join(dir, 'appears-later.pem');
    const first = aRecord();
    await sendToSyslog(settings('127.0.0.1', both.port, ca), first);
    writeFileSync(ca, readFileSync(pki.ca));
    const second = aRecord();
    await sendToSyslog(settings('127.0.0.1', both.port, ca), second);
    const marker = aRecord();
    await sendToSyslog(settings('127.0.0.1', both.port, pki.ca), marker);
    const all = await arrived(both, String(marker.session));
    expect(all.filter((d) => d.includes(String(first.session)) || d.includes(String(second.session)))).toEqual([]);
  });
});

describe('readCaFile', () => {
  it.each([
    ['a PEM file', () => pki.ca, { ok: true }],
    ['a missing file', () => join(dir, 'nope.pem'), { ok: false, problem: 'cannot be read (ENOENT)' }],
    ['a directory', () => dir, { ok: false, problem: 'is not a regular file' }],
    [
      'a file over 1 MiB',
      () => caFile('huge.pem', Buffer.alloc(1024 * 1024 + 1, 'A')),
      { ok: false, problem: 'is larger than 1048576 bytes' },
    ],
  ] as const)('%s', (_name, path, expected) => {
    expect(readCaFile(path())).toMatchObject(expected);
  });
});
