/**
 * suggest resolves a learned relative path under the account's home as NSS has it (getent
 * passwd), not a guess of /home/USER: Debian's backup account lives in /var/backups (issue 27).
 * In the spawn project: it runs getent.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { accountHome, runSuggest } from '../../src/cli/suggest.js';

const dir = mkdtempSync(join(tmpdir(), 'ssh-dispatch-suggest-home-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

/** An account NSS knows whose home is not /home/USER: Debian's backup, else any such account. */
function accountOutsideHome(): { user: string; home: string } {
  const lines = spawnSync('getent', ['passwd'], { encoding: 'utf8' }).stdout.split('\n');
  const fields = lines.map((l) => l.split(':')).filter((f) => f.length >= 7 && f[5]!.startsWith('/') && f[5] !== `/home/${f[0]}`);
  const chosen = fields.find((f) => f[0] === 'backup') ?? fields.find((f) => f[0] !== 'root') ?? fields[0]!;
  return { user: chosen[0]!, home: chosen[5]! };
}

async function suggest(log: string) {
  let stdout = '';
  let stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((stderr += String(chunk)), true));
  const code = await runSuggest(['--log', log, '--id', 'h1']);
  vi.restoreAllMocks();
  return { code, stdout, stderr };
}

function learnLog(name: string, user: string): string {
  const log = join(dir, name);
  const record = {
    ts: new Date().toISOString(),
    event: 'decision',
    session: '0123456789abcdef',
    id: 'h1',
    decision: 'learn',
    reason: 'learn-mode',
    user,
    command: 'rsync --server --sender -logDtpre.iLsfxCIvu . logs/app.log',
  };
  writeFileSync(log, `${JSON.stringify(record)}\n`);
  return log;
}

describe('suggest takes the account’s home from NSS', () => {
  const { user, home } = accountOutsideHome();

  it('accountHome is getent’s answer', () => {
    expect(accountHome(user)).toBe(home);
    expect(accountHome('no-such-account-x7')).toBeNull();
  });

  it(`a relative path learned for ${user} lies under ${home}, not /home/${user} (before: the guess)`, async () => {
    const r = await suggest(learnLog('learned.jsonl', user));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`root: "${home}/logs"`);
    expect(r.stdout).not.toContain(`/home/${user}`);
  });

  it('an account NSS does not know: exit 1, nothing printed, saying which (no guessed paths)', async () => {
    const r = await suggest(learnLog('unknown.jsonl', 'no-such-account-x7'));
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/no home for account\(s\) "no-such-account-x7"/);
  });
});
