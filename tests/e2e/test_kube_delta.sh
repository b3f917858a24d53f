#!/usr/bin/env bash
# Applies by parts: an EndpointSlice's change (every endpoint a Pod the
# API holds) rebuilds and writes only its Service's frontends; the
# datapath follows each change exactly as after a whole apply (the agent
# runs with --check-delta: each apply by parts is compared with a whole
# build, a difference fails the test). Anything that reaches further (an
# endpoint that is no Pod, a route joining services, a Service's own
# change) is applied whole. The metrics' labels follow applies by parts.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/kube_lib.sh"
e2e_init kube_delta

tb_up n1/c n1/a n1/b n1/d
serve n1/a a --tcp 8080 --echo 8081
serve n1/b b --tcp 8080 --echo 8081
serve n1/d d --tcp 8080
a="$TB_POD_a_IP4=a" b="$TB_POD_b_IP4=b" d="$TB_POD_d_IP4=d"
scenario=$E2E_TMP/scenario.json
echo_slice() { k8s_slice shop echo-abcde echo "$1" | jq -c '.ports[0].port = 8081'; }
{
	k8s_service shop web 10.96.0.10
	k8s_service shop api 10.96.0.11
	k8s_slice shop web-abcde web "$a"
	k8s_slice shop api-abcde api "$d"
	# echo: port 81 to the pods' echo servers, for long connections.
	k8s_service shop echo 10.96.0.13 | jq -c '.spec.ports[0] += {port: 81, targetPort: 8081}'
	echo_slice "$a $b"
	k8s_pod shop a n1 "$TB_POD_a_IP4" '{"app":"web"}'
	k8s_pod shop b n1 "$TB_POD_b_IP4" '{"app":"web"}'
	k8s_pod shop c n1 "$TB_POD_c_IP4" '{"app":"client"}'
	k8s_pod shop d n1 "$TB_POD_d_IP4" '{"app":"api"}'
} | kube_scenario >"$scenario"
kube_start "$scenario"
mport=$(free_port)
agent_start n1 kube --metrics-addr "127.0.0.1:$mport"
agent_wait_applied n1
expect_reached n1/c 10.96.0.10 80 a
expect_reached n1/c 10.96.0.11 80 d

by_parts() { grep -c 'applied by parts' "$E2E_TMP/agent-n1.log" || true; }
whole() { grep -c 'configuration applied (generation' "$E2E_TMP/agent-n1.log" || true; }

# slice_change NAME SERVICE ENDPOINTS HOW: applies the slice, waits for the
# next generation, and checks it was applied HOW (parts or whole).
slice_change()
{
	local gen parts=$(by_parts) full=$(whole)
	gen=$(generation n1)
	kube_apply "$KUBE_SLICES" "$(k8s_slice shop "$1" "$2" "$3")"
	agent_wait_applied n1 $((gen + 1))
	case $4 in
	parts) assert_eq "$(by_parts)/$(whole)" "$((parts + 1))/$full" "applied by parts: $3" ;;
	whole) assert_eq "$(by_parts)/$(whole)" "$parts/$((full + 1))" "applied whole: $3" ;;
	esac
}

log "endpoints moved, added, not ready: applied by parts, traffic follows"
slice_change web-abcde web "$b" parts
expect_reached n1/c 10.96.0.10 80 b
slice_change web-abcde web "$a $b" parts
out=$(dial n1/c --count 40 --timeout-ms 2000 10.96.0.10 80)
[ "$(tally "$out" reply a)" -gt 0 ] && [ "$(tally "$out" reply b)" -gt 0 ] ||
	fail "both endpoints should serve: $out"
slice_change web-abcde web "$a $TB_POD_b_IP4=b:notready" parts
expect_reached n1/c 10.96.0.10 80 a
assert_eq "$(ctl n1 -o json services | jq -c '[.[] | select(.name == "web")][0] |
	[.endpoints, .endpoints_in_use]')" "[2,1]" "web's endpoints, one not ready"

log "a second slice of the same service, then gone"
slice_change web-fghij web "$d" parts
out=$(dial n1/c --count 40 --timeout-ms 2000 10.96.0.10 80)
[ "$(tally "$out" reply a)" -gt 0 ] && [ "$(tally "$out" reply d)" -gt 0 ] ||
	fail "a and d should serve: $out"
log "a slice relabelled to another service: both rebuilt by parts"
slice_change web-fghij api "$b" parts
expect_reached n1/c 10.96.0.10 80 a	# web lost d with the slice
out=$(dial n1/c --count 40 --timeout-ms 2000 10.96.0.11 80)
[ "$(tally "$out" reply b)" -gt 0 ] && [ "$(tally "$out" reply d)" -gt 0 ] ||
	fail "api should have b and d: $out"
gen=$(generation n1)
kube_delete "$KUBE_SLICES" shop web-fghij
agent_wait_applied n1 $((gen + 1))
expect_reached n1/c 10.96.0.10 80 a
expect_reached n1/c 10.96.0.11 80 d	# api kept d, the backend shared

