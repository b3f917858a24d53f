#!/usr/bin/env bash
# The agent's HTTP listener: /healthz while the loop runs, /readyz only
# once a configuration is applied (503 with the reason before), /metrics in
# Prometheus' text format with the kernel's counters exact, a taken or bad
# address refused at start, and a real Prometheus scraping it and answering
# queries with the same values.
. "$(dirname "$0")/lib.sh"
e2e_init metrics

PROMTOOL=${PROMTOOL:-/usr/bin/promtool}
[ -x "$PROMETHEUS" ] && [ -x "$PROMTOOL" ] || fail "prometheus is not installed (scripts/deps.sh)"
command -v curl >/dev/null || fail "curl is not installed (scripts/deps.sh)"

# A loopback port nothing listens on; random, so parallel runs differ.

# The package's own state, which this test must never touch.
package_state()
{
	find /etc/prometheus /var/lib/prometheus -printf '%p %s %T@\n' 2>/dev/null | sort | md5sum
}
pkg_before=$(package_state)

tb_up n1/c n1/a
config()
{
	service_entry web 10.96.0.10 "$TB_POD_a_IP4" | sed 's/hosts: \[web\]/hosts: [web.example.com]/'
	cat <<YAML
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: prod}
spec:
  clusterIP: 10.96.5.5
  ports: [{name: http, port: 80}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: api-1, namespace: prod, labels: {kubernetes.io/service-name: api}}
addressType: IPv4
ports: [{name: http, port: 8081}]
endpoints:
- addresses: [$TB_POD_a_IP4]
---
apiVersion: sluice.dev/v1alpha1
kind: TrafficLimit
metadata: {name: web-limit, namespace: default}
spec:
  services: [{name: web}]
  connectionsPerSecond: 1
  burst: 10
YAML
	authz_policy default allow-all ALLOW '  rules: [{}]'
	cat <<YAML
---
apiVersion: v1
kind: Pod
metadata:
  name: client
  namespace: default
  annotations: {kubernetes.io/egress-bandwidth: 100M}
spec: {serviceAccountName: client, containers: [{name: app, image: "app:1"}]}
status: {podIPs: [{ip: "$TB_POD_c_IP4"}]}
YAML
}

PORT=$(free_port)
ADDR=127.0.0.1:$PORT
URL=http://$ADDR

# A configuration with an error first: alive, not ready, and why.
echo 'kind: Service
apiVersion: v1
metadata: {name: broken}
spec: {ports: [{port: eighty}]}' >"$E2E_TMP/cfg.yaml"
serve n1/a a --tcp 8080
agent_start n1 "$E2E_TMP/cfg.yaml" --metrics-addr "$ADDR"
agent_wait_rejected n1
code=
for _ in $(seq 100); do
	code=$(curl -s -o "$E2E_TMP/healthz" -w '%{http_code}' "$URL/healthz") && break
	sleep 0.05
done
assert_eq "$code" 200 "/healthz while the loop runs"
code=$(curl -s -o "$E2E_TMP/readyz" -w '%{http_code}' "$URL/readyz")
assert_eq "$code" 503 "/readyz before any configuration was applied"
assert_match "$(cat "$E2E_TMP/readyz")" '^configuration rejected, nothing applied yet: .*eighty' \
	"/readyz names the reason"
assert_eq "$(wc -l <"$E2E_TMP/readyz")" 1 "/readyz's reason is one line"

config >"$E2E_TMP/cfg.new"
mv "$E2E_TMP/cfg.new" "$E2E_TMP/cfg.yaml"
agent_wait_applied n1
code=$(curl -s -o "$E2E_TMP/readyz" -w '%{http_code}' "$URL/readyz")
assert_eq "$code" 200 "/readyz once applied: $(cat "$E2E_TMP/readyz")"

# The address is taken: a second agent says so and starts nothing.
rc=0
"$SLUICED" --config "$E2E_TMP/cfg.yaml" --bpffs "$(bpffs_of n1)" --cgroup "$TB_NODE_n1_CGROUP" \
	--metrics-addr "$ADDR" >"$E2E_TMP/second.log" 2>&1 || rc=$?
assert_eq "$rc" 1 "exit code with the address taken"
assert_match "$(cat "$E2E_TMP/second.log")" "cannot listen for metrics on $ADDR: Address already in use"
rc=0
"$SLUICED" --config "$E2E_TMP/cfg.yaml" --metrics-addr "localhost:$PORT" >"$E2E_TMP/bad.log" 2>&1 ||
	rc=$?
assert_eq "$rc" 2 "exit code of a bad --metrics-addr"
assert_match "$(cat "$E2E_TMP/bad.log")" '--metrics-addr: .*"localhost" is not an IPv4 address'

# Known traffic: 20 connections as fast as they go through a limit of one
# per second after a burst of 10.
out=$(dial n1/c --count 20 --timeout-ms 1000 10.96.0.10 80) || true
ok=$(total_ok "$out")
refused=$(tally "$out" error ECONNREFUSED)
assert_eq "$((ok + refused))" 20 "every attempt connected or was refused: $out"
[ "$ok" -ge 10 ] && [ "$ok" -le 11 ] || fail "$ok of 20 passed a burst of 10: $out"
log "traffic: $ok connected, $refused rate-limited"

curl -s -D "$E2E_TMP/headers" -o "$E2E_TMP/metrics" "$URL/metrics" || fail "GET /metrics"
assert_match "$(cat "$E2E_TMP/headers")" '^HTTP/1.1 200' "/metrics status"
assert_match "$(cat "$E2E_TMP/headers")" \
	'^Content-Type: text/plain; version=0.0.4; charset=utf-8' "exposition content type"
