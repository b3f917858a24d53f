#!/usr/bin/env bash
# DestinationRule localityLbSetting against the node's --locality: with
# outlierDetection every new connection goes to the endpoints of the
# node's zone; when they refuse connections and are ejected (in the
# kernel, by sockops) new connections fail over to the other zone at
# once, and come back when the local ones recover and their ejection time
# is up; distribute 80/20 splits 1,000 connections within +-4 points;
# without outlierDetection, or with enabled: false, there is no preference.
. "$(dirname "$0")/lib.sh"
e2e_init locality

tb_up n1/c n1/a1 n1/a2 n1/b1
# config TRAFFIC_POLICY_YAML: a ServiceEntry with two endpoints in the
# node's zone and one in another, a Service whose EndpointSlice gives
# zones only, and a DestinationRule for each with the policy given.
config()
{
	cat <<YAML
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: web, namespace: shop}
spec:
  hosts: [web.shop.internal]
  addresses: [10.96.0.90]
  resolution: STATIC
  ports: [{number: 80, name: tcp, protocol: TCP, targetPort: 8080}]
  endpoints:
  - {address: "$TB_POD_a1_IP4", locality: us-east/zone-a}
  - {address: "$TB_POD_a2_IP4", locality: us-east/zone-a}
  - {address: "$TB_POD_b1_IP4", locality: us-east/zone-b}
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec:
  clusterIP: 10.96.0.91
  ports: [{name: tcp, port: 80, targetPort: 8080}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: api-1, namespace: shop, labels: {kubernetes.io/service-name: api}}
addressType: IPv4
ports: [{name: tcp, port: 8080}]
endpoints:
- {addresses: ["$TB_POD_a1_IP4"], zone: zone-a}
- {addresses: ["$TB_POD_b1_IP4"], zone: zone-b}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: web, namespace: shop}
spec:
  host: web.shop.internal
  trafficPolicy:
$1
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: api, namespace: shop}
spec:
  host: api.shop.svc.cluster.local
  trafficPolicy:
$1
YAML
}
# Writes the configuration and waits for the agent to apply it.
gen=0
apply()
{
	config "$1" >"$E2E_TMP/cfg.new"
	mv "$E2E_TMP/cfg.new" "$E2E_TMP/cfg.yaml"
	gen=$((gen + 1))
	[ "$gen" = 1 ] || agent_wait_applied n1 "$gen"
}
OUTLIER='    outlierDetection: {consecutive5xxErrors: 2, interval: 1s, baseEjectionTime: 2s, maxEjectionPercent: 100}'

declare -A SERVER=()
start_server() { serve "n1/$1" "$1" --tcp 8080; SERVER[$1]=${E2E_PIDS[-1]}; }
stop_server()
{
	kill "${SERVER[$1]}"
	wait "${SERVER[$1]}" 2>/dev/null || true
}
for p in a1 a2 b1; do start_server "$p"; done
apply "$OUTLIER"
agent_start n1 "$E2E_TMP/cfg.yaml" --max-backends 64 --locality us-east/zone-a
agent_wait_applied n1
assert_eq "$(status_field n1 .locality)" us-east/zone-a "the node's locality in the status"
ep() { ctl n1 -o json endpoints "shop/$1" | jq -r ".[] | .members[] | select(.address == \"$2\") | .$3" | head -1; }

# (a) Failover priorities: the node's zone first, for both kinds.
out=$(dial n1/c --count 200 --timeout-ms 2000 10.96.0.90 80)
a1=$(tally "$out" reply a1) a2=$(tally "$out" reply a2) b1=$(tally "$out" reply b1)
assert_eq "$a1/$a2/$b1" 100/100/0 "200 connections on the local zone, round robin within it"
assert_eq "$(ep web "$TB_POD_a1_IP4" locality_priority)" 0 "a1 preferred"
assert_eq "$(ep web "$TB_POD_b1_IP4" locality_priority)" 1 "b1 next"
assert_eq "$(ep web "$TB_POD_b1_IP4" share)" 0 "b1 stands by"
assert_match "$(ctl n1 endpoints shop/web)" "us-east/zone-b +1 +" "the table shows locality and priority"
out=$(dial n1/c --count 20 --timeout-ms 2000 10.96.0.91 80)
assert_eq "$(tally "$out" reply a1)" 20 "an EndpointSlice zone is compared within the node's region"
log "(a) 200/200 connections in the node's zone (a1 $a1, a2 $a2)"

