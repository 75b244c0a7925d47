/**
 * The one validating read of a cache entry's files (serialise.ts writes them): JSON that parses
 * and then decodes, key by key, into the types the rest of the program trusts. A file of any
 * other shape (a key missing or added, a value of the wrong type, a rule of a kind this build
 * does not know) is refused with why, and the reader takes that as a miss: the YAML is parsed
 * again. Found in review (issue 26): the cache was cast, not read, so a bad file became a policy.
 */
import { addressRange } from '../../values/address-decode.js';
import { absentAs, array, integer, literal, nullable, number, object, string, type Decoded, type Decoder } from '../../values/decode.js';
import { rule, where } from '../../rules/decode.js';
import type { Login } from '../logins.js';
import { SYSLOG_FACILITIES, type AuditSettings, type Identity, type SyslogSettings } from '../schema.js';
import type { EntryMeta } from './serialise.js';

const syslog = object<SyslogSettings>({
  socket: nullable(string),
  tcp: nullable(object<NonNullable<SyslogSettings['tcp']>>({ host: string, port: integer })),
  // Absent in an entry written before tls existed (lastGoodAudit reads older builds' entries).
  tls: absentAs(nullable(object<NonNullable<SyslogSettings['tls']>>({ ca: string, where })), null),
  facility: literal(...SYSLOG_FACILITIES),
});

export const auditSettings: Decoder<AuditSettings> = object<AuditSettings>({ file: string, syslog: nullable(syslog) });

const meta = object<EntryMeta>({ signature: string, files: array(string), audit: auditSettings, identities: array(string) });

const strings = nullable(array(string));

const identity = object<Identity>({
  name: string,
  where,
  from: nullable(array(addressRange)),
  keys: strings,
  accounts: strings,
  principals: strings,
  expires: nullable(string),
  maxSessions: nullable(integer),
  minFreeBytes: nullable(number),
  tellClient: literal('nothing', 'reason'),
  rules: array(rule),
});

const logins = array(
  object<Login>({ identity: string, from: strings, expires: nullable(string), keys: strings, principals: strings, open: array(string) }),
);

/** JSON text through a decoder: the value, or why it is not one. */
export function deserialise<T>(text: string, decoder: Decoder<T>, what: string): Decoded<T> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, why: `${what}: not JSON (${(error as Error).message})` };
  }
  const decoded = decoder(value, '');
  return decoded.ok ? decoded : { ok: false, why: `${what}: ${decoded.why}` };
}

export const readMeta = (text: string): Decoded<EntryMeta> => deserialise(text, meta, 'meta.json');
export const readIdentity = (text: string): Decoded<Identity> => deserialise(text, identity, 'identity');
export const readLogins = (text: string): Decoded<Login[]> => deserialise(text, logins, 'logins');
