#!/usr/bin/env bash
# DestinationRule connectionPool.tcp.connectTimeout: a connect to an
# endpoint that never answers the SYN fails with ETIMEDOUT after the
# timeout (sockops: TCP_USER_TIMEOUT for the handshake, and a shorter first
# SYN timeout below one second), not after the kernel's ~127 s; without it
# the same connect is still pending after 3 s. A timed-out connect is a
# connect failure for outlier detection. portLevelSettings give one port a
# timeout of its own.
. "$(dirname "$0")/lib.sh"
e2e_init connect_timeout

tb_up n1/c n1/a
cat >"$E2E_TMP/cfg.yaml" <<YAML
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: web, namespace: shop}
spec:
  hosts: [web.shop.internal]
  addresses: [10.96.0.91]
  resolution: STATIC
  ports:
  - {number: 80, name: tcp, protocol: TCP, targetPort: 8080}
  - {number: 81, name: tcp-fast, protocol: TCP, targetPort: 8080}
  - {number: 82, name: tcp-echo, protocol: TCP, targetPort: 8081}
  endpoints: [{address: "$TB_POD_a_IP4"}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: web, namespace: shop}
spec:
  host: web.shop.internal
  trafficPolicy:
    connectionPool: {tcp: {connectTimeout: 1s}}
    outlierDetection: {consecutiveGatewayErrors: 2, baseEjectionTime: 30s}
    portLevelSettings:
    - port: {number: 81}
      connectionPool: {tcp: {connectTimeout: 300ms}}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: slow, namespace: shop}
spec:
  hosts: [slow.shop.internal]
  addresses: [10.96.0.92]
  resolution: STATIC
  ports: [{number: 80, name: tcp, protocol: TCP, targetPort: 8080}]
  endpoints: [{address: "$TB_POD_a_IP4"}]
YAML
serve n1/a a --tcp 8080 --echo 8081
agent_start n1 "$E2E_TMP/cfg.yaml" --max-backends 64 --no-redirect
agent_wait_applied n1
svc() { ctl n1 -o json services | jq -r ".[] | select(.vip == \"$1\" and .port == $2) | $3"; }
assert_eq "$(svc 10.96.0.91 80 .connect_timeout_ms)" 1000 "port 80's timeout in the maps"
assert_eq "$(svc 10.96.0.91 81 .connect_timeout_ms)" 300 "port 81's own timeout"
assert_eq "$(svc 10.96.0.92 80 .connect_timeout_ms)" null "no timeout without a rule"

# An endpoint that answers is reached as before, and stays reachable: the
# handshake's timeout does not outlive the handshake.
expect_reached n1/c 10.96.0.91 80 a
in_pod n1/c -- "$PROBE" rr --duration 2 10.96.0.91 82 >"$E2E_TMP/rr.out" 2>&1 ||
	fail "a connection with a connect timeout broke: $(cat "$E2E_TMP/rr.out")"

# Once established, a connection has the application's TCP_USER_TIMEOUT
# (none) again: with its data unanswered it retransmits on, past the
# handshake's 1 s. (No same-node shortcut: the data must go through TCP.)
"$TESTBED" exec "$E2E_ID" n1/c -- bash -c \
	'exec 3<>/dev/tcp/10.96.0.91/82 && sleep 1 && echo hi >&3 && exec sleep 30' \
	>/dev/null 2>&1 &
held=$!
E2E_PIDS+=($held)
established() { in_pod n1/c -- ss -Htno state established "( dport = :8081 )"; }
for _ in $(seq 40); do [ -n "$(established)" ] && break; sleep 0.05; done
[ -n "$(established)" ] || fail "the held connection did not open"
# From now on the endpoint drops every TCP segment, SYNs included, silently.
in_pod n1/a -- iptables -A INPUT -p tcp -j DROP
sleep 3.5
assert_match "$(established)" 'timer:\(on,' "the held connection, retransmitting 2.5 s after its write"
kill "$held" 2>/dev/null || true
wait "$held" 2>/dev/null || true
log "an established connection keeps no handshake timeout"

# timed_out HOST PORT DEADLINE_MS: the elapsed ms of a connect that failed
# with ETIMEDOUT (sl-probe's own deadline also says ETIMEDOUT: compare the
# time with it).
timed_out()
{
	local out ms
	out=$(dial n1/c --count 1 --first-error --timeout-ms "$3" "$1" "$2") &&
		fail "a connect to $1:$2 succeeded through a SYN drop: $out"
	assert_match "$out" '^error ETIMEDOUT 1$' "connect to $1:$2 did not time out: $out"
	ms=$(awk '$1 == "first_error" { print $3 }' <<<"$out")
	printf '%s' "$ms"
}
for i in 1 2; do
	ms=$(timed_out 10.96.0.91 80 5000)
	log "connectTimeout 1s: ETIMEDOUT after $ms ms"
	[ "$ms" -ge 700 ] && [ "$ms" -le 3000 ] || fail "timed out after $ms ms, expected 0.7-3 s"
done
# Both timeouts were connect failures: two in a row eject the endpoint.
ejections=$(ctl n1 -o json endpoints shop/web |
	jq '[.[] | select(.port == 80) | .members[] | select(.address == "'"$TB_POD_a_IP4"'") | .ejections] | first')
assert_eq "$ejections" 1 "two timed-out connects ejected the endpoint"

ms=$(timed_out 10.96.0.91 81 5000)
log "portLevelSettings connectTimeout 300ms: ETIMEDOUT after $ms ms"
[ "$ms" -ge 200 ] && [ "$ms" -le 900 ] || fail "port 81 timed out after $ms ms, expected 0.2-0.9 s"

# Without connectTimeout the kernel is still sending SYNs at 3 s: the
# probe gives up on its own (and closes the socket).
ms=$(timed_out 10.96.0.92 80 3000)
log "no connectTimeout: still pending after $ms ms (the probe's deadline)"
[ "$ms" -ge 2900 ] || fail "a connect without connectTimeout ended after $ms ms"
agent_stop n1
log ok
