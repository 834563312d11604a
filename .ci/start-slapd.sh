#!/usr/bin/env bash
# start-slapd.sh — a throwaway OpenLDAP slapd for syncd's tests, on loopback only.
#
# Idempotent: when our slapd already answers, it only prints the exports.
# It never touches /etc/ldap: cn=config is generated into the state dir with
# slapadd -n0 and slapd is started with -F on it.
#
#   bash .ci/start-slapd.sh              start (or report the running one)
#   eval "$(bash .ci/start-slapd.sh)"    ... and export SYNCD_TEST_LDAP_*
#   RESET=1 bash .ci/start-slapd.sh      stop, wipe the state dir, start fresh
#
# Environment (defaults in brackets):
#   SYNCD_SLAPD_DIR     state dir [/tmp/syncd-slapd]: tls/ (CA + server cert),
#                       slapd.d/ (cn=config), data/, run/ (pid, ldapi socket)
#   SYNCD_SLAPD_PORT    ldap:// port on 127.0.0.1 (StartTLS offered) [3389]
#   SYNCD_SLAPDS_PORT   ldaps:// port on 127.0.0.1 [3636]
#   SYNCD_SLAPD_USER    run slapd as this user instead of root (state dir is chowned)
#
# Directory (TEST-ONLY credentials, never use them anywhere else):
#   suffix   dc=syncd,dc=test
#   admin    cn=admin,dc=syncd,dc=test / syncd-test-admin   (rootdn: no limits, no ACLs)
#   reader   cn=reader,dc=syncd,dc=test / syncd-test-reader (read-only, no size limit)
#   limited  cn=limited,dc=syncd,dc=test / syncd-test-limited (read-only, at most 20
#            entries per search, paged or not: for sizeLimitExceeded tests)
#   everyone else: AD-like limits, 1000 entries per search and per page.
# Overlays on the suffix: syncprov (in-memory session log of 100k changes, so
# delta syncrepl works until slapd restarts) and memberof. No accesslog: it made
# every test write ~7x slower (2,000 adds: 3.8 s with it, 0.5 s without).
# Takes about 1 s from nothing; the apt install (only when slapd is missing) ~15 s.
set -euo pipefail

STATE=${SYNCD_SLAPD_DIR:-/tmp/syncd-slapd}
PORT=${SYNCD_SLAPD_PORT:-3389}
SPORT=${SYNCD_SLAPDS_PORT:-3636}
HOST=127.0.0.1
SUFFIX=dc=syncd,dc=test
ADMIN_DN=cn=admin,$SUFFIX
ADMIN_PW=syncd-test-admin
READER_DN=cn=reader,$SUFFIX
READER_PW=syncd-test-reader
LIMITED_DN=cn=limited,$SUFFIX
LIMITED_PW=syncd-test-limited

PIDFILE=$STATE/run/slapd.pid
LDAPI_URL="ldapi://$(printf '%s' "$STATE/run/ldapi" | sed 's,/,%2F,g')"
URLS="ldap://$HOST:$PORT/ ldaps://$HOST:$SPORT/ $LDAPI_URL"

log() { echo "start-slapd: $*" >&2; }

# ---- packages (a fresh CI machine has none of this) ----
if ! command -v slapd >/dev/null || ! command -v ldapsearch >/dev/null || ! command -v openssl >/dev/null; then
  log "installing slapd ldap-utils openssl"
  # Keep the packaged slapd from starting on 389: policy-rc.d exit 101 = "not allowed".
  added_policy=
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && added_policy=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends slapd ldap-utils openssl >&2 ||
    { apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends slapd ldap-utils openssl >&2; }
  [[ -n $added_policy ]] && rm -f /usr/sbin/policy-rc.d
fi

exports() {
  cat <<OUT
export SYNCD_TEST_LDAP_URL=ldap://$HOST:$PORT
export SYNCD_TEST_LDAPS_URL=ldaps://$HOST:$SPORT
export SYNCD_TEST_LDAP_CA_FILE=$STATE/tls/ca.crt
export SYNCD_TEST_LDAP_BIND_DN=$ADMIN_DN
export SYNCD_TEST_LDAP_BIND_PASSWORD=$ADMIN_PW
export SYNCD_TEST_LDAP_BASE_DN=$SUFFIX
export SYNCD_TEST_LDAP_STATE_DIR=$STATE
OUT
}

