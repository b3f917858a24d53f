#!/usr/bin/env bash
# make bench-control: the control plane at 1k, 10k and 100k endpoints.
#
# For each size (BENCH_CONTROL_SIZES services of 10 endpoints each,
# default "100 1000 10000"), the agent learns everything from the
# Kubernetes API (tests/tools/kube-replay.mjs serving the API server's wire
# format on loopback) and is measured:
#   list+decode   first request to the last resource listed
#   full apply    every object in hand to every map written
#   cold start    process start (programs loaded) to every map written
#   RSS           the agent's resident memory afterwards (and its peak);
#                 RSS-churn: again after the churn (its flow log and reset
#                 bookkeeping in use)
#   change p50/p99/max
#                 BENCH_CONTROL_CHANGES single-endpoint changes, one every
#                 BENCH_CONTROL_INTERVAL_MS: from the event's arrival at the
#                 agent to the maps written (the agent's own measurement)
#   apply/walk    the applies those changes made, and the walks of the pods'
#                 sockets that reset removed endpoints' connections
#   restart       stop, start: to every map reconciled (nothing rewritten)
#   connections   new connections through a VIP whose endpoints are real
#                 pods, every 5 ms during the churn and the restart: none
#                 may fail
# The scenario (scripts/bench/kube-scenario.mjs): PODS_PER=0 makes the
# endpoints bare addresses, POD_LABELS=4 gives each Pod a Deployment's
# four labels instead of one.
# The goals of the issue (full apply < 1 s, change p99 < 10 ms, RSS < 64
# MB at 100k endpoints) are printed as ratios: measured / goal.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
SLUICED=${SLUICED:-$BUILD/sluiced}
PROBE=$BUILD/sl-probe
TESTBED=$ROOT/scripts/testbed.sh
REPLAY=$ROOT/tests/tools/kube-replay.mjs
SIZES=${BENCH_CONTROL_SIZES:-"100 1000 10000"}
EPS=10
CHANGES=${BENCH_CONTROL_CHANGES:-300}
INTERVAL_MS=${BENCH_CONTROL_INTERVAL_MS:-20}
ID=bc$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
WORK=$(mktemp -d "/tmp/sluice-bench-control-$ID.XXXX")
PINS=/sys/fs/bpf/sluice-$ID
PIDS=()
AGENT=
RESULTS=()

