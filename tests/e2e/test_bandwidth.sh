#!/usr/bin/env bash
# Bandwidth limits per workload: the kubernetes.io/egress-bandwidth pod
# annotation and TrafficLimit spec.bandwidth, policed by token buckets in
# TC and on the same-node shortcut. Each limit measures within 10% of its
# rate with the shortcut (same node) and without it (across nodes);
# unlimited pods are untouched; removing the limits detaches the policer.
. "$(dirname "$0")/lib.sh"
e2e_init bandwidth

# c: egress 10 Mbit/s by annotation; d: no limit; s: ingress 20 Mbit/s by
# a TrafficLimit selecting it; r: another node, no limit.
tb_up n1/c n1/d n1/s n2/r
pod()
{
	printf -- '---\napiVersion: v1\nkind: Pod\n'
	printf 'metadata:\n  name: %s\n  namespace: default\n  labels: {app: %s}\n' "$1" "$1"
	[ -n "${3:-}" ] && printf '  annotations: {%s}\n' "$3"
	printf 'spec: {serviceAccountName: %s, nodeName: n1}\n' "$1"
	printf 'status:\n  podIPs: [{ip: "%s"}]\n' "$2"
}
limits()
{
	pod c "$TB_POD_c_IP4" "kubernetes.io/egress-bandwidth: ${1:-10M}"
	pod d "$TB_POD_d_IP4"
	pod s "$TB_POD_s_IP4"
	cat <<YAML
---
apiVersion: sluice.dev/v1alpha1
kind: TrafficLimit
metadata: {name: s-in, namespace: default}
spec:
  selector: {matchLabels: {app: s}}
  bandwidth: {ingress: ${2:-20M}}
YAML
}
limits >"$E2E_TMP/cfg.yaml"
# A pod is known by its processes: the clients' live on between runs.
for p in c d s; do
	"$TESTBED" exec "$E2E_ID" "n1/$p" -- sleep 600 &
	E2E_PIDS+=($!)
done
stream_serve n1/s
agent_start n1 "$E2E_TMP/cfg.yaml"
agent_wait_applied n1
agent_wait_pods n1 3

# The policer is attached to the limited pods only (both directions of
# their one interface).
pins=$(bpffs_of n1)/links/tc
for _ in $(seq 50); do
	[ "$(find "$pins" -type f 2>/dev/null | wc -l)" = 4 ] && break
	sleep 0.1
done
assert_eq "$(find "$pins" -type f | wc -l)" 4 "tcx links: egress and ingress of c and s"

# upload FROM SERVER_IP [BYTES]: Mbit/s of an upload (5 MiB) in 4 KiB
# writes, every byte checked. Small writes after a few request/response
# turns (which prove the server a reader) are what the shortcut carries.
upload()
{
	local out
	out=$(in_pod "$1" -- "$STREAM" run --case upload --bytes "${3:-5M}" --chunk 4096 \
		--warmup 4 ${4:+--conns $4 --parallel $4} \
		--timeout 30 "$2" "$STREAM_PORT")
	assert_eq "$(result_field "$out" failed)" 0 "upload from $1 to $2: $out"
	awk -v b="$(result_field "$out" bytes_up)" -v ms="$(result_field "$out" elapsed_ms)" \
		'BEGIN { printf "%.2f", b * 8 / ms / 1000 }'
}
# within RATE WANT WHAT: RATE (Mbit/s) is WANT +- 10%.
within()
{
	awk -v r="$1" -v w="$2" 'BEGIN { exit !(r >= w * 0.9 && r <= w * 1.1) }' ||
		fail "$3: $1 Mbit/s, expected $2 +- 10%"
	log "$3: $1 Mbit/s (limit $2)"
}

redirected_before=$(same_node n1 redirected_bytes)
within "$(upload n1/c "$TB_POD_s_IP4")" 10 "egress 10M, same node (shortcut on)"
redirected=$(( $(same_node n1 redirected_bytes) - redirected_before ))
[ "$redirected" -gt 0 ] || fail "nothing went through the shortcut: the test would not cover it"
log "  of which $redirected bytes through the shortcut"
within "$(upload n1/d "$TB_POD_s_IP4")" 20 "ingress 20M, same node (shortcut on)"
kill "$STREAM_PID"; wait "$STREAM_PID" 2>/dev/null || true

