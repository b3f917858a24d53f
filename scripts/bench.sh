#!/usr/bin/env bash
# make bench: the cost of a service mesh dataplane against no mesh, in one run
# on one machine, as one table (and a second one for the service count).
#
# Workloads (BENCH_ONLY, comma-separated; default all):
#   rr       64-byte ping-pong on one TCP connection: p50, p99, transactions/s
#            (sockperf ping-pong, or sl-probe rr with BENCH_RR_TOOL=sl-probe)
#   crr      connect, one request, its reply, close: connections/s (sl-probe)
#   stream1  64 KiB writes on one connection: Gbit/s (iperf3)
#   stream8  the same on 8 parallel connections (iperf3 -P 8)
#   http     HTTP/1.1 keep-alive, 8 connections: requests/s, p99 (wrk, nginx)
# Paths (BENCH_PATHS; default both):
#   same-node   client pod and server pod on one node
#   cross-node  client pod on node n1, server pod on node n2
# Modes (BENCH_MODES; default all; direct is always measured):
#   direct           no mesh: the client dials the server pod's IP
#   iptables         kube-proxy-style iptables DNAT for the VIP, in the
#                    client node's netns
#   proxy            the sidecar pattern: an HAProxy in the client pod and one
#                    in the server pod, traffic captured by iptables REDIRECT
#   sluice           the Sluice agent with --no-redirect (connect-time
#                    translation only)
#   sluice-redirect  the Sluice agent with same-node acceleration
# Policing (BENCH_POLICING, default on, "" skips it): direct and Sluice
#   with no traffic feature configured vs every one on the target (none
#   binding), same-node, crr and rr: what configuring them costs.
# Telemetry (BENCH_TELEMETRY, default on, "" skips it): direct and Sluice
#   with the kernel's connection counting and the flow log off
#   (--telemetry off) vs on (the default), same-node, crr and rr: what
#   metrics and the flow log cost.
# Policy size (BENCH_RULES, default "10 10000", "" skips it): direct and
#   sluice-rules-N, same-node, crr and rr, with an AuthorizationPolicy of N
#   rules over N other identities in force (the cost per connection must
#   not grow with N).
# Service count (BENCH_SERVICES, default "10 1000 10000", "" skips it):
#   direct, iptables-N and sluice-N with N other services, same-node, on crr
#   and rr (with sl-probe rr here, as in the benchmarks recorded before; it
#   also spares the 2 s that sockperf sleeps before every run).
#
# Every (path, mode) has a testbed of its own (scripts/testbed.sh), so that
# no conntrack, NAT, sidecar or Sluice hook of one mode ever touches another,
# and the direct baseline never runs with a Sluice program attached. Each
# mode's two runs sit between two direct runs (direct, mode, mode, direct),
# modes rotating from round to round; the ratio of each such group is one
# sample. Client and server are pinned to different CPUs. BENCH_ROUNDS
# (default 3) rounds of BENCH_SECONDS (default 2) per run; BENCH_RAW=FILE
# keeps the recorded runs ("PATH MODE METRIC ROUND own|dir VALUE").
set -euo pipefail

