/** The guard of test/no-real-paths.ts sees a change in a directory it watches (not vacuous). */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { changes, snapshot } from './no-real-paths.js';

const dir = mkdtempSync(join(tmpdir(), 'ssh-dispatch-no-real-paths-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('a directory created, a file written into it, and one appended to each show as changes', () => {
  const watched = join(dir, 'ssh-dispatch');
  const none = snapshot([watched]);
  expect(changes(none, snapshot([watched]))).toEqual([]);
  mkdirSync(watched);
  writeFileSync(join(watched, 'audit.jsonl'), 'a\n');
  const written = snapshot([watched]);
  expect(changes(none, written).join('\n')).toContain(join(watched, 'audit.jsonl'));
  writeFileSync(join(watched, 'audit.jsonl'), 'a\nb\n');
  expect(changes(written, snapshot([watched]))).toHaveLength(2);
});
