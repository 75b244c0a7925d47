#!/usr/bin/env bash
# scripts/deb-check.sh (npm run deb:check; .ci/run runs it after the tests): builds the Debian
# package, checks it with lintian, installs it INTO THIS SYSTEM with apt-get, serves a forced
# command through a throwaway sshd with the line an admin writes (command="/usr/bin/ssh-dispatch
# --id ..."), then removes and purges it and lists anything it left. Root only.
#
# It refuses to start when ssh-dispatch is known to dpkg or any path the package uses exists
# (/etc/ssh-dispatch, /var/log/ssh-dispatch, ...): an admin's install, policies and logs are never
# touched. Whatever fails, the trap purges the package and removes what this check made (which it
# may: none of it existed before). docs/packaging.md, "The CI check".
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "deb-check: $*" >&2; }
die() { say "FAILED: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "run it as root: it installs the package into this system (and purges it)"
# The end-to-end tests' lock: their guard (test/no-real-paths.ts) fails any test that sees
# /etc/ssh-dispatch or /var/log/ssh-dispatch change, which this check does while it runs.
exec 9>/tmp/ssh-dispatch-e2e.lock
flock 9
PACKAGE=ssh-dispatch
ID=deb-check
POLICY=/etc/ssh-dispatch/policies/deb-check.yaml
OURS=(/etc/ssh-dispatch /var/log/ssh-dispatch /usr/lib/ssh-dispatch /usr/bin/ssh-dispatch /etc/logrotate.d/ssh-dispatch
  /usr/share/doc/ssh-dispatch /usr/share/ssh-dispatch)

# Never over an admin's install: dpkg must not know the package (not even its conffiles), and
# nothing may be where it goes.
status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$PACKAGE" 2>/dev/null || true)
case "$status" in '' | 'un '* | 'pn '*) ;; *) die "dpkg knows $PACKAGE here (status '$status'): refusing to install over it" ;; esac
for path in "${OURS[@]}"; do
  if [ -e "$path" ] || [ -L "$path" ]; then die "$path exists and is not this check's: refusing to install over it"; fi
done

work=$(mktemp -d /tmp/ssh-dispatch-deb-check.XXXXXX)
touched=no # set once apt-get ran: from then on the trap purges
cleanup() {
  local rc=$?
  if [ "$touched" = yes ]; then
    dpkg --purge "$PACKAGE" >/dev/null 2>&1 || say "cleanup: dpkg --purge $PACKAGE failed"
    # None of these existed before (checked above): what is left is this check's.
    rm -rf -- "${OURS[@]}"
  fi
  rm -rf -- "$work"
  [ "$rc" = 0 ] && say "passed" || say "failed (exit $rc); the system is as before"
}
trap cleanup EXIT

APT=(apt-get -o "DPkg::Lock::Timeout=${SETUP_APT_LOCK_TIMEOUT:-600}")
apt() { DEBIAN_FRONTEND=noninteractive bash scripts/apt-wait.sh "${SETUP_APT_LOCK_TIMEOUT:-600}" "${APT[@]}" "$@"; }

say "building the package (npm run deb)"
npm run --silent deb -- --out "$work/out"
deb=$(ls "$work"/out/"$PACKAGE"_*.deb)
# postinst runs `ssh-dispatch reapply` (issue 27): a build without it cannot be configured.
node_modules/.bin/node dist/ssh-dispatch.cjs reapply --help >/dev/null 2>&1 ||
  die "this build has no 'ssh-dispatch reapply', which the package's postinst runs: its configure step would fail"
if command -v lintian >/dev/null; then
  say "lintian $(basename "$deb")"
  lintian_rc=0
  lintian --fail-on error "$deb" >"$work/lintian" 2>&1 || lintian_rc=$?
  grep -v '^running with root privileges' "$work/lintian" >&2 || true
  [ "$lintian_rc" = 0 ] || die "lintian reports errors (above; docs/packaging.md, \"lintian\")"
  lintian --profile ubuntu --fail-on error "$deb" >"$work/lintian" 2>&1 || die "lintian --profile ubuntu reports errors: $(cat "$work/lintian")"
else
  say "lintian is missing (scripts/setup.sh test installs it): not checked"
fi

# What the package holds: after purge none of it may be left, except directories others share
# (/usr/share/man/man8, /etc/logrotate.d), which existed before.
dpkg-deb --fsys-tarfile "$deb" | tar -t | sed -e 's|^\./|/|' -e 's|/$||' | grep -v '^/$' >"$work/contents"
while IFS= read -r path; do
  if [ -e "$path" ] || [ -L "$path" ]; then echo "$path"; fi
done <"$work/contents" >"$work/before"

say "apt-get install $deb"
touched=yes
apt install -y -q --no-install-recommends "$deb"

