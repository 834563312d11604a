#!/usr/bin/env bash
# stop-slapd.sh — stops the slapd started by start-slapd.sh, by its own pidfile only.
#   PURGE=1 bash .ci/stop-slapd.sh   also removes the state dir
set -euo pipefail
STATE=${SYNCD_SLAPD_DIR:-/tmp/syncd-slapd}
PIDFILE=$STATE/run/slapd.pid
if [[ -s $PIDFILE ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
  pid=$(cat "$PIDFILE")
  kill "$pid"
  for _ in $(seq 100); do
    if ! kill -0 "$pid" 2>/dev/null; then echo "stop-slapd: stopped $pid" >&2; break; fi
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then echo "stop-slapd: $pid still running" >&2; exit 1; fi
else
  echo "stop-slapd: not running" >&2
fi
if [[ ${PURGE:-0} == 1 ]]; then rm -rf "$STATE"; fi
