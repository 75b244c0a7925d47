/**
 * The man pages and bash completion that scripts/man.mjs generates at build time, from a core
 * bundle built into a temp directory (never dist/): every subcommand's --help text is in
 * ssh-dispatch(8) word for word, docs/policy.md's sections are in ssh-dispatch-policy(5), groff
 * renders both without a warning, and the completion offers every subcommand and flag.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: the build scripts are plain JavaScript, run by npm scripts as well.
import { buildCore } from '../scripts/build.mjs';
// @ts-expect-error: as above.
import { flagsOf, generate, helpTexts } from '../scripts/man.mjs';

const repo = fileURLToPath(new URL('../', import.meta.url));
let dir: string;
let helps: [string, string][];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ssh-dispatch-man-'));
  await buildCore(join(dir, 'core.cjs'));
  generate(join(dir, 'core.cjs'), `${dir}/`);
  helps = helpTexts(join(dir, 'core.cjs'));
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** groff's rendering as plain text, and what it said on stderr. */
function render(page: string): { text: string; warnings: string } {
  const result = spawnSync('groff', ['-man', '-Tutf8', '-ww', '-k', '-P-cbou', '-rLL=200n', page], {
    encoding: 'utf8',
    env: { ...process.env, LC_ALL: 'C.UTF-8' },
  });
  expect(result.status, result.stderr).toBe(0);
  return { text: result.stdout, warnings: result.stderr };
}
const squeeze = (text: string) => text.replace(/\s+/g, ' ').trim();

describe('ssh-dispatch(8)', () => {
  it('lists the subcommands of --help, and the help has them all', () => {
    expect(helps.map(([name]) => name)).toEqual([
      'ssh-dispatch',
      'run',
      'explain',
      'check',
      'apply',
      'rollback',
      'history',
      'reapply',
      'authorized-key',
      'authorized-keys-command',
      'authorized-principals-command',
      'suggest',
      'logs',
      'summary',
      'replay',
      'status',
      'demo',
    ]);
  });

  it('holds every help text line for line, and groff renders it without warnings', () => {
    const { text, warnings } = render(join(dir, 'man', 'ssh-dispatch.8'));
    expect(warnings).toBe('');
    const rendered = new Set(text.split('\n').map(squeeze));
    for (const [name, help] of helps) {
      for (const line of help.split('\n').map(squeeze).filter(Boolean)) {
        expect(rendered.has(line) || rendered.has(squeeze(line.replace(/^Usage: /, ''))), `${name}: ${line}`).toBe(true);
      }
    }
  });

  it('man -l reads it', () => {
    const result = spawnSync('man', ['-l', join(dir, 'man', 'ssh-dispatch.8')], {
      encoding: 'utf8',
      env: { ...process.env, MANWIDTH: '120', MAN_KEEP_FORMATTING: '' },
    });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain('ssh-dispatch-policy(5)');
  });
});

describe('ssh-dispatch-policy(5)', () => {
  it('has every section of docs/policy.md, and groff renders it without warnings', () => {
    const { text, warnings } = render(join(dir, 'man', 'ssh-dispatch-policy.5'));
    expect(warnings).toBe('');
    const flat = squeeze(text);
    const markdown = readFileSync(join(repo, 'docs/policy.md'), 'utf8');
    for (const [, heading] of markdown.matchAll(/^#{2,4} (.*)$/gm)) expect(flat).toContain(heading!.replace(/`/g, ''));
    // A table cell and a code block, as examples of the rest.
    expect(flat).toContain('/var/log/ssh-dispatch/audit.jsonl');
    expect(flat).toContain('# yaml-language-server: $schema=/usr/local/share/ssh-dispatch/schema/policy.schema.json');
  });
});

describe('bash completion', () => {
  it('offers every subcommand and every flag of the help texts', () => {
    const script = readFileSync(join(dir, 'completion', 'ssh-dispatch'), 'utf8');
    const complete = (...words: string[]) => {
      const line = ['ssh-dispatch', ...words];
      const out = execFileSync(
        'bash',
        [
          '-c',
          `source "$1"; COMP_WORDS=(${line.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${line.length - 1}; _ssh_dispatch; printf '%s\\n' "\${COMPREPLY[@]}"`,
          'bash',
          join(dir, 'completion', 'ssh-dispatch'),
        ],
        { encoding: 'utf8' },
      );
      return out.split('\n').filter(Boolean);
    };
    expect(script).toContain('complete -F _ssh_dispatch ssh-dispatch');
    const [, ...subcommands] = helps;
    expect(complete('')).toEqual(subcommands.map(([name]) => name));
    for (const [name, help] of subcommands) {
      const flags = [...(flagsOf(help) as Map<string, string>).keys()];
      expect(flags.length > 0 || name === 'demo', name).toBe(true);
      expect(complete(name, '--'), name).toEqual(expect.arrayContaining([...flags, '--help']));
    }
    expect(complete('logs', '--decision', '')).toEqual(['allow', 'deny', 'learn']);
    expect(complete('check', '--policy', join(repo, 'docs', 'poli'))).toEqual([join(repo, 'docs/policy.md')]);
    expect(existsSync(join(dir, 'completion', 'ssh-dispatch'))).toBe(true);
  });
});