# shellcheck disable=SC2034 # used by the sourced scripts/bench/*.sh
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build
TESTBED=$ROOT/scripts/testbed.sh
PROBE=$BUILD/sl-probe
ROUNDS=${BENCH_ROUNDS:-3}
SECONDS_PER_RUN=${BENCH_SECONDS:-2}
COUNTS=${BENCH_SERVICES-"10 1000 10000"}
RULES=${BENCH_RULES-"10 10000"}
POLICING=${BENCH_POLICING-on}
TELEMETRY=${BENCH_TELEMETRY-on}
# The features "policing on" configures (BENCH_POLICED, to measure some
# alone): LEAST_REQUEST, maxConnections, idle/age timeouts, connectTimeout,
# tcpKeepalive, outlierDetection with ejection limits, a connection rate
# limit, a bandwidth limit, an AuthorizationPolicy of 10 rules.
POLICED_FEATURES=${BENCH_POLICED:-"lb pool timeouts connect keepalive outlier limit bandwidth policy"}
RR_TOOL=${BENCH_RR_TOOL:-sockperf}
RAW=${BENCH_RAW:-}	# if set, the recorded runs are copied there
ALL_WORKLOADS="rr crr stream1 stream8 http"
ALL_PATHS="same-node cross-node"
ALL_MODES="iptables proxy sluice sluice-redirect"
WORKLOADS=${BENCH_ONLY:-$ALL_WORKLOADS}
PATHS=${BENCH_PATHS:-$ALL_PATHS}
MODES=${BENCH_MODES-$ALL_MODES}
WORKLOADS=${WORKLOADS//,/ }
PATHS=${PATHS//,/ }
MODES=${MODES//,/ }
declare -A MODE_LETTER=([direct]=d [iptables]=i [proxy]=p [sluice]=s [sluice-redirect]=r)
declare -A PATH_LETTER=([same-node]=l [cross-node]=x)

usage_error() { echo "bench: $*" >&2; exit 2; }

# only ALLOWED WORD...: the words of ALLOWED that were asked for, in ALLOWED's
# order; an unknown word is an error.
only()
{
	local allowed=$1 w out=
	shift
	for w in "$@"; do
		[[ " $allowed direct " == *" $w "* ]] || usage_error "unknown '$w' (known: $allowed)"
	done
	for w in $allowed; do
		[[ " $* " == *" $w "* ]] && out="$out $w"
	done
	echo "${out# }"
}

# shellcheck disable=SC2086
{
	WORKLOADS=$(only "$ALL_WORKLOADS" $WORKLOADS)
	PATHS=$(only "$ALL_PATHS" $PATHS)
	MODES=$(only "$ALL_MODES" $MODES)
}
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || usage_error "BENCH_ROUNDS must be a positive integer"
[[ $SECONDS_PER_RUN =~ ^[1-9][0-9]*$ ]] || usage_error "BENCH_SECONDS must be a positive integer"
[[ $COUNTS =~ ^[0-9\ ]*$ ]] || usage_error "BENCH_SERVICES must be counts"
[[ $RULES =~ ^[0-9\ ]*$ ]] || usage_error "BENCH_RULES must be counts"
case $RR_TOOL in sockperf) RR_TOOL=sockperf ;; sl-probe) RR_TOOL=probe ;;
*) usage_error "BENCH_RR_TOOL is sockperf or sl-probe" ;; esac
# The service-count phase measures crr and rr, as far as they were asked for.
# shellcheck disable=SC2046
COUNT_WORKLOADS=$(only "crr rr" $(tr ' ' '\n' <<<"$WORKLOADS" | grep -xE 'crr|rr' || true))
[ -z "$COUNT_WORKLOADS" ] && COUNTS= && RULES= && POLICING= && TELEMETRY=
[ -z "$WORKLOADS$COUNTS$RULES$POLICING$TELEMETRY" ] && usage_error "nothing to measure"

[ "$(id -u)" -eq 0 ] || { echo "bench needs root" >&2; exit 1; }
for tool in sockperf iperf3 wrk nginx haproxy iptables-restore jq bpftool \
	"$BUILD/sluiced" "$BUILD/sluicectl" "$PROBE"; do
	command -v "$tool" >/dev/null ||
		{ echo "bench: $tool is missing (make deps all)" >&2; exit 1; }
done
if [ "$(nproc)" -ge 2 ]; then CLIENT_CPU=0 SERVER_CPU=1; else CLIENT_CPU=0 SERVER_CPU=0; fi

SUFFIX=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
PINS_ROOT=/sys/fs/bpf/sluice-bench-$SUFFIX
WORK=$(mktemp -d "/tmp/sluice-bench-$SUFFIX.XXXX")
RESULTS=$WORK/results
FAILURES=$WORK/failures
: >"$RESULTS"
: >"$FAILURES"

