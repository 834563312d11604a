#!/usr/bin/env bash
# The syncd demo: starts the PingOne emulator on loopback, plans and syncs
# people.csv, then applies a changed export (one rename, one leaver, one
# joiner, one promotion) and shows the second plan and result.
# Needs only Go: `make demo` builds bin/syncd and bin/pingone-emulator first.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin="$root/bin"
work=$(mktemp -d)
port=18089
env_id=5f1a7c3e-0d4b-4a8e-9b2f-6c1d2e3f4a5b

cleanup() {
  if [[ -n "${emu_pid:-}" ]]; then kill "$emu_pid" 2>/dev/null || true; wait "$emu_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n\033[1;34m== %s\033[0m\n' "$*"; }
run() { printf '\033[2m$ %s\033[0m\n' "$*"; "$@"; }

cp "$here/syncd.yaml" "$here/people.csv" "$work/"
export SYNCD_PINGONE_CLIENT_SECRET=demo-secret-not-for-production

step "Start the PingOne emulator on 127.0.0.1:$port"
"$bin/pingone-emulator" -listen "127.0.0.1:$port" -env "$env_id" \
  -client-id syncd-demo -client-secret "$SYNCD_PINGONE_CLIENT_SECRET" \
  -populations "Default,Employees,Contractors" >"$work/emulator.log" 2>&1 &
emu_pid=$!
for _ in $(seq 1 100); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
  sleep 0.1
done

cd "$work"
step "1. Check the config"
run "$bin/syncd" validate --config syncd.yaml

step "2. Plan: what would syncd do? (writes nothing; exit 4 = some records rejected)"
run "$bin/syncd" plan --config syncd.yaml || echo "(exit $?)"

step "3. Sync"
run "$bin/syncd" sync --config syncd.yaml || echo "(exit $?)"

step "4. Sync again: nothing changed, so no write call"
run "$bin/syncd" sync --config syncd.yaml || echo "(exit $?)"

step "5. A new export arrives: a rename, a leaver, a joiner and a promotion"
cp "$here/people-v2.csv" people.csv
run "$bin/syncd" plan --config syncd.yaml || echo "(exit $?)"

step "6. Sync the change"
run "$bin/syncd" sync --config syncd.yaml || echo "(exit $?)"

step "7. Status"
run "$bin/syncd" status --config syncd.yaml

step "Done: the emulator stops now"
