#!/usr/bin/env bash
# The agent learns services from the Kubernetes API (replayed in the API
# server's wire format, over TLS with a bearer token): list, then watch;
# a change reaches the datapath; a dropped watch resumes from its
# resourceVersion (the changes made meanwhile replayed, no re-list); a
# bookmark moves the position; 410 Gone lists again and what disappeared
# meanwhile goes; an unchanged re-list applies nothing; a refused object
# keeps its previous version in force while others still apply; failed
# requests are retried with growing delays; the Node gives the locality.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/kube_lib.sh"
e2e_init kube_source

tb_up n1/c n1/a n1/b
serve n1/a a --tcp 8080
serve n1/b b --tcp 8080
scenario=$E2E_TMP/scenario.json
{
	k8s_service shop web 10.96.0.10
	k8s_slice shop web-abcde web "$TB_POD_a_IP4"
	k8s_pod shop a n1 "$TB_POD_a_IP4" '{"app":"web"}'
	k8s_pod shop b n1 "$TB_POD_b_IP4" '{"app":"web"}'
	k8s_pod shop c n1 "$TB_POD_c_IP4" '{"app":"client"}'
	k8s_node n1 eu-west-1 eu-west-1b
	# Objects recorded from a real API server, every server-side field.
	jq -c '.objects[][]' "$E2E_ROOT/tests/e2e/fixtures/kube-objects.json"
} | kube_scenario >"$scenario"
kube_start "$scenario"
mport=$(free_port)
agent_start n1 kube --metrics-addr "127.0.0.1:$mport"
agent_wait_applied n1
expect_reached n1/c 10.96.0.10 80 a
# Objects recorded from a real API server (every server-side field) apply.
assert_eq "$(ctl n1 -o json services | jq -r '.[] | select(.name == "reviews") | .vip')" \
	"$(jq -r '.objects["/api/v1/services"][0].spec.clusterIP' "$E2E_ROOT/tests/e2e/fixtures/kube-objects.json")" \
	"the recorded Service"
assert_eq "$(status_field n1 .config.warnings)" 0 "warnings about recorded objects"
assert_eq "$(status_field n1 .locality)" eu-west-1/eu-west-1b "locality from the Node's labels"
assert_eq "$(kube_requests | jq '[.[] | select(.auth | not)] | length')" 0 \
	"every request carried the token"

log "a watched change reaches the maps"
slice_rv=$(kube_ctl apply "path=$KUBE_SLICES" \
	"$(k8s_slice shop web-abcde web "$TB_POD_a_IP4 $TB_POD_b_IP4")" | jq -r .resourceVersion)
agent_wait_applied n1 2
out=$(dial n1/c --count 40 --timeout-ms 2000 10.96.0.10 80)
[ "$(tally "$out" reply a)" -gt 0 ] && [ "$(tally "$out" reply b)" -gt 0 ] ||
	fail "both endpoints should serve: $out"

log "a change of nothing Sluice reads applies nothing"
# Every apply the agent starts, also one that finds nothing to write.
applies() { grep -cE 'configuration (unchanged|applied)|applied by parts' \
	"$E2E_TMP/agent-n1.log" || true; }
pod_events() { curl -sf "http://127.0.0.1:$mport/metrics" |
	awk '$1 == "sluice_kubernetes_watch_events_total{resource=\"pods\"}" { print $2 }'; }
gen=$(generation n1)
n_applies=$(applies)
before=$(pod_events)
kube_apply $KUBE_PODS "$(k8s_pod shop a n1 "$TB_POD_a_IP4" '{"app":"web"}' |
	jq -c '.status.conditions += [{type: "ContainersReady", status: "True"}]')"
for _ in $(seq 100); do
	[ "$(pod_events)" -gt "$before" ] && break
	sleep 0.05
done
[ "$(pod_events)" -gt "$before" ] || fail "the pod's change did not arrive"
sleep 0.2
assert_eq "$(applies)" "$n_applies" "a status change started an apply"
assert_eq "$(generation n1)" "$gen" "a status change re-applied the configuration"

log "a dropped watch resumes from its resourceVersion"
rv=$slice_rv	# the last the slices' watch saw (the pod's change was another's)
kube_ctl requests/clear >/dev/null
kube_ctl drop "path=$KUBE_SLICES" >/dev/null
kube_apply $KUBE_SLICES "$(k8s_slice shop web-abcde web "$TB_POD_b_IP4")"
agent_wait_applied n1 $((gen + 1))
expect_reached n1/c 10.96.0.10 80 b
reqs=$(kube_requests)
assert_eq "$(jq --arg p $KUBE_SLICES '[.[] | select(.path == $p and .query.watch == null)] | length' <<<"$reqs")" 0 \
	"no list after a dropped watch"
