# shellcheck shell=bash
# Sourced by scripts/bench.sh: the workloads, one run each, and the order in
# which runs are made.
#
# A workload function runs one measurement from the client pod of a
# testbed and prints "METRIC VALUE" lines; it fails (with a message on
# stderr) when the tool failed or any request or connection did.

# client KEY CMD...: CMD in the client pod of KEY's testbed, on the client
# CPU, killed if it hangs.
client()
{
	local key=$1
	shift
	timeout -k 5 $((SECONDS_PER_RUN + 30)) \
		"$TESTBED" exec "${TB[$key]}" n1/client -- taskset -c "$CLIENT_CPU" "$@"
}

# 64-byte ping-pong on one connection: rr50, rr99 (round trip, us), rrtps.
wl_rr_sockperf()
{
	local key=$1 out
	out=$(client "$key" sockperf ping-pong --tcp --full-rtt -i "${HOST[$key]}" \
		-p "$PORT_SOCKPERF" -m 64 -t "$SECONDS_PER_RUN" 2>&1) || {
		echo "sockperf failed: $(tail -n 3 <<<"$out")" >&2
		return 1
	}
	# sockperf colours its output; its "latency" is round trip with --full-rtt.
	# shellcheck disable=SC2001
	sed 's/\x1b\[[0-9;]*m//g' <<<"$out" | awk '
		/\[Valid Duration\]/ {
			for (i = 1; i <= NF; i++) {
				if ($i ~ /^RunTime=/) { sub(/^RunTime=/, "", $i); t = $i + 0 }
				if ($i ~ /^ReceivedMessages=/) { sub(/^ReceivedMessages=/, "", $i); n = $i + 0 }
			}
		}
		/dropped messages/ { split($0, d, "= "); drops = d[2] + 0 }
		/percentile 50\.000 =/ { p50 = $NF }
		/percentile 99\.000 =/ { p99 = $NF }
		END {
			if (!t || !n || p50 == "" || p99 == "" || drops) {
				print "sockperf: no usable result (messages " n ", dropped " drops ")" > "/dev/stderr"
				exit 1
			}
			printf "rr50 %s\nrr99 %s\nrrtps %.0f\n", p50, p99, n / t
		}'
}

wl_rr_probe()
{
	local key=$1 out
	out=$(client "$key" "$PROBE" rr --duration "$SECONDS_PER_RUN" --warmup 0.5 --size 64 \
		"${HOST[$key]}" "$PORT_ECHO") || { echo "sl-probe rr failed: $out" >&2; return 1; }
	awk '/^rr / {
		for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		printf "rr50 %s\nrr99 %s\nrrtps %s\n", v["p50_us"], v["p99_us"], v["tps"]
		ok = v["tps"] > 0
	} END { exit !ok }' <<<"$out"
}

# New connections: connect, one request line, its reply, close.
wl_crr()
{
	local key=$1 out
	out=$(client "$key" "$PROBE" crr --duration "$SECONDS_PER_RUN" --warmup 0.5 \
		"${HOST[$key]}" "$PORT_CRR") || { echo "sl-probe crr failed: $out" >&2; return 1; }
	awk '/^crr / {
		for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		if (v["failed"] + 0 > 0 || v["rate"] == "") {
			print "crr: " $0 > "/dev/stderr"
			exit 1
		}
		print "crr " v["rate"]
		ok = 1
	} END { exit !ok }' <<<"$out"
}

# Bulk: 64 KiB writes over FLOWS parallel connections, Gbit/s received.
wl_stream()
{
	local key=$1 flows=$2 out
	out=$(client "$key" iperf3 -c "${HOST[$key]}" -p "$PORT_IPERF" -l 64K \
		-t "$SECONDS_PER_RUN" -P "$flows" -J) || {
		echo "iperf3 failed: $(jq -r '.error // empty' <<<"$out" 2>/dev/null || tail -n 3 <<<"$out")" >&2
		return 1
	}
	jq -r --arg m "s$flows" 'if .error then error(.error)
		else "\($m) \(.end.sum_received.bits_per_second / 1e9)" end' <<<"$out"
}

