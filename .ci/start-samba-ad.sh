#!/usr/bin/env bash
# start-samba-ad.sh — a throwaway Samba AD DC for syncd's tests, on loopback only.
#
# Idempotent: when our DC already answers, it only prints the exports.
# Everything lives in the state dir (smb.conf, sam.ldb, TLS, logs, pid);
# /etc/samba is never read or written.
#
#   bash .ci/start-samba-ad.sh              provision if needed, start
#   eval "$(bash .ci/start-samba-ad.sh)"    ... and export SYNCD_TEST_AD_*
#   RESET=1 bash .ci/start-samba-ad.sh      stop, wipe, provision again
#
# Environment: SYNCD_SAMBA_DIR state dir [/tmp/syncd-samba].
# Samba AD's ports are fixed: LDAP 389, LDAPS 636, Kerberos 88/464, bound
# to 127.0.0.1 (interfaces = lo, bind interfaces only).
#
# Directory (TEST-ONLY credentials):
#   realm AD.SYNCD.TEST, NetBIOS domain SYNCDAD, base DN DC=ad,DC=syncd,DC=test
#   Administrator@AD.SYNCD.TEST / Syncd-Test-Admin1
# Simple binds on plain ldap:// are allowed (ldap server require strong auth =
# no) so tests can use all three modes; LDAPS and StartTLS use our own CA.
#
# Timings on a 2-core box: apt install ~60 s (only when samba is missing),
# provision + start ~8-12 s, restart of a provisioned DC ~1-2 s, no-op 0.1 s.
set -euo pipefail

STATE=${SYNCD_SAMBA_DIR:-/tmp/syncd-samba}
REALM=AD.SYNCD.TEST
DOMAIN=SYNCDAD
BASE_DN=DC=ad,DC=syncd,DC=test
ADMIN_PW=Syncd-Test-Admin1
DC_HOST=dc1
CONF=$STATE/etc/smb.conf
PIDFILE=$STATE/run/samba.pid

log() { echo "start-samba-ad: $*" >&2; }

have_samba() {
  command -v samba >/dev/null && command -v samba-tool >/dev/null && command -v ldapsearch >/dev/null &&
    command -v openssl >/dev/null && [[ -d /usr/share/samba/setup/ad-schema ]] &&
    compgen -G '/usr/lib/*/samba/ldb/samba_dsdb.so' >/dev/null && compgen -G '/usr/lib/*/samba/vfs/acl_xattr.so' >/dev/null
}
if ! have_samba; then
  log "installing samba ldap-utils (about a minute)"
  added_policy=
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && added_policy=1
  fi
  # samba-ad-provision (schema), samba-dsdb-modules and samba-vfs-modules are only
  # "recommends" of samba: without them provisioning fails.
  pkgs=(samba samba-ad-provision samba-dsdb-modules samba-vfs-modules ldap-utils openssl)
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${pkgs[@]}" >&2 ||
    { apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${pkgs[@]}" >&2; }
  [[ -n $added_policy ]] && rm -f /usr/sbin/policy-rc.d
fi

exports() {
  cat <<OUT
export SYNCD_TEST_AD_URL=ldap://127.0.0.1:389
export SYNCD_TEST_AD_LDAPS_URL=ldaps://127.0.0.1:636
export SYNCD_TEST_AD_CA_FILE=$STATE/tls/ca.crt
export SYNCD_TEST_AD_BIND_DN=Administrator@$REALM
export SYNCD_TEST_AD_BIND_PASSWORD=$ADMIN_PW
export SYNCD_TEST_AD_BASE_DN=$BASE_DN
export SYNCD_TEST_AD_SMB_CONF=$CONF
OUT
}

pid_alive() { [[ -s $PIDFILE ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }
answers() { ldapsearch -x -H ldap://127.0.0.1:389 -s base -b "" -LLL defaultNamingContext 2>/dev/null | grep -qi "^defaultNamingContext: $BASE_DN"; }

stop_ours() {
  if pid_alive; then
    local pid; pid=$(cat "$PIDFILE"); kill "$pid"
    for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    log "samba $pid did not stop"; return 1
  fi
}

if [[ ${RESET:-0} == 1 ]]; then stop_ours; rm -rf "$STATE"; fi
if pid_alive && answers; then log "already up (pid $(cat "$PIDFILE"))"; exports; exit 0; fi

# .provisioned is written last: a provision that failed half-way is redone.
if [[ ! -e $STATE/.provisioned ]]; then
  rm -rf "$STATE"
  mkdir -p "$STATE"/{tls,log,run}
  # Our own CA and a server cert valid for 127.0.0.1 and localhost (Samba's
  # self-generated one names only dc1.<realm>).
  (
    cd "$STATE/tls"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -keyout ca.key -out ca.crt \
      -subj "/CN=syncd samba test CA" -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=$DC_HOST.${REALM,,}" 2>/dev/null
    printf 'subjectAltName=DNS:localhost,DNS:%s.%s,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' "$DC_HOST" "${REALM,,}" > server.ext
    openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
      -extfile server.ext -out server.crt 2>/dev/null
    chmod 600 ca.key server.key
  )
  log "provisioning $REALM (about 10 s)"
  if ! samba-tool domain provision --realm="$REALM" --domain="$DOMAIN" --server-role=dc \
      --dns-backend=NONE --backend-store=mdb --backend-store-size=1Gb \
      --adminpass="$ADMIN_PW" --host-name="$DC_HOST" --targetdir="$STATE" \
      --option="interfaces=lo" --option="bind interfaces only=yes" >"$STATE/log/provision.log" 2>&1; then
    tail -20 "$STATE/log/provision.log" >&2
    exit 1
  fi
  # Trim the generated smb.conf to an LDAP + KDC test DC: logs and pid in
  # the state dir, simple bind allowed on ldap://, our TLS files, no fsync.
  sed -i -e '/^\s*server services\s*=/d' -e '/^\s*log file\s*=/d' "$CONF"
  sed -i "/^\[global\]/a\\
\tserver services = ldap, kdc\\
\tlog file = $STATE/log/log.%m\\
\tpid directory = $STATE/run\\
\tldap server require strong auth = no\\
\tldb:nosync = true\\
\ttls enabled = yes\\
\ttls keyfile = $STATE/tls/server.key\\
\ttls certfile = $STATE/tls/server.crt\\
\ttls cafile = $STATE/tls/ca.crt" "$CONF"
  touch "$STATE/.provisioned"
fi

stop_ours || true
mkdir -p "$STATE/run" "$STATE/log"
samba -D -s "$CONF"
deadline=$((SECONDS + 60))
until pid_alive && answers; do
  if ((SECONDS >= deadline)); then
    log "samba did not answer on ldap://127.0.0.1:389 within 60 s; logs in $STATE/log"
    log "  run it in the foreground: samba -i -s $CONF --debuglevel=3"
    exit 1
  fi
  sleep 0.2
done
log "up (pid $(cat "$PIDFILE")); CA: $STATE/tls/ca.crt; samba-tool ... -s $CONF"
exports