"$PROMTOOL" check metrics <"$E2E_TMP/metrics" >"$E2E_TMP/promtool.out" 2>&1 ||
	fail "promtool check metrics: $(cat "$E2E_TMP/promtool.out")"

# sample METRIC LABEL-MATCH: the value of the one series with those labels.
sample()
{
	local lines
	lines=$(grep -E "^$1\{[^}]*$2" "$E2E_TMP/metrics" || true)
	[ "$(grep -c . <<<"$lines")" = 1 ] || fail "expected one $1 series with $2, got: $lines"
	awk '{ print $NF }' <<<"$lines"
}
web='destination_service_namespace="default",destination_service_name="web",destination_service="web.example.com",vip="10.96.0.10",port="80",protocol="tcp"'
assert_eq "$(sample sluice_service_connections_total "$web")" "$ok" "connections of web"
assert_eq "$(sample sluice_service_rate_limited_total "$web")" "$refused" "rate-limited of web"
assert_eq "$(sample sluice_service_refused_total "$web")" 0 "refused of web"
assert_eq "$(sample sluice_service_endpoints "$web")" 1 "endpoints of web"
api='destination_service_namespace="prod",destination_service_name="api",destination_service="api.prod.svc.cluster.local",vip="10.96.5.5",port="80",protocol="tcp"'
assert_eq "$(sample sluice_service_connections_total "$api")" 0 "connections of api"
assert_eq "$(sample sluice_endpoint_selected_total "endpoint=\"$TB_POD_a_IP4:8080\"")" "$ok" \
	"connections to web's endpoint"
assert_eq "$(sample sluice_endpoint_ejected "endpoint=\"$TB_POD_a_IP4:8080\",protocol=\"tcp\",destination_service_namespace=\"default\",destination_service_name=\"web\"")" 0 \
	"endpoint labels"
sample sluice_policy_allowed_total 'policy_namespace="default",policy_name="allow-all",action="ALLOW"' >/dev/null
bw="workload_namespace=\"default\",workload_name=\"client\",address=\"$TB_POD_c_IP4\""
assert_eq "$(sample sluice_bandwidth_limit_bytes_per_second "$bw,direction=\"egress\"")" 12500000 \
	"the client's egress limit"
assert_eq "$(sample sluice_bandwidth_limit_bytes_per_second "$bw,direction=\"ingress\"")" 0 \
	"no ingress limit"
sample sluice_bandwidth_passed_bytes_total "$bw,direction=\"egress\"" >/dev/null
assert_eq "$(sample sluice_map_entries 'map="sluice_svc"')" 2 "frontends in sluice_svc"
assert_eq "$(sample sluice_map_capacity 'map="sluice_svc"')" 65536 "capacity of sluice_svc"
assert_eq "$(sample sluice_config_attempts_total 'result="rejected"')" 1 "rejected attempts"
assert_match "$(cat "$E2E_TMP/metrics")" '^sluice_config_generation 1$' "generation"
assert_match "$(cat "$E2E_TMP/metrics")" '^sluice_config_last_apply_success 1$' "last result"
assert_match "$(cat "$E2E_TMP/metrics")" '^sluice_hooks_attached 12$' "hooks attached"
assert_match "$(cat "$E2E_TMP/metrics")" '^sluice_build_info\{version="[^"]+",abi_version="[0-9]+"\} 1$'
assert_match "$(cat "$E2E_TMP/metrics")" '^# TYPE sluice_service_connections_total counter$'
assert_match "$(cat "$E2E_TMP/metrics")" '^# HELP sluice_service_connections_total .+'
assert_eq "$(curl -s -o /dev/null -w '%{http_code}' "$URL/nothing")" 404 "unknown path"
assert_eq "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$URL/metrics")" 405 "POST"
log "/metrics: $(grep -vc '^#' "$E2E_TMP/metrics") series, promtool clean"

# A real Prometheus, in the test's directory, scraping every second.
prometheus_start "$ADDR"
sel='destination_service="web.example.com",vip="10.96.0.10",port="80",protocol="tcp"'
assert_eq "$(prom_query "sluice_service_connections_total{$sel}")" "$ok" "connections in Prometheus"
assert_eq "$(prom_query "sluice_service_rate_limited_total{$sel}")" "$refused" \
	"rate-limited in Prometheus"
assert_eq "$(prom_query "sluice_endpoint_selected_total{endpoint=\"$TB_POD_a_IP4:8080\"}")" "$ok" \
	"endpoint in Prometheus"
assert_eq "$(prom_query 'sluice_config_generation')" 1 "generation in Prometheus"
assert_eq "$(prom_query 'scrape_samples_scraped{job="sluice"}')" "$(grep -vc '^#' "$E2E_TMP/metrics")" \
	"every series scraped"
log "Prometheus on 127.0.0.1:$PROM_PORT scraped the agent: connections $ok, rate-limited $refused"

# A hook detached behind the agent's back: no longer ready, and which.
bpftool link detach pinned "$(bpffs_of n1)/links/getpeername6" ||
	fail "bpftool link detach"
code=$(curl -s -o "$E2E_TMP/readyz" -w '%{http_code}' "$URL/readyz")
assert_eq "$code" 503 "/readyz with a hook detached"
assert_eq "$(cat "$E2E_TMP/readyz")" "11 of 12 hooks attached; getpeername6 is not" \
	"/readyz names the hook"
assert_match "$(curl -s "$URL/metrics")" '^sluice_hooks_attached 11$' "hooks attached"

agent_stop n1
assert_eq "$(package_state)" "$pkg_before" "/etc/prometheus and /var/lib/prometheus untouched"
log ok
