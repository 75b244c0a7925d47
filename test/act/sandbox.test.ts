/**
 * The namespace bwrap is asked for (act/sandbox.ts), as a table of what a run must and must not
 * get, and the host checks before a sandboxed plan is allowed (host/sandbox-available.ts).
 * What the kernel then does with it is shown end to end (test/e2e/sandbox.e2e.test.ts).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bwrapArgs, standInsNeeded, withheldFrom, type HostLayout, type SandboxRun } from '../../src/act/sandbox.js';
import { sandboxUnavailable } from '../../src/host/sandbox-available.js';
import { withSandbox } from '../../src/host/decide-on-host.js';
import type { Decision } from '../../src/decide/decide.js';
import { ROOT_CAPS } from '../../src/rules/sandbox.js';
import { withholds } from '../../src/act/exec.js';
import type { ExecPlan } from '../../src/rules/plan.js';

const merged: HostLayout = {
  top: [
    { name: 'bin', link: 'usr/bin' },
    { name: 'lib', link: 'usr/lib' },
  ],
  secrets: [
    { path: '/etc/shadow', directory: false },
    { path: '/etc/ssh', directory: true },
  ],
  uid: 0,
};

const run = (over: Partial<SandboxRun> = {}): SandboxRun => ({
  sandbox: { read: [], write: ['/srv/backup'], rootCaps: [...ROOT_CAPS.store] },
  runtime: [],
  read: [],
  write: [{ source: '/data/backup', target: '/srv/backup' }],
  cwd: '/srv/backup',
  statusFd: 3,
  argv: ['/usr/bin/rsync', '--server', '.', 'x/'],
  ...over,
});

/** The pairs after each occurrence of a flag: ['--bind', a, b] -> [a, b]. */
function after(args: string[], flag: string, count: number): string[][] {
  return args.flatMap((a, i) => (a === flag ? [args.slice(i + 1, i + 1 + count)] : []));
}

