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
 */
import { hostname } from 'node:os';
import type { SyslogSettings } from '../policy/schema.js';
import { childProcess, net } from '../lazy-builtins.js';
import { toLogLine } from './escape.js';

const SEND_TIMEOUT_MS = 500;
const FACILITY_CODES: Record<SyslogSettings['facility'], number> = {
  user: 1, daemon: 3, auth: 4, authpriv: 10,
  local0: 16, local1: 17, local2: 18, local3: 19, local4: 20, local5: 21, local6: 22, local7: 23,
};
const INFO = 6;
const NOTICE = 5;

/** The record's event as an RFC 5424 MSGID (1-32 printable characters, no space), or none. */
function msgidOf(record: Record<string, unknown>): string | undefined {
  return /^[A-Za-z0-9_-]{1,32}$/.test(String(record.event)) ? String(record.event) : undefined;
}

function severity(record: Record<string, unknown>): number {
  return record.event === 'decision' && record.decision === 'deny' ? NOTICE : INFO;
}

/** The RFC 5424 message for a record, framed with its octet count (RFC 6587 3.4.1). */
export function rfc5424Frame(record: Record<string, unknown>, facility: SyslogSettings['facility'], host: string, pid: number): string {
  const pri = FACILITY_CODES[facility] * 8 + severity(record);
  const ts = typeof record.ts === 'string' ? record.ts : new Date().toISOString();
  const msgid = msgidOf(record) ?? '-';
  const message = `<${pri}>1 ${ts} ${host || '-'} ssh-dispatch ${pid} ${msgid} - ${toLogLine(record).trimEnd()}`;
  return `${Buffer.byteLength(message)} ${message}`;
}

function withTimeout(work: (done: () => void) => void): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, SEND_TIMEOUT_MS);
    work(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export async function sendToSyslog(settings: SyslogSettings, record: Record<string, unknown>): Promise<void> {
  const sends: Promise<void>[] = [];
  if (settings.socket) {
    const socket = settings.socket;
    const priority = `${settings.facility}.${severity(record) === NOTICE ? 'notice' : 'info'}`;
    const msgid = msgidOf(record);
    const args = ['--socket', socket, '--rfc5424=notq', ...(msgid ? ['--msgid', msgid] : []), `--id=${process.pid}`, '--tag', 'ssh-dispatch', '--priority', priority, '--', toLogLine(record).trimEnd()];
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
    sends.push(
      withTimeout((done) => {
        const socket = net().connect({ host, port });
        socket.setTimeout(SEND_TIMEOUT_MS);
        socket.once('connect', () => socket.end(rfc5424Frame(record, settings.facility, hostname(), process.pid)));
        socket.once('close', done);
        socket.once('error', () => socket.destroy());
        socket.once('timeout', () => socket.destroy());
      }),
    );
  }
  await Promise.all(sends);
}