# shellcheck source=bench/setup.sh
. "$ROOT/scripts/bench/setup.sh"
# shellcheck source=bench/run.sh
. "$ROOT/scripts/bench/run.sh"

trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- setup ------------------------------------------------------------------

KEYS=()
for path in $PATHS; do
	for mode in direct $MODES; do KEYS+=("$path/$mode"); done
done
if [ -n "$RULES$POLICING$TELEMETRY" ]; then
	for key in same-node/direct same-node/sluice; do
		[[ " ${KEYS[*]} " == *" $key "* ]] || KEYS+=("$key")
	done
fi
if [ -n "$COUNTS" ]; then
	for key in same-node/direct same-node/iptables same-node/sluice; do
		[[ " ${KEYS[*]} " == *" $key "* ]] || KEYS+=("$key")
	done
fi

echo "Sluice benchmark $SUFFIX: ${WORKLOADS:-no workload} on ${PATHS:-no path};" \
	"modes: direct ${MODES}; service counts: ${COUNTS:-none}; policy rules: ${RULES:-none};" \
	"$ROUNDS rounds, ${SECONDS_PER_RUN}s per run; rr with $RR_TOOL" >&2
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
echo "[$(elapsed)] setting up ${#KEYS[@]} testbeds" >&2
for key in "${KEYS[@]}"; do
	setup "$key"
done
T_SETUP=$SECONDS

# ---- the matrix: path x mode x workload -------------------------------------

# After each round: had anything attached Sluice programs where the direct
# runs just ran (another agent on the machine, on the cgroup root)?
check_direct()
{
	local key msg
	for key in "${KEYS[@]}"; do
		[[ $key == */direct ]] || continue
		msg=$(check_no_sluice "$key") ||
			echo "direct baseline, $1: $msg" | tee -a "$FAILURES" >&2
	done
}

if [ -n "$WORKLOADS" ]; then
	for round in $(seq "$ROUNDS"); do
		for path in $PATHS; do
			# shellcheck disable=SC2086
			mapfile -t order < <(rotate $((round - 1)) $MODES)
			specs=()
			for mode in ${order[@]+"${order[@]}"}; do
				specs+=("$mode=$path/$mode")
				if [ "$mode" = sluice-redirect ]; then
					warm_up "$path/$mode"
				fi
			done
			for wl in $WORKLOADS; do
				echo "[$(elapsed)] round $round/$ROUNDS $path $wl:" \
					"direct ${order[*]-}" >&2
				sequence "$path" "$wl" "$round" "$path/direct" ${specs[@]+"${specs[@]}"}
			done
			check_direct "$path round $round"
		done
	done
fi
T_MATRIX=$SECONDS

# Did same-node acceleration happen? The client node's counters, per path.
# And did the sidecars really see every connection?
CHECKS=()
for path in $PATHS; do
	if [[ " $MODES " != *" proxy "* ]] || [ -z "$WORKLOADS" ]; then
		continue
	fi
	CHECKS+=("proxy, $path: connections captured by the sidecars: $(proxy_captured "$path/proxy")")
	echo "${CHECKS[-1]}" >&2