describe('bwrapArgs', () => {
  const args = bwrapArgs(run(), merged);

  it('the program and its arguments come last, after --', () => {
    expect(args.slice(args.indexOf('--'))).toEqual(['--', '/usr/bin/rsync', '--server', '.', 'x/']);
  });

  it('no network, IPC, hostname, cgroup or other processes; dies with the dispatcher', () => {
    for (const flag of ['--unshare-net', '--unshare-ipc', '--unshare-pid', '--unshare-uts', '--unshare-cgroup-try', '--die-with-parent'])
      expect(args).toContain(flag);
  });

  it('as root: every capability dropped, then only the job’s added back (never CAP_SYS_ADMIN)', () => {
    expect(after(args, '--cap-drop', 1)).toEqual([['ALL']]);
    expect(after(args, '--cap-add', 1).flat()).toEqual(ROOT_CAPS.store);
    expect(args).not.toContain('CAP_SYS_ADMIN');
  });

  it.each(Object.entries(ROOT_CAPS))(
    'no job keeps CAP_DAC_READ_SEARCH, CAP_SYS_ADMIN, CAP_SYS_PTRACE or CAP_SETUID (%s): open_by_handle_at, mounts, other processes (found in review)',
    (_job, caps) => {
      for (const cap of [
        'CAP_DAC_READ_SEARCH',
        'CAP_SYS_ADMIN',
        'CAP_SYS_PTRACE',
        'CAP_SETUID',
        'CAP_SETGID',
        'CAP_SYS_MODULE',
        'CAP_SYS_RAWIO',
        'CAP_NET_ADMIN',
      ])
        expect(caps).not.toContain(cap);
    },
  );

  it('a rule path that is, holds or lies in a secret gets the cover again, on top (found in review: an sftp root of /etc/ssh served the host keys)', () => {
    const over = (target: string) => bwrapArgs(run({ read: [{ source: target, target }], write: [] }), merged);
    for (const target of ['/etc/ssh', '/etc', '/etc/ssh/keys']) {
      const a = over(target);
      const bind = a.lastIndexOf(target === '/etc' ? '/etc' : target);
      const tmpfs = a.lastIndexOf('/etc/ssh', a.lastIndexOf('--remount-ro'));
      expect(
        after(a, '--tmpfs', 1).filter(([p]) => p === '/etc/ssh'),
        target,
      ).toHaveLength(2);
      expect(tmpfs, target).toBeGreaterThan(bind - 1);
    }
    expect(after(over('/etc'), '--ro-bind', 2).filter(([, p]) => p === '/etc/shadow')).toHaveLength(2);
    // A path beside the secrets: covered once, as usual.
    expect(after(over('/srv/data'), '--tmpfs', 1).filter(([p]) => p === '/etc/ssh')).toHaveLength(1);
  });

  it('as another account: no capability flags (bwrap drops them all in its user namespace)', () => {
    const user = bwrapArgs(run(), { ...merged, uid: 1000 });
    expect(user).not.toContain('--cap-add');
    expect(user).not.toContain('--cap-drop');
  });

  it('the system read-only: /usr, the top-level links as links, /etc', () => {
    expect(after(args, '--ro-bind', 2)).toContainEqual(['/usr', '/usr']);
    expect(after(args, '--ro-bind', 2)).toContainEqual(['/etc', '/etc']);
    expect(after(args, '--symlink', 2)).toEqual([
      ['usr/bin', '/bin'],
      ['usr/lib', '/lib'],
    ]);
    const split = bwrapArgs(run(), { ...merged, top: [{ name: 'lib64', link: null }] });
    expect(after(split, '--ro-bind', 2)).toContainEqual(['/lib64', '/lib64']);
  });

  it('secrets covered: a file by an empty one, a directory by a read-only empty tmpfs, after /etc is bound', () => {
    expect(after(args, '--ro-bind', 2)).toContainEqual(['/dev/null', '/etc/shadow']);
    expect(after(args, '--tmpfs', 1)).toContainEqual(['/etc/ssh']);
    expect(after(args, '--remount-ro', 1)).toContainEqual(['/etc/ssh']);
    expect(args.indexOf('/etc/shadow')).toBeGreaterThan(args.indexOf('/etc'));
  });

  it('the rule’s paths at the paths the program uses, from where they really are; writable only where it writes', () => {
    expect(after(args, '--bind', 2)).toEqual([['/data/backup', '/srv/backup']]);
    const pull = bwrapArgs(run({ read: [{ source: '/data/backup', target: '/srv/backup' }], write: [] }), merged);
    expect(after(pull, '--bind', 2)).toEqual([]);
    expect(after(pull, '--ro-bind', 2)).toContainEqual(['/data/backup', '/srv/backup']);
  });

  it('the more specific path wins: a read path inside a write path is bound after it (read-only), and a write path inside a read path after that (writable)', () => {
    const nested = bwrapArgs(
      run({
        read: [
          { source: '/data/borg/config', target: '/srv/borg/config' },
          { source: '/data/git', target: '/srv/git' },
        ],
        write: [
          { source: '/data/borg', target: '/srv/borg' },
          { source: '/data/git/objects', target: '/srv/git/objects' },
        ],
      }),
      merged,
    );
    const position = (flag: string, target: string) => nested.findIndex((a, i) => a === flag && nested[i + 2] === target);
    expect(position('--bind', '/srv/borg')).toBeGreaterThan(-1);
    expect(position('--ro-bind', '/srv/borg/config')).toBeGreaterThan(position('--bind', '/srv/borg'));
    expect(position('--ro-bind', '/srv/git')).toBeGreaterThan(-1);
    expect(position('--bind', '/srv/git/objects')).toBeGreaterThan(position('--ro-bind', '/srv/git'));
    // The order given (runtime, read, write) is kept for paths that do not hold each other.
    const flat = bwrapArgs(
      run({ runtime: [{ source: '/opt/node', target: '/opt/node' }], read: [{ source: '/srv/a', target: '/srv/a' }] }),
      merged,
    );
    const targets = flat
      .flatMap((a, i) => (a === '--ro-bind' || a === '--bind' ? [flat[i + 2]!] : []))
      .filter((t) => t.startsWith('/srv') || t === '/opt/node');
    expect(targets).toEqual(['/opt/node', '/srv/a', '/srv/backup']);
  });

  it('the namespace root is remounted read-only after every bind: a write elsewhere fails, it does not vanish into a tmpfs', () => {
    const remount = args.lastIndexOf('--remount-ro');
    expect(args[remount + 1]).toBe('/');
    expect(remount).toBeGreaterThan(args.lastIndexOf('--bind'));
    expect(remount).toBeGreaterThan(args.lastIndexOf('--ro-bind'));
  });

  it('a private /tmp, a minimal /dev, a /proc of its own', () => {
    expect(after(args, '--tmpfs', 1)).toContainEqual(['/tmp']);
    expect(after(args, '--dev', 1)).toEqual([['/dev']]);
    expect(after(args, '--proc', 1)).toEqual([['/proc']]);
  });

  it('starts in the plan’s directory, or / (never the dispatcher’s own, which is not there)', () => {
    expect(after(args, '--chdir', 1)).toEqual([['/srv/backup']]);
    expect(after(bwrapArgs(run({ cwd: null }), merged), '--chdir', 1)).toEqual([['/']]);
  });

  it('reports on the status descriptor when one is given (execve has none)', () => {
    expect(after(args, '--json-status-fd', 1)).toEqual([['3']]);
    expect(bwrapArgs(run({ statusFd: null }), merged)).not.toContain('--json-status-fd');
  });

  it('nothing else is bound: no /home, /root, /var, /run, /proc of the host', () => {
    const bound = [...after(args, '--bind', 2), ...after(args, '--ro-bind', 2)].map(([, target]) => target);
    expect(bound.sort()).toEqual(
      ['/dev/null', '/etc', '/srv/backup', '/usr']
        .sort()
        .filter((p) => p !== '/dev/null')
        .concat('/etc/shadow')
        .sort(),
    );
  });
});

