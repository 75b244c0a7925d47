/** The README's first command: the demo runs through a real sshd and every request gets the expected decision. */
import { expect, it } from 'vitest';
import { runBundle } from './run-bundle.js';

it('ssh-dispatch demo exits 0 with every decision as expected', () => {
  const result = runBundle(['demo']);
  expect(result.stderr).toBe('');
  expect(result.stdout).toContain('Every request got the expected decision.');
  expect(result.stdout).toMatch(/deny +tokenize-operator +"du -sh \.; cat \/etc\/shadow"/);
  expect(result.code).toBe(0);
}, 60_000);