say "installed: checking files"
[ "$(stat -c '%a %U %G' /var/log/ssh-dispatch)" = "2750 root adm" ] || die "/var/log/ssh-dispatch is $(stat -c '%a %U %G' /var/log/ssh-dispatch), not 2750 root adm"
[ -z "$(ls -A /etc/ssh-dispatch/policies)" ] || die "/etc/ssh-dispatch/policies is not empty after install: $(ls -A /etc/ssh-dispatch/policies)"
say "runtime: $(readlink /usr/lib/ssh-dispatch/runtime) ($(/usr/lib/ssh-dispatch/runtime --version))"
/usr/bin/ssh-dispatch --version >&2
# The file trigger on /usr/bin/node (a nodejs install, upgrade or removal) picks the runtime again.
rm /usr/lib/ssh-dispatch/runtime
dpkg-trigger --no-await /usr/bin/node
dpkg --triggers-only --pending
[ -L /usr/lib/ssh-dispatch/runtime ] || die "the trigger on /usr/bin/node did not pick the runtime again"
say "the trigger on /usr/bin/node picks the runtime again: $(readlink /usr/lib/ssh-dispatch/runtime)"
MANPAGER=cat MANWIDTH=80 man ssh-dispatch 2>/dev/null | grep -q 'ssh-dispatch' || die "man ssh-dispatch does not render"
MANPAGER=cat MANWIDTH=80 man 5 ssh-dispatch-policy 2>/dev/null | grep -q 'ssh-dispatch' || die "man 5 ssh-dispatch-policy does not render"
say "man ssh-dispatch and man 5 ssh-dispatch-policy render"

say "a policy in /etc/ssh-dispatch/policies, checked and applied"
cat >"$POLICY" <<EOF
version: 1
identities:
  $ID:
    rules:
      - name: hello
        exec:
          command: "echo deb-check-ok"
          program: /bin/echo
EOF
chmod 0644 "$POLICY"
/usr/bin/ssh-dispatch check >&2
if /usr/bin/ssh-dispatch apply --help >/dev/null 2>&1; then
  /usr/bin/ssh-dispatch apply >&2
else
  say "this build has no 'apply': keys serve the policy files as they are"
fi

say "a forced-command session through a throwaway sshd on 127.0.0.1"
node_modules/.bin/node scripts/run-ts.mjs scripts/deb-session.ts "$ID" 'echo deb-check-ok' $'deb-check-ok\n' 'cat /etc/shadow' >&2
grep -q "\"$ID\"" /var/log/ssh-dispatch/audit.jsonl || die "no record of $ID in /var/log/ssh-dispatch/audit.jsonl"
say "audit log: $(grep -c "\"$ID\"" /var/log/ssh-dispatch/audit.jsonl) records of $ID"

say "installed again (what an upgrade runs: postinst re-validates the applied policy), still served"
apt install --reinstall -y -q --no-install-recommends "$deb"
node_modules/.bin/node scripts/run-ts.mjs scripts/deb-session.ts "$ID" 'echo deb-check-ok' $'deb-check-ok\n' 'cat /etc/shadow' >&2

if [ -d /etc/ssh-dispatch/policies/.ssh-dispatch-applied ]; then
  # A build that refuses the applied version must fail the configure step loudly. Stood in for by
  # an applied file made group-writable (reapply refuses a version it cannot trust), and undone.
  say "an applied version this build refuses: configure must fail, loudly"
  src=$(find /etc/ssh-dispatch/policies/.ssh-dispatch-applied -path '*/src/*' -type f | head -n 1)
  [ -n "$src" ] || die "no applied policy file under /etc/ssh-dispatch/policies/.ssh-dispatch-applied (its layout changed?)"
  chmod g+w "$src"
  if apt install --reinstall -y -q --no-install-recommends "$deb" >"$work/refused" 2>&1; then
    die "apt-get install succeeded although this build refuses the applied policy"
  fi
  grep -q 'this build REFUSES the applied policy' "$work/refused" || die "no clear refusal from postinst: $(cat "$work/refused")"
  grep -F -e 'REFUSES' -e 'refused' -e 'ssh-dispatch apply' "$work/refused" >&2
  chmod g-w "$src"
  dpkg --configure "$PACKAGE" >&2 # the control: the same step passes once the policy is trusted again
  say "refused, then configured once the applied version passes again"
fi

say "apt-get remove: policies, logs and the logrotate conffile are kept"
apt remove -y -q "$PACKAGE"
for kept in "$POLICY" /var/log/ssh-dispatch/audit.jsonl /etc/logrotate.d/ssh-dispatch; do
  [ -e "$kept" ] || die "$kept is gone after remove"
done
for gone in /usr/bin/ssh-dispatch /usr/lib/ssh-dispatch; do
  if [ -e "$gone" ] || [ -L "$gone" ]; then die "$gone is still there after remove: $(ls -la "$gone")"; fi
done

say "apt-get purge: nothing the package made is left; the admin's policy file is kept"
apt purge -y -q "$PACKAGE"
[ -z "$(dpkg-query -W -f='${db:Status-Abbrev}' "$PACKAGE" 2>/dev/null | grep -v '^[up]n')" ] || die "dpkg still knows $PACKAGE after purge"
[ -e "$POLICY" ] || die "purge removed the admin's policy file $POLICY"
rm -f -- "$POLICY" # the admin's (this check's): purge keeps it
rmdir /etc/ssh-dispatch/policies /etc/ssh-dispatch 2>/dev/null ||
  die "left in /etc/ssh-dispatch after purge: $(find /etc/ssh-dispatch -mindepth 1 | tr '\n' ' ')"
left=()
for path in "${OURS[@]}"; do
  if [ -e "$path" ] || [ -L "$path" ]; then left+=("$path"); fi
done
while IFS= read -r path; do
  if { [ -e "$path" ] || [ -L "$path" ]; } && ! grep -qxF -- "$path" "$work/before"; then left+=("$path"); fi
done <"$work/contents"
[ "${#left[@]}" = 0 ] || die "left after purge: ${left[*]}"
say "after purge: nothing of the package is left"
touched=no