done
for path in $PATHS; do
	if [[ " $MODES " != *" sluice-redirect "* ]] || [ -z "$WORKLOADS" ]; then
		continue
	fi
	js=$("$BUILD/sluicectl" --bpffs "${PIN[$path/sluice-redirect]}" -o json status | jq -c .same_node)
	echo "sluice-redirect $path: sluicectl status .same_node: $js" >&2
	CHECKS+=("$(jq -r --arg p "$path" '"sluice-redirect, \($p): \(.redirected_bytes) bytes in " +
		"\(.redirected_msgs) messages took the shortcut, \(.stack_bytes) bytes went through " +
		"TCP; sockets joined \(.joined), left the shortcut \(.left), closed \(.closed), " +
		"in the shortcut now \(.sockets_now); connections without a local peer " +
		"\(.not_local), kept off as too short to gain \(.short_skipped)"' <<<"$js")")
done

# ---- service count: direct vs iptables-N vs sluice-N, same node -------------

for n in $COUNTS; do
	echo "[$(elapsed)] $n other services: loading iptables rules and Sluice configuration" >&2
	sluice_apply same-node/sluice "$n"
	iptables_apply same-node/iptables "$n"
	# Let the work a configuration change leaves behind (RCU frees, nft
	# transaction cleanup) settle before measuring.
	sleep 1
	for round in $(seq "$ROUNDS"); do
		mapfile -t order < <(rotate $((round - 1)) "sluice-$n=same-node/sluice" \
			"iptables-$n=same-node/iptables")
		for wl in $COUNT_WORKLOADS; do
			echo "[$(elapsed)] round $round/$ROUNDS $n services $wl" >&2
			sequence services "${wl/#rr/rr-probe}" "$round" same-node/direct "${order[@]}"
		done
		check_direct "$n services round $round"
	done
done
T_COUNTS=$SECONDS

# ---- policy size: direct vs sluice with N AuthorizationPolicy rules ---------

# sluice_rounds PATH LABEL: the rounds of one Sluice configuration, already
# applied to the same-node Sluice testbed, against direct.
sluice_rounds()
{
	local round wl
	sleep 1
	for round in $(seq "$ROUNDS"); do
		for wl in $COUNT_WORKLOADS; do
			echo "[$(elapsed)] round $round/$ROUNDS $2 $wl" >&2
			sequence "$1" "${wl/#rr/rr-probe}" "$round" same-node/direct \
				"$2=same-node/sluice"
		done
		check_direct "$2 round $round"
	done
}

for n in $RULES; do
	echo "[$(elapsed)] $n policy rules: loading the Sluice configuration" >&2
	sluice_apply same-node/sluice 0 "$n"
	sluice_rounds rules "sluice-rules-$n"
done
[ -n "$RULES" ] && sluice_apply same-node/sluice 0 0
T_RULES=$SECONDS

# ---- policing: every traffic feature configured (none binding) vs none ------

if [ -n "$POLICING" ]; then
	echo "[$(elapsed)] policing off: loading the Sluice configuration" >&2
	sluice_apply same-node/sluice 0 0 0
	sluice_rounds policing sluice-policing-off
	echo "[$(elapsed)] policing on: loading the Sluice configuration" >&2
	policy_rules=0
	[[ " $POLICED_FEATURES " == *" policy "* ]] && policy_rules=10
	sluice_apply same-node/sluice 0 "$policy_rules" 1
	sluice_rounds policing sluice-policing-on
	sluice_apply same-node/sluice 0 0 0
fi
T_POLICING=$SECONDS

# ---- telemetry: connection counting and flow log off vs on --------------------

if [ -n "$TELEMETRY" ]; then
	echo "[$(elapsed)] telemetry off: restarting the agents" >&2
	agents_restart same-node/sluice --no-redirect --telemetry off
	sluice_rounds telemetry sluice-telemetry-off
	echo "[$(elapsed)] telemetry on: restarting the agents" >&2
	agents_restart same-node/sluice --no-redirect
	sluice_rounds telemetry sluice-telemetry-on
fi
T_TELEMETRY=$SECONDS

# ---- report -----------------------------------------------------------------

cpu_model=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)
mem=$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
[ -n "$RAW" ] && cp "$RESULTS" "$RAW"
echo
echo "Machine: $(nproc) CPUs ($cpu_model), $mem, Linux $(uname -r);" \
	"load average $LOAD_START at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end"
echo "Run: $ROUNDS rounds, ${SECONDS_PER_RUN}s per run; client on CPU $CLIENT_CPU," \
	"server on CPU $SERVER_CPU; rr: $([ "$RR_TOOL" = probe ] && echo sl-probe rr || echo sockperf ping-pong);" \
	"crr: sl-probe; stream: iperf3; http: wrk -t1 -c8 against nginx (1 worker)"
