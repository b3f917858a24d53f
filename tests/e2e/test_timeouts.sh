#!/usr/bin/env bash
# DestinationRule connectionPool.tcp.idleTimeout and maxConnectionDuration,
# enforced from the kernel side: an idle connection is reset and a busy one
# is not; a connection older than the maximum is reset however busy.
# (--no-redirect: sockets in the same-node shortcut move data without
# packets and are never judged idle; see the README.)
. "$(dirname "$0")/lib.sh"
e2e_init timeouts

tb_up n1/c n1/a
# config TCP-POOL-SETTINGS
config()
{
	cat <<YAML
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: web, namespace: shop}
spec:
  hosts: [web.shop.internal]
  addresses: [10.96.0.80]
  resolution: STATIC
  ports: [{number: 81, name: tcp-echo, protocol: TCP, targetPort: 8081}]
  endpoints: [{address: "$TB_POD_a_IP4"}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: web, namespace: shop}
spec:
  host: web.shop.internal
  trafficPolicy: {connectionPool: {tcp: {$1}}}
YAML
}
config 'idleTimeout: 1s' >"$E2E_TMP/cfg.yaml"
serve n1/a a --echo 8081
agent_start n1 "$E2E_TMP/cfg.yaml" --no-redirect
agent_wait_applied n1
established() { in_pod n1/c -- ss -Htn state established "( dport = :8081 )" | wc -l; }
counter() { ctl n1 -o json services | jq ".[0].$1"; }

# An idle connection (a process holding it without a byte) and a busy one.
"$TESTBED" exec "$E2E_ID" n1/c -- bash -c \
	'exec 3<>/dev/tcp/10.96.0.80/81 && exec sleep 30' >/dev/null 2>&1 &
idle=$!
E2E_PIDS+=($idle)
"$TESTBED" exec "$E2E_ID" n1/c -- "$PROBE" rr --duration 4 10.96.0.80 81 >"$E2E_TMP/busy.out" 2>&1 &
busy=$!
E2E_PIDS+=($busy)
for _ in $(seq 40); do [ "$(established)" = 2 ] && break; sleep 0.05; done
assert_eq "$(established)" 2 "both connections open"
for _ in $(seq 80); do [ "$(counter idle_closed)" -ge 1 ] && break; sleep 0.05; done
assert_eq "$(counter idle_closed)" 1 "the idle connection was reset"
assert_eq "$(established)" 1 "the busy one is still open"
wait "$busy" || fail "the busy connection broke: $(cat "$E2E_TMP/busy.out")"
grep -Eq '^rr samples=[1-9]' "$E2E_TMP/busy.out" || fail "busy: $(cat "$E2E_TMP/busy.out")"
kill "$idle" 2>/dev/null || true
wait "$idle" 2>/dev/null || true
log "idleTimeout 1s: the idle connection reset, the busy one kept"

config 'maxConnectionDuration: 2s' >"$E2E_TMP/cfg.new"
mv "$E2E_TMP/cfg.new" "$E2E_TMP/cfg.yaml"
agent_wait_applied n1 2
start=$(date +%s%N)
rc=0
in_pod n1/c -- "$PROBE" rr --duration 10 10.96.0.80 81 >"$E2E_TMP/old.out" 2>&1 || rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
[ "$rc" -ne 0 ] || fail "a 10 s connection outlived maxConnectionDuration 2s: $(cat "$E2E_TMP/old.out")"
[ "$ms" -ge 1800 ] && [ "$ms" -le 4500 ] || fail "reset after $ms ms, expected 2-3.5 s"
assert_eq "$(counter aged_closed)" 1 "counted"
log "maxConnectionDuration 2s: reset after $ms ms"

# tcpKeepalive: set on the client socket as it connects.
config 'tcpKeepalive: {time: 30s, interval: 5s, probes: 3}' >"$E2E_TMP/cfg.new"
mv "$E2E_TMP/cfg.new" "$E2E_TMP/cfg.yaml"
agent_wait_applied n1 3
"$TESTBED" exec "$E2E_ID" n1/c -- bash -c \
	'exec 3<>/dev/tcp/10.96.0.80/81 && exec sleep 30' >/dev/null 2>&1 &
held=$!
E2E_PIDS+=($held)
for _ in $(seq 40); do [ "$(established)" = 1 ] && break; sleep 0.05; done
timers=$(in_pod n1/c -- ss -Htno state established "( dport = :8081 )")
assert_match "$timers" "timer:\(keepalive,(29|30)" "keepalive armed at 30 s: $timers"
kill "$held" 2>/dev/null || true
wait "$held" 2>/dev/null || true
log "tcpKeepalive: the client socket probes after 30 s idle"
agent_stop n1
log ok
