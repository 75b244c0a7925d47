/**
 * The dispatcher's own environment stage (serve/decide-connection.ts): a CA bundle variable
 * naming root's file passes the stage and is then gone from our process.env, so that nothing we
 * start later (logger, mkfifo: spawned with our environment) inherits it; the control, the same
 * name pointing under a temp directory, denies and names it. process.env is replaced for each
 * case and restored after.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { decideConnection } from '../../src/serve/decide-connection.js';
import { requestFor } from '../helpers.js';

const ROOT_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';
const saved = { ...process.env };
const dir = mkdtempSync(join(tmpdir(), 'decide-env-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function setEnv(env: Record<string, string>): void {
  for (const name of Object.keys(process.env)) delete process.env[name];
  Object.assign(process.env, env);
}
afterEach(() => setEnv(saved as Record<string, string>));

/** Past the environment stage, a policy that could not be loaded is what denies. */
const NO_POLICY = new Error('no policy here');

describe('decideConnection, the environment stage', () => {
  it("passes root's CA bundle in SSL_CERT_FILE and NODE_EXTRA_CA_CERTS, and forgets both", async () => {
    setEnv({ PATH: '/usr/bin:/bin', SSL_CERT_FILE: ROOT_BUNDLE, NODE_EXTRA_CA_CERTS: ROOT_BUNDLE, EDITOR: 'vi' });
    const { decision } = await decideConnection(requestFor('t', '/usr/bin/true'), NO_POLICY, false);
    expect(decision).toMatchObject({ decision: 'deny', reason: 'internal-error' });
    expect(process.env.SSL_CERT_FILE).toBeUndefined();
    expect(process.env.NODE_EXTRA_CA_CERTS).toBeUndefined();
    expect(process.env.EDITOR).toBe('vi');
  });

  it('control: the same name naming a file in a temp directory denies, saying which and why', async () => {
    const bundle = join(dir, 'corp.pem');
    writeFileSync(bundle, '');
    setEnv({ PATH: '/usr/bin:/bin', SSL_CERT_FILE: bundle });
    const { decision } = await decideConnection(requestFor('t', '/usr/bin/true'), NO_POLICY, false);
    expect(decision).toMatchObject({ decision: 'deny', reason: 'unsafe-environment' });
    expect((decision as { detail: string }).detail).toMatch(/^set: SSL_CERT_FILE \(/);
  });
});
