#!/usr/bin/env bash
# scripts/apt-wait.sh SECONDS apt-get ARGS...: runs one apt-get command (scripts/setup.sh gives it
# -o DPkg::Lock::Timeout=SECONDS) so that another apt or dpkg holding a lock makes it wait, at most
# SECONDS, instead of failing. apt-get waits for the dpkg frontend lock itself; `apt-get update`
# on apt 2.6 (Debian 12) does not wait for the lists lock (/var/lib/apt/lists/lock, held by another
# update such as apt-daily), so here it is run again, once a second, until the same deadline.
# When the wait runs out it says which lock and what to do. apt-get's output goes to stderr.
set -uo pipefail

timeout=$1
shift
deadline=$((SECONDS + timeout))
errors=$(mktemp)
trap 'rm -f "$errors"' EXIT

while :; do
  # stderr kept (to tell a lock from other failures) and shown after; stdout to stderr.
  "$@" 2>"$errors" >&2
  status=$?
  cat "$errors" >&2
  [ "$status" -eq 0 ] && exit 0
  if grep -q 'lists/lock' "$errors" && [ "$SECONDS" -lt "$deadline" ]; then
    sleep 1 # apt has no wait for this lock: look again
    continue
  fi
  break
done

if grep -q -e 'Could not get lock' -e 'Unable to acquire the dpkg frontend lock' -e 'Unable to lock' "$errors"; then
  echo "setup: gave up after ${timeout} s waiting for another apt or dpkg to finish (the lock apt-get named above)." >&2
  echo "setup: wait for it (ps -C apt,apt-get,dpkg,unattended-upgr) and run this again, or allow longer: SETUP_APT_LOCK_TIMEOUT=SECONDS." >&2
else
  echo "setup: apt-get failed (exit $status): $*" >&2
fi
exit "$status"
