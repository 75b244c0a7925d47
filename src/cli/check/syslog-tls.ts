/**
 * The CA file of syslog over TLS, read as a connection reads it (audit/syslog.ts): a connection
 * that cannot use it sends nothing to the collector and says nothing, so this is where it is
 * said. Node takes a file without a certificate in it silently (and then trusts nothing), so
 * the certificates are parsed here, each PEM block.
 */
import type { Finding } from '../../policy/lint.js';
import type { Policy } from '../../policy/schema.js';
import { readCaFile } from '../../audit/syslog.js';
import { crypto } from '../../lazy-builtins.js';

export function syslogTlsFindings(policy: Policy, now: Date): Finding[] {
  const tls = policy.audit.syslog?.tls;
  if (!tls) return [];
  const fail = (what: string): Finding[] => [
    {
      where: tls.where,
      level: 'error',
      id: 'syslog-ca-unusable',
      message: `audit.syslog.tls.ca: ${tls.ca} ${what}: no record will reach the syslog collector (the audit file still gets every one)`,
    },
  ];
  const read = readCaFile(tls.ca);
  if (!read.ok) return fail(read.problem);
  const blocks = read.pem.toString('latin1').match(/-----BEGIN CERTIFICATE-----[^-]*-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) return fail('holds no PEM certificate (-----BEGIN CERTIFICATE-----)');
  const certificates = [];
  for (const [i, block] of blocks.entries()) {
    try {
      certificates.push(new (crypto().X509Certificate)(block));
    } catch {
      return fail(`has a certificate that does not parse (number ${i + 1} of ${blocks.length})`);
    }
  }
  if (!certificates.some((c) => c.validFromDate <= now && now <= c.validToDate)) {
    return fail(
      `has no certificate valid now (${certificates.map((c) => `valid ${c.validFromDate.toISOString().slice(0, 10)} to ${c.validToDate.toISOString().slice(0, 10)}`).join(', ')})`,
    );
  }
  return [];
}