assert_eq "$(jq -r --arg p $KUBE_SLICES '[.[] | select(.path == $p and .query.watch != null)][0].query.resourceVersion' <<<"$reqs")" "$rv" \
	"the watch resumed from the last resourceVersion"

log "a bookmark moves the position on"
kube_apply $KUBE_PODS "$(k8s_pod other x n9 10.200.0.9)"	# not a slice: RV moves
rv=$(kube_rv)
kube_ctl bookmark "path=$KUBE_SLICES" >/dev/null
sleep 0.3
kube_ctl requests/clear >/dev/null
kube_ctl drop "path=$KUBE_SLICES" >/dev/null
for _ in $(seq 100); do
	[ "$(kube_ctl watchers "" "" GET | jq --arg p $KUBE_SLICES '.[$p]')" = 1 ] && break
	sleep 0.05
done
assert_eq "$(kube_requests | jq -r --arg p $KUBE_SLICES '[.[] | select(.path == $p)][0].query.resourceVersion')" "$rv" \
	"the watch resumed from the bookmark's resourceVersion"

log "410 Gone: list again; an unchanged list applies nothing"
gen=$(generation n1)
n_applies=$(applies)
kube_ctl requests/clear >/dev/null
kube_ctl compact >/dev/null
kube_ctl expire "path=$KUBE_SLICES" >/dev/null
kube_wait_log n1 'endpointslices: too old resource version.*listing again'
for _ in $(seq 100); do
	[ "$(kube_requests | jq --arg p $KUBE_SLICES '[.[] | select(.path == $p and .query.watch != null)] | length')" -ge 1 ] && break
	sleep 0.05
done
assert_eq "$(kube_requests | jq --arg p $KUBE_SLICES '[.[] | select(.path == $p and .query.watch == null)] | length')" 1 \
	"one list after 410"
sleep 0.3
assert_eq "$(applies)" "$n_applies" "a re-list of unchanged objects started an apply"
assert_eq "$(generation n1)" "$gen" "a re-list of unchanged objects changes nothing"

log "what went while the watch was away goes with the next list"
kube_ctl drop >/dev/null
kube_delete $KUBE_SERVICES shop web
kube_ctl compact >/dev/null
agent_wait_applied n1 $((gen + 1))
assert_eq "$(ctl n1 -o json services | jq '[.[] | select(.name == "web")] | length')" 0 \
	"the deleted Service is gone"

log "a refused object keeps its previous version; others still apply"
kube_apply $KUBE_SERVICES "$(k8s_service shop web 10.96.0.10)"
agent_wait_applied n1 $((gen + 2))
bad=$(k8s_service shop web 10.96.0.10 | jq -c '.spec.ports[0].port = 0')
kube_apply $KUBE_SERVICES "$bad"
kube_wait_log n1 'refused, the version before stays in force: Service shop/web .*spec.ports\[0\].port'
kube_apply $KUBE_SERVICES "$(k8s_service shop api 10.96.0.11)"
kube_apply $KUBE_SLICES "$(k8s_slice shop api-xyz api "$TB_POD_a_IP4")"
for _ in $(seq 100); do
	[ "$(ctl n1 -o json services | jq '[.[] | select(.name == "api")] | length')" = 1 ] && break
	sleep 0.05
done
expect_reached n1/c 10.96.0.11 80 a
expect_reached n1/c 10.96.0.10 80 b
assert_match "$(status_field n1 .config.warning_messages)" 'Service shop/web' "the refusal is in the status"
assert_match "$(curl -sf "http://127.0.0.1:$mport/metrics")" '^sluice_kubernetes_refused_objects 1$' \
	"the refusal is counted"

log "a later claim of a VIP is left out; the rest applies"
kube_apply $KUBE_SENTRIES '{"apiVersion": "networking.istio.io/v1", "kind": "ServiceEntry",
	"metadata": {"namespace": "shop", "name": "web-ext"},
	"spec": {"hosts": ["web.example.com"], "addresses": ["10.96.0.10"], "resolution": "STATIC",
		"ports": [{"number": 80, "name": "http", "targetPort": 8080}],
		"endpoints": [{"address": "'"$TB_POD_a_IP4"'"}]}}'
kube_wait_log n1 'ServiceEntry shop/web-ext .* that object is left out'
excluded() { curl -sf "http://127.0.0.1:$mport/metrics" |
	awk '$1 == "sluice_kubernetes_excluded_objects" { print $2 }'; }