pid_alive() { [[ -s $PIDFILE ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }
answers() { ldapsearch -x -H "ldap://$HOST:$PORT" -s base -b "" -LLL namingContexts >/dev/null 2>&1; }

stop_ours() {
  if pid_alive; then
    local pid; pid=$(cat "$PIDFILE"); kill "$pid"
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    log "slapd $pid did not stop"; return 1
  fi
}

if [[ ${RESET:-0} == 1 ]]; then stop_ours; rm -rf "$STATE"; fi
if pid_alive && answers; then log "already up (pid $(cat "$PIDFILE"))"; exports; exit 0; fi

mkdir -p "$STATE"/{tls,slapd.d,data,run}

# ---- TLS: own CA and a server cert for 127.0.0.1 / localhost ----
if [[ ! -s $STATE/tls/server.crt ]]; then
  (
    cd "$STATE/tls"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -keyout ca.key -out ca.crt \
      -subj "/CN=syncd slapd test CA" -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=localhost" 2>/dev/null
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n' > server.ext
    openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
      -extfile server.ext -out server.crt 2>/dev/null
    chmod 600 ca.key server.key
  )
fi

# ---- cn=config and the base entries, generated once ----
if [[ ! -e $STATE/slapd.d/cn=config.ldif ]]; then
  {
    cat <<LDIF
dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: $PIDFILE
olcArgsFile: $STATE/run/slapd.args
olcLogLevel: none
olcTLSCACertificateFile: $STATE/tls/ca.crt
olcTLSCertificateFile: $STATE/tls/server.crt
olcTLSCertificateKeyFile: $STATE/tls/server.key
olcTLSVerifyClient: never

dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb
olcModuleLoad: syncprov
olcModuleLoad: memberof

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

LDIF
    for s in core cosine nis inetorgperson; do cat "/etc/ldap/schema/$s.ldif"; echo; done
    cat <<LDIF
dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend
olcSizeLimit: size.soft=1000 size.hard=1000 size.pr=1000 size.prtotal=unlimited
olcAccess: {0}to dn.base="" by * read
olcAccess: {1}to dn.base="cn=Subschema" by * read

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcAccess: {0}to * by dn.exact=gidNumber=0+uidNumber=0,cn=peercred,cn=external,cn=auth manage by * none

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcSuffix: $SUFFIX
olcDbDirectory: $STATE/data
olcRootDN: $ADMIN_DN
olcRootPW: $ADMIN_PW
olcDbMaxSize: 8589934592
olcDbNoSync: TRUE
olcDbIndex: objectClass eq
olcDbIndex: entryUUID,entryCSN eq
olcDbIndex: uid,mail,employeeNumber eq
olcDbIndex: cn,sn,givenName eq,sub
olcDbIndex: member,memberOf eq
olcLimits: {0}dn.exact="$READER_DN" size=unlimited time=unlimited
olcLimits: {1}dn.exact="$LIMITED_DN" size.soft=20 size.hard=20 size.pr=10 size.prtotal=20
olcAccess: {0}to attrs=userPassword by self write by anonymous auth by * none
olcAccess: {1}to * by self read by users read by * none

dn: olcOverlay={0}syncprov,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcSyncProvConfig
olcOverlay: {0}syncprov
olcSpCheckpoint: 100 10
olcSpSessionlog: 100000

dn: olcOverlay={1}memberof,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcMemberOf
olcOverlay: {1}memberof
olcMemberOfGroupOC: groupOfNames
olcMemberOfMemberAD: member
olcMemberOfMemberOfAD: memberOf
LDIF
  } > "$STATE/config.ldif"
  slapadd -n0 -F "$STATE/slapd.d" -l "$STATE/config.ldif" >/dev/null

  cat > "$STATE/base.ldif" <<LDIF
dn: $SUFFIX
objectClass: dcObject
objectClass: organization
dc: syncd
o: syncd tests

dn: $READER_DN
objectClass: applicationProcess
objectClass: simpleSecurityObject
cn: reader
userPassword: $READER_PW

dn: $LIMITED_DN
objectClass: applicationProcess
objectClass: simpleSecurityObject
cn: limited
userPassword: $LIMITED_PW
LDIF
  # -w writes contextCSN, so syncprov has a cookie baseline from the start.
  slapadd -q -w -F "$STATE/slapd.d" -b "$SUFFIX" -l "$STATE/base.ldif" >/dev/null
fi

# ---- start (slapd daemonizes; its pid lands in $PIDFILE) ----
stop_ours || true   # a stale pid that does not answer
if [[ -n ${SYNCD_SLAPD_USER:-} ]]; then
  chown -R "$SYNCD_SLAPD_USER:" "$STATE"
  slapd -h "$URLS" -F "$STATE/slapd.d" -u "$SYNCD_SLAPD_USER" -g "$(id -gn "$SYNCD_SLAPD_USER")"
else
  slapd -h "$URLS" -F "$STATE/slapd.d"
fi
deadline=$((SECONDS + 20))
until answers; do
  if ((SECONDS >= deadline)); then
    log "slapd did not answer on ldap://$HOST:$PORT within 20 s; run it in the foreground to see why:"
    log "  slapd -d stats -h '$URLS' -F '$STATE/slapd.d'"
    exit 1
  fi
  sleep 0.1
done
log "up (pid $(cat "$PIDFILE")); CA: $STATE/tls/ca.crt"
exports
