/**
 * A decision record turned back into the request it decided (`ssh-dispatch replay`): the
 * identity, the account, the client's address, the keys and the certificate, the command and
 * rsync's -s arguments, at the record's time. Everything the pure decision (decide/) reads is in
 * the record (audit/record.ts requestFields); what is not is what only the plan uses (the home,
 * sshd's environment), and that never changes whether a request is allowed or by which rule.
 *
 * What the record does not hold, the rebuilt request cannot have: a certificate's validity (sshd
 * checked it at login; the rebuilt certificate is valid), keys that sshd exposed but that did not
 * parse (known only from a key-unknown refusal), certificates after the first.
 */
import type { ClientAddress, Request } from '../request/request.js';
import { localDate } from '../values/units.js';
import type { LoggedAllow, LoggedDeny } from './record-types.js';

/** Why a record cannot be decided again: its request was cut to fit the log line, or an older log lacks a field. */
export type Unrebuildable = { unrebuildable: 'cut' | 'incomplete' };

/** The request fields audit/record.ts's boundRecord may cut (it then adds `<field>_sha256`). */
const REQUEST_FIELDS = [
  'command',
  'protected_args',
  'keys',
  'key',
  'cert_principals',
  'cert_id',
  'cert_serial',
  'cert_ca',
  'user',
  'client',
];

/** `address:port` or `[v6]:port`, as audit/record.ts formatClient writes it; null when it is neither. */
export function parseClient(text: string): ClientAddress | null {
  const match = /^\[([0-9A-Fa-f.:]+)\]:([0-9]{1,5})$/.exec(text) ?? /^([0-9.]+):([0-9]{1,5})$/.exec(text);
  return match === null ? null : { address: match[1]!, port: Number(match[2]) };
}

export function requestOf(record: LoggedAllow | LoggedDeny): Request | Unrebuildable {
  const fields = record as unknown as Record<string, unknown>;
  if (REQUEST_FIELDS.some((field) => fields[`${field}_sha256`] !== undefined)) return { unrebuildable: 'cut' };
  if (typeof record.user !== 'string' || record.command === undefined || record.client === undefined)
    return { unrebuildable: 'incomplete' };
  const client = record.client === null ? null : parseClient(record.client);
  if (record.client !== null && client === null) return { unrebuildable: 'incomplete' };
  if (record.cert_id !== undefined && (record.cert_serial === undefined || record.cert_principals === undefined))
    return { unrebuildable: 'incomplete' };
  const keys = record.keys ?? (typeof record.key === 'string' ? [record.key] : null);
  return {
    identity: record.id,
    command: record.command,
    client,
    keys,
    ...(record.cert_id !== undefined
      ? {
          certificates: [
            {
              keyId: record.cert_id,
              serial: record.cert_serial!,
              principals: record.cert_principals!,
              validAfter: 0,
              validBefore: null,
              ca: record.cert_ca ?? '',
            },
          ],
        }
      : {}),
    // A key that authenticated but did not parse is recorded only as the refusal it caused
    // (decide/admit.ts): with a key beside it, that refusal could have no other cause.
    ...(record.decision === 'deny' && record.reason === 'key-unknown' && keys !== null ? { unreadableKeys: 1 } : {}),
    user: record.user,
    home: '/nonexistent',
    sshConnection: null,
    now: new Date(record.ts),
    session: record.session,
    ...(record.protected_args !== undefined ? { protectedArgs: record.protected_args } : {}),
  };
}

/**
 * Everything of a rebuilt request the decision (decide/) can read, in one string: two requests
 * with the same key get the same decision, so replay decides each distinct one once. The time
 * counts by its local date only (an identity's `expires`); certificates rebuilt here are always
 * valid, the client's port and the session are read by no check, and the certificate's key id
 * and serial only into a refusal's detail.
 */
export function decisionKey(request: Request): string {
  const certificates = request.certificates?.map((certificate) => certificate.principals.join('\u0002')).join('\u0003') ?? '-';
  return [
    request.identity,
    request.user,
    request.client?.address ?? '-',
    request.keys?.join('\u0002') ?? '-',
    certificates,
    request.unreadableKeys ?? 0,
    localDate(request.now),
    request.protectedArgs?.join('\u0002') ?? '-',
    request.command ?? '\u0004',
  ].join('\u0001');
}