assert_eq "$(excluded)" 1 "objects left out"
kube_apply $KUBE_SLICES "$(k8s_slice shop api-xyz api "$TB_POD_b_IP4")"
for _ in $(seq 100); do
	out=$(dial n1/c --count 2 --timeout-ms 2000 10.96.0.11 80) || true
	[ "$(tally "$out" reply b)" = 2 ] && break
	sleep 0.05
done
expect_reached n1/c 10.96.0.11 80 b	# another change applied
expect_reached n1/c 10.96.0.10 80 b	# the VIP still the Service's
log "the conflict goes: the entry is tried again and applies"
kube_delete $KUBE_SERVICES shop web
for _ in $(seq 100); do
	out=$(dial n1/c --count 2 --timeout-ms 2000 10.96.0.10 80) || true
	[ "$(tally "$out" reply a)" = 2 ] && break
	sleep 0.05
done
expect_reached n1/c 10.96.0.10 80 a	# now the ServiceEntry's endpoint
assert_eq "$(excluded)" 0 "objects left out once the conflict is gone"
kube_delete $KUBE_SENTRIES shop web-ext
kube_apply $KUBE_SERVICES "$(k8s_service shop web 10.96.0.10)"
kube_apply $KUBE_SLICES "$(k8s_slice shop api-xyz api "$TB_POD_a_IP4")"

log "the source's metrics (pods a and b run servers, c nothing right now)"
metrics=$(curl -sf "http://127.0.0.1:$mport/metrics")
for want in 'sluice_kubernetes_synced 1' 'sluice_kubernetes_refused_objects 0' \
	'sluice_kubernetes_objects\{resource="services"\} 3' \
	'sluice_kubernetes_objects\{resource="endpointslices"\} 3' \
	'sluice_kubernetes_lists_total\{resource="endpointslices"\} 3' \
	'sluice_kubernetes_watching\{resource="endpointslices"\} 1' \
	'sluice_kubernetes_node_pods\{state="meshed"\} 2' \
	'sluice_kubernetes_node_pods\{state="not_found"\} 1'; do
	assert_match "$metrics" "^$want\$" "metric"
done
count=$(awk '$1 == "sluice_kubernetes_change_to_maps_seconds_count" { print $2 }' <<<"$metrics")
[ "${count:-0}" -ge 5 ] || fail "change latencies recorded: ${count:-none}"

log "failed requests are retried with growing delays"
kube_ctl requests/clear >/dev/null
kube_ctl fail "path=$KUBE_SLICES&code=500&count=3" >/dev/null
kube_ctl drop "path=$KUBE_SLICES" >/dev/null
kube_apply $KUBE_SLICES "$(k8s_slice shop api-xyz api "$TB_POD_b_IP4")"
for _ in $(seq 200); do
	[ "$(kube_requests | jq --arg p $KUBE_SLICES '[.[] | select(.path == $p)] | length')" -ge 4 ] && break
	sleep 0.05
done
times=$(kube_requests | jq -c --arg p $KUBE_SLICES '[.[] | select(.path == $p) | .time]')
gaps=$(jq -c '[range(1; length) as $i | .[$i] - .[$i - 1]]' <<<"$times")
log "retry gaps (ms): $gaps"
jq -e 'length >= 3 and .[0] >= 200 and .[1] >= 1.5 * .[0] and .[2] >= 1.5 * .[1]' <<<"$gaps" >/dev/null ||
	fail "retries should back off: $gaps"
expect_reached n1/c 10.96.0.11 80 b --timeout-ms 4000

log "429 with Retry-After: the server is taken at its word"
kube_ctl requests/clear >/dev/null
kube_ctl fail "path=$KUBE_SLICES&code=429&count=1" >/dev/null
kube_ctl drop "path=$KUBE_SLICES" >/dev/null
for _ in $(seq 100); do
	[ "$(kube_requests | jq --arg p $KUBE_SLICES '[.[] | select(.path == $p)] | length')" -ge 2 ] && break
	sleep 0.05
done
gap=$(kube_requests | jq --arg p $KUBE_SLICES '[.[] | select(.path == $p) | .time] | .[1] - .[0]')
[ "$gap" -ge 1000 ] || fail "retried ${gap} ms after a 429 with Retry-After: 1"

log "the Node gone while the watch was away: locality unknown"
kube_ctl drop >/dev/null
kube_ctl delete "path=$KUBE_NODES&name=n1" >/dev/null
kube_ctl compact >/dev/null
for _ in $(seq 100); do
	[ -z "$(status_field n1 '.locality // ""')" ] && break
	sleep 0.1
done
assert_eq "$(status_field n1 '.locality // ""')" "" "locality after the Node went"
agent_stop n1
log ok
