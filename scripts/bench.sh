#!/usr/bin/env bash
# make bench: new-connection rate (connect + 1 request + close) and 64-byte
# request/response latency through a service VIP, on one machine in one run:
#
#   direct        the client dials the server pod's IP (no mesh)
#   iptables-N    kube-proxy-style iptables DNAT for the VIP, with N other
#                 services installed (KUBE-SERVICES -> KUBE-SVC -> KUBE-SEP)
#   sluice-N      Sluice's connect-time translation, with N other services
#
# Each figure is the median of BENCH_ROUNDS runs of BENCH_SECONDS, modes
# interleaved round by round, with the spread (min-max). The iptables modes
# run in a testbed of their own, so that conntrack and NAT hooks registered
# there never touch the direct and Sluice runs. Client and server are pinned
# to different CPUs.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build
TESTBED=$ROOT/scripts/testbed.sh
PROBE=$BUILD/sl-probe
ROUNDS=${BENCH_ROUNDS:-5}
SECONDS_PER_RUN=${BENCH_SECONDS:-2}
COUNTS=${BENCH_SERVICES:-"10 1000 10000"}
VIP=10.96.0.10
SUFFIX=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
TB_MESH="bm$SUFFIX"	# direct and Sluice
TB_IPT="bi$SUFFIX"	# iptables
PINS=/sys/fs/bpf/sluice-bench-$SUFFIX
WORK=$(mktemp -d /tmp/sluice-bench.XXXX)
RESULTS=$WORK/results
PIDS=()
AGENT=

cleanup()
{
	set +e
	[ -n "$AGENT" ] && kill "$AGENT" 2>/dev/null && wait "$AGENT" 2>/dev/null
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	"$BUILD/sluiced" --uninstall --bpffs "$PINS" >/dev/null 2>&1
	"$TESTBED" down "$TB_MESH" >/dev/null 2>&1
	"$TESTBED" down "$TB_IPT" >/dev/null 2>&1
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" -eq 0 ] || { echo "bench needs root" >&2; exit 1; }
[ "$(nproc)" -ge 2 ] && CLIENT_CPU=0 SERVER_CPU=1 || CLIENT_CPU=0 SERVER_CPU=0

info() { "$TESTBED" info "$1" | sed -n "s/^$2=//p"; }

setup_testbed()
{
	local id=$1
	"$TESTBED" up "$id" n1/client n1/server >/dev/null
	"$TESTBED" exec "$id" n1/server -- taskset -c "$SERVER_CPU" "$PROBE" serve \
		--name server --tcp 8080 --echo 8081 >"$WORK/serve-$id.log" 2>&1 &
	PIDS+=($!)
	for _ in $(seq 100); do
		grep -q ready "$WORK/serve-$id.log" && return 0
		sleep 0.05
	done
	echo "server did not start" >&2
	exit 1
}

# N other services plus the measured one, as Sluice configuration.
sluice_config()
{
	local n=$1 server=$2
	awk -v n="$n" -v server="$server" -v vip="$VIP" 'BEGIN {
		for (i = 0; i < n; i++) {
			printf "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\n"
			printf "metadata: {name: other-%d, namespace: bench}\n", i
			printf "spec:\n  hosts: [other-%d.bench]\n", i
			printf "  addresses: [10.97.%d.%d]\n", int(i / 250), i % 250 + 1
			printf "  resolution: STATIC\n  ports: [{number: 80, name: http, targetPort: 8080}]\n"
			printf "  endpoints: [{address: 10.98.%d.%d}]\n---\n", int(i / 250), i % 250 + 1
		}
		printf "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\n"
		printf "metadata: {name: target, namespace: bench}\n"
		printf "spec:\n  hosts: [target.bench]\n  addresses: [%s]\n", vip
		printf "  resolution: STATIC\n"
		printf "  ports: [{number: 80, name: http, targetPort: 8080}, {number: 81, name: echo, targetPort: 8081}]\n"
		printf "  endpoints: [{address: %s}]\n", server
	}'
}