echo "Cells: median over all runs of the mode [min-max] (relative to no mesh:"
echo "median over rounds of the mode's two runs against the two direct runs"
echo "around them [min-max]; rates mode/direct, latencies direct/mode: 1.00 = as"
echo "fast as no mesh, higher is better)."
if [ -n "$WORKLOADS" ]; then
	rows='' cols=''
	for path in $PATHS; do
		for mode in direct $MODES; do rows="$rows $path/$mode"; done
	done
	for wl in $WORKLOADS; do
		case $wl in
		rr) cols="$cols;rr50|RR p50 µs|lat;rr99|RR p99 µs|lat;rrtps|RR tps|rate" ;;
		crr) cols="$cols;crr|CRR conn/s|rate" ;;
		stream1) cols="$cols;s1|stream1 Gbit/s|rate" ;;
		stream8) cols="$cols;s8|stream8 Gbit/s|rate" ;;
		http) cols="$cols;http|HTTP req/s|rate;http99|HTTP p99 ms|lat" ;;
		esac
	done
	echo
	awk -v rows="$rows" -v cols="${cols#;}" -v label=path -f "$ROOT/scripts/bench/report.awk" "$RESULTS"
	[ ${#CHECKS[@]} -gt 0 ] && echo
	for line in ${CHECKS[@]+"${CHECKS[@]}"}; do
		echo "- $line"
	done
fi
# count_table ROWS TITLE...: the crr/rr table of a count phase.
count_table()
{
	local rows=$1 cols='' wl
	shift
	for wl in $COUNT_WORKLOADS; do
		case $wl in
		crr) cols="$cols;crr|new conn/s|rate" ;;
		rr) cols="$cols;rr50|RR p50 µs|lat;rr99|RR p99 µs|lat" ;;
		esac
	done
	echo
	printf '%s\n' "$@"
	echo
	awk -v rows="$rows" -v cols="${cols#;}" -v label= -f "$ROOT/scripts/bench/report.awk" "$RESULTS"
}
if [ -n "$COUNTS" ]; then
	rows=services/direct
	for n in $COUNTS; do rows="$rows services/iptables-$n services/sluice-$n"; done
	count_table "$rows" "Service count (same node; N other services installed; rr: sl-probe rr):"
fi
if [ -n "$RULES" ]; then
	rows=rules/direct
	for n in $RULES; do rows="$rows rules/sluice-rules-$n"; done
	count_table "$rows" "Policy size (same node; an ALLOW policy on the server with N rules, one" \
		"per identity, N other workloads; the client matches the last rule):"
fi
if [ -n "$POLICING" ]; then
	count_table "policing/direct policing/sluice-policing-off policing/sluice-policing-on" \
		"Policing (same node): Sluice with no traffic feature configured, and with" \
		"these on the target, none of them binding: $POLICED_FEATURES"
fi
if [ -n "$TELEMETRY" ]; then
	count_table "telemetry/direct telemetry/sluice-telemetry-off telemetry/sluice-telemetry-on" \
		"Telemetry (same node): Sluice with connection counting and the flow log off" \
		"(--telemetry off), and on (the default: metrics counted, flow log on):"
fi
echo
echo "Time: setup ${T_SETUP}s$([ -n "$WORKLOADS" ] && echo ", matrix $((T_MATRIX - T_SETUP))s")$(
	[ -n "$COUNTS" ] && echo ", service count $((T_COUNTS - T_MATRIX))s")$(
	[ -n "$RULES" ] && echo ", policy size $((T_RULES - T_COUNTS))s")$(
	[ -n "$POLICING" ] && echo ", policing $((T_POLICING - T_RULES))s")$(
	[ -n "$TELEMETRY" ] && echo ", telemetry $((T_TELEMETRY - T_POLICING))s"), total ${SECONDS}s."

# A run that failed a connection or a request is not a result.
if [ -s "$FAILURES" ]; then
	echo
	echo "INVALID: $(wc -l <"$FAILURES") run(s) failed and are missing from the figures:"
	cat "$FAILURES"
	exit 1
fi
