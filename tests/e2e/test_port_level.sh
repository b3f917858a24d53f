#!/usr/bin/env bash
# DestinationRule trafficPolicy.portLevelSettings: settings for one service
# port replace the rule's own sections for that port only. Here the rule
# balances by LEAST_REQUEST without a cap; port 81 has its own
# connectionPool (maxConnections 1) and loadBalancer (ROUND_ROBIN).
. "$(dirname "$0")/lib.sh"
e2e_init port_level

tb_up n1/c n1/a n1/b
cat >"$E2E_TMP/cfg.yaml" <<YAML
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: db, namespace: shop}
spec:
  hosts: [db.shop.internal]
  addresses: [10.96.0.97]
  resolution: STATIC
  ports:
  - {number: 80, name: tcp-a, protocol: TCP, targetPort: 8080}
  - {number: 81, name: tcp-b, protocol: TCP, targetPort: 8081}
  endpoints: [{address: "$TB_POD_a_IP4"}, {address: "$TB_POD_b_IP4"}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: db, namespace: shop}
spec:
  host: db.shop.internal
  trafficPolicy:
    loadBalancer: {simple: LEAST_REQUEST}
    portLevelSettings:
    - port: {number: 81}
      connectionPool: {tcp: {maxConnections: 1}}
      loadBalancer: {simple: ROUND_ROBIN}
YAML
for p in a b; do serve "n1/$p" "$p" --tcp 8080 --tcp 8081; done
agent_start n1 "$E2E_TMP/cfg.yaml" --max-backends 64
agent_wait_applied n1
svc() { ctl n1 -o json services | jq -r ".[] | select(.port == $1) | .$2"; }
assert_eq "$(svc 81 max_connections)" 1 "port 81: its own pool"
assert_eq "$(svc 80 max_connections)" null "port 80: the rule's, without a cap"

# hold PORT: one more connection to PORT that stays open.
hold()
{
	"$TESTBED" exec "$E2E_ID" n1/c -- bash -c \
		"exec 3<>/dev/tcp/10.96.0.97/$1 && exec sleep 60" >/dev/null 2>&1 &
	E2E_PIDS+=($!)
}
# held TARGET-PORT [ADDRESS]: open connections to it.
held()
{
	in_pod n1/c -- ss -Htn state established "( dport = :$1 ${2:+and dst $2} )" | wc -l
}
wait_held()
{
	for _ in $(seq 100); do [ "$(held "$1")" -ge "$2" ] && return 0; sleep 0.05; done
	fail "only $(held "$1") of $2 connections to $1 open"
}

# Port 81: one place per endpoint. Two held connections fill both; the
# next one is refused at once.
hold 81
wait_held 8081 1
hold 81
wait_held 8081 2
expect_refused n1/c 10.96.0.97 81
assert_match "$(svc 81 pool_full)" '^[1-9]' "port 81's refusals counted"
log "port 81 (maxConnections 1): a third connection refused"

# Port 80: no cap, least request. One held connection makes its endpoint
# the busier one: every new connection goes to the other (round robin
# would alternate), and three held at once are fine.
hold 80
wait_held 8080 1
busy=a
[ "$(held 8080 "$TB_POD_a_IP4")" = 1 ] || busy=b
idle=a
[ "$busy" = a ] && idle=b
# Paced, so that each short connection has closed before the next one.
out=$(dial n1/c --count 6 --interval-ms 50 --timeout-ms 2000 10.96.0.97 80) ||
	fail "port 80 refused a connection: $out"
assert_eq "$(tally "$out" reply "$idle")" 6 "port 80: every new connection to the idle endpoint: $out"
hold 80
hold 80
wait_held 8080 3
assert_eq "$(svc 80 pool_full)" 0 "port 80 refused nothing"
log "port 80 (LEAST_REQUEST, no cap): 6 of 6 new connections to the idle endpoint, 3 held"
agent_stop n1
log ok
