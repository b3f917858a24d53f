#!/usr/bin/env bash
# Istio's standard TCP metrics from the kernel's connection counters: known
# traffic from a client pod to a service of two pods of one workload gives
# one source series and one destination series with Istio's labels
# (workloads from the Pod documents), the exact connection and byte counts,
# in /metrics and in a real Prometheus; a refused connect is counted as
# failed; `sluicectl top` shows the service busiest, `sluicectl explain`
# its endpoints with their shares and the limits that apply.
. "$(dirname "$0")/lib.sh"
e2e_init istio-metrics

PROMTOOL=${PROMTOOL:-/usr/bin/promtool}
[ -x "$PROMETHEUS" ] && [ -x "$PROMTOOL" ] || fail "prometheus is not installed (scripts/deps.sh)"
command -v curl >/dev/null || fail "curl is not installed (scripts/deps.sh)"


tb_up n1/c n1/a n1/b
CLIENT=client-7d4b9c8f6-x2x9q
config()
{
	cat <<YAML
apiVersion: v1
kind: Service
metadata: {name: api, namespace: prod}
spec:
  clusterIP: 10.96.7.7
  ports: [{name: tcp, port: 80}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: api-1, namespace: prod, labels: {kubernetes.io/service-name: api}}
addressType: IPv4
ports: [{name: tcp, port: 8080}]
endpoints:
- addresses: [$TB_POD_a_IP4]
- addresses: [$TB_POD_b_IP4]
---
apiVersion: v1
kind: Service
metadata: {name: dead, namespace: prod}
spec:
  clusterIP: 10.96.7.8
  ports: [{name: tcp, port: 80}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: dead-1, namespace: prod, labels: {kubernetes.io/service-name: dead}}
addressType: IPv4
ports: [{name: tcp, port: 9999}]
endpoints:
- addresses: [$TB_POD_a_IP4]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: api, namespace: prod}
spec:
  host: api.prod.svc.cluster.local
  trafficPolicy:
    connectionPool: {tcp: {maxConnections: 100}}
    outlierDetection: {consecutive5xxErrors: 3, baseEjectionTime: 30s}
---
apiVersion: sluice.dev/v1alpha1
kind: TrafficLimit
metadata: {name: api-rate, namespace: prod}
spec:
  services: [{name: api}]
  connectionsPerSecond: 1000
  sources: [{namespaces: [shop]}]
---
apiVersion: sluice.dev/v1alpha1
kind: TrafficLimit
metadata: {name: api-bw, namespace: prod}
spec:
  selector: {matchLabels: {app: api}}
  bandwidth: {ingress: 200M}
---
apiVersion: sluice.dev/v1alpha1
kind: TrafficLimit
metadata: {name: client-bw, namespace: shop}
spec:
  selector: {matchLabels: {app: client}}
  bandwidth: {egress: 100M}
YAML
	pod_doc "$CLIENT" shop client-sa "$TB_POD_c_IP4" \
		'app: client, version: v1, pod-template-hash: 7d4b9c8f6'
	pod_doc api-5b6c7d8f9-bq4zk prod api-sa "$TB_POD_a_IP4" 'app: api, version: v2'
	pod_doc api-5b6c7d8f9-k8x2p prod api-sa "$TB_POD_b_IP4" 'app: api, version: v2'
}

PORT=$(free_port)
ADDR=127.0.0.1:$PORT
URL=http://$ADDR
config >"$E2E_TMP/cfg.yaml"
serve n1/a a --tcp 8080
serve n1/b b --tcp 8080
# A process in the client's pod, so that the agent knows its address as a
# local pod's before the first connection (telemetry counts local pods).
serve n1/c c --tcp 7000
agent_start n1 "$E2E_TMP/cfg.yaml" --metrics-addr "$ADDR"
agent_wait_applied n1
agent_wait_pods n1 3

