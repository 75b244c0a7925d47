/**
 * Every relative link in README.md and docs/ leads somewhere: to a file or directory of the
 * repository and, with a #fragment, to a heading of that page as GitHub names its anchors. A
 * newcomer following the docs must never land on nothing after a page or a section moves.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repo = fileURLToPath(new URL('..', import.meta.url));

const pages = [
  'README.md',
  ...readdirSync(join(repo, 'docs'), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.md'))
    .map((e) => relative(repo, join(e.parentPath, e.name))),
];

/** The page's lines outside fenced code blocks, inline code removed (a link there is an example). */
function prose(text: string): string[] {
  let fenced = false;
  return text.split('\n').flatMap((line) => {
    if (/^\s*```/.test(line)) {
      fenced = !fenced;
      return [];
    }
    return fenced ? [] : [line.replace(/`[^`]*`/g, '``')];
  });
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens; repeats get -1, -2. */
function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  let fenced = false;
  for (const line of text.split('\n')) {
    if (/^\s*```/.test(line)) fenced = !fenced;
    const heading = fenced ? null : /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!heading) continue;
    const base = heading[1]!
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    out.add(count === 0 ? base : `${base}-${count}`);
  }
  return out;
}

const links = pages.flatMap((page) =>
  prose(readFileSync(join(repo, page), 'utf8')).flatMap((line) =>
    [...line.matchAll(/\]\(([^)\s]+)\)/g)]
      .map((m) => m[1]!)
      .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target))
      .map((target) => ({ page, target })),
  ),
);

describe('links between the docs', () => {
  it('finds them (not vacuous)', () => {
    expect(pages).toContain('docs/README.md');
    expect(links.length).toBeGreaterThan(50);
    expect(links.filter((l) => l.target.includes('#')).length).toBeGreaterThan(10);
  });

  it('reads anchors as GitHub does', () => {
    expect(
      anchors("## `run`: the argv is the policy's\n## A key (`backup@server`)\n## Limits\n### Limits\n```\n# not a heading\n```\n"),
    ).toEqual(new Set(['run-the-argv-is-the-policys', 'a-key-backupserver', 'limits', 'limits-1']));
  });

  it.each(links.map(({ page, target }) => [page, target]))('%s: %s leads somewhere', (page, target) => {
    const [path, fragment] = target.split('#') as [string, string | undefined];
    const file = path === '' ? page : relative(repo, join(repo, dirname(page), decodeURI(path)));
    expect(existsSync(join(repo, file)), `${file} does not exist`).toBe(true);
    if (fragment === undefined) return;
    expect(statSync(join(repo, file)).isFile() && file.endsWith('.md'), `#${fragment} on ${file}, which is no markdown page`).toBe(true);
    expect([...anchors(readFileSync(join(repo, file), 'utf8'))], `${file} has no heading for #${fragment}`).toContain(fragment);
  });
});
