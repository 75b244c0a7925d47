/**
 * Backup tools whose own "restricted" server is no boundary (docs/threat-model.md, "Upstream
 * restricted servers"): rdiff-backup's server runs what the client pickles, borg serve lets the
 * key be replaced, git-receive-pack rewrites and deletes refs unless the repository says
 * otherwise. What `check` says of the policy alone, and what the host's findings read. Pure.
 */
import type { Finding } from '../base.js';
import type { ExecRule } from './rule.js';
import { hasWildcard, programWords } from './rule-words.js';

/** rdiff-backup's server, which no server option holds against: UNSAFE outside a sandbox, a warning with writable paths. */
export function rdiffBackupFindings(rule: ExecRule, real: string): Finding[] {
  if (!runsRdiffBackupServer(rule, real)) return [];
  const where = rule.where;
  const unpickles =
    "rdiff-backup's server unpickles the client's first message before --restrict-path or --restrict-mode is looked at, so a stolen key runs code as this account";
  if (!rule.sandbox)
    return [
      {
        where,
        level: 'unsafe',
        id: 'exec-rdiff-backup-server',
        message: `rule "${rule.name}" runs ${rule.program} server: ${unpickles}, anywhere the account can reach; run it with sandbox: {read: [repository]} for restores (docs/recipes.md, "rdiff-backup")`,
      },
    ];
  if (rule.sandbox.write.length > 0)
    return [
      {
        where,
        level: 'warning',
        id: 'exec-rdiff-backup-writable',
        message: `rule "${rule.name}" runs ${rule.program} server with writable sandbox paths: ${unpickles}, which can remove every increment in ${rule.sandbox.write.join(', ')}; no server option holds against it, so keep rdiff-backup's keys read-only (docs/recipes.md, "rdiff-backup")`,
      },
    ];
  return [];
}

/** borg serve with its repository's config writable: --append-only does not keep the key. */
export function borgConfigFindings(rule: ExecRule, real: string): Finding[] {
  const borgRepository = borgServeRepository(rule, real);
  if (borgRepository === null || rule.sandbox?.read.includes(`${borgRepository}/config`)) return [];
  return [
    {
      where: rule.where,
      level: 'warning',
      id: 'exec-borg-config-writable',
      message: `rule "${rule.name}" runs borg serve with ${borgRepository}/config writable: --append-only does not cover the key, and \`borg key import\` replaces a repokey there without the passphrase; add sandbox: {write: [${borgRepository}], read: [${borgRepository}/config]} (docs/recipes.md, "borg")`,
    },
  ];
}

/** rdiff-backup with `server` or `--server` among its words, or a word the client chooses. */
function runsRdiffBackupServer(rule: ExecRule, real: string): boolean {
  if (![rule.program, real].some((program) => program.split('/').pop() === 'rdiff-backup')) return false;
  return programWords(rule).some((word) => word === 'server' || word === '--server' || hasWildcard(word));
}

/** The repository of a `borg serve --restrict-to-repository R` rule (`--restrict-to-repository=R` too); null for another rule. */
function borgServeRepository(rule: ExecRule, real: string): string | null {
  if (![rule.program, real].some((program) => program.split('/').pop() === 'borg')) return null;
  const words = programWords(rule);
  if (words[0] !== 'serve') return null;
  const at = words.indexOf('--restrict-to-repository');
  const word =
    at >= 0 ? words[at + 1] : words.find((w) => w.startsWith('--restrict-to-repository='))?.slice('--restrict-to-repository='.length);
  if (word === undefined || hasWildcard(word) || !word.startsWith('/')) return null;
  return word.replace(/\\(.)/g, '$1').replace(/\/+$/, '');
}

/**
 * The repository a git-receive-pack rule pushes into, when the policy names it literally (the
 * client's word 2, or run's); null for another rule, or a glob (check cannot read every match).
 */
export function receivePackRepository(rule: ExecRule, real: string): string | null {
  if (![rule.program, real].some((program) => program.split('/').pop() === 'git-receive-pack')) return null;
  const word = programWords(rule)[0];
  if (word === undefined || hasWildcard(word) || !word.startsWith('/')) return null;
  return word.replace(/\\(.)/g, '$1');
}

/**
 * Which of receive.denyNonFastForwards and receive.denyDeletes a git config file does not set
 * to true (git-receive-pack refuses forced pushes and deletions only with them); null when the
 * file includes others, which this reader does not follow.
 */
export function missingGitDenies(config: string): string[] | null {
  const found = new Map<string, boolean>();
  let section = '';
  for (const raw of config.split('\n')) {
    const line = raw.replace(/^\s+/, '');
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[\s*([A-Za-z0-9.-]+)(?:\s+"(?:[^"\\]|\\.)*")?\s*\]/.exec(line);
    if (header) {
      section = header[1]!.toLowerCase() + (header[0].includes('"') ? ' sub' : '');
      if (section.startsWith('include')) return null;
      continue;
    }
    const entry = /^([A-Za-z][A-Za-z0-9-]*)\s*(?:=\s*([^#;]*?))?\s*(?:[#;].*)?$/.exec(line);
    // A bare key is true; the last value wins, as in git.
    if (entry && section === 'receive')
      found.set(entry[1]!.toLowerCase(), entry[2] === undefined || gitTrue(entry[2].replace(/^"(.*)"$/, '$1')));
  }
  return ['receive.denyNonFastForwards', 'receive.denyDeletes'].filter(
    (key) => found.get(key.slice('receive.'.length).toLowerCase()) !== true,
  );
}

/** git's boolean: true, yes, on, or a number other than 0. */
function gitTrue(value: string): boolean {
  return /^(?:true|yes|on)$/i.test(value) || (/^-?\d+$/.test(value) && Number(value) !== 0);
}
