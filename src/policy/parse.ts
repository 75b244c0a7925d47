/**
 * Policy YAML text → checked values, or errors that name file, line, key and what was expected.
 *
 * Strict like sshd_config: an unknown key, a wrong type, a duplicate is an error, never a
 * warning that gets ignored, because a typo in a security policy (`form:` for `from:`) must not
 * silently widen it. values/reader.ts reads each value with the line it came from; each rule
 * kind reads its own block (rules/<kind>/parse.ts, through rules/kinds.ts). Objects built from
 * the file are records of known keys; the one map of free-form names, an exec rule's env,
 * refuses __proto__, which a plain object would silently drop.
 */
import { isScalar, LineCounter, parseDocument } from 'yaml';
import { parseAddressRange, type AddressRange } from '../values/address.js';
import type { PolicyError } from '../values/policy-error.js';
import { ABSOLUTE_PATH } from '../values/paths.js';
import { describe, Reader, type Node, type Where } from '../values/reader.js';
import { parseDate, parsePolicyDuration, parseSize } from '../values/units.js';
import { RULE_KINDS, type Rule } from '../rules/kinds.js';
import { parseIdentitySettings } from './identity-settings.js';
import { parseKeyText, parsePublicKeyLine } from '../request/ssh-key.js';
import {
  ACCOUNT_NAME,
  DEFAULT_AUDIT_FILE,
  NAME_PATTERN,
  PRINCIPAL_PATTERN,
  POLICY_KEYS,
  SYSLOG_FACILITIES,
  type SyslogSettings,
  type AuditSettings,
  type Identity,
} from './schema.js';

export { formatPolicyError, type PolicyError } from '../values/policy-error.js';

export interface PolicyFragment {
  file: string;
  audit: { settings: AuditSettings; where: Where } | null;
  identities: Identity[];
}

export type ParsedPolicyFile = { ok: true; fragment: PolicyFragment } | { ok: false; errors: PolicyError[] };

const NAME_EXPECTED = 'a name of letters, digits and . _ @ - (at most 64, starting with a letter or digit)';
const FINGERPRINT_PATTERN = /^SHA256:[A-Za-z0-9+/]{43}$/;

export function parsePolicyText(file: string, text: string): ParsedPolicyFile {
  const lines = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter: lines,
    uniqueKeys: true,
    prettyErrors: false,
    strict: true,
    version: '1.2',
    merge: false,
  });
  const reader = new Reader(file, lines, doc);
  // A tab in the indentation derails the parser into several errors about what follows: the
  // tab is the one to report (each line that has one), the rest are its consequences.
  const problems = [...doc.errors, ...doc.warnings];
  const tabs = problems.filter((problem) => problem.code === 'TAB_AS_INDENT');
  for (const problem of tabs.length > 0 ? tabs : problems) {
    const line = lines.linePos(problem.pos[0]).line;
    const message =
      problem.code === 'TAB_AS_INDENT' ? 'a tab in the indentation: YAML indents with spaces only' : problem.message.split('\n')[0];
    reader.errors.push({ file, line, key: '', message: `YAML: ${message}` });
  }
  if (reader.errors.length > 0) return { ok: false, errors: reader.errors };

  const root = reader.resolve(doc.contents);
  const top = reader.map(root, '', POLICY_KEYS.top.allowed, POLICY_KEYS.top.required);
  if (!top) return { ok: false, errors: reader.errors };

  const versionNode = top.get('version') ?? null;
  if (top.has('version') && !(isScalar(versionNode) && versionNode.value === 1)) {
    reader.error(versionNode, 'version', `expected 1, got ${describe(versionNode)}`);
  }

  let audit: PolicyFragment['audit'] = null;
  if (top.has('audit')) {
    const auditNode = top.get('audit') ?? null;
    const fields = reader.map(auditNode, 'audit', POLICY_KEYS.audit.allowed, POLICY_KEYS.audit.required);
    if (fields) {
      const errorsBefore = reader.errors.length;
      const auditFile = fields.has('file') ? reader.string(fields.get('file') ?? null, 'audit.file', ABSOLUTE_PATH) : DEFAULT_AUDIT_FILE;
      const syslog = fields.has('syslog') ? parseSyslog(reader, fields.get('syslog') ?? null) : null;
      if (auditFile && reader.errors.length === errorsBefore)
        audit = { settings: { file: auditFile, syslog }, where: reader.where(auditNode) };
    }
  }

  const identities: Identity[] = [];
  if (top.has('identities')) {
    const entries = reader.entries(top.get('identities') ?? null, 'identities') ?? [];
    for (const [name, node, keyNode] of entries) {
      const key = `identities.${name}`;
      if (!NAME_PATTERN.test(name)) {
        reader.error(keyNode, key, `expected ${NAME_EXPECTED}`);
        continue;
      }
      const identity = parseIdentity(reader, name, node, keyNode, key);
      if (identity) identities.push(identity);
    }
  }
  if (reader.errors.length > 0) return { ok: false, errors: reader.errors };
  return { ok: true, fragment: { file, audit, identities } };
}

