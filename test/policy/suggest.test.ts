/** suggest: learned lines → a policy that loads and allows exactly them. */
import { describe, expect, it } from 'vitest';
import { decide } from '../../src/decide/decide.js';
import { suggestPolicy } from '../../src/policy/suggest.js';
import { policyFrom, requestFor } from '../helpers.js';

const helpers = { home: (user: string) => `/home/${user}`, which: (program: string) => (program === 'df' ? '/usr/bin/df' : null) };
const B = '-logDtpre.iLsfxCIvu';

describe('suggest', () => {
  const learned = [
    { command: `rsync --server ${B} . /srv/backup/host1/2026-11-23/`, user: 'backup' },
    { command: `rsync --server ${B} --link-dest /srv/backup/host1/2026-11-23 . /srv/backup/host1/2026-11-24/`, user: 'backup' },
    { command: `rsync --server --sender ${B} . logs/app.log`, user: 'backup' },
    { command: 'df -h /srv', user: 'backup' },
    { command: 'df -h /srv', user: 'backup' },
    { command: 'ls; id', user: 'backup' },
    { command: 'receive x.tar', user: 'backup' },
    { command: 'cat a*b', user: 'backup' },
  ];
  const yaml = suggestPolicy('host1', learned, helpers);
  const policy = policyFrom(yaml);

  it('suggests an rsync rule per direction, rooted at the common directory', () => {
    expect(yaml).toContain('root: "/srv/backup/host1"');
    expect(yaml).toContain('access: write');
    expect(yaml).toContain('absolute-paths: true');
    expect(yaml).toContain('root: "/home/backup/logs"');
    expect(yaml).toContain('access: read');
  });

  it.each(learned.slice(0, 4))('allows the learned $command', ({ command }) => {
    expect(decide(policy, requestFor('host1', command, { client: null, keys: null })).decision).toBe('allow');
  });

  it('refuses what was not learned: --delete over the snapshots, another directory, another word', () => {
    // The learned --link-dest pushes became a snapshot: true rule: a --delete can reach only a new directory.
    expect(yaml).toContain('snapshot: true');
    for (const command of [
      `rsync --server ${B} --delete . /srv/backup/host1/`,
      `rsync --server ${B} . /srv/backup/host2/x/`,
      'df -h /etc',
    ]) {
      const decision = decide(policy, requestFor('host1', command, { client: null, keys: null }));
      // host2 is outside the suggested root: refused, not re-rooted (issue 17).
      expect(decision.decision).toBe('deny');
    }
  });

  it('lists what it could not turn into a rule, and why', () => {
    expect(yaml).toContain('# not suggested (a connection would refuse it: tokenize-operator): ls; id');
    expect(yaml).toContain('# not suggested (write a receive rule for it): receive x.tar');
  });

  it('escapes glob characters so that a learned word stays literal', () => {
    const globby = policyFrom(suggestPolicy('h', [{ command: "cat 'a*b'", user: 'u' }], helpers));
    expect(decide(globby, requestFor('h', "cat 'a*b'")).decision).toBe('allow');
    expect(decide(globby, requestFor('h', "cat 'axxb'")).decision).toBe('deny');
  });

  it('says so when nothing was learned', () => {
    expect(policyFrom(suggestPolicy('h', [], helpers)).identities.get('h')!.rules).toEqual([]);
  });
});