# kube-proxy's iptables layout: one KUBE-SERVICES rule per service port,
# walked in order; the measured service sits in the middle of the list.
iptables_rules()
{
	local n=$1 server=$2
	awk -v n="$n" -v server="$server" -v vip="$VIP" '
	function svc(name, ip, port, dst) {
		chain[++nc] = sprintf(":KUBE-SVC-%s - [0:0]\n:KUBE-SEP-%s - [0:0]", name, name)
		rule[++nr] = sprintf("-A KUBE-SERVICES -d %s/32 -p tcp -m comment --comment \"bench/%s\" -m tcp --dport %d -j KUBE-SVC-%s", ip, name, port, name)
		rule[++nr] = sprintf("-A KUBE-SVC-%s -m comment --comment \"bench/%s\" -j KUBE-SEP-%s", name, name, name)
		rule[++nr] = sprintf("-A KUBE-SEP-%s -p tcp -m tcp -j DNAT --to-destination %s", name, dst)
	}
	BEGIN {
		for (i = 0; i < n; i++) {
			if (i == int(n / 2)) {
				svc("TARGET80", vip, 80, server ":8080")
				svc("TARGET81", vip, 81, server ":8081")
			}
			svc(sprintf("O%d", i), sprintf("10.97.%d.%d", int(i / 250), i % 250 + 1), 80,
			    sprintf("10.98.%d.%d:8080", int(i / 250), i % 250 + 1))
		}
		if (n == 0) {
			svc("TARGET80", vip, 80, server ":8080")
			svc("TARGET81", vip, 81, server ":8081")
		}
		print "*nat\n:KUBE-SERVICES - [0:0]"
		for (i = 1; i <= nc; i++) print chain[i]
		print "-A PREROUTING -m comment --comment \"kube-proxy\" -j KUBE-SERVICES"
		print "-A OUTPUT -m comment --comment \"kube-proxy\" -j KUBE-SERVICES"
		for (i = 1; i <= nr; i++) print rule[i]
		print "COMMIT"
	}'
}

agent_generation()
{
	"$BUILD/sluicectl" --bpffs "$PINS" -o json status 2>/dev/null | jq -r '.config.generation // 0' ||
		echo 0
}

SLUICE_N=0
sluice_apply()
{
	local n=$1 gen
	[ "$n" = "$SLUICE_N" ] && return 0
	SLUICE_N=$n
	gen=$(agent_generation)
	sluice_config "$n" "$SERVER_MESH" >"$WORK/config/bench.yaml.tmp"
	mv "$WORK/config/bench.yaml.tmp" "$WORK/config/bench.yaml"
	for _ in $(seq 600); do
		[ "$(agent_generation)" -gt "$gen" ] && return 0
		sleep 0.05
	done
	echo "agent did not apply $n services" >&2
	exit 1
}

IPTABLES_N=
iptables_apply()
{
	local n=$1 ns
	[ "$n" = "$IPTABLES_N" ] && return 0
	IPTABLES_N=$n
	ns=$(info "$TB_IPT" TB_NODE_n1_NETNS)
	nsenter --net="/run/netns/$ns" iptables -t nat -F
	nsenter --net="/run/netns/$ns" iptables -t nat -X
	iptables_rules "$n" "$SERVER_IPT" | nsenter --net="/run/netns/$ns" iptables-restore --noflush
}

# run_once SUBJECT MODE PAIR TESTBED HOST CRR_PORT RR_PORT: one run of each
# workload, recorded as "SUBJECT MODE PAIR METRIC VALUE".
run_once()
{
	local subject=$1 mode=$2 pair=$3 tb=$4 host=$5 crr_port=$6 rr_port=$7 out tag
	tag="$subject $mode $pair"
	out=$("$TESTBED" exec "$tb" n1/client -- taskset -c "$CLIENT_CPU" "$PROBE" crr \
		--duration "$SECONDS_PER_RUN" --warmup 0.5 "$host" "$crr_port")
	sed -n "s/^crr conns=[0-9]* rate=\([0-9.]*\) p50_us=[0-9.]* p99_us=[0-9.]* failed=\([0-9]*\)/$tag crr \1\n$tag failed \2/p" \
		<<<"$out" >>"$RESULTS"
	out=$("$TESTBED" exec "$tb" n1/client -- taskset -c "$CLIENT_CPU" "$PROBE" rr \
		--duration "$SECONDS_PER_RUN" --warmup 0.5 --size 64 "$host" "$rr_port")
	sed -n "s/^rr samples=[0-9]* tps=[0-9.]* p50_us=\([0-9.]*\) p99_us=\([0-9.]*\).*/$tag rr50 \1\n$tag rr99 \2/p" \
		<<<"$out" >>"$RESULTS"
}

# measure MODE PAIR TESTBED HOST: direct, MODE, MODE, direct. The mirrored
# order cancels drift (TIME_WAIT sockets piling up in the client, caches)
# out of the ratio between the mode and no mesh.
measure()
{
	local mode=$1 pair=$2 tb=$3 host=$4
	run_once direct "$mode" "$pair" "$TB_MESH" "$SERVER_MESH" 8080 8081
	run_once "$mode" "$mode" "$pair" "$tb" "$host" 80 81
	run_once "$mode" "$mode" "$pair" "$tb" "$host" 80 81
	run_once direct "$mode" "$pair" "$TB_MESH" "$SERVER_MESH" 8080 8081
}

