/**
 * Policy YAML text → checked values, or errors that name file, line, key and what was expected.
 *
 * Strict like sshd_config: an unknown key, a wrong type, a duplicate is an error, never a
 * warning that gets ignored, because a typo in a security policy (`form:` for `from:`) must not
 * silently widen it. The yaml package's document API keeps node offsets, so each value can be
 * traced back to its line. Objects built here are null-prototype or plain records of known keys.
 */
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { parseAddressRange, type AddressRange } from '../values/address.js';
import type { PolicyError } from '../values/policy-error.js';
import { DEFAULT_AUDIT_FILE, NAME_PATTERN, POLICY_KEYS, SYSLOG_FACILITIES, type SyslogSettings, type AuditSettings, type ExecRule, type Identity, type ReceiveRule, type RelayRule, type RsyncAccess, type RsyncRule, type Rule, type Where } from './schema.js';
import { parseRelayTarget } from '../rules/relay/match.js';
import { parseDate, parseDuration, parseOctalMask, parseSize } from '../values/units.js';
import { TEMPLATE } from '../rules/receive/match.js';
import { GLOB_CHARACTERS } from '../rules/exec/match.js';

export { formatPolicyError, type PolicyError } from '../values/policy-error.js';

export interface PolicyFragment {
  file: string;
  audit: { settings: AuditSettings; where: Where } | null;
  identities: Identity[];
}

export type ParsedPolicyFile = { ok: true; fragment: PolicyFragment } | { ok: false; errors: PolicyError[] };

const NAME_EXPECTED = 'a name of letters, digits and . _ @ - (at most 64, starting with a letter or digit)';
const FINGERPRINT_PATTERN = /^SHA256:[A-Za-z0-9+/]{43}$/;
const RULE_KINDS = ['exec', 'rsync', 'receive', 'relay'] as const;

/**
 * Variables a rule may not add to a program's environment: each changes what code a program,
 * its dynamic loader or its interpreter runs, or hands over the client's forwarded agent.
 */
const REFUSED_ENV = /^(LD_|DYLD_|NODE_|PERL5|PERLLIB|PYTHON|RUBY|GIT_|BASH_ENV$|BASH_FUNC_|ENV$|IFS$|PS4$|SHELLOPTS$|BASHOPTS$|CDPATH$|GCONV_PATH$|LOCPATH$|MALLOC_|SSH_AUTH_SOCK$|SSH_ORIGINAL_COMMAND$)/;

/** Reads one file's document; collects errors instead of stopping at the first. */
class Reader {
  readonly errors: PolicyError[] = [];
  constructor(
    readonly file: string,
    private readonly lines: LineCounter,
    private readonly doc: Document,
  ) {}

  where(node: Node | null | undefined): Where {
    return { file: this.file, line: this.line(node) };
  }

  line(node: Node | null | undefined): number {
    const offset = node?.range?.[0];
    return offset === undefined ? 1 : this.lines.linePos(offset).line;
  }

  error(node: Node | null | undefined, key: string, message: string): null {
    this.errors.push({ file: this.file, line: this.line(node), key, message });
    return null;
  }

  resolve(node: unknown): Node | null {
    if (isAlias(node)) return (node.resolve(this.doc) as Node | undefined) ?? null;
    return (node as Node | null) ?? null;
  }

  /** A mapping with only `allowed` keys and every `required` one; values by key. */
  map(node: Node | null, key: string, allowed: readonly string[], required: readonly string[] = []): Map<string, Node | null> | null {
    if (!isMap(node)) return this.error(node, key, `expected a mapping, got ${describe(node)}`);
    const values = new Map<string, Node | null>();
    for (const pair of node.items) {
      const keyNode = this.resolve(pair.key);
      if (!isScalar(keyNode) || typeof keyNode.value !== 'string') {
        this.error(keyNode, key, `expected a plain key, got ${describe(keyNode)}`);
        continue;
      }
      const name = keyNode.value;
      const path = join(key, name);
      if (!allowed.includes(name)) {
        this.error(keyNode, path, `unknown key (expected one of: ${allowed.join(', ')})`);
        continue;
      }
      values.set(name, this.resolve(pair.value));
    }
    for (const name of required) {
      if (!values.has(name)) this.error(node, key, `missing required key "${name}"`);
    }
    return values;
  }