function parseSyslog(reader: Reader, node: Node | null): SyslogSettings | null {
  const fields = reader.map(node, 'audit.syslog', POLICY_KEYS.syslog.allowed, POLICY_KEYS.syslog.required);
  if (!fields) return null;
  const socket = fields.has('socket') ? reader.string(fields.get('socket') ?? null, 'audit.syslog.socket', ABSOLUTE_PATH) : null;
  let tcp: SyslogSettings['tcp'] = null;
  if (fields.has('tcp')) {
    const text = reader.string(fields.get('tcp') ?? null, 'audit.syslog.tcp', {
      test: (s) => /^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):[1-9][0-9]{0,4}$/.test(s) && Number(s.slice(s.lastIndexOf(':') + 1)) <= 65535,
      expected: 'HOST:PORT of a syslog collector ([...] for IPv6)',
    });
    if (text)
      tcp = { host: text.slice(0, text.lastIndexOf(':')).replace(/^\[|\]$/g, ''), port: Number(text.slice(text.lastIndexOf(':') + 1)) };
  }
  const tls = fields.has('tls') ? parseSyslogTls(reader, fields.get('tls') ?? null, fields.has('tcp')) : null;
  const facility = fields.has('facility')
    ? reader.string(fields.get('facility') ?? null, 'audit.syslog.facility', {
        test: (s) => (SYSLOG_FACILITIES as readonly string[]).includes(s),
        expected: `one of ${SYSLOG_FACILITIES.join(', ')}`,
      })
    : 'auth';
  if (socket === null && tcp === null) reader.error(node, 'audit.syslog', 'expected socket, tcp or both');
  if (facility === null) return null;
  return { socket, tcp, tls, facility: facility as SyslogSettings['facility'] };
}

/**
 * `tls: { ca: /path }`: the tcp copy over TLS. Without a tcp collector it would secure nothing,
 * and a policy that says TLS and sends in the clear (or not at all) must not load quietly.
 */
function parseSyslogTls(reader: Reader, node: Node | null, hasTcp: boolean): SyslogSettings['tls'] {
  const fields = reader.map(node, 'audit.syslog.tls', POLICY_KEYS.syslogTls.allowed, POLICY_KEYS.syslogTls.required);
  if (!hasTcp) reader.error(node, 'audit.syslog.tls', 'needs tcp: HOST:PORT, the collector to reach over TLS');
  if (!fields || !fields.has('ca')) return null;
  const caNode = fields.get('ca') ?? null;
  const ca = reader.string(caNode, 'audit.syslog.tls.ca', {
    ...ABSOLUTE_PATH,
    expected: "the absolute path (without . or .. parts) of a PEM file with the CA that signed the collector's certificate",
  });
  return ca === null ? null : { ca, where: reader.where(caNode) };
}

function parseIdentity(reader: Reader, name: string, node: Node | null, keyNode: Node, key: string): Identity | null {
  const fields = reader.map(node, key, POLICY_KEYS.identity.allowed, POLICY_KEYS.identity.required);
  if (!fields) return null;
  const from = fields.has('from')
    ? toRanges(
        reader.stringList(fields.get('from') ?? null, `${key}.from`, {
          test: (s) => parseAddressRange(s) !== null,
          expected: 'an IP address or CIDR in canonical form (192.0.2.10, 198.51.100.0/24, 2001:db8::/32)',
        }),
      )
    : null;
  const keys = fields.has('keys') ? parseKeys(reader, fields.get('keys') ?? null, `${key}.keys`) : null;
  const accounts = fields.has('accounts')
    ? reader.stringList(fields.get('accounts') ?? null, `${key}.accounts`, {
        test: (s) => ACCOUNT_NAME.test(s),
        expected: 'an account name (lower-case letters, digits, _ and -, at most 32)',
      })
    : null;
  const principals = fields.has('principals')
    ? reader.stringList(fields.get('principals') ?? null, `${key}.principals`, {
        test: (s) => PRINCIPAL_PATTERN.test(s),
        expected: 'a certificate principal (letters, digits and . _ @ + : = / -, no space, at most 256)',
      })
    : null;
  const expires = fields.has('expires')
    ? reader.string(fields.get('expires') ?? null, `${key}.expires`, { test: (s) => parseDate(s) !== null, expected: 'a date YYYY-MM-DD' })
    : null;

  const rules: Rule[] = [];
  const seen = new Map<string, Where>();
  const ruleNodes = reader.list(fields.get('rules') ?? null, `${key}.rules`) ?? [];
  for (const [i, ruleNode] of ruleNodes.entries()) {
    const rule = parseRule(reader, ruleNode, `${key}.rules[${i}]`);
    if (!rule) continue;
    const earlier = seen.get(rule.name);
    if (earlier) {
      reader.error(ruleNode, `${key}.rules[${i}].name`, `duplicate rule name "${rule.name}" (first at line ${earlier.line})`);
      continue;
    }
    seen.set(rule.name, rule.where);
    rules.push(rule);
  }
  const settings = parseIdentitySettings(reader, fields, key, rules);
  return { name, where: reader.where(keyNode), from, keys, accounts, principals, expires, ...settings, rules };
}