describe('withheld secrets: what a request reads of the secrets, and its stand-ins', () => {
  const layout: HostLayout = {
    ...merged,
    secrets: [
      { path: '/etc/shadow', directory: false },
      { path: '/etc/gshadow', directory: false },
      { path: '/etc/ssh', directory: true },
      { path: '/etc/ssl/private', directory: true },
    ],
  };
  const pull = (reads: string[] | undefined, secrets?: 'serve' | 'withhold', over: Partial<SandboxRun> = {}): SandboxRun =>
    run({
      sandbox: { read: ['/etc'], write: [], rootCaps: [...ROOT_CAPS.read], ...(secrets ? { secrets } : {}), ...(reads ? { reads } : {}) },
      read: [{ source: '/etc', target: '/etc' }],
      write: [],
      standInFds: [5, 6],
      ...over,
    });
  const paths = (r: SandboxRun) => withheldFrom(r.sandbox, layout).map((s) => s.path);

  it.each([
    ['all of /etc', ['/etc'], ['/etc/shadow', '/etc/gshadow', '/etc/ssh', '/etc/ssl/private']],
    ['root /', ['/'], ['/etc/shadow', '/etc/gshadow', '/etc/ssh', '/etc/ssl/private']],
    ['/etc/ssl: the private keys in it', ['/etc/ssl'], ['/etc/ssl/private']],
    ['a file in a withheld directory', ['/etc/ssh/sshd_config'], ['/etc/ssh']],
    ['the secret itself', ['/etc/shadow'], ['/etc/shadow']],
    ['a path beside them (/etc/sshd is not /etc/ssh)', ['/etc/hostname', '/etc/sshd'], []],
    ['/home: nothing', ['/home'], []],
  ])('a request reading %s withholds %j', (_name, reads, expected) => {
    expect(paths(pull(reads))).toEqual(expected);
    expect(paths(pull(reads, 'withhold'))).toEqual(expected);
  });

  it('nothing is withheld from a request that names no paths (sftp), nor with secrets: serve on a path the rule only reads', () => {
    expect(paths(pull(undefined))).toEqual([]);
    expect(paths(pull(['/etc'], 'serve'))).toEqual([]);
    // serve never reaches into a writable path: a secret there stays withheld.
    const writing = run({
      sandbox: { read: [], write: ['/etc/ssh'], rootCaps: [...ROOT_CAPS.store], secrets: 'serve', reads: ['/etc/ssh'] },
      read: [],
      write: [{ source: '/etc/ssh', target: '/etc/ssh' }],
    });
    expect(paths(writing)).toEqual(['/etc/ssh']);
  });

  it('withheld: each gets a mode-0000 stand-in on top of the rule’s bind (a file from an empty descriptor, a directory an empty tmpfs), and root runs without CAP_DAC_OVERRIDE', () => {
    const a = bwrapArgs(pull(['/etc']), layout);
    const bind = a.lastIndexOf('/etc');
    const standIns = a.flatMap((arg, i) => (arg === '--perms' ? [a.slice(i, i + 4)] : []));
    expect(standIns).toEqual([
      ['--perms', '0000', '--ro-bind-data', '5'],
      ['--perms', '0000', '--ro-bind-data', '6'],
      ['--perms', '0000', '--tmpfs', '/etc/ssh'],
      ['--perms', '0000', '--tmpfs', '/etc/ssl/private'],
    ]);
    expect(after(a, '--ro-bind-data', 2)).toEqual([
      ['5', '/etc/shadow'],
      ['6', '/etc/gshadow'],
    ]);
    for (const path of ['/etc/shadow', '/etc/ssh']) expect(a.lastIndexOf(path)).toBeGreaterThan(bind);
    expect(after(a, '--cap-add', 1).flat()).toEqual([]);
    expect(standInsNeeded(pull(['/etc']).sandbox, layout)).toBe(2);
    // Not enough descriptors for the files: no sandbox at all rather than a stand-in that opens.
    expect(() => bwrapArgs(pull(['/etc'], undefined, { standInFds: [5] }), layout)).toThrow(/no descriptor/);
  });

  it('control: a request beside the secrets keeps today’s covers (/dev/null, an empty tmpfs) and CAP_DAC_OVERRIDE', () => {
    const a = bwrapArgs(pull(['/etc/hostname']), layout);
    expect(a).not.toContain('--perms');
    expect(after(a, '--ro-bind', 2).filter(([, p]) => p === '/etc/shadow')).toEqual([
      ['/dev/null', '/etc/shadow'],
      ['/dev/null', '/etc/shadow'],
    ]);
    expect(after(a, '--cap-add', 1).flat()).toEqual(['CAP_DAC_OVERRIDE']);
  });

  it('secrets: serve: the rule’s bind of /etc is left showing them (no cover after it), and root keeps CAP_DAC_OVERRIDE', () => {
    const a = bwrapArgs(pull(['/etc'], 'serve'), layout);
    const bind = a.lastIndexOf('/etc');
    for (const path of ['/etc/shadow', '/etc/ssh']) expect(a.lastIndexOf(path)).toBeLessThan(bind);
    expect(a).not.toContain('--perms');
    expect(after(a, '--cap-add', 1).flat()).toEqual(['CAP_DAC_OVERRIDE']);
  });

  it('a run that withholds stays supervised even under supervise: false (its end record names them; execve could hand bwrap no descriptors)', () => {
    const plan = (reads: string[]) =>
      ({
        kind: 'exec',
        program: '/usr/bin/rsync',
        argv: ['rsync'],
        env: {},
        cwd: '/',
        umask: null,
        timeoutMs: null,
        supervise: false,
        confine: null,
        sandbox: { read: ['/etc'], write: [], rootCaps: [], reads },
      }) as unknown as ExecPlan;
    expect(withholds(plan(['/etc']), layout)).toBe(true);
    expect(withholds(plan(['/etc/hostname']), layout)).toBe(false);
    expect(withholds({ ...plan(['/etc']), sandbox: null }, layout)).toBe(false);
  });

  it('as another account: the same stand-ins (bwrap’s user namespace drops every capability anyway)', () => {
    const a = bwrapArgs(pull(['/etc']), { ...layout, uid: 1000 });
    expect(after(a, '--ro-bind-data', 2)).toHaveLength(2);
    expect(a).not.toContain('--cap-add');
  });
});

