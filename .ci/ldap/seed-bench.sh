#!/usr/bin/env bash
# seed-bench.sh — load the benchmark fixture ou=bench<N>,dc=syncd,dc=test into
# the test slapd offline (slapadd -q), which takes seconds where online adds
# take minutes (100k: ~7 s offline vs 1.5-6 min online on a busy 2-core box).
#
#   bash .ci/ldap/seed-bench.sh [N ...]     default: 10000 100000
#
# It stops slapd (start-slapd.sh's instance, by pidfile), slapadds the
# generated LDIF and starts it again. The entries are exactly those
# BenchmarkRead in sources/ldapsource would add itself (same attributes,
# same completion marker), so the benchmark finds them and loads nothing.
# A fixture already complete is skipped; a partial one must be cleared with
# RESET=1 bash .ci/start-slapd.sh first.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
STATE=${SYNCD_SLAPD_DIR:-/tmp/syncd-slapd}
SUFFIX=dc=syncd,dc=test
MARKER="syncd test fixture, complete: v1"
eval "$(bash "$here/start-slapd.sh")"

todo=()
for n in "${@:-10000 100000}"; do
  for n in $n; do
    dn="ou=bench$n,$SUFFIX"
    desc=$(ldapsearch -x -LLL -o ldif-wrap=no -H "$SYNCD_TEST_LDAP_URL" -D "$SYNCD_TEST_LDAP_BIND_DN" \
      -w "$SYNCD_TEST_LDAP_BIND_PASSWORD" -s base -b "$dn" description 2>/dev/null | sed -n 's/^description: //p') || true
    if [[ $desc == "$MARKER" ]]; then echo "seed-bench: $dn already loaded" >&2; continue; fi
    if ldapsearch -x -H "$SYNCD_TEST_LDAP_URL" -D "$SYNCD_TEST_LDAP_BIND_DN" -w "$SYNCD_TEST_LDAP_BIND_PASSWORD" \
      -s base -b "$dn" 1.1 >/dev/null 2>&1; then
      echo "seed-bench: $dn exists but is incomplete; run RESET=1 bash .ci/start-slapd.sh first" >&2; exit 1
    fi
    todo+=("$n")
  done
done
((${#todo[@]})) || exit 0

ldif=$STATE/seed-bench.ldif
: > "$ldif"
for n in "${todo[@]}"; do
  # Mirrors benchEntries / testenv.UserEntry in Go.
  awk -v n="$n" -v suffix="$SUFFIX" -v marker="$MARKER" 'BEGIN {
    split("Engineer,Senior Engineer,Manager,Analyst,Director", titles, ",")
    ou = "ou=bench" n "," suffix
    printf "dn: %s\nobjectClass: organizationalUnit\nou: bench%d\ndescription: %s\n\n", ou, n, marker
    for (i = 0; i < n; i++) {
      uid = sprintf("user%06d", i)
      printf "dn: uid=%s,%s\nobjectClass: inetOrgPerson\nuid: %s\ncn: User %d\nsn: User\ngivenName: Test%d\n", uid, ou, uid, i, i
      printf "mail: %s@example.test\nemployeeNumber: %d\ntelephoneNumber: +1 555 %03d %04d\n", uid, i, int(i/10000)%1000, i%10000
      printf "title: %s\ndepartmentNumber: %d\nou: engineering\ndisplayName: Test User %d\n\n", titles[i%5+1], i%50, i
    }
  }' >> "$ldif"
done
start=$SECONDS
bash "$here/stop-slapd.sh"
slapadd -q -F "$STATE/slapd.d" -b "$SUFFIX" -l "$ldif"
rm -f "$ldif"
bash "$here/start-slapd.sh" >/dev/null
echo "seed-bench: loaded ${todo[*]} users offline in $((SECONDS - start)) s" >&2
