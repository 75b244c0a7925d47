/**
 * schema/policy.schema.json, for editors with a YAML language server, is tested against the
 * validator's own source: the same keys (POLICY_KEYS), nothing else allowed anywhere, the shipped
 * examples valid, and documents the parser refuses for their shape refused by the schema too.
 */
import { Ajv } from 'ajv';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parsePolicyText } from '../../src/policy/parse.js';
import { POLICY_KEYS } from '../../src/policy/schema.js';

const schema = JSON.parse(readFileSync(fileURLToPath(new URL('../../schema/policy.schema.json', import.meta.url)), 'utf8'));
const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
const definitions = schema.definitions;
const objects: Record<
  keyof typeof POLICY_KEYS,
  { properties: Record<string, unknown>; required?: string[]; additionalProperties: unknown }
> = {
  top: schema,
  audit: schema.properties.audit,
  syslog: schema.properties.audit.properties.syslog,
  syslogTls: schema.properties.audit.properties.syslog.properties.tls,
  identity: definitions.identity,
  rule: definitions.rule,
  exec: definitions.exec,
  rsync: definitions.rsync,
  receive: definitions.receive,
  relay: definitions.relay,
  sftp: definitions.sftp,
};

describe('the JSON Schema', () => {
  it.each(Object.keys(POLICY_KEYS) as (keyof typeof POLICY_KEYS)[])(
    '%s has exactly the keys the parser allows and requires, and no others',
    (name) => {
      const object = objects[name];
      expect(Object.keys(object.properties).sort()).toEqual([...POLICY_KEYS[name].allowed].sort());
      expect([...(object.required ?? [])].sort()).toEqual([...POLICY_KEYS[name].required].sort());
      expect(object.additionalProperties).toBe(false);
    },
  );

  const examples = readdirSync(fileURLToPath(new URL('../../policies/', import.meta.url))).filter((f) => f.endsWith('.yaml'));
  it.each(examples)('policies/%s is valid, and names the schema for editors', (name) => {
    const text = readFileSync(fileURLToPath(new URL(`../../policies/${name}`, import.meta.url)), 'utf8');
    expect(text.split('\n')[0]).toBe('# yaml-language-server: $schema=../schema/policy.schema.json');
    expect(validate(parse(text)), JSON.stringify(validate.errors)).toBe(true);
  });

  const header = 'version: 1\nidentities:\n  a:\n    rules:\n';
  it.each([
    ['no version', 'identities: {}\n'],
    ['version 2', 'version: 2\n'],
    ['an unknown top-level key', 'version: 1\nidentites: {}\n'],
    ['an unknown identity key', 'version: 1\nidentities:\n  a:\n    form: []\n    rules: []\n'],
    ['a rule with two kinds', `${header}      - { name: x, exec: { command: /bin/true }, relay: { to: ["a.b:22"] } }\n`],
    ['a rule without a kind', `${header}      - { name: x }\n`],
    ['an unknown exec key', `${header}      - { name: x, exec: { command: /bin/true, shell: true } }\n`],
    ['an exec run that is a string', `${header}      - { name: x, exec: { command: "borg serve ...", run: /usr/bin/borg } }\n`],
    ['an empty exec run', `${header}      - { name: x, exec: { command: "borg serve ...", run: [] } }\n`],
    ['a bad rsync access', `${header}      - { name: x, rsync: { root: /srv, access: all } }\n`],
    ['an unquoted octal mode', `${header}      - { name: x, receive: { dir: /srv, name: b, mode: 0600 } }\n`],
    ['a relative receive dir', `${header}      - { name: x, receive: { dir: srv, name: b } }\n`],
    ['a bad duration', `${header}      - { name: x, relay: { to: ["a.b:22"], idle-timeout: 5 minutes } }\n`],
    ['an sftp min-free that is no size', `${header}      - { name: x, sftp: { root: /srv, access: write, min-free: lots } }\n`],
    ['an sftp idle-timeout without a unit', `${header}      - { name: x, sftp: { root: /srv, access: write, idle-timeout: "90" } }\n`],
    ['keep 0', `${header}      - { name: x, receive: { dir: /srv, name: b, keep: 0 } }\n`],
    ['syslog tls without tcp', 'version: 1\naudit:\n  syslog: { socket: /dev/log, tls: { ca: /etc/ca.pem } }\n'],
    ['syslog tls without ca', 'version: 1\naudit:\n  syslog: { tcp: "logs.example.org:6514", tls: {} }\n'],
    ['a relative syslog tls ca', 'version: 1\naudit:\n  syslog: { tcp: "logs.example.org:6514", tls: { ca: ca.pem } }\n'],
    ['an expect-every that is no duration', `${header}      - { name: x, expect-every: daily, exec: { command: /bin/true } }\n`],
    ['a min-bytes that is no size', `${header}      - { name: x, min-bytes: lots, exec: { command: /bin/true } }\n`],
  ])('refuses %s, as the parser does', (_name, text) => {
    expect(parsePolicyText('p.yaml', text).ok).toBe(false);
    expect(validate(parse(text))).toBe(false);
  });

  it('accepts syslog over TLS, as the parser does', () => {
    const text = 'version: 1\naudit:\n  syslog: { tcp: "logs.example.org:6514", tls: { ca: /etc/ssh-dispatch/collector-ca.pem } }\n';
    expect(parsePolicyText('p.yaml', text).ok).toBe(true);
    expect(validate(parse(text)), JSON.stringify(validate.errors)).toBe(true);
  });
});

describe('docs/policy.md', () => {
  const reference = readFileSync(fileURLToPath(new URL('../../docs/policy.md', import.meta.url)), 'utf8');
  it.each(Object.entries(POLICY_KEYS).flatMap(([object, keys]) => keys.allowed.map((key) => [object, key] as const)))(
    'documents %s key %s',
    (_object, key) => {
      expect(reference).toContain(`| \`${key}\` |`);
    },
  );
});