# HTTP/1.1 keep-alive against nginx: requests/s and p99 (ms).
wl_http()
{
	local key=$1 out
	out=$(client "$key" wrk -t1 -c8 -d"${SECONDS_PER_RUN}s" --latency \
		"http://${HOST[$key]}:$PORT_HTTP/") || { echo "wrk failed: $out" >&2; return 1; }
	awk '
		function ms(v) {
			if (v ~ /us$/) return v * 0.001
			if (v ~ /ms$/) return v + 0
			if (v ~ /s$/) return v * 1000
			return v
		}
		/Socket errors|Non-2xx/ { print "wrk: " $0 > "/dev/stderr"; bad = 1 }
		/^ +99%/ { p99 = ms($2) }
		/^Requests\/sec:/ { rps = $2 }
		END {
			if (bad || rps == "" || p99 == "") exit 1
			printf "http %s\nhttp99 %.3f\n", rps, p99
		}' <<<"$out"
}

run_workload()
{
	local wl=$1 key=$2
	case $wl in
	rr) "wl_rr_$RR_TOOL" "$key" ;;
	rr-probe) wl_rr_probe "$key" ;;
	crr) wl_crr "$key" ;;
	stream1) wl_stream "$key" 1 ;;
	stream8) wl_stream "$key" 8 ;;
	http) wl_http "$key" ;;
	esac
}

# measure PATH WL ROUND LABEL KEY [BASELINE_OF...]: one run, recorded as
# "PATH LABEL METRIC ROUND own VALUE"; a direct run is also recorded as
# "PATH MODE METRIC ROUND dir VALUE" for each MODE whose baseline it is.
measure()
{
	local path=$1 wl=$2 round=$3 label=$4 key=$5 out metric value mode
	shift 5
	# In the background, and waited for: a shell waiting in `wait` runs
	# its INT/TERM trap at once. In the foreground, Ctrl-C would be lost
	# whenever the client catches SIGINT and exits normally (sockperf,
	# iperf3 do), since bash then assumes the child handled it.
	run_workload "$wl" "$key" >"$WORK/run.out" 2>"$WORK/run.err" &
	RUNNING=$!
	if ! wait "$RUNNING"; then
		RUNNING=
		printf '%s %s %s round %s: %s\n' "$path" "$label" "$wl" "$round" \
			"$(tr '\n' ' ' <"$WORK/run.err")" | tee -a "$FAILURES" >&2
		return 0
	fi
	RUNNING=
	out=$(<"$WORK/run.out")
	while read -r metric value; do
		[ -n "$metric" ] || continue
		echo "$path $label $metric $round own $value" >>"$RESULTS"
		for mode in "$@"; do
			echo "$path $mode $metric $round dir $value" >>"$RESULTS"
		done
	done <<<"$out"
}

# sequence PATH WL ROUND DIRECT_KEY LABEL=KEY...: direct, M1, M1, direct,
# M2, M2, direct, ... Each mode's two runs sit between two direct runs, so
# drift (TIME_WAIT sockets piling up, caches, the hypervisor) cancels out of
# its ratio; a direct run between two modes is the baseline of both.
sequence()
{
	local path=$1 wl=$2 round=$3 dkey=$4 i label key next
	shift 4
	local specs=("$@")
	if [ ${#specs[@]} -eq 0 ]; then
		measure "$path" "$wl" "$round" direct "$dkey"
		return 0
	fi
	measure "$path" "$wl" "$round" direct "$dkey" "${specs[0]%%=*}"
	for i in "${!specs[@]}"; do
		label=${specs[i]%%=*}
		key=${specs[i]#*=}
		measure "$path" "$wl" "$round" "$label" "$key"
		measure "$path" "$wl" "$round" "$label" "$key"
		next=
		[ $((i + 1)) -lt ${#specs[@]} ] && next=${specs[i + 1]%%=*}
		# shellcheck disable=SC2086
		measure "$path" "$wl" "$round" direct "$dkey" "$label" $next
	done
}

# rotate N WORD...: the words, starting with the (N mod count)-th, so that
# no mode always runs first or last in a round.
rotate()
{
	local n=$1
	shift
	local w=("$@") i
	for ((i = 0; i < ${#w[@]}; i++)); do
		printf '%s\n' "${w[(i + n) % ${#w[@]}]}"
	done
}

elapsed() { printf '%d:%02d' $((SECONDS / 60)) $((SECONDS % 60)); }
