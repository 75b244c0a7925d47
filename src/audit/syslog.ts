/**
 * Copies of audit records for a syslog pipeline, best effort: the file log is the source of
 * truth (a record that cannot be written there is a deny), syslog is not. Each send waits at
 * most SEND_TIMEOUT_MS, so that a record is on its way before an execve, and a collector that is
 * down never holds a connection up for long.
 *
 * - A local socket (/dev/log): Node cannot send unix datagrams, so logger(1) carries the record,
 *   as RFC 5424 (--rfc5424=notq: no timeQuality element), APP-NAME `ssh-dispatch`, PROCID the
 *   dispatcher's pid (not logger's), MSGID the record's event: the same fields as over TCP. (Its
 *   default, the local BSD format, has no MSGID, and rsyslog kept a space before the message.)
 * - A TCP collector: RFC 5424, octet-counted (RFC 6587), APP-NAME `ssh-dispatch`, MSGID the
 *   record's event, MSG the record's JSON line (printable ASCII: escape.ts).
 * - The same over TLS (RFC 5425: the same `LEN SP MSG` frames), when the policy names a CA
 *   file: the collector's certificate must chain to that CA alone (not the system's roots) and
 *   name the host or address of `tcp`. Anything less (a wrong CA, a wrong name, a CA file that
 *   cannot be read) sends nothing, says nothing, and decides nothing: the file has the record.
 *   node:tls is loaded only here, when a record goes out over it (milliseconds of start-up).
 */
import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Socket } from 'node:net';
import type { SyslogSettings } from '../policy/schema.js';
import { childProcess, net, tls } from '../lazy-builtins.js';
import { toLogLine } from './escape.js';
import type { AuditRecord } from './record-types.js';

const SEND_TIMEOUT_MS = 500;
/** A CA bundle is kilobytes (Debian's whole one is about 200 KiB); more is not a CA file. */
const MAX_CA_BYTES = 1024 * 1024;
const FACILITY_CODES: Record<SyslogSettings['facility'], number> = {
  user: 1,
  daemon: 3,
  auth: 4,
  authpriv: 10,
  local0: 16,
  local1: 17,
  local2: 18,
  local3: 19,
  local4: 20,
  local5: 21,
  local6: 22,
  local7: 23,
};
const INFO = 6;
const NOTICE = 5;

/** The record's event as an RFC 5424 MSGID (1-32 printable characters, no space), or none. */
function msgidOf(record: AuditRecord): string | undefined {
  return /^[A-Za-z0-9_-]{1,32}$/.test(record.event) ? record.event : undefined;
}

function severity(record: AuditRecord): number {
  return record.event === 'decision' && record.decision === 'deny' ? NOTICE : INFO;
}

/** The RFC 5424 message for a record, framed with its octet count (RFC 6587 3.4.1). */
export function rfc5424Frame(record: AuditRecord, facility: SyslogSettings['facility'], host: string, pid: number): string {
  const pri = FACILITY_CODES[facility] * 8 + severity(record);
  const ts = record.ts;
  const msgid = msgidOf(record) ?? '-';
  const message = `<${pri}>1 ${ts} ${host || '-'} ssh-dispatch ${pid} ${msgid} - ${toLogLine(record).trimEnd()}`;
  return `${Buffer.byteLength(message)} ${message}`;
}

/**
 * Runs `work` until it calls done, for SEND_TIMEOUT_MS at most: then the function it returned
 * abandons it (a connection still connecting, shaking hands or writing is destroyed), so that
 * nothing of it outlives the bound.
 */
function withTimeout(work: (done: () => void) => (() => void) | void): Promise<void> {
  return new Promise((resolve) => {
    let abandon: (() => void) | void = undefined;
    const timer = setTimeout(() => {
      abandon?.();
      resolve();
    }, SEND_TIMEOUT_MS);
    abandon = work(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export type CaFile = { ok: true; pem: Buffer } | { ok: false; problem: string };

/**
 * A CA file's bytes, or why they cannot be had. Opened without blocking and read only when it
 * is a regular file of a plausible size: a FIFO or a device named by mistake must not hold a
 * connection (or check) up. Shared with check, which reports the problem at the policy's line.
 */
export function readCaFile(path: string): CaFile {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (error) {
    return { ok: false, problem: `cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})` };
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) return { ok: false, problem: 'is not a regular file' };
    if (stats.size > MAX_CA_BYTES) return { ok: false, problem: `is larger than ${MAX_CA_BYTES} bytes` };
    return { ok: true, pem: readFileSync(fd) };
  } catch (error) {
    return { ok: false, problem: `cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})` };
  } finally {
    closeSync(fd);
  }
}

/** The CA files read so far, by path: each is read once per process (a session sends two records). null: unreadable. */
const caFiles = new Map<string, Buffer | null>();

function caOf(path: string): Buffer | null {
  let pem = caFiles.get(path);
  if (pem === undefined) {
    const read = readCaFile(path);
    pem = read.ok ? read.pem : null;
    caFiles.set(path, pem);
  }
  return pem;
}

/**
 * A TLS connection to the collector that will carry data only to a server whose certificate
 * chains to `ca` alone (with ca given, Node's bundled roots and the system's store are not
 * consulted; NODE_EXTRA_CA_CERTS and the like make the dispatcher refuse to start) and names `host` (Node's checkServerIdentity: DNS names, or IP addresses for an IP literal; SNI
 * only for a name, RFC 6066 allows no address there). null when the CA file cannot be read.
 */
function connectTls(host: string, port: number, caPath: string): Socket | null {
  const ca = caOf(caPath);
  if (ca === null) return null;
  const servername = net().isIP(host) === 0 ? { servername: host } : {};
  return tls().connect({ host, port, ca, rejectUnauthorized: true, minVersion: 'TLSv1.2', ...servername });
}

export async function sendToSyslog(settings: SyslogSettings, record: AuditRecord): Promise<void> {
  const sends: Promise<void>[] = [];
  if (settings.socket) {
    const socket = settings.socket;
    const priority = `${settings.facility}.${severity(record) === NOTICE ? 'notice' : 'info'}`;
    const msgid = msgidOf(record);
    const args = [
      '--socket',
      socket,
      '--rfc5424=notq',
      ...(msgid ? ['--msgid', msgid] : []),
      `--id=${process.pid}`,
      '--tag',
      'ssh-dispatch',
      '--priority',
      priority,
      '--',
      toLogLine(record).trimEnd(),
    ];
    sends.push(
      withTimeout((done) => {
        try {
          const child = childProcess().spawn('/usr/bin/logger', args, { stdio: 'ignore' });
          child.once('error', done);
          child.once('exit', done);
        } catch {
          done();
        }
      }),
    );
  }
  if (settings.tcp) {
    const { host, port } = settings.tcp;
    // A compiled cache from before tls existed has no tls key: plain TCP, as it was compiled.
    const caPath = settings.tls?.ca ?? null;
    const frame = rfc5424Frame(record, settings.facility, hostname(), process.pid);
    sends.push(
      withTimeout((done) => {
        let socket: Socket | null;
        try {
          // tls.connect can throw at once (options it cannot make a context of): nothing sent.
          socket = caPath === null ? net().connect({ host, port }) : connectTls(host, port, caPath);
        } catch {
          socket = null;
        }
        if (socket === null) return done();
        const connected = socket;
        // Written only once the connection is up, and over TLS once the certificate passed.
        connected.once(caPath === null ? 'connect' : 'secureConnect', () => connected.end(frame));
        connected.once('close', done);
        connected.on('error', () => connected.destroy());
        return () => connected.destroy();
      }),
    );
  }
  await Promise.all(sends);
}
