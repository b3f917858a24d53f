#!/usr/bin/env bash
# An endpoint removed from the file gets no new connection within 1 s, and
# a steady stream of connections through the change sees no failure: the
# service and its endpoint set switch together.
. "$(dirname "$0")/lib.sh"
e2e_init endpoint-removed

tb_up n1/c n1/a n1/b n1/d
write_config()
{
	local eps=$1 f="$E2E_TMP/cfg.yaml"
	cat >"$f.tmp" <<YAML
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {clusterIP: 10.96.0.10, ports: [{port: 80}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
ports: [{port: 8080}]
endpoints:
$eps
YAML
	mv "$f.tmp" "$f"	# atomically, as an editor or ConfigMap does
}
ep() { printf -- '- addresses: [%s]\n' "$@"; }

for p in a b d; do serve "n1/$p" "$p" --tcp 8080; done
write_config "$(ep "$TB_POD_a_IP4" "$TB_POD_b_IP4" "$TB_POD_d_IP4")"
agent_start n1 "$E2E_TMP/cfg.yaml"
agent_wait_applied n1 1
out=$(dial n1/c --count 30 10.96.0.10 80)
assert_eq "$(tally "$out" reply d)" 10 "d gets its share before the change"

dial n1/c --duration 30 --interval-ms 2 --stop-file "$E2E_TMP/stop" 10.96.0.10 80 \
	>"$E2E_TMP/stream.out" &
stream=$!
E2E_PIDS+=("$stream")
sleep 0.5
start=$(date +%s%N)
write_config "$(ep "$TB_POD_a_IP4" "$TB_POD_b_IP4")"
agent_wait_applied n1 2
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
[ "$elapsed_ms" -lt 1000 ] || fail "the change took $elapsed_ms ms to reach the maps"
out=$(dial n1/c --count 100 10.96.0.10 80)
assert_eq "$(tally "$out" reply d)" 0 "removed endpoint gets no new connection"
assert_eq "$(total_ok "$out")" 100 "connections after the change"
sleep 0.3
touch "$E2E_TMP/stop"
wait "$stream" || fail "the stream saw failures: $(cat "$E2E_TMP/stream.out")"
assert_eq "$(total_failed "$(cat "$E2E_TMP/stream.out")")" 0 "stream failures"
log "change visible in ${elapsed_ms} ms; stream: $(grep total "$E2E_TMP/stream.out")"
agent_stop n1
log ok
