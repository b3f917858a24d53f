#!/usr/bin/env bash
# VirtualService tcp routes over DestinationRule subsets: a 90/10 canary
# split over 1,000 connections lands within +-4 points; moving to 0/100
# (blue-green) sends every new connection to the new version at once and
# leaves a connection already open alone.
. "$(dirname "$0")/lib.sh"
e2e_init routes

tb_up n1/c n1/v1a n1/v1b n1/v2
# config V1_WEIGHT V2_WEIGHT
config()
{
	cat <<YAML
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: reviews, namespace: shop}
spec:
  hosts: [reviews.shop.internal]
  addresses: [10.96.0.30]
  resolution: STATIC
  ports: [{number: 80, name: tcp-app, protocol: TCP, targetPort: 8080}, {number: 81, name: tcp-echo, protocol: TCP, targetPort: 8081}]
  endpoints:
  - {address: "$TB_POD_v1a_IP4", labels: {version: v1}}
  - {address: "$TB_POD_v1b_IP4", labels: {version: v1}}
  - {address: "$TB_POD_v2_IP4", labels: {version: v2}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: shop}
spec:
  host: reviews.shop.internal
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: shop}
spec:
  hosts: [reviews.shop.internal]
  tcp:
  - route:
    - {destination: {host: reviews.shop.internal, subset: v1}, weight: $1}
    - {destination: {host: reviews.shop.internal, subset: v2}, weight: $2}
YAML
}
config 90 10 >"$E2E_TMP/cfg.yaml"
for p in v1a v1b v2; do serve "n1/$p" "$p" --tcp 8080 --echo 8081; done
agent_start n1 "$E2E_TMP/cfg.yaml"
agent_wait_applied n1

out=$(dial n1/c --count 1000 10.96.0.30 80)
a=$(tally "$out" reply v1a) b=$(tally "$out" reply v1b) c=$(tally "$out" reply v2)
assert_eq "$((a + b + c))" 1000 "every connection answered"
[ "$c" -ge 60 ] && [ "$c" -le 140 ] || fail "v2 got $c of 1000, expected 100 +- 40"
[ "$a" -ge 400 ] && [ "$b" -ge 400 ] || fail "v1 endpoints unbalanced: $a / $b"
log "90/10: v1a $a, v1b $b, v2 $c"

# An open connection to v1 before the switch.
in_pod n1/c -- "$PROBE" rr --duration 4 10.96.0.30 81 >"$E2E_TMP/rr.out" 2>&1 &
rr=$!
E2E_PIDS+=($rr)
sleep 0.5
config 0 100 >"$E2E_TMP/cfg.new"
mv "$E2E_TMP/cfg.new" "$E2E_TMP/cfg.yaml"
agent_wait_applied n1 2
out=$(dial n1/c --count 200 10.96.0.30 80)
assert_eq "$(tally "$out" reply v2)" 200 "0/100: every new connection to v2"
wait "$rr" || fail "the connection opened before the switch broke: $(cat "$E2E_TMP/rr.out")"
grep -Eq '^rr samples=[1-9]' "$E2E_TMP/rr.out" || fail "no round trips: $(cat "$E2E_TMP/rr.out")"
log "0/100: all new connections on v2, the open one kept"

# Routes that cannot be honoured are refused with their position.
config 90 10 | sed 's/subset: v2}/subset: v3}/' >"$E2E_TMP/cfg.new"
mv "$E2E_TMP/cfg.new" "$E2E_TMP/cfg.yaml"
agent_wait_rejected n1
assert_match "$(status_field n1 .config.error)" \
	"cfg.yaml:[0-9]+: VirtualService shop/reviews: subset v3 of reviews.shop.internal is defined by no DestinationRule" \
	"an unknown subset is an error"
out=$(dial n1/c --count 20 10.96.0.30 80)
assert_eq "$(tally "$out" reply v2)" 20 "the previous routes stay in force"
agent_stop n1
log ok