# Known traffic: 10 connections, each "ping\n" up and the server's reply
# "NAME LOCAL-ADDR:PORT CLIENT-ADDR:PORT\n" down (an ephemeral port has 5
# digits).
out=$(dial n1/c --count 10 --timeout-ms 2000 10.96.7.7 80) || fail "dial api: $out"
assert_eq "$(total_ok "$out")" 10 "connections to api: $out"
na=$(tally "$out" reply a)
nb=$(tally "$out" reply b)
assert_eq "$((na + nb))" 10 "replies: $out"
reply_len() { echo $((2 + ${#1} + 5 + 1 + ${#TB_POD_c_IP4} + 6 + 1)); }
up=50
down=$((na * $(reply_len "$TB_POD_a_IP4") + nb * $(reply_len "$TB_POD_b_IP4")))
out=$(dial n1/c --count 1 --timeout-ms 2000 10.96.7.8 80) && fail "dead reached: $out"
assert_eq "$(tally "$out" error ECONNREFUSED)" 1 "refused by dead: $out"
log "traffic: $na to a, $nb to b ($up bytes up, $down down), 1 refused"

# sample METRIC LABEL-MATCH...: the value of the one series matching all.
sample()
{
	local lines m=$1
	shift
	lines=$(grep -E "^$m\{" "$E2E_TMP/metrics" || true)
	for re in "$@"; do
		lines=$(grep -F -- "$re" <<<"$lines" || true)
	done
	[ "$(grep -c . <<<"$lines")" = 1 ] || fail "expected one $m series with $*, got: $lines"
	awk '{ print $NF }' <<<"$lines"
}
src='reporter="source"'
dst='reporter="destination"'
api='destination_service="api.prod.svc.cluster.local"'
# Closes are counted when each socket is destroyed: the servers' a little
# after the clients'.
for _ in $(seq 100); do
	curl -s -o "$E2E_TMP/metrics" "$URL/metrics" || fail "GET /metrics"
	c1=$(grep -F "$api" "$E2E_TMP/metrics" | grep -F "$dst" |
		sed -n 's/^istio_tcp_connections_closed_total{.*} //p')
	[ "${c1:-0}" = 10 ] && break
	sleep 0.05
done
"$PROMTOOL" check metrics <"$E2E_TMP/metrics" >"$E2E_TMP/promtool.out" 2>&1 ||
	fail "promtool check metrics: $(cat "$E2E_TMP/promtool.out")"

# The exact label set of the client's series, in Istio's order.
want="istio_tcp_connections_opened_total{reporter=\"source\",source_workload=\"client\",source_workload_namespace=\"shop\",source_principal=\"spiffe://cluster.local/ns/shop/sa/client-sa\",source_app=\"client\",source_version=\"v1\",source_canonical_service=\"client\",source_canonical_revision=\"v1\",source_cluster=\"Kubernetes\",destination_workload=\"api\",destination_workload_namespace=\"prod\",destination_principal=\"spiffe://cluster.local/ns/prod/sa/api-sa\",destination_app=\"api\",destination_version=\"v2\",destination_service=\"api.prod.svc.cluster.local\",destination_service_name=\"api\",destination_service_namespace=\"prod\",destination_canonical_service=\"api\",destination_canonical_revision=\"v2\",destination_cluster=\"Kubernetes\",request_protocol=\"tcp\",response_flags=\"-\",connection_security_policy=\"unknown\"} 10"
grep -qxF "$want" "$E2E_TMP/metrics" ||
	fail "no series $want in: $(grep '^istio_tcp_connections_opened_total' "$E2E_TMP/metrics")"
for r in "$src" "$dst"; do
	assert_eq "$(sample istio_tcp_connections_opened_total "$r" "$api")" 10 "opened, $r"
	assert_eq "$(sample istio_tcp_connections_closed_total "$r" "$api")" 10 "closed, $r"
	assert_eq "$(sample istio_tcp_received_bytes_total "$r" "$api")" "$up" \
		"client to server bytes, $r"
	assert_eq "$(sample istio_tcp_sent_bytes_total "$r" "$api")" "$down" \
		"server to client bytes, $r"
	assert_eq "$(sample sluice_tcp_connections_failed_total "$r" "$api")" 0 "failed, $r"
	assert_eq "$(sample sluice_tcp_connection_duration_seconds_count "$r" "$api")" 10 \
		"durations, $r"
	assert_eq "$(sample sluice_tcp_connection_duration_seconds_bucket "$r" "$api" 'le="+Inf"')" \
		10 "+Inf bucket, $r"
	assert_eq "$(sample sluice_tcp_rtt_seconds_count "$r" "$api")" 10 "RTTs, $r"
done
assert_eq "$(sample istio_tcp_connections_opened_total "$dst" "$api" \
	'connection_security_policy="none"' 'source_workload="client"' \
	'destination_workload="api"')" 10 "the destination's labels"
dead='destination_service="dead.prod.svc.cluster.local"'
assert_eq "$(sample sluice_tcp_connections_failed_total "$src" "$dead" \
	'source_workload="client"')" 1 "the refused connect"
assert_eq "$(sample istio_tcp_connections_opened_total "$src" "$dead")" 0 "opened to dead"
assert_match "$(cat "$E2E_TMP/metrics")" '^# TYPE sluice_tcp_rtt_seconds histogram$'
assert_match "$(cat "$E2E_TMP/metrics")" '^sluice_events_dropped_total [0-9]+$'
assert_match "$(cat "$E2E_TMP/metrics")" '^sluice_events_written_total [0-9]+$'
log "/metrics: source and destination series of client -> api: 10 connections, $up/$down bytes"

# A real Prometheus scraping the agent.
prometheus_start "$ADDR"
sel="source_workload=\"client\",$api"
assert_eq "$(prom_query "istio_tcp_connections_opened_total{$src,$sel}")" 10 "source opened in Prometheus"
assert_eq "$(prom_query "istio_tcp_connections_opened_total{$dst,$sel}")" 10 \
	"destination opened in Prometheus"
assert_eq "$(prom_query "istio_tcp_sent_bytes_total{$dst,$sel}")" "$down" "sent bytes in Prometheus"
assert_eq "$(prom_query "sluice_tcp_connections_failed_total{$src,$dead}")" 1 "failed in Prometheus"
assert_eq "$(prom_query "sum(sluice_tcp_connection_duration_seconds_bucket{$src,$sel,le=\"+Inf\"})")" \
	10 "durations in Prometheus"
log "Prometheus on 127.0.0.1:$PROM_PORT: the same values"

# top: the service busiest over an interval with 20 connections in it.
ctl n1 -o json top --interval 2 -n 5 >"$E2E_TMP/top.json" &
top_pid=$!
sleep 0.3
dial n1/c --count 20 --timeout-ms 2000 10.96.7.7 80 >/dev/null || fail "dial during top"
wait "$top_pid" || fail "sluicectl top failed: $(cat "$E2E_TMP/top.json")"
assert_eq "$(jq -r '.services[0].namespace + "/" + .services[0].name' "$E2E_TMP/top.json")" \
	prod/api "busiest service: $(cat "$E2E_TMP/top.json")"
jq -e '.services[0].connections_per_second >= 5 and .services[0].bytes_per_second > 0' \
	"$E2E_TMP/top.json" >/dev/null || fail "top's rates: $(cat "$E2E_TMP/top.json")"
jq -e '[.endpoints[] | select(.name == "api" and .reporter == "destination")] | length == 2' \
	"$E2E_TMP/top.json" >/dev/null || fail "top's endpoints: $(cat "$E2E_TMP/top.json")"
[ "$(jq '.services | length' "$E2E_TMP/top.json")" -le 5 ] || fail "-n 5 not applied"
rc=0
ctl n1 top -n 0 >/dev/null 2>&1 || rc=$?
assert_eq "$rc" 2 "top -n 0 is a usage error"
ctl n1 top --interval 0.2 | grep -q '^Services' || fail "top's table"

# explain: the endpoints with their shares and the limits on this client.
ctl n1 -o json explain --from "$TB_POD_c_IP4" --to prod/api:80 >"$E2E_TMP/explain.json" ||
	fail "explain: $(cat "$E2E_TMP/explain.json")"
ex() { jq -r "$1" "$E2E_TMP/explain.json"; }
assert_eq "$(ex '.services | length')" 1 "services explained"
assert_eq "$(ex '.services[0].endpoints | length')" 2 "endpoints of api"
assert_eq "$(ex '[.services[0].endpoints[].share] | map(. == 0.5) | all')" true "shares"
assert_eq "$(ex '.services[0].endpoints[0].ingress_bytes_per_second')" 25000000 \
	"the endpoint's ingress limit"
assert_eq "$(ex '.services[0].limits.rate_limit.connections_per_second')" 1000 "rate"
assert_eq "$(ex '.services[0].limits.rate_limit.applies')" true "client among the sources"
assert_eq "$(ex '.services[0].limits.max_connections')" 100 "maxConnections"
assert_eq "$(ex '.services[0].limits.outlier_detection.consecutive_errors')" 3 "outlier"
assert_eq "$(ex '.services[0].limits.source_bandwidth.egress_bytes_per_second')" 12500000 \
	"the client's egress limit"
ctl n1 -o json explain --from "$TB_POD_a_IP4" --to prod/api:80 >"$E2E_TMP/explain2.json" ||
	true
assert_eq "$(jq -r '.services[0].limits.rate_limit.applies' "$E2E_TMP/explain2.json")" false \
	"a client outside the sources"
ctl n1 explain --from "$TB_POD_c_IP4" --to prod/api:80 >"$E2E_TMP/explain.txt"
assert_match "$(cat "$E2E_TMP/explain.txt")" \
	'connection rate: +1000/s, burst 1000; this client is among its sources: limited'
assert_match "$(cat "$E2E_TMP/explain.txt")" "$TB_POD_a_IP4:8080 +1 +50.0%"
log "top and explain ok"

agent_stop n1
log ok