/** What suggest prints is read by a person and pasted into a policy: nothing learned may act as YAML or on a terminal. */
describe('suggest output is data', () => {
  // Every byte that ends a YAML comment or drives a terminal, as a learned command can carry it.
  const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]/;
  const injected = '      - name: evil\n        exec: {command: "sh -c *", program: /bin/sh}';
  const rulesOf = (yaml: string) =>
    policyFrom(yaml)
      .identities.get('h')!
      .rules.map((r) => r.name);

  it.each([
    ['a newline ending a "not suggested" comment', `ls; id\n${injected}`],
    ['a newline in a command that would be an exec rule', `df\n${injected}`],
    ['a carriage return', `df -h /srv\r${injected}`],
    ['ESC sequences', 'df -h \u001b]0;owned\u0007/srv\u001b[2J'],
    ['NEL, LS and PS (line breaks to YAML 1.1 readers)', `df\u0085${injected}\u2028x\u2029`],
    ['a newline in an rsync example', `rsync --server ${B} . /srv/a/\n${injected}`],
  ])('%s: no rule that was not intended, no raw control bytes', (_name, command) => {
    const yaml = suggestPolicy(
      'h',
      [
        { command, user: 'u' },
        { command: `rsync --server ${B} . /srv/b/x/`, user: 'u' },
      ],
      helpers,
    );
    expect(yaml.replace(/\n/g, '')).not.toMatch(CONTROL);
    expect(rulesOf(yaml)).toEqual(['learned-rsync-push']);
    expect(yaml).not.toMatch(/^\s*- name: evil/m);
  });

  it('an identity name is quoted, not pasted', () => {
    const yaml = suggestPolicy('h:\n    rules: [{name: evil, exec: {command: "*", program: /bin/sh}}]\n  x', [], helpers);
    expect(yaml.replace(/\n/g, '')).not.toMatch(CONTROL);
    expect(yaml).not.toMatch(/^\s*rules: \[\{name: evil/m);
  });
});

describe('suggest proposes the right rule kind, or nothing', () => {
  const one = (command: string) => suggestPolicy('h', [{ command, user: 'backup' }], { ...helpers, which: (p: string) => `/usr/bin/${p}` });
  const execPrograms = (yaml: string) =>
    policyFrom(yaml)
      .identities.get('h')!
      .rules.flatMap((r) => (r.kind === 'exec' ? [r.program] : []));

  it.each([
    ['BackupPC: sudo and an absolute rsync', `sudo /usr/bin/rsync --server --sender ${B} . /etc/`],
    ['sudo -n -u root rsync', `sudo -n -u root rsync --server ${B} . /srv/backup/`],
    ['nice -n 19 rsync', `nice -n 19 rsync --server ${B} . /srv/backup/`],
    ['ionice -c 3 rsync', `ionice -c 3 /usr/bin/rsync --server ${B} . /srv/backup/`],
  ])('%s becomes an rsync rule, with a note about the prefix', (_name, command) => {
    const yaml = one(command);
    expect(execPrograms(yaml)).toEqual([]);
    expect(
      policyFrom(yaml)
        .identities.get('h')!
        .rules.map((r) => r.kind),
    ).toEqual(['rsync']);
    expect(yaml).toMatch(/# CHECK: .*(sudo|nice|ionice)/);
  });

  it('an absolute path to rsync alone needs no note', () => {
    const yaml = one(`/usr/bin/rsync --server ${B} . /srv/backup/`);
    expect(
      policyFrom(yaml)
        .identities.get('h')!
        .rules.map((r) => r.kind),
    ).toEqual(['rsync']);
    expect(yaml).not.toMatch(/ran rsync as/);
  });

  it.each([
    ['rsync that is not a server', 'rsync --version', /rsync/],
    ['an rsync by another name', '/opt/bin/rsync-3.4 --server . x', /rsync/],
    ['sudo of anything else', 'sudo cat /etc/shadow', /sudo/],
    [
      'sudo -E rsync (a connection would refuse the spelling)',
      `sudo -E rsync --server ${B} . /srv/backup/`,
      /spelling-refused, sudo: "-E"/,
    ],
    ['sudo -u another account', `sudo -u www-data rsync --server ${B} . /srv/backup/`, /spelling-refused/],
    ['doas rsync', `doas rsync --server ${B} . /srv/backup/`, /spelling-refused/],
    ['a shell', "sh -c 'id'", /shell/],
    ['bash', 'bash', /shell/],
    ['busybox', 'busybox id', /shell/],
    ['an absolute shell', '/bin/dash -s', /shell/],
    ['python3', 'python3 -m http.server', /interpreter/],
    ['perl', 'perl -e 1', /interpreter/],
    ['awk', 'awk 1 /etc/passwd', /interpreter/],
    ['env', 'env id', /runs other programs/],
  ])('%s: no exec rule, and a reason', (_name, command, reason) => {
    const yaml = one(command);
    expect(execPrograms(yaml)).toEqual([]);
    expect(yaml).toMatch(new RegExp(`^# not suggested \\(.*${reason.source}`, 'm'));
  });

  describe('sftp and scp: an sftp rule, never an exec of sftp-server or scp (issue 16: it proposed /usr/bin/internal-sftp)', () => {
    it.each([['internal-sftp'], ['/usr/lib/openssh/sftp-server'], ['/usr/lib/openssh/sftp-server -l INFO']])(
      '%s: an sftp rule with a CHECK note (the subsystem says nothing of where or which way)',
      (command) => {
        const yaml = one(command);
        expect(execPrograms(yaml)).toEqual([]);
        expect(yaml).not.toContain('internal-sftp"');
        expect(yaml).toMatch(/# CHECK: sftp sessions .* do not say which files/);
        expect(yaml).toContain('root: "/srv/sftp/h"');
        expect(yaml).toContain('access: read-write');
        expect(decide(policyFrom(yaml), requestFor('h', command, { client: null, keys: null })).decision).toBe('allow');
      },
    );

    it('legacy scp uploads into a directory: a write rule rooted there; downloads beside them widen it to read-write', () => {
      const up = suggestPolicy(
        'h',
        [
          { command: 'scp -t /srv/in/', user: 'u' },
          { command: 'scp -r -d -t /srv/in', user: 'u' },
        ],
        helpers,
      );
      expect(up).toMatch(/sftp:\n {10}root: "\/srv\/in"\n {10}access: write/);
      const both = suggestPolicy(
        'h',
        [
          { command: 'scp -t /srv/x/in/', user: 'u' },
          { command: 'scp -f /srv/x/out/report.pdf', user: 'u' },
        ],
        helpers,
      );
      expect(both).toMatch(/root: "\/srv\/x"\n {10}access: read-write/);
      for (const command of ['scp -t /srv/x/in/', 'scp -f /srv/x/out/report.pdf'])
        expect(decide(policyFrom(both), requestFor('h', command, { client: null, keys: null })).decision).toBe('allow');
    });

    it('scp with an option the rule refuses (-S) is not learned into anything', () => {
      const yaml = one('scp -S /tmp/x -t /srv/in');
      expect(yaml).not.toContain('sftp:');
    });
  });

  it('one pull among pushes into the same directory: read-write only with a CHECK note naming the pull', () => {
    const yaml = suggestPolicy(
      'h',
      [
        { command: `rsync --server ${B} . /srv/backup/h/a/`, user: 'u' },
        { command: `rsync --server ${B} . /srv/backup/h/b/`, user: 'u' },
        { command: `rsync --server --sender ${B} . /srv/backup/h/secret`, user: 'u' },
      ],
      helpers,
    );
    expect(yaml).toContain('access: read-write');
    expect(yaml).toMatch(
      /# CHECK: access widened to read-write by 1 pull\(s\): rsync --server --sender .* \/srv\/backup\/h\/secret; .*set access: write/,
    );
  });
});

describe('suggest never proposes more than was learned without saying so (found in review)', () => {
  it('a push into host1/ is rooted at host1, not at the directory of every host', () => {
    const yaml = suggestPolicy('h', [{ command: `rsync --server ${B} . /srv/backup/host1/`, user: 'u' }], helpers);
    expect(yaml).toContain('root: "/srv/backup/host1"');
    const policy = policyFrom(yaml);
    expect(decide(policy, requestFor('h', `rsync --server ${B} . /srv/backup/host1/`, { client: null, keys: null })).decision).toBe(
      'allow',
    );
    // Another host's directory is not reachable: refused as outside the rule, never re-rooted into host1.
    expect(decide(policy, requestFor('h', `rsync --server ${B} . /srv/backup/host2/`, { client: null, keys: null }))).toMatchObject({
      decision: 'deny',
      reason: 'rsync-path-outside-rule',
    });
  });

  it('a push into one of a rotating set (2026-11-24/, daily.0/) is rooted at their parent, with a CHECK note', () => {
    for (const dated of ['2026-11-24', 'daily.0']) {
      const yaml = suggestPolicy('h', [{ command: `rsync --server ${B} . /srv/backup/host1/${dated}/`, user: 'u' }], helpers);
      expect(yaml).toContain('root: "/srv/backup/host1"');
      expect(yaml).toContain(`# CHECK: root is the parent of /srv/backup/host1/${dated}, which looks like one of a rotating set`);
    }
  });

  it('a root shared by several learned paths says it is wider than each', () => {
    const yaml = suggestPolicy(
      'h',
      [`/srv/backup/host1/`, `/srv/backup/host2/`].map((dest) => ({ command: `rsync --server ${B} . ${dest}`, user: 'u' })),
      helpers,
    );
    expect(yaml).toMatch(
      /# CHECK: root is the directory the 2 learned paths share, wider than each \(\/srv\/backup\/host1, \/srv\/backup\/host2\)/,
    );
  });

  it('a pull beside pushes, under another root, is a read rule with a CHECK note naming it', () => {
    const yaml = suggestPolicy(
      'h',
      [
        { command: `rsync --server ${B} . /srv/backup/`, user: 'u' },
        { command: `rsync --server --sender ${B} . /srv/backup/host1/etc`, user: 'u' },
      ],
      helpers,
    );
    expect(yaml).toMatch(
      /# CHECK: a read rule proposed beside the pushes: 1 pull\(s\) \(rsync --server --sender .* \/srv\/backup\/host1\/etc\); if this key does not restore, delete this rule\n {6}- name: learned-rsync-pull/,
    );
  });

  it('ACLs and extended attributes learned are named, as delete is', () => {
    const yaml = suggestPolicy('h', [{ command: 'rsync --server -logDtpAXre.iLsfxCIvu . /srv/b/', user: 'u' }], helpers);
    expect(yaml).toContain('# CHECK: the learned lines restore ACLs and extended attributes');
  });
});

describe('suggest: the right kind for what backup tools send (issue 17)', () => {
  const helpers = { home: (user: string) => `/home/${user}`, which: () => null };
  it('rsnapshot’s --relative pulls become root / with paths:, and the learned pulls are allowed with their names', () => {
    const learned = ['/etc/', '/home/', '/etc/ssh/'].map((path) => ({
      command: `rsync --server --sender -logDtprRe.iLsfxCIvu --numeric-ids . ${path}`,
      user: 'root',
    }));
    const yaml = suggestPolicy('host1', learned, helpers);
    expect(yaml).toMatch(/root: "\/"\n {10}access: read\n {10}paths: \["\/etc", "\/home"\]/);
    expect(yaml).toMatch(/# CHECK: --relative pulls/);
    const policy = policyFrom(yaml);
    for (const { command } of learned)
      expect(decide(policy, requestFor('host1', command, { client: null, keys: null })).decision).toBe('allow');
    expect(
      decide(policy, requestFor('host1', 'rsync --server --sender -logDtprRe.iLsfxCIvu . /root/', { client: null, keys: null })),
    ).toMatchObject({ decision: 'deny', reason: 'rsync-path-outside-rule' });
  });
});

describe('suggest: tools restricted by their server side become run: rules (issue 17)', () => {
  const helpers = { home: (user: string) => `/home/${user}`, which: () => null };
  it.each([
    ['borg serve --umask=077 --info', 'borg', '--restrict-to-repository'],
    ['rdiff-backup --server', 'rdiff-backup', '--restrict-path'],
    ['rclone serve restic --stdio ./repo', 'restic', '--append-only'],
  ])('%s: an exec rule with run: and a CHECK note, which allows the learned command', (command, name, fixed) => {
    const yaml = suggestPolicy('host1', [{ command, user: 'backup' }], helpers);
    expect(yaml).toContain(`- name: learned-${name}`);
    expect(yaml).toMatch(new RegExp(`run: \\[.*"${fixed}"`));
    expect(yaml).toMatch(/# CHECK: .* run: fixes them/);
    const decision = decide(policyFrom(yaml), requestFor('host1', command, { client: null, keys: null }));
    expect(decision.decision === 'allow' && decision.plan.kind === 'exec' && decision.plan.argv).toEqual(expect.arrayContaining([fixed]));
    // The recipe's boundary is the sandbox (found in review: suggest proposed what check calls UNSAFE).
    expect(decision.decision === 'allow' && decision.plan.kind === 'exec' && decision.plan.sandbox).toBeTruthy();
  });

  it('rdiff-backup is proposed read-only (a restore key): its server runs client data before any check', () => {
    const yaml = suggestPolicy('host1', [{ command: 'rdiff-backup --server', user: 'backup' }], helpers);
    expect(yaml).not.toContain('update-only');
    expect(yaml).toContain('sandbox: { read: ["/srv/rdiff-backup/host1"], write: [] }');
  });

  it('borg is proposed with its config read-only inside the writable repository', () => {
    const yaml = suggestPolicy('host1', [{ command: 'borg serve --umask=077', user: 'backup' }], helpers);
    expect(yaml).toContain('sandbox: { read: ["/srv/borg/host1/config"], write: ["/srv/borg/host1"] }');
  });
});

describe('suggest: rsync -s requests learned with what they sent on the connection (found in review)', () => {
  it('BackupPC’s pulls become root / with paths:, from the protected arguments', () => {
    const learned = [
      { command: 'rsync --server --sender -slogDtprRe.iLsfxCIvu', user: 'root', protectedArgs: ['rsync', '--numeric-ids', '.', '/etc/'] },
    ];
    const yaml = suggestPolicy('bpc', learned, { home: () => '/root', which: () => null });
    expect(yaml).toMatch(/paths: \["\/etc"\]/);
    expect(
      decide(
        policyFrom(yaml),
        requestFor('bpc', learned[0]!.command, { client: null, keys: null, protectedArgs: learned[0]!.protectedArgs }),
      ).decision,
    ).toBe('allow');
  });
});
