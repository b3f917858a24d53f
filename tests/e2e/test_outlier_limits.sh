#!/usr/bin/env bash
# DestinationRule outlierDetection.maxEjectionPercent and minHealthPercent.
# maxEjectionPercent: an ejection that would make more than that share of a
# service's endpoints ejected at once is refused (the first one always
# happens) and counted. minHealthPercent: while fewer than that share are
# healthy, ejected endpoints take their turns again (Envoy's panic).
. "$(dirname "$0")/lib.sh"
e2e_init outlier_limits

tb_up n1/c n1/a n1/b n1/d n1/e
EPS="$TB_POD_a_IP4 $TB_POD_b_IP4 $TB_POD_d_IP4 $TB_POD_e_IP4"
# svc NAME VIP TARGET-PORT OUTLIER-DETECTION: four endpoints on TARGET-PORT.
svc()
{
	local ep
	cat <<YAML
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: $1, namespace: shop}
spec:
  hosts: [$1.shop.internal]
  addresses: [$2]
  resolution: STATIC
  ports: [{number: 80, name: tcp, protocol: TCP, targetPort: $3}]
  endpoints:
YAML
	for ep in $EPS; do printf '  - {address: "%s"}\n' "$ep"; done
	cat <<YAML
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: $1, namespace: shop}
spec:
  host: $1.shop.internal
  trafficPolicy: {outlierDetection: {$4}}
YAML
}
{
	# Nothing listens on 8080 and 8081: every connect is refused.
	svc cap25 10.96.0.93 8080 'consecutive5xxErrors: 2, baseEjectionTime: 30s, maxEjectionPercent: 25'
	svc cap50 10.96.0.94 8081 'consecutive5xxErrors: 2, baseEjectionTime: 30s, maxEjectionPercent: 50'
	# Only a listens on 8082 and 8083.
	svc panic 10.96.0.95 8082 'consecutive5xxErrors: 1, baseEjectionTime: 30s, maxEjectionPercent: 100, minHealthPercent: 60'
	svc nopanic 10.96.0.96 8083 'consecutive5xxErrors: 1, baseEjectionTime: 30s, maxEjectionPercent: 100'
} >"$E2E_TMP/cfg.yaml"
serve n1/a a --tcp 8082 --tcp 8083
agent_start n1 "$E2E_TMP/cfg.yaml" --max-backends 64
agent_wait_applied n1
od() { ctl n1 -o json services | jq -r ".[] | select(.name == \"$1\") | .outlier_detection.$2"; }
ejections() { ctl n1 -o json endpoints "shop/$1" | jq '[.[] | .members[] | .ejections] | add'; }

# Round robin: each endpoint fails on every 4th connect, so after 8 all
# four have failed twice; the first to reach 2 is ejected, and then...
out=$(dial n1/c --count 8 --timeout-ms 2000 10.96.0.93 80) || true
assert_eq "$(tally "$out" error ECONNREFUSED)" 8 "every connect refused: $out"
# ... with 25% of 4, one ejected already is the cap: the other three are not.
assert_eq "$(ejections cap25)" 1 "maxEjectionPercent 25: endpoints ejected"
assert_eq "$(od cap25 ejections_refused)" 3 "maxEjectionPercent 25: ejections refused"
assert_eq "$(od cap25 max_ejection_percent)" 25 "shown"
log "maxEjectionPercent 25 of 4 endpoints: 1 ejected, 3 ejections refused"
out=$(dial n1/c --count 8 --timeout-ms 2000 10.96.0.94 80) || true
assert_eq "$(tally "$out" error ECONNREFUSED)" 8 "every connect refused: $out"
assert_eq "$(ejections cap50)" 2 "maxEjectionPercent 50: endpoints ejected"
assert_eq "$(od cap50 ejections_refused)" 2 "maxEjectionPercent 50: ejections refused"
log "maxEjectionPercent 50 of 4 endpoints: 2 ejected, 2 ejections refused"

# minHealthPercent 60: after one round b, d and e are ejected (one failure
# each), a alone is healthy: 25% < 60%, so all four take turns again.
for s in panic:10.96.0.95 nopanic:10.96.0.96; do
	out=$(dial n1/c --count 4 --timeout-ms 2000 "${s#*:}" 80) || true
	assert_eq "$(tally "$out" reply a)" 1 "${s%%:*}: one round: $out"
	assert_eq "$(ejections "${s%%:*}")" 3 "${s%%:*}: the three failing ones ejected"
done
out=$(dial n1/c --count 8 --timeout-ms 2000 10.96.0.95 80) || true
assert_eq "$(tally "$out" reply a)" 2 "panic: round robin over all four: $out"
assert_eq "$(tally "$out" error ECONNREFUSED)" 6 "panic: the ejected ones used: $out"
assert_eq "$(od panic panic_connections)" 6 "connections sent to ejected endpoints, counted"
out=$(dial n1/c --count 8 --timeout-ms 2000 10.96.0.96 80) || true
assert_eq "$(tally "$out" reply a)" 8 "without minHealthPercent every connect skips the ejected: $out"
assert_eq "$(od nopanic panic_connections)" 0 "no panic without minHealthPercent"
log "minHealthPercent 60 with 1 of 4 healthy: all four used (6 of 8 to ejected ones); without it all 8 to a"
agent_stop n1
log ok
