#!/usr/bin/env bash
# stop-samba-ad.sh — stops the Samba AD DC started by start-samba-ad.sh, by
# its own pidfile only (the master process; its children exit with it).
#   PURGE=1 bash .ci/stop-samba-ad.sh   also removes the state dir
set -euo pipefail
STATE=${SYNCD_SAMBA_DIR:-/tmp/syncd-samba}
PIDFILE=$STATE/run/samba.pid
if [[ -s $PIDFILE ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
  pid=$(cat "$PIDFILE")
  kill "$pid"
  for _ in $(seq 150); do
    if ! kill -0 "$pid" 2>/dev/null; then echo "stop-samba-ad: stopped $pid" >&2; break; fi
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then echo "stop-samba-ad: $pid still running" >&2; exit 1; fi
else
  echo "stop-samba-ad: not running" >&2
fi
if [[ ${PURGE:-0} == 1 ]]; then rm -rf "$STATE"; fi
