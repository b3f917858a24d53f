#!/usr/bin/env bash
# DestinationRule connectionPool.tcp.maxConnections: at most N active
# connections to each endpoint from this node. The 6th against a cap of 5
# is refused at once (ECONNREFUSED), or goes to another endpoint with room;
# a closed connection gives its place back.
. "$(dirname "$0")/lib.sh"
e2e_init pool

tb_up n1/c n1/a n1/b
# config MAX ENDPOINT...
config()
{
	local max=$1 ep
	shift
	cat <<YAML
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: db, namespace: shop}
spec:
  hosts: [db.shop.internal]
  addresses: [10.96.0.50]
  resolution: STATIC
  ports: [{number: 81, name: tcp-echo, protocol: TCP, targetPort: 8081}, {number: 80, name: tcp, protocol: TCP, targetPort: 8080}]
  endpoints:
YAML
	for ep in "$@"; do printf '  - {address: "%s"}\n' "$ep"; done
	cat <<YAML
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: db, namespace: shop}
spec:
  host: db.shop.internal
  trafficPolicy: {connectionPool: {tcp: {maxConnections: $max}}}
YAML
}
config 5 "$TB_POD_a_IP4" >"$E2E_TMP/cfg.yaml"
for p in a b; do serve "n1/$p" "$p" --tcp 8080 --echo 8081; done
# Few backends: the test reads the whole backend state array often.
agent_start n1 "$E2E_TMP/cfg.yaml" --max-backends 64
agent_wait_applied n1

# hold N: N more connections that stay open (until release), each in a
# client of its own; returns once they all hold their place.
HOLDS=()
hold()
{
	local i want=$(( ${#HOLDS[@]} + $1 ))
	for i in $(seq "$1"); do
		"$TESTBED" exec "$E2E_ID" n1/c -- "$PROBE" rr --duration 60 10.96.0.50 81 \
			>"$E2E_TMP/hold-${#HOLDS[@]}.out" 2>&1 &
		HOLDS+=($!)
		E2E_PIDS+=($!)
	done
	for _ in $(seq 100); do
		[ "$(active)" -ge "$want" ] && return 0
		sleep 0.05
	done
	fail "only $(active) of $want connections hold a place"
}
release()
{
	kill "${HOLDS[@]}" 2>/dev/null || true
	wait "${HOLDS[@]}" 2>/dev/null || true	# killed: not a failure
	HOLDS=()
}
active()
{
	bpftool -j map dump pinned "$(bpffs_of n1)/maps/sluice_backend_state" |
		jq '[.[].formatted.value.active] | add'
}

# one_more: one more connection to the capped port; prints the outcome.
one_more()
{
	local start rc=0
	start=$(date +%s%N)
	in_pod n1/c -- "$PROBE" rr --duration 0.2 10.96.0.50 81 >"$E2E_TMP/one.out" 2>&1 || rc=$?
	echo "rc=$rc ms=$((($(date +%s%N) - start) / 1000000)) $(tr '\n' ' ' <"$E2E_TMP/one.out")"
}

hold 5
assert_eq "$(active)" 5 "5 places taken"
out=$(one_more)
assert_match "$out" "^rc=[1-9].*(refused|ECONNREFUSED)" "the 6th is refused"
ms=$(sed -n 's/.* ms=\([0-9]*\) .*/\1/p' <<<"$out")
# The client's own start-up is in ms; the refusal itself is at connect.
[ "$ms" -lt 1000 ] || fail "the refusal took $ms ms"
assert_eq "$(ctl n1 -o json services | jq '[.[] | select(.port == 81) | .pool_full] | add')" 1 \
	"the refusal counted"
grep -q 'limit: refused TCP connection to 10.96.0.50:81 (service shop/db): every endpoint' \
	"$E2E_TMP/agent-n1.log" || fail "no pool-full event"
out=$(dial n1/c --count 5 10.96.0.50 80)
assert_eq "$(tally "$out" reply a)" 5 "another port of the endpoint has its own places"
log "maxConnections 5 holds the 6th"

release
for _ in $(seq 40); do [ "$(active)" = 0 ] && break; sleep 0.05; done
assert_eq "$(active)" 0 "closed connections gave their places back"
assert_match "$(one_more)" "^rc=0 " "a new connection passes again"
log "places given back on close"

# Two endpoints, 2 places each: the full one is skipped for one with room.
config 2 "$TB_POD_a_IP4" "$TB_POD_b_IP4" >"$E2E_TMP/cfg.new"
mv "$E2E_TMP/cfg.new" "$E2E_TMP/cfg.yaml"
agent_wait_applied n1 2
hold 3
assert_match "$(one_more)" "^rc=0 " "the 4th goes to the endpoint with room"
hold 1
assert_eq "$(active)" 4 "all 4 places taken"
assert_match "$(one_more)" "^rc=[1-9]" "the 5th is refused"
release
agent_stop n1
log ok
