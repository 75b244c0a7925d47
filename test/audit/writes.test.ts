import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { MAX_NAMES, WriteLog, writesName } from '../../src/audit/writes.js';
import { endRecord, MAX_RECORD_BYTES } from '../../src/audit/record.js';

describe('WriteLog', () => {
  it('lists names by op, counts them, adds bytes and digests every line in order', () => {
    const log = new WriteLog();
    log.add('created', 'day2/a', 10);
    log.add('replaced', 'day2/b', 5);
    log.add('removed', 'day2/c');
    const facts = log.facts();
    expect(facts).toMatchObject({
      created: ['day2/a'],
      replaced: ['day2/b'],
      removed: ['day2/c'],
      created_count: 1,
      replaced_count: 1,
      removed_count: 1,
      bytes: 15,
    });
    expect(facts.sha256).toBe(createHash('sha256').update('created\tday2/a\nreplaced\tday2/b\nremoved\tday2/c\n').digest('hex'));
  });

  it('keeps the first MAX_NAMES names and counts the rest', () => {
    const log = new WriteLog();
    for (let i = 0; i < MAX_NAMES + 50; i++) log.add('created', `f${i}`);
    const facts = log.facts();
    expect(facts.created).toHaveLength(MAX_NAMES);
    expect(facts.created[0]).toBe('f0');
    expect(facts.created_count).toBe(MAX_NAMES + 50);
  });

  it('keeps a head of the list when names are long, and the end record stays within its bound with its lists', () => {
    const log = new WriteLog();
    for (let i = 0; i < 300; i++)
      for (const op of ['created', 'replaced', 'removed'] as const) log.add(op, `${'x'.repeat(200)}/${op}/${i}`);
    const facts = log.facts();
    expect(facts.created.length).toBeGreaterThan(5);
    expect(facts.created).toEqual(Array.from({ length: facts.created.length }, (_, i) => `${'x'.repeat(200)}/created/${i}`));
    const record = endRecord({ session: 's', identity: 'i' }, new Date(0), {
      rule: 'r',
      exit: 0,
      signal: null,
      durationMs: 1,
      outcome: 'exited',
      writes: facts,
    });
    expect(JSON.stringify(record).length).toBeLessThanOrEqual(MAX_RECORD_BYTES);
    expect((record.writes as { created: string[] }).created).toEqual(facts.created);
  });

  it('a short name after a long one is not kept: the list stays a head of the whole', () => {
    const log = new WriteLog();
    log.add('created', 'a'.repeat(2990));
    log.add('created', 'b'.repeat(100));
    log.add('created', 'c');
    expect(log.facts().created).toEqual(['a'.repeat(2990)]);
    expect(log.facts().created_count).toBe(3);
  });
});

describe('writesName', () => {
  it.each([
    ['day2/a', true],
    ['day2', true],
    ['day2/', true],
    ['day', false],
    ['day2/a/b', false],
    ['other', false],
  ])('%s', (path, found) => {
    expect(writesName({ created: ['day2/a'], replaced: [], removed: [] }, path)).toBe(found);
  });
});