  /** A mapping from free-form names to values (identities, env). */
  entries(node: Node | null, key: string): [string, Node | null, Node][] | null {
    if (!isMap(node)) return this.error(node, key, `expected a mapping, got ${describe(node)}`);
    const result: [string, Node | null, Node][] = [];
    for (const pair of node.items) {
      const keyNode = this.resolve(pair.key);
      if (!isScalar(keyNode) || (typeof keyNode.value !== 'string' && typeof keyNode.value !== 'number')) {
        this.error(keyNode, key, `expected a plain key, got ${describe(keyNode)}`);
        continue;
      }
      result.push([String(keyNode.value), this.resolve(pair.value), keyNode]);
    }
    return result;
  }

  list(node: Node | null, key: string): (Node | null)[] | null {
    if (!isSeq(node)) return this.error(node, key, `expected a list, got ${describe(node)}`);
    return node.items.map((item) => this.resolve(item));
  }

  string(node: Node | null, key: string, check?: { test: (s: string) => boolean; expected: string }): string | null {
    if (!isScalar(node) || typeof node.value !== 'string') {
      return this.error(node, key, `expected ${check?.expected ?? 'a string'}, got ${describe(node)}`);
    }
    if (/[\u0000-\u001f\u007f]/.test(node.value)) return this.error(node, key, 'control characters are not allowed');
    if (check && !check.test(node.value)) return this.error(node, key, `expected ${check.expected}, got ${describe(node)}`);
    return node.value;
  }

  boolean(node: Node | null, key: string): boolean | null {
    if (!isScalar(node) || typeof node.value !== 'boolean') return this.error(node, key, `expected true or false, got ${describe(node)}`);
    return node.value;
  }

  stringList(node: Node | null, key: string, check?: { test: (s: string) => boolean; expected: string }): string[] | null {
    const items = this.list(node, key);
    if (!items) return null;
    const values = items.map((item, i) => this.string(item, `${key}[${i}]`, check));
    return values.every((v): v is string => v !== null) ? values : null;
  }
}

function join(key: string, name: string): string {
  return key ? `${key}.${name}` : name;
}

