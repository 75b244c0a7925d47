// Renders the policy's key tables in docs/policy.md from schema/policy.schema.json, so that the
// reference, the man page built from it and the schema an editor completes with say one thing.
// Each table sits between marker comments, `<!-- keys:NAME:begin -->` and `<!-- keys:NAME:end -->`,
// NAME one of TABLES' names; everything outside the markers is written by hand.
//   node scripts/docs-keys.mjs           rewrite docs/policy.md (npm run docs)
//   node scripts/docs-keys.mjs --check   exit 1, naming the tables, when docs/policy.md differs
// test/docs-keys.test.ts fails on drift; scripts/man.mjs renders the tables before it converts.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
export const SCHEMA_PATH = `${ROOT}schema/policy.schema.json`;
export const DOC_PATH = `${ROOT}docs/policy.md`;

export function readSchema() {
  return JSON.parse(readFileSync(SCHEMA_PATH, 'utf8'));
}

/** The rule kinds, as the schema's rule requires exactly one of them. */
export function ruleKinds(schema) {
  return schema.definitions.rule.oneOf.map((branch) => branch.required[0]);
}

/** Every mapping that has a key table: [marker name, its schema object]. */
export function tables(schema) {
  const audit = schema.properties.audit;
  return [
    ['top', schema],
    ['audit', audit],
    ['audit.syslog', audit.properties.syslog],
    ['audit.syslog.tls', audit.properties.syslog.properties.tls],
    ['identity', schema.definitions.identity],
    ['rule', schema.definitions.rule],
    ...ruleKinds(schema).map((kind) => [kind, schema.definitions[kind]]),
  ];
}

// The value grammars the schema spells as patterns, by the name the reference gives them (docs/policy.md, "Units").
const SIZE = /KiB\|MiB/;
const DURATION = /\(ms\|s\|m\|h\|d/;

function resolve(schema, node) {
  if (!node.$ref) return node;
  return node.$ref
    .replace(/^#\//, '')
    .split('/')
    .reduce((at, part) => at[part], schema);
}

/** The type column: what YAML value the key takes, in the reference's words. */
export function typeOf(schema, node) {
  const ref = node.$ref?.replace('#/definitions/', '');
  if (ref === 'name') return 'name';
  if (ref) return 'mapping';
  if ('const' in node) return `\`${JSON.stringify(node.const)}\``;
  if (node.enum) return node.enum.map((value) => `\`${value}\``).join(', ');
  const alternatives = node.anyOf ?? node.oneOf;
  if (alternatives) return [...new Set(alternatives.map((alt) => typeOf(schema, alt)))].join(' or ');
  switch (node.type) {
    case 'boolean':
      return 'boolean';
    case 'integer': {
      const { minimum: min, maximum: max } = node;
      if (min !== undefined && max !== undefined) return `integer, ${min} to ${max}`;
      return min !== undefined ? `integer, at least ${min}` : 'integer';
    }
    case 'array': {
      const item = node.items.$ref ? node.items.$ref.replace('#/definitions/', '') : typeOf(schema, node.items);
      return `list of ${/^`/.test(item) ? item : `${item}s`.replace(/ys$/, 'ies')}`;
    }
    case 'object':
      if (node.additionalProperties && typeof node.additionalProperties === 'object') {
        const value = node.additionalProperties.$ref ? resolve(schema, node.additionalProperties) : node.additionalProperties;
        return value.type === 'string'
          ? 'mapping of strings'
          : `mapping of ${node.additionalProperties.$ref.replace('#/definitions/', '')}s`.replace(/ys$/, 'ies');
      }
      return 'mapping';
    case 'string': {
      const pattern = node.pattern ?? '';
      if (pattern === '^/') return 'absolute path';
      if (pattern === '^/.') return 'absolute path, not `/`';
      if (SIZE.test(pattern)) return 'size';
      if (DURATION.test(pattern)) return pattern.startsWith('^(0|') ? 'duration or `"0"`' : 'duration';
      if (pattern === '^0?[0-7]{3}$') return 'octal, quoted';
      if (pattern.includes('[0-9]{4}-[0-9]{2}-[0-9]{2}')) return 'date';
      if (pattern.endsWith(':[1-9][0-9]{0,4}$')) return '`HOST:PORT`';
      return 'string';
    }
    default:
      throw new Error(`docs-keys: no type name for ${JSON.stringify(node)}`);
  }
}

// A value as a policy would write it: quoted where YAML would read the bare word as another type.
function yamlValue(value) {
  if (typeof value !== 'string') return JSON.stringify(value);
  return /^([-+]?[0-9._]+([eE][-+]?[0-9]+)?|0[ox][0-9a-fA-F]+|true|false|null|~)$/i.test(value) ? JSON.stringify(value) : value;
}

/** The default column: required, one of the kinds, the schema's `default`, or empty (the description says what absence means). */
function defaultOf(object, key, node) {
  if ((object.required ?? []).includes(key)) return 'required';
  const exclusive = (object.oneOf ?? []).filter((branch) => branch.required?.includes(key));
  if (exclusive.length > 0) return `one of the ${object.oneOf.length} kinds`;
  return 'default' in node ? `\`${yamlValue(node.default)}\`` : '';
}

function cell(text, where) {
  // A | splits a markdown row, inside `code` too on GitHub; scripts/man.mjs splits on it as well.
  if (/[|\n]/.test(text)) throw new Error(`docs-keys: ${where}: a description may hold no | and no line break`);
  return text;
}

/** One object's table, as markdown lines. */
export function renderTable(schema, name, object) {
  const rows = Object.entries(object.properties).map(([key, node]) => {
    const description = node.description ?? resolve(schema, node).description;
    if (!description) throw new Error(`docs-keys: ${name}.${key} has no description in schema/policy.schema.json`);
    return `| \`${key}\` | ${typeOf(schema, node)} | ${defaultOf(object, key, node)} | ${cell(description, `${name}.${key}`)} |`;
  });
  return ['| key | type | default | meaning |', '|---|---|---|---|', ...rows].join('\n');
}

const marker = (name, end) => `<!-- keys:${name}:${end ? 'end' : 'begin'} -->`;

/**
 * The markdown with every table between its markers rendered from the schema. Every table must
 * have its markers, once, and no markers may name a table the schema lacks: a new rule kind
 * without a section in the reference fails here.
 */
export function renderKeys(markdown, schema) {
  const known = new Set();
  let out = markdown;
  for (const [name, object] of tables(schema)) {
    known.add(name);
    const begin = marker(name, false);
    const end = marker(name, true);
    const from = out.indexOf(begin);
    const to = out.indexOf(end);
    if (from < 0 || to < from || out.indexOf(begin, from + 1) >= 0)
      throw new Error(`docs-keys: docs/policy.md needs ${begin} and ${end}, once each, in that order`);
    out = `${out.slice(0, from + begin.length)}\n${renderTable(schema, name, object)}\n${out.slice(to)}`;
  }
  for (const [, name] of out.matchAll(/<!-- keys:([^:]+):begin -->/g)) {
    if (!known.has(name)) throw new Error(`docs-keys: docs/policy.md has a table "${name}" that the schema does not have`);
  }
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const current = readFileSync(DOC_PATH, 'utf8');
  const rendered = renderKeys(current, readSchema());
  if (process.argv.includes('--check')) {
    if (rendered !== current) {
      console.error('docs/policy.md: the key tables differ from schema/policy.schema.json; run npm run docs');
      process.exit(1);
    }
  } else if (rendered !== current) {
    writeFileSync(DOC_PATH, rendered);
    console.log('docs/policy.md: key tables rendered from schema/policy.schema.json');
  }
}
