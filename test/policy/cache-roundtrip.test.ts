/**
 * Every policy this build parses comes back from its compiled cache whole: the decoders
 * (policy/cache/deserialise.ts, rules/<kind>/decode.ts) accept every key the parser produces.
 * Without this, a key a parser adds and a decoder lacks would make every cache read a miss: no
 * error, every connection parsing YAML again (slower, not less safe).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readIdentity, readMeta } from '../../src/policy/cache/deserialise.js';
import { identityFile, META, serialiseEntry } from '../../src/policy/cache/serialise.js';
import { parsePolicyText } from '../../src/policy/parse.js';
import type { Policy } from '../../src/policy/schema.js';

const dir = fileURLToPath(new URL('../../policies/', import.meta.url));
const examples = readdirSync(dir)
  .filter((name) => /\.ya?ml$/.test(name))
  .map((name) => [name, readFileSync(`${dir}${name}`, 'utf8')] as const);

/** The keys the shipped examples leave out, each at least once. */
const EVERY_KEY = `version: 1
audit:
  file: /var/log/x.jsonl
  syslog: { tcp: "127.0.0.1:6514", tls: { ca: /etc/ca.pem }, facility: local3 }
identities:
  all:
    from: [192.0.2.0/24, "2001:db8::/32"]
    keys: ["SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s"]
    accounts: [backup]
    principals: [host-a]
    expires: 2099-01-01
    max-sessions: 3
    min-free: 2GiB
    rules:
      - name: git
        expect-every: 1d
        min-bytes: 1KiB
        exec:
          command: [git-upload-pack, "*"]
          program: /usr/bin/git-upload-pack
          pass-env: [GIT_PROTOCOL]
          env: { LANG: C }
          cwd: /srv/git
          umask: "0027"
          timeout: 1h
          sandbox: { read: [/srv/git], write: [], secrets: withhold }
      - name: borg
        exec: { command: [borg, serve, "..."], run: [/usr/bin/borg, serve, "{2}"], sandbox: { read: [], write: [/srv/borg] } }
      - name: pull
        rsync: { root: /, access: read, paths: [/etc, /home], secrets: serve, nice: 10, ionice: "best-effort:7" }
      - name: push
        rsync: { root: /srv/b, access: write, delete: true, max-delete: 100, ionice: idle, snapshot: true, single-run: true }
`;

function roundTrip(policy: Policy): { identities: unknown[]; meta: unknown } {
  const files = serialiseEntry('signature', policy);
  const identities = [...policy.identities.keys()].map((name) => readIdentity(files.get(identityFile(name))!));
  return { identities, meta: readMeta(files.get(META)!) };
}

describe('a compiled cache reads back as parsed', () => {
  it.each([...examples, ['every key', EVERY_KEY] as const])('%s', (name, text) => {
    const parsed = parsePolicyText(name, text);
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    const policy: Policy = {
      files: [name],
      audit: parsed.fragment.audit?.settings ?? { file: '/x', syslog: null },
      identities: new Map(parsed.fragment.identities.map((identity) => [identity.name, identity])),
    };
    expect(policy.identities.size).toBeGreaterThan(0);
    const back = roundTrip(policy);
    expect(back.identities).toEqual([...policy.identities.values()].map((identity) => ({ ok: true, value: identity })));
    expect(back.meta).toEqual({
      ok: true,
      value: { signature: 'signature', files: [name], audit: policy.audit, identities: [...policy.identities.keys()] },
    });
  });
});