# (b) The local endpoints refuse: ejected after 2 failures each, then
# every new connection goes to the other zone at once.
stop_server a1
stop_server a2
out=$(dial n1/c --count 40 --timeout-ms 2000 10.96.0.90 80) || true
refused=$(tally "$out" error ECONNREFUSED) b1=$(tally "$out" reply b1)
assert_eq "$refused/$b1" 4/36 "4 refusals eject both local endpoints, the rest fail over: $out"
[ "$(ep web "$TB_POD_a1_IP4" ejected_for_ms)" -gt 0 ] || fail "a1 not shown as ejected"
out=$(dial n1/c --count 50 --timeout-ms 2000 10.96.0.90 80)
assert_eq "$(tally "$out" reply b1)" 50 "while the local zone is ejected, all to b1"
log "(b) local zone ejected after $refused refusals: 36 + 50 connections failed over to b1"
start_server a1
start_server a2
sleep 2.2
out=$(dial n1/c --count 20 --timeout-ms 2000 10.96.0.90 80)
a1=$(tally "$out" reply a1) a2=$(tally "$out" reply a2)
assert_eq "$((a1 + a2))" 20 "recovered and readmitted, the local zone takes every connection again: $out"
log "(b) back on the local zone after baseEjectionTime (a1 $a1, a2 $a2)"

# (c) distribute: 80% to the node's zone, 20% to the other.
apply '    loadBalancer:
      localityLbSetting:
        distribute:
        - from: us-east/zone-a/*
          to: {"us-east/zone-a/*": 80, "us-east/zone-b/*": 20}'
out=$(dial n1/c --count 1000 --timeout-ms 2000 10.96.0.90 80)
a1=$(tally "$out" reply a1) a2=$(tally "$out" reply a2) b1=$(tally "$out" reply b1)
assert_eq "$((a1 + a2 + b1))" 1000 "every connection answered"
[ "$((a1 + a2))" -ge 760 ] && [ "$((a1 + a2))" -le 840 ] ||
	fail "the node's zone got $((a1 + a2)) of 1000, expected 800 +- 40"
assert_eq "$(ep web "$TB_POD_b1_IP4" share)" 0.2 "b1's share shown"
log "(c) distribute 80/20: zone-a $((a1 + a2)) (a1 $a1, a2 $a2), zone-b $b1"

# distribute and failover together are refused, naming the field.
config '    loadBalancer:
      localityLbSetting:
        distribute: [{from: "us-east/*", to: {"us-east/*": 100}}]
        failover: [{from: us-east, to: eu-west}]' >"$E2E_TMP/cfg.new"
mv "$E2E_TMP/cfg.new" "$E2E_TMP/cfg.yaml"
agent_wait_rejected n1
assert_match "$(status_field n1 .config.error)" \
	"cfg.yaml:[0-9]+:[0-9]+: spec.trafficPolicy.loadBalancer.localityLbSetting.failover: distribute and failover" \
	"distribute with failover is an error naming the field"

# (d) Without outlierDetection no priorities: all three alike.
apply '    loadBalancer: {simple: ROUND_ROBIN}'
out=$(dial n1/c --count 300 --timeout-ms 2000 10.96.0.90 80)
assert_eq "$(tally "$out" reply a1)/$(tally "$out" reply a2)/$(tally "$out" reply b1)" \
	100/100/100 "without outlierDetection no locality preference"
log "(d) no outlierDetection: 100/100/100"

# enabled: false turns the priorities off even with outlierDetection.
apply "$OUTLIER
    loadBalancer: {localityLbSetting: {enabled: false}}"
out=$(dial n1/c --count 30 --timeout-ms 2000 10.96.0.90 80)
assert_eq "$(tally "$out" reply b1)" 10 "enabled: false, no preference"
log "enabled: false: b1 got 10 of 30"
agent_stop n1
log ok
