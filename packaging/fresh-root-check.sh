#!/usr/bin/env bash
# Runs inside a fresh Debian 12 root (scripts/deb-fresh-root.sh puts it and the .deb in /src/shared): installs the
# package with apt, which must pull libpq5 and libcurl4 from Debian; a dead port is no-go; a database run against
# a PostgreSQL started here is go; apt-get remove leaves none of the package's files. Ends "fresh root: N passed, N failed".
set -uo pipefail
export DEBIAN_FRONTEND=noninteractive
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "PASS fresh root: $1"; }
bad() { failed=$((failed + 1)); echo "FAIL fresh root: $1"; }
deb=$(ls /src/shared/preflight_*.deb | head -1)
scratch=$(mktemp -d)
chmod 755 "$scratch"

for lib in libpq5 libcurl4; do
  [ "$(dpkg-query -W -f='${db:Status-Status}' "$lib" 2>/dev/null)" = installed ] && echo "note: $lib was already installed"
done
apt-get update -q >/dev/null
if apt-get install -y -q "$deb" >$scratch/apt.log 2>&1; then ok "apt-get install ./$(basename "$deb")"; else bad "apt-get install"; tail -20 $scratch/apt.log; fi
for lib in libpq5 libcurl4; do
  [ "$(dpkg-query -W -f='${db:Status-Status}' "$lib" 2>/dev/null)" = installed ] && ok "$lib installed with it" || bad "$lib not installed"
done
out=$(preflight --version) && ok "preflight --version: $out" || bad "preflight --version"
preflight --target http://127.0.0.1:1 --only port --no-color >$scratch/dead.txt 2>&1
rc=$?
[ "$rc" -eq 1 ] && grep -q 'NO-GO' $scratch/dead.txt && ok "--target http://127.0.0.1:1 is no-go (exit 1)" || { bad "dead port: exit $rc"; cat $scratch/dead.txt; }
man -w preflight >/dev/null 2>&1 && ok "man preflight finds the page" || echo "note: man-db is not installed here (the page is /usr/share/man/man1/preflight.1.gz)"

# A database run: PostgreSQL from Debian, a cluster of our own on a loopback port, a password login over TCP.
if apt-get install -y -q --no-install-recommends postgresql >$scratch/pg-apt.log 2>&1; then
  pgbin=$(ls -d /usr/lib/postgresql/*/bin | tail -1)
  data=$(mktemp -d)
  chown postgres "$data"
  echo secret >$scratch/pw && chown postgres $scratch/pw
  runuser -u postgres -- "$pgbin/initdb" -D "$data/db" -U postgres --pwfile=$scratch/pw -A scram-sha-256 >/dev/null
  runuser -u postgres -- "$pgbin/pg_ctl" -D "$data/db" -o "-c listen_addresses=127.0.0.1 -p 54329 -k $data" -w start >/dev/null
  out=$(preflight --database-url "postgres://postgres:secret@127.0.0.1:54329/postgres" --only database --no-color 2>&1); rc=$?
  if [ "$rc" -eq 0 ] && echo "$out" | grep -q '^GO'; then ok "a database run against PostgreSQL is go"; else bad "database run: exit $rc"; echo "$out"; fi
  runuser -u postgres -- "$pgbin/pg_ctl" -D "$data/db" -m fast -w stop >/dev/null
else
  bad "apt-get install postgresql"; tail -5 $scratch/pg-apt.log
fi

files=$(dpkg -L preflight | while read -r f; do [ -f "$f" ] && echo "$f"; done)
apt-get remove -y -q preflight >/dev/null 2>&1
left=$(for f in $files; do [ -e "$f" ] && echo "$f"; done)
status=$(dpkg-query -W -f='${db:Status-Status}' preflight 2>/dev/null || echo not-installed)
hash -r
if [ -z "$left" ] && [ "$status" != installed ] && ! command -v preflight >/dev/null; then
  ok "apt-get remove leaves none of its $(echo "$files" | wc -l) files (status: $status)"
else
  bad "apt-get remove left: $left (status $status)"
fi
echo "fresh root: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
