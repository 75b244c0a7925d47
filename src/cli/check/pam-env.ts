/**
 * What pam_env sets for every session (UsePAM yes): /etc/environment and
 * /etc/security/pam_env.conf, judged as a connection judges its environment (session-env.ts).
 * A refused variable there denies every request of every key, with nothing in the policy to
 * show why; a CA bundle variable naming root's file is accepted, and said so.
 */
import { readFileSync } from 'node:fs';
import { walkPath, type PathChain } from '../../request/root-path.js';
import { caBundleUntrusted, CA_BUNDLE_VARIABLES, unsafeVariablesSet } from '../../request/session-env.js';
import type { TextFinding } from './finding.js';

export const PAM_ENV_FILES = { environment: '/etc/environment', conf: '/etc/security/pam_env.conf' };

interface Setting {
  file: string;
  line: number;
  name: string;
  value: string;
}

/** A quoted value loses its quotes, as pam_env takes it. */
const unquote = (value: string) => value.replace(/^(["'])(.*)\1$/, '$2');

/** /etc/environment: NAME=VALUE lines (an `export ` before is allowed), # comments. */
export function parseEnvironmentFile(file: string, text: string): Setting[] {
  return text.split('\n').flatMap((raw, i) => {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(raw);
    return m && !raw.trimStart().startsWith('#') ? [{ file, line: i + 1, name: m[1]!, value: unquote(m[2]!.trim()) }] : [];
  });
}

/** pam_env.conf: `NAME [DEFAULT=value] [OVERRIDE=value]`; OVERRIDE wins when given. ${VAR} and @{HOME} are judged as written. */
export function parsePamEnvConf(file: string, text: string): Setting[] {
  return text.split('\n').flatMap((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:\s+(.*))?$/.exec(line);
    if (!m) return [];
    const options = m[2] ?? '';
    const pick = (key: string) => new RegExp(`(?:^|\\s)${key}=("[^"]*"|'[^']*'|\\S*)`).exec(options)?.[1];
    const value = pick('OVERRIDE') ?? pick('DEFAULT');
    return value === undefined || value === '' ? [] : [{ file, line: i + 1, name: m[1]!, value: unquote(value) }];
  });
}

function read(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

export function pamEnvFindings(files = PAM_ENV_FILES, chainOf: (path: string) => PathChain = (p) => walkPath(p)): TextFinding[] {
  const environment = read(files.environment);
  const conf = read(files.conf);
  const settings = [
    ...(environment === null ? [] : parseEnvironmentFile(files.environment, environment)),
    ...(conf === null ? [] : parsePamEnvConf(files.conf, conf)),
  ];
  return settings.flatMap(({ file, line, name, value }): TextFinding[] => {
    if (unsafeVariablesSet({ [name]: value }).length === 0) return [];
    const where = `${file}:${line}`;
    const why = CA_BUNDLE_VARIABLES.has(name) ? caBundleUntrusted(name, value, chainOf) : '';
    if (why === null) {
      return [
        {
          level: 'warning',
          id: 'pam-env-ca-accepted',
          text: `${where}: warning: ${name}=${value} is set for every session: accepted, since root alone can write it, and removed before anything runs (docs/environment.md)`,
        },
      ];
    }
    return [
      {
        level: 'error',
        id: 'pam-env-refused',
        text: `${where}: error: ${name} is set for every session (pam_env): every request is denied as unsafe-environment${why ? ` (${why})` : ''}; remove it there, or set it only where it is used`,
      },
    ];
  });
}
