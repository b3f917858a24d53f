#!/usr/bin/env bash
# DestinationRule outlierDetection: an endpoint whose connects fail (here:
# nothing listens, every SYN is refused) is ejected after N consecutive
# failures, gets no new connection while ejected, is readmitted when its
# ejection time is up, and is ejected for longer the next time.
. "$(dirname "$0")/lib.sh"
e2e_init outlier

tb_up n1/c n1/a n1/b
cat >"$E2E_TMP/cfg.yaml" <<YAML
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: web, namespace: shop}
spec:
  hosts: [web.shop.internal]
  addresses: [10.96.0.90]
  resolution: STATIC
  ports: [{number: 80, name: tcp, protocol: TCP, targetPort: 8080}]
  endpoints: [{address: "$TB_POD_a_IP4"}, {address: "$TB_POD_b_IP4"}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: web, namespace: shop}
spec:
  host: web.shop.internal
  trafficPolicy:
    outlierDetection: {consecutive5xxErrors: 3, interval: 1s, baseEjectionTime: 2s}
YAML
serve n1/a a --tcp 8080		# b serves nothing: its connects are refused
agent_start n1 "$E2E_TMP/cfg.yaml" --max-backends 64
agent_wait_applied n1
ep() { ctl n1 -o json endpoints shop/web | jq ".[] | .members[] | select(.address == \"$1\") | .$2" | head -1; }

out=$(dial n1/c --count 20 --timeout-ms 2000 10.96.0.90 80) || true
assert_eq "$(tally "$out" reply a)" 17 "after 3 failures every connection goes to a: $out"
assert_eq "$(tally "$out" error ECONNREFUSED)" 3 "exactly 3 failures at b"
assert_eq "$(ep "$TB_POD_b_IP4" ejections)" 1 "b ejected once"
[ "$(ep "$TB_POD_b_IP4" ejected_for_ms)" -gt 0 ] || fail "b not shown as ejected"
assert_eq "$(ep "$TB_POD_a_IP4" ejections)" 0 "a never ejected"
log "ejected after 3 consecutive failures"

sleep 2.2
assert_eq "$(ep "$TB_POD_b_IP4" ejected_for_ms)" 0 "b's ejection is over"
out=$(dial n1/c --count 6 --timeout-ms 2000 10.96.0.90 80) || true
assert_eq "$(tally "$out" error ECONNREFUSED)" 3 "readmitted b got connections again: $out"
assert_eq "$(ep "$TB_POD_b_IP4" ejections)" 2 "and is ejected again"
[ "$(ep "$TB_POD_b_IP4" ejected_for_ms)" -gt 2500 ] || fail "the second ejection is not longer"
log "readmitted after baseEjectionTime, ejected for twice as long the next time"
agent_stop n1
log ok