function describe(node: Node | null | undefined): string {
  if (node === null || node === undefined) return 'nothing';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) {
    const value = node.value;
    if (value === null) return 'null';
    if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}...` : value);
    return `${typeof value} ${String(value)}`;
  }
  return 'an unsupported value';
}

export function isAbsoluteCleanPath(path: string): boolean {
  return path.startsWith('/') && !path.split('/').some((part, i, all) => part === '.' || part === '..' || (part === '' && i > 0 && i < all.length - 1));
}

const ABSOLUTE_PATH = { test: isAbsoluteCleanPath, expected: 'an absolute path without . or .. parts' };

export function parsePolicyText(file: string, text: string): ParsedPolicyFile {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false, strict: true, version: '1.2', merge: false });
  const reader = new Reader(file, lines, doc);
  for (const problem of [...doc.errors, ...doc.warnings]) {
    const line = lines.linePos(problem.pos[0]).line;
    reader.errors.push({ file, line, key: '', message: `YAML: ${problem.message.split('\n')[0]}` });
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
      if (auditFile && reader.errors.length === errorsBefore) audit = { settings: { file: auditFile, syslog }, where: reader.where(auditNode) };
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
    if (text) tcp = { host: text.slice(0, text.lastIndexOf(':')).replace(/^\[|\]$/g, ''), port: Number(text.slice(text.lastIndexOf(':') + 1)) };
  }
  const facility = fields.has('facility')
    ? reader.string(fields.get('facility') ?? null, 'audit.syslog.facility', { test: (s) => (SYSLOG_FACILITIES as readonly string[]).includes(s), expected: `one of ${SYSLOG_FACILITIES.join(', ')}` })
    : 'auth';
  if (socket === null && tcp === null) reader.error(node, 'audit.syslog', 'expected socket, tcp or both');
  if (facility === null) return null;
  return { socket, tcp, facility: facility as SyslogSettings['facility'] };
}

function parseIdentity(reader: Reader, name: string, node: Node | null, keyNode: Node, key: string): Identity | null {
  const fields = reader.map(node, key, POLICY_KEYS.identity.allowed, POLICY_KEYS.identity.required);
  if (!fields) return null;
  const from = fields.has('from')
    ? toRanges(reader.stringList(fields.get('from') ?? null, `${key}.from`, {
        test: (s) => parseAddressRange(s) !== null,
        expected: 'an IP address or CIDR in canonical form (192.0.2.10, 198.51.100.0/24, 2001:db8::/32)',
      }))
    : null;
  const keys = fields.has('keys')
    ? reader.stringList(fields.get('keys') ?? null, `${key}.keys`, { test: (s) => FINGERPRINT_PATTERN.test(s), expected: 'a key fingerprint as ssh-keygen -lf prints it (SHA256:...)' })
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
  return { name, where: reader.where(keyNode), from, keys, expires, rules };
}

function toRanges(texts: string[] | null): AddressRange[] {
  return (texts ?? []).map((text) => parseAddressRange(text)!);
}

function parseRule(reader: Reader, node: Node | null, key: string): Rule | null {
  const fields = reader.map(node, key, POLICY_KEYS.rule.allowed, POLICY_KEYS.rule.required);
  if (!fields) return null;
  const name = reader.string(fields.get('name') ?? null, `${key}.name`, { test: (s) => NAME_PATTERN.test(s), expected: NAME_EXPECTED });
  const kinds = RULE_KINDS.filter((kind) => fields.has(kind));
  if (kinds.length !== 1) {
    return reader.error(node, key, `expected exactly one rule kind (${RULE_KINDS.join(', ')}), got ${kinds.length === 0 ? 'none' : kinds.join(' and ')}`);
  }
  const kind = kinds[0]!;
  const body = fields.get(kind) ?? null;
  const rule =
    kind === 'rsync'
      ? parseRsyncRule(reader, body, `${key}.rsync`)
      : kind === 'receive'
        ? parseReceiveRule(reader, body, `${key}.receive`)
        : kind === 'relay'
          ? parseRelayRule(reader, body, `${key}.relay`)
          : parseExecRule(reader, body, `${key}.exec`);
  if (!name || !rule) return null;
  return { ...rule, name, where: reader.where(node) };
}

function parseOctalField(reader: Reader, node: Node | null, key: string): number | null {
  if (isScalar(node) && typeof node.value === 'number') {
    return reader.error(node, key, `expected an octal string such as "0600" in quotes (YAML reads an unquoted ${String(node.value)} as a decimal number)`);
  }
  const text = reader.string(node, key, { test: (s) => parseOctalMask(s) !== null, expected: 'an octal mode such as "0600"' });
  return text === null ? null : parseOctalMask(text);
}

function parseReceiveRule(reader: Reader, node: Node | null, key: string): Omit<ReceiveRule, 'name' | 'where'> | null {
  const fields = reader.map(node, key, POLICY_KEYS.receive.allowed, POLICY_KEYS.receive.required);
  if (!fields) return null;
  const errorsBefore = reader.errors.length;
  const size = (name: string, fallback: number) =>
    fields.has(name) ? reader.string(fields.get(name) ?? null, `${key}.${name}`, { test: (s) => parseSize(s) !== null, expected: 'a size such as 100GiB, 512MiB, 1.5GB' }) : String(fallback);
  const dir = reader.string(fields.get('dir') ?? null, `${key}.dir`, ABSOLUTE_PATH);
  const name = reader.string(fields.get('name') ?? null, `${key}.name`, {
    test: (s) => TEMPLATE.test(s) && !s.startsWith('.') && s.length <= 200,
    expected: 'a file name of letters, digits, . _ + - and {timestamp} {date} {time} {id}, not starting with a dot',
  });
  const clientName = fields.has('client-name')
    ? reader.string(fields.get('client-name') ?? null, `${key}.client-name`, { test: (s) => !s.includes('/') && !s.startsWith('.') && s.length <= 255, expected: 'a file name glob without "/", not starting with a dot' })
    : null;
  const acceptEmpty = fields.has('accept-empty') ? reader.boolean(fields.get('accept-empty') ?? null, `${key}.accept-empty`) : false;
  const mode = fields.has('mode') ? parseOctalField(reader, fields.get('mode') ?? null, `${key}.mode`) : 0o600;
  const maxBytes = size('max-bytes', 100 * 2 ** 30);
  const minFree = size('min-free', DEFAULT_MIN_FREE);
  const idle = fields.has('idle-timeout')
    ? reader.string(fields.get('idle-timeout') ?? null, `${key}.idle-timeout`, { test: (s) => parseDuration(s) !== null, expected: 'a duration such as 90s, 10m' })
    : '10m';
  let keep: number | null = null;
  if (fields.has('keep')) {
    const keepNode = fields.get('keep') ?? null;
    if (!isScalar(keepNode) || typeof keepNode.value !== 'number' || !Number.isInteger(keepNode.value) || keepNode.value < 1) {
      reader.error(keepNode, `${key}.keep`, `expected a whole number of files, 1 or more, got ${describe(keepNode)}`);
    } else {
      keep = keepNode.value;
    }
  }
  if (reader.errors.length > errorsBefore || dir === null || name === null || acceptEmpty === null || mode === null || maxBytes === null || minFree === null || idle === null) return null;
  return {
    kind: 'receive',
    dir,
    fileName: name,
    clientName,
    acceptEmpty,
    mode,
    maxBytes: parseSize(maxBytes)!,
    minFreeBytes: parseSize(minFree)!,
    idleTimeoutMs: parseDuration(idle)!,
    keep,
  };
}

function parseRelayRule(reader: Reader, node: Node | null, key: string): Omit<RelayRule, 'name' | 'where'> | null {
  const fields = reader.map(node, key, POLICY_KEYS.relay.allowed, POLICY_KEYS.relay.required);
  if (!fields) return null;
  const errorsBefore = reader.errors.length;
  const to = reader.stringList(fields.get('to') ?? null, `${key}.to`, {
    test: (s) => parseRelayTarget(s) !== null,
    expected: 'HOST:PORT with a lowercase host name, an IP or a CIDR ([...] for IPv6), and a port 1-65535, such as db.internal:5432, 10.0.0.0/24:22, [2001:db8::1]:22',
  });
  if (to && to.length === 0) reader.error(fields.get('to') ?? null, `${key}.to`, 'expected at least one destination');
  const duration = (name: string, fallback: string) =>
    fields.has(name) ? reader.string(fields.get(name) ?? null, `${key}.${name}`, { test: (s) => parseDuration(s) !== null, expected: 'a duration such as 30s, 5m' }) : fallback;
  const idle = duration('idle-timeout', '5m');
  const connect = duration('connect-timeout', '10s');
  if (reader.errors.length > errorsBefore || !to || idle === null || connect === null) return null;
  return { kind: 'relay', to: to.map((t) => parseRelayTarget(t)!), idleTimeoutMs: parseDuration(idle)!, connectTimeoutMs: parseDuration(connect)! };
}

const RSYNC_ACCESS: readonly RsyncAccess[] = ['read', 'write', 'read-write'];
/** Free space a write rule leaves on its filesystem unless it says otherwise: room for the audit log and the rest of the system. */
const DEFAULT_MIN_FREE = 2 ** 30;

function parseRsyncRule(reader: Reader, node: Node | null, key: string): Omit<RsyncRule, 'name' | 'where'> | null {
  const fields = reader.map(node, key, POLICY_KEYS.rsync.allowed, POLICY_KEYS.rsync.required);
  if (!fields) return null;
  const errorsBefore = reader.errors.length;
  const root = reader.string(fields.get('root') ?? null, `${key}.root`, ABSOLUTE_PATH);
  const access = reader.string(fields.get('access') ?? null, `${key}.access`, {
    test: (s) => (RSYNC_ACCESS as readonly string[]).includes(s),
    expected: `one of ${RSYNC_ACCESS.join(', ')}`,
  }) as RsyncAccess | null;
  const flag = (name: string, fallback: boolean) => (fields.has(name) ? reader.boolean(fields.get(name) ?? null, `${key}.${name}`) : fallback);
  const deleting = flag('delete', false);
  let maxDelete: number | null = null;
  if (fields.has('max-delete')) {
    const maxNode = fields.get('max-delete') ?? null;
    if (!isScalar(maxNode) || typeof maxNode.value !== 'number' || !Number.isInteger(maxNode.value) || maxNode.value < 0) {
      reader.error(maxNode, `${key}.max-delete`, `expected a whole number of files, 0 or more, got ${describe(maxNode)}`);
    } else if (deleting !== true) {
      reader.error(maxNode, `${key}.max-delete`, 'needs delete: true (without it nothing may be deleted at all)');
    } else {
      maxDelete = maxNode.value;
    }
  }
  const minFree = fields.has('min-free')
    ? reader.string(fields.get('min-free') ?? null, `${key}.min-free`, { test: (s) => parseSize(s) !== null, expected: 'a size such as 1GiB, 512MiB, or 0 for no floor' })
    : String(DEFAULT_MIN_FREE);
  const supervise = flag('supervise', true);
  if (supervise === false && access !== 'read' && minFree !== null && parseSize(minFree) !== 0) {
    // The floor is kept by the dispatcher watching rsync; a dispatcher replaced by execve cannot.
    reader.error(fields.get('supervise') ?? null, `${key}.supervise`, 'supervise: false cannot keep min-free for pushes; set min-free: 0 to go without a floor, or keep supervise: true');
  }
  const rule = {
    kind: 'rsync' as const,
    root,
    access,
    delete: deleting,
    maxDelete,
    minFreeBytes: minFree === null ? 0 : parseSize(minFree)!,
    overwrite: flag('overwrite', true),
    mungeLinks: flag('munge-links', true),
    devices: flag('devices', false),
    xattrs: flag('xattrs', false),
    acls: flag('acls', false),
    program: fields.has('program') ? reader.string(fields.get('program') ?? null, `${key}.program`, ABSOLUTE_PATH) : '/usr/bin/rsync',
    supervise,
    absolutePaths: flag('absolute-paths', false),
  };
  if (reader.errors.length > errorsBefore) return null;
  return rule as Omit<RsyncRule, 'name' | 'where'>;
}

function parseExecRule(reader: Reader, node: Node | null, key: string): Omit<ExecRule, 'name' | 'where'> | null {
  const fields = reader.map(node, key, POLICY_KEYS.exec.allowed, POLICY_KEYS.exec.required);
  if (!fields) return null;
  const errorsBefore = reader.errors.length;

  const commandNode = fields.get('command') ?? null;
  let pattern: string[] | null;
  if (isSeq(commandNode)) {
    pattern = reader.stringList(commandNode, `${key}.command`);
  } else {
    const text = reader.string(commandNode, `${key}.command`);
    pattern = null;
    if (text !== null) {
      if (/["'\\]/.test(text)) reader.error(commandNode, `${key}.command`, 'quotes and backslashes are not read in the string form: write the command as a list of words instead');
      else pattern = text.split(/[ \t]+/).filter((w) => w !== '');
    }
  }
  if (pattern && pattern.length === 0) reader.error(commandNode, `${key}.command`, 'expected at least one word');
  if (pattern && pattern.some((w) => w === '')) reader.error(commandNode, `${key}.command`, 'empty words are not allowed');

  let program: string | null = null;
  if (fields.has('program')) {
    program = reader.string(fields.get('program') ?? null, `${key}.program`, ABSOLUTE_PATH);
  } else if (pattern && pattern.length > 0) {
    const first = pattern[0]!;
    if (isAbsoluteCleanPath(first) && !GLOB_CHARACTERS.test(first)) program = first;
    else reader.error(commandNode, `${key}.command`, `the first word "${first}" is not an absolute path: add program: /absolute/path/of/${first.split('/').pop()}`);
  }
  if (program !== null && GLOB_CHARACTERS.test(program)) reader.error(fields.get('program') ?? null, `${key}.program`, 'expected a literal path, not a pattern');

  const env: Record<string, string> = {};
  if (fields.has('env')) {
    for (const [name, valueNode, nameNode] of reader.entries(fields.get('env') ?? null, `${key}.env`) ?? []) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) reader.error(nameNode, `${key}.env.${name}`, 'expected a variable name of letters, digits and _');
      else if (REFUSED_ENV.test(name)) reader.error(nameNode, `${key}.env.${name}`, 'refused: this variable changes what code a program loads or hands over the forwarded agent');
      const value = reader.string(valueNode, `${key}.env.${name}`);
      if (value !== null) env[name] = value;
    }
  }
  const cwd = fields.has('cwd') ? reader.string(fields.get('cwd') ?? null, `${key}.cwd`, ABSOLUTE_PATH) : null;
  const umaskNode = fields.get('umask') ?? null;
  let umask: number | null = null;
  if (fields.has('umask')) {
    if (isScalar(umaskNode) && typeof umaskNode.value === 'number') {
      reader.error(umaskNode, `${key}.umask`, `expected an octal string such as "0077" in quotes (YAML reads an unquoted ${String(umaskNode.value)} as a decimal number)`);
    } else {
      const text = reader.string(umaskNode, `${key}.umask`, { test: (s) => parseOctalMask(s) !== null, expected: 'an octal mask such as "0077"' });
      umask = text === null ? null : parseOctalMask(text);
    }
  }
  const timeoutText = fields.has('timeout')
    ? reader.string(fields.get('timeout') ?? null, `${key}.timeout`, { test: (s) => parseDuration(s) !== null, expected: 'a duration such as 90s, 5m, 2h' })
    : null;
  const supervise = fields.has('supervise') ? reader.boolean(fields.get('supervise') ?? null, `${key}.supervise`) : true;
  if (supervise === false && timeoutText !== null) {
    reader.error(fields.get('timeout') ?? null, `${key}.timeout`, 'a timeout needs supervise: true (with supervise: false nothing is left running to enforce it)');
  }
  if (reader.errors.length > errorsBefore || !pattern || !program || supervise === null) return null;
  return { kind: 'exec', pattern, program, env, cwd, umask, timeoutMs: timeoutText === null ? null : parseDuration(timeoutText), supervise };
}