describe('sandboxUnavailable', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ssh-dispatch-sandbox-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const procSys = (values: Record<string, string>) => {
    const path = mkdtempSync(join(dir, 'sys-'));
    for (const [file, value] of Object.entries(values)) {
      mkdirSync(join(path, file, '..'), { recursive: true });
      writeFileSync(join(path, file), `${value}\n`);
    }
    return path;
  };

  it('root with bwrap: available (the control)', () => {
    expect(sandboxUnavailable(0, procSys({ 'user/max_user_namespaces': '0' }))).toBeNull();
  });

  it('bwrap missing: unavailable, for root too, and the message says what to install', () => {
    expect(sandboxUnavailable(0, procSys({}), join(dir, 'no-bwrap'))).toMatch(/missing \(install Debian's bubblewrap package\)/);
  });

  it.each([
    ['kernel/unprivileged_userns_clone', '0', /unprivileged_userns_clone = 0/],
    ['user/max_user_namespaces', '0', /max_user_namespaces = 0/],
    ['kernel/apparmor_restrict_unprivileged_userns', '1', /AppArmor/],
  ])('a non-root account with %s = %s: unavailable', (file, value, message) => {
    expect(sandboxUnavailable(1000, procSys({ [file]: value }))).toMatch(message);
  });

  it('a non-root account where user namespaces are on: available', () => {
    expect(
      sandboxUnavailable(
        1000,
        procSys({
          'kernel/unprivileged_userns_clone': '1',
          'user/max_user_namespaces': '1000',
          'kernel/apparmor_restrict_unprivileged_userns': '0',
        }),
      ),
    ).toBeNull();
  });
});

describe('withSandbox: a sandboxed plan on a host that cannot build one', () => {
  const allow = (sandboxed: boolean): Decision =>
    ({
      decision: 'allow',
      rule: { name: 'nightly' },
      plan: {
        kind: 'exec',
        program: '/usr/bin/rsync',
        argv: ['/usr/bin/rsync'],
        env: {},
        cwd: null,
        umask: null,
        timeoutMs: null,
        supervise: true,
        confine: null,
        sandbox: sandboxed ? { read: [], write: ['/srv'], rootCaps: [] } : null,
      },
      words: [],
      trace: [],
    }) as unknown as Decision;

  it('is refused as sandbox-unavailable, with why, and never run unconfined', () => {
    expect(withSandbox(allow(true), () => '/usr/bin/bwrap is missing')).toMatchObject({
      decision: 'deny',
      reason: 'sandbox-unavailable',
      detail: 'rule nightly: /usr/bin/bwrap is missing',
    });
  });

  it('an sftp rule’s plan always runs in it, so it is refused too (found in review: it was allowed, then failed)', () => {
    const files = {
      decision: 'allow',
      rule: { name: 'exchange' },
      plan: { kind: 'files', protocol: 'sftp', policy: {}, scp: null, sandbox: { read: [], write: ['/srv'], rootCaps: [] } },
      words: [],
      trace: [],
    } as unknown as Decision;
    expect(withSandbox(files, () => 'user namespaces are switched off')).toMatchObject({ decision: 'deny', reason: 'sandbox-unavailable' });
  });

  it('an unsandboxed plan, or a host that can: unchanged', () => {
    expect(withSandbox(allow(false), () => 'missing').decision).toBe('allow');
    expect(withSandbox(allow(true), () => null).decision).toBe('allow');
  });
});
