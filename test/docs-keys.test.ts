/**
 * The key tables of docs/policy.md are rendered from schema/policy.schema.json by
 * scripts/docs-keys.mjs (npm run docs): the page must hold exactly what the script renders, every
 * key the parser allows must have its row, and no other page may keep a key table of its own
 * (two rsync tables had drifted apart before).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: the build scripts are plain JavaScript, run by npm scripts as well.
import { readSchema, renderKeys, renderTable, tables } from '../scripts/docs-keys.mjs';
import { POLICY_KEYS } from '../src/policy/schema.js';

const repo = fileURLToPath(new URL('..', import.meta.url));
const page = readFileSync(join(repo, 'docs/policy.md'), 'utf8');
const schema = readSchema();
const named = tables(schema) as [string, { properties: Record<string, unknown> }][];

/** The rows of the table between a marker pair, as [key, the rest of the row]. */
function rows(markdown: string, name: string): string[] {
  const body = markdown.split(`<!-- keys:${name}:begin -->`)[1]?.split(`<!-- keys:${name}:end -->`)[0] ?? '';
  return [...body.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]!);
}

describe('the key tables of docs/policy.md', () => {
  it('are what scripts/docs-keys.mjs renders from the schema (else: npm run docs)', () => {
    expect(page).toBe(renderKeys(page, schema));
  });

  it('cover every mapping the parser has a key list for', () => {
    const byParser: Record<keyof typeof POLICY_KEYS, string> = {
      top: 'top',
      audit: 'audit',
      syslog: 'audit.syslog',
      syslogTls: 'audit.syslog.tls',
      identity: 'identity',
      rule: 'rule',
      exec: 'exec',
      rsync: 'rsync',
      receive: 'receive',
      relay: 'relay',
      sftp: 'sftp',
    };
    expect(named.map(([name]) => name).sort()).toEqual(Object.values(byParser).sort());
    for (const [object, name] of Object.entries(byParser)) {
      expect(rows(page, name).sort(), name).toEqual([...POLICY_KEYS[object as keyof typeof POLICY_KEYS].allowed].sort());
    }
  });

  it('change when a description in the schema changes (the drift check can fail)', () => {
    const changed = structuredClone(schema);
    changed.definitions.rsync.properties.delete.description = 'something else';
    const rendered = renderKeys(page, changed);
    expect(rendered).not.toBe(page);
    expect(rendered).toContain('| `delete` | boolean | `false` | something else |');
  });

  it('refuse a description that would break a row, a missing marker, and a marker for no table', () => {
    const piped = structuredClone(schema);
    piped.definitions.relay.properties.to.description = 'a | b';
    expect(() => renderKeys(page, piped)).toThrow(/relay\.to/);
    expect(() => renderKeys(page.replace('<!-- keys:sftp:begin -->', ''), schema)).toThrow(/keys:sftp:begin/);
    expect(() => renderKeys(`${page}\n<!-- keys:ftp:begin -->\n<!-- keys:ftp:end -->\n`, schema)).toThrow(/"ftp"/);
  });

  it('render required keys, defaults as a policy writes them, and the value grammars', () => {
    const rsync = renderTable(schema, 'rsync', schema.definitions.rsync);
    expect(rsync).toContain('| `root` | absolute path | required |');
    expect(rsync).toContain('| `min-free` | size | `1GiB` |');
    expect(renderTable(schema, 'receive', schema.definitions.receive)).toContain('| `mode` | octal, quoted | `"0600"` |');
    expect(renderTable(schema, 'rule', schema.definitions.rule)).toContain('| `rsync` | mapping | one of the 5 kinds |');
  });
});

describe('one key table per mapping', () => {
  const pages = [
    'README.md',
    ...readdirSync(join(repo, 'docs'), { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile() && e.name.endsWith('.md'))
      .map((e) => relative(repo, join(e.parentPath, e.name))),
  ];
  // Keys that only one mapping has, so that a row naming one is a copy of that mapping's table.
  const distinctive = [
    'munge-links',
    'absolute-paths',
    'single-run',
    'max-delete',
    'keep-within',
    'max-uploads',
    'accept-empty',
    'connect-timeout',
    'pass-env',
    'max-sessions',
    'principals',
    'expect-every',
  ];

  it.each(pages)('%s has no hand-written copy of a generated table', (path) => {
    let text = readFileSync(join(repo, path), 'utf8');
    for (const [name] of named)
      text = text.replace(
        new RegExp(`<!-- keys:${name.replace(/\./g, '\\.')}:begin -->[^]*?<!-- keys:${name.replace(/\./g, '\\.')}:end -->`),
        '',
      );
    const copies = distinctive.filter((key) => text.includes(`| \`${key}\` |`));
    expect(copies, `${path}: a table row for ${copies.join(', ')}; the tables live in docs/policy.md, rendered from the schema`).toEqual(
      [],
    );
  });

  it('the one rsync table is in docs/policy.md', () => {
    expect(rows(page, 'rsync')).toContain('munge-links');
  });
});
