/**
 * Throwaway certificates for the syslog-over-TLS tests, made with openssl(1) in a temp
 * directory: two unrelated CAs, and server certificates signed by the first. Short-lived
 * (two days), P-256 keys (quick to make, and both Node's OpenSSL and rsyslog's GnuTLS take them).
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

function openssl(args: string[], dir: string): void {
  const result = spawnSync('/usr/bin/openssl', args, { cwd: dir, encoding: 'utf8', env: { PATH: '/usr/bin:/bin' } });
  if (result.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${result.stderr || result.error?.message}`);
}

export interface Pki {
  /** The CA that signed every server certificate here. */
  ca: string;
  /** A CA that signed nothing here: a policy trusting it must reach no collector. */
  otherCa: string;
  /** A server certificate and key by name, each signed by `ca`. */
  servers: Record<string, { cert: string; key: string }>;
}

/** A CA at `dir/NAME.pem` (key `dir/NAME.key`). */
function makeCa(dir: string, name: string): string {
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.pem`,
      '-days',
      '2',
      '-subj',
      `/CN=ssh-dispatch test ${name}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
  return join(dir, `${name}.pem`);
}

/**
 * `servers`: name → subjectAltName entries (e.g. `IP:127.0.0.1,DNS:localhost`), each made into
 * `dir/NAME.pem` and `dir/NAME.key`, signed by the CA.
 */
export function makePki(dir: string, servers: Record<string, string>): Pki {
  const ca = makeCa(dir, 'ca');
  const otherCa = makeCa(dir, 'other-ca');
  const made: Pki['servers'] = {};
  for (const [name, altNames] of Object.entries(servers)) {
    writeFileSync(
      join(dir, `${name}.ext`),
      `subjectAltName=${altNames}\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n`,
    );
    openssl(
      [
        'req',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        `${name}.key`,
        '-out',
        `${name}.csr`,
        '-subj',
        `/CN=${name}`,
      ],
      dir,
    );
    openssl(
      [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.pem',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-out',
        `${name}.pem`,
        '-days',
        '2',
        '-extfile',
        `${name}.ext`,
      ],
      dir,
    );
    made[name] = { cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key`) };
  }
  return { ca, otherCa, servers: made };
}