cleanup()
{
	local rc=$?
	set +e
	[ -n "$AGENT" ] && kill "$AGENT" 2>/dev/null
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	"$SLUICED" --uninstall --bpffs "$PINS" >/dev/null 2>&1
	"$TESTBED" down "$ID" >/dev/null 2>&1
	# BENCH_CONTROL_LOGS=DIR keeps the agent's logs (stage timings, heap).
	[ -n "${BENCH_CONTROL_LOGS:-}" ] && mkdir -p "$BENCH_CONTROL_LOGS" &&
		cp "$WORK"/agent-*.log "$BENCH_CONTROL_LOGS/"
	rm -rf "$WORK"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { echo "[bench-control] $*" >&2; }
now_ms() { date +%s%3N; }
# Milliseconds of the day of a log line's timestamp.
line_ms() { awk '{ split(substr($1, 12, 12), t, ":"); printf "%d\n", (t[1] * 3600 + t[2] * 60 + t[3]) * 1000 }'; }

"$TESTBED" up "$ID" n1/c n1/a n1/b >/dev/null
eval "$("$TESTBED" info "$ID")"
CGROUP=$TB_NODE_n1_CGROUP
POD_IPS="$TB_POD_a_IP4 $TB_POD_b_IP4"
for p in a b; do
	"$TESTBED" exec "$ID" "n1/$p" -- "$PROBE" serve --name "$p" --tcp 8080 >"$WORK/serve-$p.log" 2>&1 &
	PIDS+=($!)
done
"$TESTBED" exec "$ID" n1/c -- sleep 100000 &
PIDS+=($!)

agent_start()
{
	"$SLUICED" --kubeconfig "$WORK/kubeconfig" --node-name n1 --bpffs "$PINS" \
		--cgroup "$CGROUP" --metrics-addr off --flows-socket off \
		--max-workloads 262144 >>"$1" 2>&1 &
	AGENT=$!
}

agent_stop()
{
	kill -TERM "$AGENT"
	wait "$AGENT" || true
	AGENT=
}

# wait_line FILE PATTERN N: until FILE has N lines matching PATTERN.
wait_line()
{
	for _ in $(seq 1200); do
		[ "$(grep -cE -- "$2" "$1" || true)" -ge "$3" ] && return 0
		sleep 0.05
	done
	say "timed out waiting for /$2/ in $1"
	tail -n 20 "$1" >&2
	exit 1
}

rss_kb() { awk -v k="$2" '$1 == k":" { print $2 }' "/proc/$1/status"; }

# pct P: the P-th percentile of the numbers on stdin.
pct() { sort -n | awk -v p="$1" '{ v[NR] = $1 } END { i = int((NR * p + 99) / 100); if (i < 1) i = 1; printf "%.2f", v[i] }'; }

measure()
{
	local n=$1 log=$WORK/agent-$1.log scen=$WORK/scenario-$1.json url t0 t1
	local listed applied first_list lat stream ok failed ready rewrote walks t_start rss_churn
	node "$ROOT/scripts/bench/kube-scenario.mjs" "$n" "$EPS" "$POD_IPS" >"$scen"
	rm -f "$WORK/port"
	node "$REPLAY" --port-file "$WORK/port" --scenario "$scen" >"$WORK/replay-$n.log" 2>&1 &
	PIDS+=($!)
	for _ in $(seq 600); do [ -s "$WORK/port" ] && break; sleep 0.1; done
	url=http://127.0.0.1:$(cat "$WORK/port")
	printf 'apiVersion: v1\nkind: Config\ncurrent-context: c\ncontexts: [{name: c, context: {cluster: c, user: u}}]\nclusters: [{name: c, cluster: {server: "%s"}}]\nusers: [{name: u, user: {token: bench}}]\n' \
		"$url" >"$WORK/kubeconfig"

	say "$((n * EPS)) endpoints: cold start"
	t_start=$(now_ms)
	agent_start "$log"
	wait_line "$log" 'configuration applied \(generation' 1
	t1=$(now_ms)
	first_list=$(grep -m1 'kubernetes: watching' "$log" | line_ms)
	listed=$(grep 'listed (resourceVersion' "$log" | tail -n 1 | line_ms)
	applied=$(grep -m1 'configuration applied (generation' "$log" | line_ms)
	sleep 1
	local rss hwm
	rss=$(rss_kb "$AGENT" VmRSS)
	cat "/proc/$AGENT/smaps_rollup" >"$WORK/agent-$n.smaps.log" 2>/dev/null || true
	hwm=$(rss_kb "$AGENT" VmHWM)

	say "$((n * EPS)) endpoints: $CHANGES single-endpoint changes"
	stream=$WORK/stream-$n.out
	rm -f "$WORK/stop"
	"$TESTBED" exec "$ID" n1/c -- "$PROBE" dial --duration 100000 --interval-ms 5 \
		--stop-file "$WORK/stop" 10.96.0.1 80 >"$stream" 2>&1 &
	local dialer=$!
	PIDS+=($dialer)
	sleep 0.5
	local before
	walks=$(grep -c 'endpoints left their services' "$log" || true)
	before=$(grep -c 'in the maps' "$log")
	node "$ROOT/scripts/bench/kube-churn.mjs" "$url" "$CHANGES" "$n" "$EPS" "$INTERVAL_MS" \
		"$POD_IPS" >/dev/null
	sleep 1
	rss_churn=$(rss_kb "$AGENT" VmRSS)
	lat=$(grep 'in the maps' "$log" | tail -n +$((before + 1)) |
		sed -n 's/.* in the maps \([0-9.]*\) ms .*/\1/p')
	# Walks of the pods' sockets to reset removed endpoints' connections.
	walks=$(($(grep -c 'endpoints left their services' "$log" || true) - walks))

	say "$((n * EPS)) endpoints: restart"
	agent_stop
	local applies_before
	applies_before=$(grep -c 'configuration applied' "$log")
	t0=$(now_ms)
	agent_start "$log"
	wait_line "$log" 'configuration applied' $((applies_before + 1))
	ready=$(($(now_ms) - t0))
	rewrote=$(grep 'configuration applied' "$log" | tail -n 1 |
		sed -n 's/.*frontends \([^;]*\);.*/\1/p')
	sleep 0.5
	touch "$WORK/stop"
	wait "$dialer" || true
	ok=$(sed -n 's/^total ok=\([0-9]*\) failed=.*/\1/p' "$stream")
	failed=$(sed -n 's/^total ok=[0-9]* failed=\([0-9]*\)/\1/p' "$stream")
	agent_stop
	"$SLUICED" --uninstall --bpffs "$PINS" >/dev/null 2>&1

	RESULTS+=("$(printf '%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s' "$((n * EPS))" \
		"$((listed - first_list))" "$((applied - listed))" "$((t1 - t_start))" \
		"$((rss / 1024))" "$((rss_churn / 1024))" "$((hwm / 1024))" \
		"$(pct 50 <<<"$lat")" "$(pct 99 <<<"$lat")" "$(pct 100 <<<"$lat")" \
		"$(grep -c . <<<"$lat")/$walks" "$ready" "${ok:-?}/${failed:-?}" "$rewrote")")
}

for n in $SIZES; do
	measure "$n"
done

printf '\nControl plane (%s, %s CPUs, %s)\n' "$(uname -r)" "$(nproc)" "$(date -u +%F)"
printf '%-10s %12s %11s %11s %8s %9s %8s %9s %9s %9s %8s %11s %12s  %s\n' endpoints \
	'list+decode' 'full-apply' 'cold-start' 'RSS-MB' 'RSS-churn' 'peak-MB' 'chg-p50' 'chg-p99' \
	'chg-max' 'apply/walk' 'restart-ms' 'conn-ok/fail' 'restart wrote (frontends)'
for r in "${RESULTS[@]}"; do
	IFS='|' read -r e l a c rss rssc hwm p50 p99 max napp ready conns wrote <<<"$r"
	printf '%-10s %10s ms %8s ms %8s ms %8s %9s %8s %6s ms %6s ms %6s ms %8s %8s ms %12s  %s\n' \
		"$e" "$l" "$a" "$c" "$rss" "$rssc" "$hwm" "$p50" "$p99" "$max" "$napp" "$ready" \
		"$conns" "$wrote"
done
last=${RESULTS[-1]}
IFS='|' read -r e l a c rss rssc hwm p50 p99 max napp ready conns wrote <<<"$last"
[ "$rssc" -gt "$rss" ] && rss=$rssc	# the higher of the two counts
printf '\nAgainst the goals at %s endpoints (measured / goal; below 1 meets it):\n' "$e"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
printf '  full apply  %s ms / 1000 ms = %s\n' "$a" "$(ratio "$a" 1000)"
printf '  change p99  %s ms / 10 ms = %s\n' "$p99" "$(ratio "$p99" 10)"
printf '  RSS         %s MB / 64 MB = %s\n' "$rss" "$(ratio "$rss" 64)"