log "the metrics' labels follow: direct connections to b count for web"
slice_change web-abcde web "$a $b" parts
# Connections through the VIP carry their service; direct ones are
# labelled by the endpoint's service from the workload table.
b_web()
{
	curl -sf "http://127.0.0.1:$mport/metrics" |
		grep -E '^istio_tcp_connections_opened_total\{reporter="source".*destination_workload="b"' |
		grep -F 'destination_service="web.shop.svc.cluster.local"' | awk '{ s += $NF } END { print s + 0 }'
}
before=$(b_web)
out=$(dial n1/c --count 3 --timeout-ms 2000 "$TB_POD_b_IP4" 8080) || fail "dial b: $out"
for _ in $(seq 100); do
	[ "$(b_web)" -ge $((before + 3)) ] && break
	sleep 0.05
done
assert_eq "$(b_web)" $((before + 3)) "direct connections to b labelled with web"

log "endpoints that are no Pod: named by parts while no policy is in force"
slice_change web-abcde web "$a $b 192.0.2.77=:notready" parts
assert_match "$(ctl n1 identities)" 'shop +web-abcde +slice-endpoint +192\.0\.2\.77 ' "the endpoint's address named"
slice_change web-abcde web "$a $b 192.0.2.78=ext:notready" parts
assert_no_match "$(ctl n1 identities)" '192\.0\.2\.77' "the endpoint's address gone"
assert_match "$(ctl n1 identities)" 'shop +ext +slice-endpoint +192\.0\.2\.78 ' "named after its targetRef"
slice_change web-abcde web "$a $b $TB_POD_b_IP4" parts	# b's Pod names it, not the slice
assert_match "$(ctl n1 identities)" "shop +b +pod +$TB_POD_b_IP4 " "b named by its Pod"
log "one address listed by two slices: whole (which one names it is their order)"
slice_change api-abcde api "$d 192.0.2.79" parts
slice_change web-abcde web "$a $b 192.0.2.79" whole
slice_change web-abcde web "$a $b" whole
assert_match "$(ctl n1 identities)" 'shop +api-abcde +slice-endpoint +192\.0\.2\.79 ' "named by the slice left"
log "with a policy in force, an endpoint that is no Pod: whole"
gen=$(generation n1)
kube_apply "$KUBE_APOLICIES" "$(jq -nc '{apiVersion: "security.istio.io/v1",
	kind: "AuthorizationPolicy", metadata: {namespace: "shop", name: "allow-all"},
	spec: {action: "ALLOW", rules: [{}]}}')"
agent_wait_applied n1 $((gen + 1))
slice_change web-abcde web "$a $b 192.0.2.80" whole
slice_change web-abcde web "$a $b" whole	# the old version had it
slice_change web-abcde web "$a" parts	# every endpoint a Pod: by parts still
expect_reached n1/c 10.96.0.10 80 a
slice_change web-abcde web "$a $b" parts

log "connections to an endpoint removed by parts are reset"
rr_clients n1/c 10.96.0.13 81 2	# round robin: one to a, one to b
agent_wait_pods n1 4
sleep 0.3
gen=$(generation n1)
parts=$(by_parts)
mark=$(kube_log_mark n1)
kube_apply "$KUBE_SLICES" "$(echo_slice "$b")"
agent_wait_applied n1 $((gen + 1))
assert_eq "$(by_parts)" $((parts + 1)) "the echo slice applied by parts"
assert_eq "$(rr_wait_gone 1)" 1 "the connection to the removed endpoint ended"
assert_eq "$(rr_wait_gone 2)" 1 "the connection to the endpoint kept was reset too"
kube_wait_log n1 'endpoints left their services: 1 open connections to them reset' "$mark"
rr_stop

log "a route joining two services: applied whole, the route follows"
gen=$(generation n1)
kube_apply "$KUBE_VSERVICES" "$(jq -nc '{apiVersion: "networking.istio.io/v1",
	kind: "VirtualService", metadata: {namespace: "shop", name: "api"},
	spec: {hosts: ["api"], tcp: [{route: [{destination: {host: "web"}}]}]}}')"
agent_wait_applied n1 $((gen + 1))
slice_change web-abcde web "$b" whole
expect_reached n1/c 10.96.0.11 80 b	# api routes to web's endpoints
slice_change api-abcde api "$a" whole	# api is routed too
expect_reached n1/c 10.96.0.11 80 b

log "a Service's own change: whole"
gen=$(generation n1)
kube_apply "$KUBE_SERVICES" "$(k8s_service shop web 10.96.0.12)"
agent_wait_applied n1 $((gen + 1))
expect_reached n1/c 10.96.0.12 80 b
assert_eq "$(by_parts)" 14 "applies by parts in all"
assert_match "$(curl -sf "http://127.0.0.1:$mport/metrics")" \
	'^sluice_config_applied_by_parts_total 14$' "the metric counts them"

agent_stop n1
log ok