stream_serve n2/r
within "$(upload n1/c "$TB_POD_r_IP4")" 10 "egress 10M, across nodes (no shortcut)"
# Four connections at once share the one limit: each is paced at the
# whole of it, so here the policer's drops hold them together.
rate=$(upload n1/c "$TB_POD_r_IP4" 2M 4)
awk -v r="$rate" 'BEGIN { exit !(r >= 8 && r <= 11) }' ||
	fail "four connections under one 10M limit: $rate Mbit/s"
log "egress 10M, four connections across nodes: $rate Mbit/s"
free=$(upload n1/d "$TB_POD_r_IP4" 50M)
awk -v r="$free" 'BEGIN { exit !(r > 100) }' || fail "an unlimited pod got $free Mbit/s"
log "unlimited pod across nodes: $free Mbit/s"
kill "$STREAM_PID"; wait "$STREAM_PID" 2>/dev/null || true

# The counters say what the policer did.
ctl n1 bandwidth >&2
json=$(ctl n1 -o json bandwidth)
assert_eq "$(jq length <<<"$json")" 2 "two limited workloads listed: $json"
assert_eq "$(jq -r '.[] | select(.workload == "default/c") | .egress.rate_bps' <<<"$json")" \
	10000000 "c's egress limit shown: $json"
passed=$(jq '.[] | select(.workload == "default/c") | .egress.passed_bytes' <<<"$json")
[ "$passed" -gt 10000000 ] || fail "c's egress counted $passed bytes: $json"

# A changed limit applies at once; the policer stays attached.
limits 40M 20M >"$E2E_TMP/cfg.new"
mv "$E2E_TMP/cfg.new" "$E2E_TMP/cfg.yaml"
agent_wait_applied n1 2
stream_serve n2/r
within "$(upload n1/c "$TB_POD_r_IP4" 20M)" 40 "egress raised to 40M, across nodes"
kill "$STREAM_PID"; wait "$STREAM_PID" 2>/dev/null || true

# A restarted agent adopts the policers (the limits held meanwhile).
ids_before=$(bpftool -j link show | jq -c '[.[] | select(.type == "tcx") | .id] | sort')
agent_stop n1
agent_start n1 "$E2E_TMP/cfg.yaml"
agent_wait_applied n1
assert_eq "$(find "$pins" -type f | wc -l)" 4 "tcx links kept across a restart"
ids_after=$(bpftool -j link show | jq -c '[.[] | select(.type == "tcx") | .id] | sort')
assert_eq "$ids_after" "$ids_before" "the same tcx links, adopted"

# A bad quantity is refused with its place; the limits stay.
limits 10Mbps >"$E2E_TMP/cfg.new"
mv "$E2E_TMP/cfg.new" "$E2E_TMP/cfg.yaml"
agent_wait_rejected n1
assert_match "$(status_field n1 .config.error)" \
	'cfg.yaml:[0-9]+:[0-9]+: .*kubernetes.io/egress-bandwidth: "10Mbps": a bandwidth in bits per second' \
	"bad bandwidth quantity"
assert_eq "$(ctl n1 -o json bandwidth | jq length)" 2 "limits kept after a rejected config"

# Without limits the policer goes away.
{ pod c "$TB_POD_c_IP4"; pod d "$TB_POD_d_IP4"; pod s "$TB_POD_s_IP4"; } >"$E2E_TMP/cfg.new"
mv "$E2E_TMP/cfg.new" "$E2E_TMP/cfg.yaml"
agent_wait_applied n1 3
for _ in $(seq 50); do
	[ "$(find "$pins" -type f | wc -l)" = 0 ] && break
	sleep 0.1
done
assert_eq "$(find "$pins" -type f | wc -l)" 0 "policer detached without limits"
assert_eq "$(ctl n1 -o json bandwidth | jq length)" 0 "no limits listed"
agent_stop n1
log ok