/**
 * `keys:` entries: fingerprints (SHA256:..., as ssh-keygen -lf prints them) or public keys as a
 * .pub file holds them (`ssh-ed25519 AAAA... comment`), kept as fingerprints. A certificate is
 * refused with a pointer to principals: its key changes with every signing.
 */
function parseKeys(reader: Reader, node: Node | null, key: string): string[] | null {
  const expected = 'a key fingerprint (SHA256:..., as ssh-keygen -lf prints it) or a public key (ssh-ed25519 AAAA... [comment])';
  const texts = reader.stringList(node, key, { test: (s) => FINGERPRINT_PATTERN.test(s) || /^[a-z0-9@.-]+ /.test(s), expected });
  if (texts === null) return null;
  const items = reader.list(node, key) ?? [];
  const fingerprints: string[] = [];
  for (const [i, text] of texts.entries()) {
    if (FINGERPRINT_PATTERN.test(text)) {
      fingerprints.push(text);
      continue;
    }
    const parsed = parsePublicKeyLine(text);
    if (parsed !== null) {
      fingerprints.push(parsed.fingerprint);
      continue;
    }
    const [type, base64] = text.trim().split(/\s+/, 2);
    const certificate = type !== undefined && base64 !== undefined && parseKeyText(type, base64)?.certificate;
    reader.error(
      items[i] ?? node,
      `${key}[${i}]`,
      certificate
        ? 'a certificate: list its principals under principals: instead (its key changes with every signing)'
        : `expected ${expected}; this one does not parse (a truncated or altered key, or a type that is not the blob's own)`,
    );
  }
  return fingerprints;
}

function toRanges(texts: string[] | null): AddressRange[] {
  return (texts ?? []).map((text) => parseAddressRange(text)!);
}

function parseRule(reader: Reader, node: Node | null, key: string): Rule | null {
  const fields = reader.map(node, key, POLICY_KEYS.rule.allowed, POLICY_KEYS.rule.required);
  if (!fields) return null;
  const name = reader.string(fields.get('name') ?? null, `${key}.name`, { test: (s) => NAME_PATTERN.test(s), expected: NAME_EXPECTED });
  const names = Object.keys(RULE_KINDS) as Rule['kind'][];
  const kinds = names.filter((kind) => fields.has(kind));
  if (kinds.length !== 1) {
    return reader.error(
      node,
      key,
      `expected exactly one rule kind (${names.join(', ')}), got ${kinds.length === 0 ? 'none' : kinds.join(' and ')}`,
    );
  }
  const kind = kinds[0]!;
  const body = RULE_KINDS[kind].parse(reader, fields.get(kind) ?? null, `${key}.${kind}`);
  const expectEvery = fields.has('expect-every')
    ? reader.string(fields.get('expect-every') ?? null, `${key}.expect-every`, {
        test: (s) => parsePolicyDuration(s) !== null,
        expected: 'a duration such as 26h or 8d (at most 366d)',
      })
    : undefined;
  const minBytes = fields.has('min-bytes')
    ? reader.string(fields.get('min-bytes') ?? null, `${key}.min-bytes`, {
        test: (s) => parseSize(s) !== null,
        expected: 'a size such as 1MiB, 500KB, 4096 (in quotes when only digits)',
      })
    : undefined;
  if (!name || !body || expectEvery === null || minBytes === null) return null;
  return {
    ...body,
    name,
    where: reader.where(node),
    expectEvery: expectEvery === undefined ? null : parsePolicyDuration(expectEvery),
    minBytes: minBytes === undefined ? null : parseSize(minBytes),
  } as Rule;
}
