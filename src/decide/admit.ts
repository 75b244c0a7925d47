/**
 * Who is asking, before anything of the command is looked at: the identity named on the
 * command= line, its expiry, the client's address, the account, the keys and certificates.
 */
import type { Identity, Policy } from '../policy/schema.js';
import type { Request, UserCertificate } from '../request/request.js';
import { addressAllowed } from '../values/address.js';
import { localDate } from '../values/units.js';
import { deny, type Deny } from './decision.js';

/** The request's identity, when it exists and passes its checks; otherwise the refusal. */
export function admit(policy: Policy, request: Request): Identity | Deny {
  const identity = policy.identities.get(request.identity);
  if (!identity) return deny('unknown-identity', `no identity "${request.identity}"`);
  return refuseRequester(identity, request) ?? identity;
}

/** The checks on who is asking, in order; null when all pass. */
export function refuseRequester(identity: Identity, request: Request): Deny | null {
  if (identity.expires !== null && localDate(request.now) > identity.expires) {
    return deny('identity-expired', `expired after ${identity.expires}`);
  }
  if (identity.from !== null) {
    if (request.client === null) return deny('from-unknown', 'no client address');
    if (!addressAllowed(request.client.address, identity.from)) return deny('from-not-allowed', `client ${request.client.address}`);
  }
  if (identity.accounts !== null && !identity.accounts.includes(request.user)) {
    return deny('account-not-allowed', `account ${request.user}`);
  }
  // A key that authenticated but could not be read is one no check below can see.
  if ((identity.keys !== null || identity.principals !== null) && (request.unreadableKeys ?? 0) > 0) {
    return deny('key-unknown', `sshd exposed ${request.unreadableKeys} key(s) that could not be read`);
  }
  if (identity.keys !== null) {
    if (request.keys === null) return deny('key-unknown', 'sshd exposed no key');
    const stranger = request.keys.find((key) => !identity.keys!.includes(key));
    if (stranger !== undefined) return deny('key-not-allowed', stranger);
  }
  if (identity.principals !== null) return refuseCertificates(identity.principals, request);
  return null;
}

/** Seconds since the epoch as an ISO date; past what Date holds (year 275760), the seconds. */
function secondsAsDate(seconds: number): string {
  const date = new Date(seconds * 1000);
  return Number.isNaN(date.getTime()) ? `${seconds} s after the epoch` : date.toISOString();
}

/**
 * An identity selected by certificate principal: sshd checked the CA's signature, the validity
 * and the principal (through authorized-principals-command) before the session began; this is
 * the second look, against the policy as this connection read it. Every certificate that
 * authenticated must pass (AuthenticationMethods may ask for two keys).
 */
function refuseCertificates(principals: readonly string[], request: Request): Deny | null {
  const certificates = request.certificates ?? [];
  if (certificates.length === 0)
    return deny('certificate-missing', request.keys === null ? 'sshd exposed no key' : 'a plain key authenticated');
  for (const certificate of certificates) {
    const validity = certificateValidity(certificate, request.now);
    const named = `certificate ${JSON.stringify(certificate.keyId)} serial ${certificate.serial}`;
    if (validity === 'expired') return deny('certificate-expired', `${named} expired at ${secondsAsDate(certificate.validBefore!)}`);
    if (validity === 'not-yet-valid')
      return deny('certificate-not-yet-valid', `${named} is valid from ${secondsAsDate(certificate.validAfter)}`);
    if (!certificate.principals.some((principal) => principals.includes(principal))) {
      return deny(
        'certificate-principal-not-allowed',
        `${named} names ${certificate.principals.length === 0 ? 'no principal' : certificate.principals.join(', ')}`,
      );
    }
  }
  return null;
}

/** Whether `now` lies within a certificate's validity, as sshd judges it (valid_after <= now < valid_before). */
export function certificateValidity(certificate: UserCertificate, now: Date): 'valid' | 'not-yet-valid' | 'expired' {
  const nowSeconds = Math.floor(now.getTime() / 1000);
  if (nowSeconds < certificate.validAfter) return 'not-yet-valid';
  if (certificate.validBefore !== null && nowSeconds >= certificate.validBefore) return 'expired';
  return 'valid';
}
