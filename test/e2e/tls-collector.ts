/**
 * A central collector for the tests: a real rsyslogd from Debian with the gtls stream driver
 * (rsyslog-gnutls), on 127.0.0.1 with its own config, certificates and output file (never the
 * system's daemon), stopped by its pid. Port 0 with listenPortFileName: rsyslogd binds a port of
 * the kernel's choosing and writes it down, so no port is picked here and handed over.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { waitFor } from './wait.js';

export interface Arrival {
  input: string;
  facility: string;
  severity: string;
  app: string;
  msgid: string;
  record: Record<string, unknown>;
}

export interface TlsCollector {
  /** Input name → the port it listens on. */
  ports: Record<string, number>;
  /** What arrived from ssh-dispatch, each line parsed (the fields, then the JSON message). */
  arrivals(): Arrival[];
  /** The records of a session, once there are `count`. */
  arrivedFor(session: unknown, count: number): Promise<Arrival[]>;
  stop(): Promise<void>;
}

/**
 * `inputs`: input name → its own certificate, or null for the default one (`cert`). The gtls
 * driver, server side, anonymous clients (ssh-dispatch has no client certificate): the default
 * certificate through global(), as docs/policy.md shows, per-input ones through streamDriver.*
 * (rsyslog 8.2108 and later). Only ssh-dispatch's messages go to received.log.
 */
export async function startTlsCollector(
  dir: string,
  options: { ca: string; cert: { cert: string; key: string }; inputs: Record<string, { cert: string; key: string } | null> },
): Promise<TlsCollector> {
  const input = ([name, own]: [string, { cert: string; key: string } | null]) =>
    `input(type="imtcp" name="${name}" address="127.0.0.1" port="0" listenPortFileName="${join(dir, `${name}.port`)}"${own ? `\n  streamDriver.CertFile="${own.cert}" streamDriver.KeyFile="${own.key}"` : ''})`;
  writeFileSync(
    join(dir, 'rsyslog.conf'),
    `global(workDirectory="${dir}"
  DefaultNetstreamDriverCAFile="${options.ca}"
  DefaultNetstreamDriverCertFile="${options.cert.cert}"
  DefaultNetstreamDriverKeyFile="${options.cert.key}")
module(load="imtcp" StreamDriver.Name="gtls" StreamDriver.Mode="1" StreamDriver.AuthMode="anon")
${Object.entries(options.inputs).map(input).join('\n')}
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
  const daemon = spawn('/usr/sbin/rsyslogd', ['-n', '-f', join(dir, 'rsyslog.conf'), '-i', join(dir, 'rsyslogd.pid')], { stdio: 'ignore' });
  const exited = new Promise((r) => daemon.once('exit', r));
  const stop = async () => {
    if (daemon.pid && daemon.exitCode === null && daemon.signalCode === null) {
      daemon.kill('SIGTERM');
      await exited;
    }
  };
  const portOf = (name: string) => {
    const path = join(dir, `${name}.port`);
    return waitFor(
      `rsyslogd to listen (${name})`,
      async () => {
        if (daemon.exitCode !== null) throw new Error(`rsyslogd exited (${daemon.exitCode})`);
        const written = existsSync(path) ? Number(readFileSync(path, 'utf8').trim()) : 0;
        if (!(written > 0)) return null;
        const up = await new Promise<boolean>((r) => {
          const s = connect({ host: '127.0.0.1', port: written }, () => (s.destroy(), r(true)));
          s.on('error', () => r(false));
        });
        return up && written;
      },
      { timeoutMs: 10_000 },
    );
  };
  const ports: Record<string, number> = {};
  try {
    for (const name of Object.keys(options.inputs)) ports[name] = await portOf(name);
  } catch (error) {
    await stop();
    throw error;
  }
  const arrivals = (): Arrival[] => {
    const file = join(dir, 'received.log');
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [input, facility, severity, app, msgid, ...rest] = line.split(' ');
        return {
          input: input!,
          facility: facility!,
          severity: severity!,
          app: app!,
          msgid: msgid!,
          record: JSON.parse(rest.join(' ')) as Record<string, unknown>,
        };
      });
  };
  return {
    ports,
    arrivals,
    arrivedFor: (session, count) =>
      waitFor(
        `${count} records of session ${String(session)} at the collector`,
        () => {
          const ours = arrivals().filter((a) => a.record.session === session);
          return ours.length >= count && ours;
        },
        { timeoutMs: 10_000 },
      ),
    stop,
  };
}
