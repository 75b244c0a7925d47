/** The --help of the commands that change what keys serve (cli/apply.ts, cli/history.ts). */
export const APPLY_HELP = `Usage: ssh-dispatch apply [--policy PATH] [--message TEXT]

Keys serve the applied policy, never the files as they are: an edit, a typo or a chmod slip
changes nothing until apply. apply loads the policy files as they are now (like check), refuses
on any error or UNSAFE finding of the policy (printed as FILE:LINE; nothing changes), and
otherwise serves them from now on as a new version: the files are kept byte for byte, compiled
for fast connection starts, and recorded with the time, who ran it, their sha256 digest and
what changed from the version served before ("history" lists them, "rollback" returns to one).
Run it as root (or the policy's owner), after "check" and "replay".
--message TEXT  recorded with the version (why it changed)
Exit status: 0 served (or already served), 1 refused or not written (nothing changed).`;

export const ROLLBACK_HELP = `Usage: ssh-dispatch rollback [--policy PATH] [--to VERSION] [--message TEXT]

Serves an earlier version again, as a new version whose files are that version's (the files in
the policy directory are left as they are: "check" then says they differ from what is served).
Without --to: the version served before the current one's files were first applied, so that
rollback, rollback steps back one version at a time. The version passes the same gate as apply
(no error, no UNSAFE finding with this build and this host), else nothing changes.
Exit status: 0 served, 1 refused or nothing to roll back to.`;

export const REAPPLY_HELP = `Usage: ssh-dispatch reapply [--policy PATH] [--adopt]

For upgrades (install.sh and the package run it with the new build): the served version is
compiled again by this build and passes the gate again (no error, no UNSAFE finding), and
connections then read it compiled by this build. Until then a new build compiles the served
version's files at every connection (slower, still served). Nothing served changes either way.
--adopt  when nothing is applied yet: the files as they are become version 1 (an upgrade from a
         build that served the files directly, so that every key served before is served after)
Exit status: 0 re-validated, or nothing applied or no policy; 1 this build refuses the served
version (it stays as it was: fix the policy and apply, or keep the old build).`;

export const HISTORY_HELP = `Usage: ssh-dispatch history [--policy PATH] [--json]

The applied versions, newest first: number, time (UTC), who, what made it (apply, rollback,
adopt), the digest of its files and what it changed from the version before; the served one
is marked. The last line says whether the files as they are now are the served version.
--json  one JSON object per version (docs/audit.md has none of these: they are not audit records);
        {"version": N, "unreadable": true, "served": ...} for one whose record cannot be read
Exit status: 0.`;