echo "Sluice benchmark: $ROUNDS rounds of direct/mode/mode/direct, ${SECONDS_PER_RUN}s" \
	"per run, other services: $COUNTS" >&2
setup_testbed "$TB_MESH"
setup_testbed "$TB_IPT"
SERVER_MESH=$(info "$TB_MESH" TB_POD_server_IP4)
SERVER_IPT=$(info "$TB_IPT" TB_POD_server_IP4)
mkdir -p "$WORK/config"
sluice_config 0 "$SERVER_MESH" >"$WORK/config/bench.yaml"
"$BUILD/sluiced" --config "$WORK/config" --bpffs "$PINS" \
	--cgroup "$(info "$TB_MESH" TB_NODE_n1_CGROUP)" --log-level warn >"$WORK/agent.log" 2>&1 &
AGENT=$!
for _ in $(seq 100); do
	[ "$(agent_generation)" -ge 1 ] && break
	sleep 0.05
done

for round in $(seq "$ROUNDS"); do
	echo "round $round/$ROUNDS" >&2
	for n in $COUNTS; do
		# Let the work a configuration change leaves behind (RCU frees,
		# nft transaction cleanup) settle before measuring.
		sluice_apply "$n"
		sleep 1
		measure "sluice-$n" "$round" "$TB_MESH" "$VIP"
		iptables_apply "$n"
		sleep 1
		measure "iptables-$n" "$round" "$TB_IPT" "$VIP"
	done
done

# A run that failed connections is not a result.
if awk '$4 == "failed" && $5 > 0 { bad = 1 } END { exit !bad }' "$RESULTS"; then
	echo "some runs had failed connections:" >&2
	awk '$4 == "failed" && $5 > 0' "$RESULTS" >&2
	exit 1
fi

modes=
for n in $COUNTS; do modes="$modes iptables-$n sluice-$n"; done
echo
echo "Machine: $(nproc) CPUs, $(uname -r), $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
echo "Figures: medians over all runs of a mode (min-max). Relative: per round, the"
echo "mode's two runs against the two direct runs around them (rates: mode/direct,"
echo "latencies: direct/mode), median over rounds (min-max); 1.00 = as fast as no"
echo "mesh, higher is better."
echo
awk -v modes="$modes" '
	function sort(a, n,   i, j, t) {
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
			if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
	}
	# median of a space-separated list; sets LO and HI
	function med(list,   a, n) {
		n = split(list, a, " ")
		sort(a, n)
		LO = a[1]; HI = a[n]
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	$4 != "failed" {
		if ($1 == "direct") all_direct[$4] = all_direct[$4] " " $5
		else own[$2, $4] = own[$2, $4] " " $5
		sum[$1 == "direct" ? "d" : "m", $2, $3, $4] += $5
		pairs[$2, $3] = 1
	}
	function cell(mode, metric, higher_better,   p, ratios, k, parts, r, f, flo, fhi) {
		f = med(own[mode, metric]); flo = LO; fhi = HI
		ratios = ""
		for (k in pairs) {
			split(k, parts, SUBSEP)
			if (parts[1] != mode) continue
			p = parts[2]
			r = higher_better ? sum["m", mode, p, metric] / sum["d", mode, p, metric] \
					  : sum["d", mode, p, metric] / sum["m", mode, p, metric]
			ratios = ratios " " r
		}
		r = med(ratios)
		return sprintf(metric == "crr" ? "%7.0f (%5.0f-%5.0f) | %4.2f (%4.2f-%4.2f)" \
					       : "%6.1f (%5.1f-%5.1f) | %4.2f (%4.2f-%4.2f)",
			       f, flo, fhi, r, LO, HI)
	}
	END {
		printf "| mode | new conn/s | relative | RR p50 us | relative | RR p99 us | relative |\n"
		printf "|---|---|---|---|---|---|---|\n"
		d = med(all_direct["crr"]); dlo = LO; dhi = HI
		printf "| direct | %7.0f (%5.0f-%5.0f) | 1.00 |", d, dlo, dhi
		d = med(all_direct["rr50"]); printf " %6.1f (%5.1f-%5.1f) | 1.00 |", d, LO, HI
		d = med(all_direct["rr99"]); printf " %6.1f (%5.1f-%5.1f) | 1.00 |\n", d, LO, HI
		nm = split(modes, m, " ")
		for (i = 1; i <= nm; i++)
			printf "| %s | %s | %s | %s |\n", m[i], cell(m[i], "crr", 1),
			       cell(m[i], "rr50", 0), cell(m[i], "rr99", 0)
	}' "$RESULTS"
