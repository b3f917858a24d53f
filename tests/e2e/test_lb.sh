#!/usr/bin/env bash
# DestinationRule loadBalancer.simple: LEAST_REQUEST sends new connections
# to the endpoint with fewer active connections from this node; RANDOM
# spreads them at random; ROUND_ROBIN (the default) alternates exactly.
. "$(dirname "$0")/lib.sh"
e2e_init lb

tb_up n1/c n1/a n1/b
# config LB
config()
{
	cat <<YAML
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: api, namespace: shop}
spec:
  hosts: [api.shop.internal]
  addresses: [10.96.0.60]
  resolution: STATIC
  ports: [{number: 81, name: tcp-echo, protocol: TCP, targetPort: 8081}, {number: 80, name: tcp, protocol: TCP, targetPort: 8080}]
  endpoints: [{address: "$TB_POD_a_IP4"}, {address: "$TB_POD_b_IP4"}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: api, namespace: shop}
spec:
  host: api.shop.internal
  trafficPolicy: {loadBalancer: {simple: $1}}
YAML
}
config ROUND_ROBIN >"$E2E_TMP/cfg.yaml"
for p in a b; do serve "n1/$p" "$p" --tcp 8080 --echo 8081; done
agent_start n1 "$E2E_TMP/cfg.yaml" --max-backends 64
agent_wait_applied n1

out=$(dial n1/c --count 100 10.96.0.60 80)
assert_eq "$(tally "$out" reply a)/$(tally "$out" reply b)" 50/50 "ROUND_ROBIN alternates"

config LEAST_REQUEST >"$E2E_TMP/cfg.new"
mv "$E2E_TMP/cfg.new" "$E2E_TMP/cfg.yaml"
agent_wait_applied n1 2
actives()
{
	bpftool -j map dump pinned "$(bpffs_of n1)/maps/sluice_backend_state" |
		jq -r '[.[].formatted.value.active | select(. > 0)] | sort | map(tostring) | join(",")'
}
HOLDS=()
for _ in 1 2 3; do
	# A connection to port 80 held open by a process that only sleeps.
	"$TESTBED" exec "$E2E_ID" n1/c -- bash -c \
		'exec 3<>/dev/tcp/10.96.0.60/80 && exec sleep 60' >/dev/null 2>&1 &
	HOLDS+=($!)
	E2E_PIDS+=($!)
done
for _ in $(seq 100); do [ "$(actives)" = "1,2" ] && break; sleep 0.05; done
assert_eq "$(actives)" "1,2" "3 long connections spread 2 and 1"
# Paced, so that each short connection has closed before the next one.
out=$(dial n1/c --count 20 --interval-ms 50 10.96.0.60 80)
a=$(tally "$out" reply a) b=$(tally "$out" reply b)
[ "$a" = 20 ] || [ "$b" = 20 ] || fail "LEAST_REQUEST: 20 short connections split $a/$b, expected all on the less busy endpoint"
log "LEAST_REQUEST: 20 of 20 to the endpoint with 1 active against 2"
kill "${HOLDS[@]}" 2>/dev/null || true
wait "${HOLDS[@]}" 2>/dev/null || true
for _ in $(seq 100); do [ -z "$(actives)" ] && break; sleep 0.05; done
assert_eq "$(actives)" "" "every count given back"

config RANDOM >"$E2E_TMP/cfg.new"
mv "$E2E_TMP/cfg.new" "$E2E_TMP/cfg.yaml"
agent_wait_applied n1 3
# Round robin would split every even run exactly in two: random almost
# never does in all of five (p < 10^-5), and stays near half over 1,000.
a=0 b=0 exact=0
for _ in 1 2 3 4 5; do
	out=$(dial n1/c --count 200 10.96.0.60 80)
	ra=$(tally "$out" reply a) rb=$(tally "$out" reply b)
	[ "$ra" = 100 ] && exact=$((exact + 1))
	a=$((a + ra)) b=$((b + rb))
done
[ "$exact" -lt 5 ] || fail "RANDOM split every run of 200 exactly 100/100: round robin?"
[ $((a + b)) = 1000 ] && [ "$a" -ge 420 ] && [ "$a" -le 580 ] ||
	fail "RANDOM: $a/$b over 1000"
log "RANDOM: $a/$b"
agent_stop n1
log ok
