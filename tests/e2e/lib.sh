#!/usr/bin/env bash
# Shared by the end-to-end tests: a private testbed, agents per node, real
# clients and servers, assertions, and a cleanup that runs however the test
# ends. Source it, then call e2e_init.
set -euo pipefail

E2E_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-$E2E_ROOT/build}
# The sanitizer builds of the agent and CLI run in the e2e tests.
SLUICED=${SLUICED:-$BUILD/asan/sluiced}
SLUICECTL=${SLUICECTL:-$BUILD/asan/sluicectl}
PROBE=$BUILD/sl-probe
TESTBED=$E2E_ROOT/scripts/testbed.sh
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:exitcode=86}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:exitcode=87}

E2E_NAME=
E2E_ID=
E2E_TMP=
E2E_PIDS=()
declare -A E2E_AGENT_PID=()	# node -> pid of its running agent
declare -A E2E_AGENT_NODES=()	# nodes whose pins the cleanup removes

log() { printf '[%s] %s\n' "$E2E_NAME" "$*" >&2; }

fail()
{
	printf '[%s] FAIL: %s\n' "$E2E_NAME" "$*" >&2
	exit 1
}

# A name no parallel run can have: testbed IDs are [a-z0-9]{1,12}.
e2e_unique_id() { printf 't%s' "$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"; }

e2e_init()
{
	E2E_NAME=$1
	E2E_ID=$(e2e_unique_id)
	E2E_TMP=$(mktemp -d "/tmp/sluice-e2e-$E2E_ID.XXXX")
	trap e2e_cleanup EXIT
	trap 'exit 130' INT TERM
	log "testbed $E2E_ID, scratch $E2E_TMP"
}

bpffs_of() { printf '/sys/fs/bpf/sluice-%s-%s' "$E2E_ID" "$1"; }

e2e_cleanup()
{
	local rc=$? node pid
	set +e
	for pid in "${E2E_PIDS[@]}"; do
		kill "$pid" 2>/dev/null
	done
	for node in "${!E2E_AGENT_PID[@]}"; do
		kill "${E2E_AGENT_PID[$node]}" 2>/dev/null
	done
	wait 2>/dev/null
	for node in "${!E2E_AGENT_NODES[@]}"; do
		"$BUILD/sluiced" --uninstall --bpffs "$(bpffs_of "$node")" >/dev/null 2>&1
	done
	"$TESTBED" down "$E2E_ID" >/dev/null 2>&1 ||
		echo "[$E2E_NAME] cleanup: testbed down failed" >&2
	if [ "$rc" -ne 0 ] && [ -d "$E2E_TMP" ]; then
		for f in "$E2E_TMP"/agent-*.log; do
			[ -f "$f" ] || continue
			echo "---- $f (last 40 lines)" >&2
			tail -n 40 "$f" >&2
		done
	fi
	rm -rf "$E2E_TMP"
	exit "$rc"
}

tb() { "$TESTBED" "$1" "$E2E_ID" "${@:2}"; }

# Loads the testbed's variables (TB_POD_a_IP4, ...).
tb_up()
{
	tb up "$@" >/dev/null
	eval "$(tb info)"
}

tb_add()
{
	tb add "$@" >/dev/null
	eval "$(tb info)"
}

in_pod() { "$TESTBED" exec "$E2E_ID" "$@"; }

# serve NODE/POD NAME ARGS...: a probe server in a pod, ready on return.
serve()
{
	local target=$1 name=$2 fifo
	shift 2
	fifo="$E2E_TMP/serve-$name.out"
	# testbed.sh itself, not in_pod: a backgrounded function would run in
	# a subshell, and $! would not be the server.
	"$TESTBED" exec "$E2E_ID" "$target" -- "$PROBE" serve --name "$name" "$@" \
		>"$fifo" 2>&1 &
	E2E_PIDS+=($!)
	for _ in $(seq 100); do
		grep -q '^ready' "$fifo" 2>/dev/null && return 0
		sleep 0.05
	done
	fail "server $name in $target did not start: $(cat "$fifo")"
}

# dial NODE/POD ARGS...: runs sl-probe dial in the pod; output on stdout.
dial() { in_pod "$1" -- "$PROBE" dial "${@:2}"; }

# Counts a "KIND VALUE COUNT" line of dial output (0 if absent).
tally() { awk -v k="$2" -v v="$3" '$1 == k && $2 == v { print $3; f = 1 } END { if (!f) print 0 }' <<<"$1"; }

total_ok() { sed -n 's/^total ok=\([0-9]*\) failed=.*/\1/p' <<<"$1"; }
total_failed() { sed -n 's/^total ok=[0-9]* failed=\([0-9]*\)/\1/p' <<<"$1"; }

# service_entry NAME "VIP..." "ENDPOINT..." [NAMESPACE]: a STATIC
# ServiceEntry serving port 80 of each VIP from port 8080 of each endpoint.
service_entry()
{
	local name=$1 vips=$2 eps=$3 ns=${4:-default} v
	printf 'apiVersion: networking.istio.io/v1\nkind: ServiceEntry\n'
	printf 'metadata: {name: %s, namespace: %s}\n' "$name" "$ns"
	printf 'spec:\n  hosts: [%s]\n  addresses:\n' "$name"
	for v in $vips; do printf '  - "%s"\n' "$v"; done
	printf '  resolution: STATIC\n'
	printf '  ports: [{number: 80, name: http, targetPort: 8080}]\n  endpoints:\n'
	for v in $eps; do printf '  - {address: "%s"}\n' "$v"; done
}

# ---- byte-exact streams (sl-stream) -----------------------------------------

STREAM=$BUILD/sl-stream
STREAM_PORT=9100
# Below the server's own 60 s deadline, so that a stuck connection is
# reported by the client as a timeout rather than outlived by the server.
STREAM_TIMEOUT=20

# stream_serve NODE/POD: an sl-stream server in the pod, ready on return;
# its pid in STREAM_PID.
# pod_doc NAME NAMESPACE SERVICE_ACCOUNT "IP..." ["k: v, ..."]: a v1 Pod
# document, as `kubectl get pod -o yaml` would give, for identity.
pod_doc()
{
	local ip
	printf -- '---\napiVersion: v1\nkind: Pod\n'
	printf 'metadata: {name: %s, namespace: %s, labels: {%s}}\n' "$1" "$2" "${5:-}"
	printf 'spec: {serviceAccountName: %s, nodeName: node, containers: [{name: app, image: "app:1"}]}\n' "$3"
	printf 'status:\n  phase: Running\n  podIPs:\n'
	for ip in $4; do printf '  - {ip: "%s"}\n' "$ip"; done
}

# authz_policy NAMESPACE NAME ACTION SPEC_BODY: an AuthorizationPolicy with
# the YAML of spec's other fields (indented by the caller for "spec:").
authz_policy()
{
	printf -- '---\napiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n'
	printf 'metadata: {name: %s, namespace: %s}\n' "$2" "$1"
	printf 'spec:\n  action: %s\n%s\n' "$3" "$4"
}

# agent_wait_pods NODE N: the agent has found N pod network namespaces
# (ingress program attached, addresses learned for egress).
agent_wait_pods()
{
	local node=$1 want=$2 pins links maps
	pins=$(bpffs_of "$node")
	for _ in $(seq 100); do
		links=$(find "$pins/links/netns" -mindepth 1 2>/dev/null | wc -l)
		maps=$(bpftool -j map dump pinned "$pins/maps/sluice_netns_addr" 2>/dev/null |
			jq 'length' 2>/dev/null || echo 0)
		[ "$links" = "$want" ] && [ "$maps" = "$want" ] && return 0
		sleep 0.05
	done
	fail "agent on $node found $links pod namespaces ($maps learned), expected $want"
}

# expect_refused NODE/POD HOST PORT [dial options]: every attempt fails fast
# with ECONNREFUSED (or a reset), never a timeout.
expect_refused()
{
	local who=$1 host=$2 port=$3 out
	shift 3
	out=$(dial "$who" --count 2 --first-error --timeout-ms 2000 "$@" "$host" "$port") &&
		fail "$who reached $host:$port, which policy denies: $out"
	[ "$(total_ok "$out")" = 0 ] || fail "$who reached $host:$port: $out"
	grep -Eq '^error (ECONNREFUSED|ECONNRESET) ' <<<"$out" ||
		fail "$who to $host:$port did not fail with a refusal: $out"
	local ms
	ms=$(awk '$1 == "first_error" { print $3 }' <<<"$out")
	[ "${ms:-99999}" -lt 100 ] || fail "$who to $host:$port took ${ms} ms to fail"
}

# rr_clients NODE/POD HOST PORT N: N long connections (request/response for
# 30 s) from the pod, their pids in RR_PIDS (outputs client-I.out).
rr_clients()
{
	RR_PIDS=()
	for i in $(seq "$4"); do
		"$TESTBED" exec "$E2E_ID" "$1" -- "$PROBE" rr --duration 30 "$2" "$3" \
			>"$E2E_TMP/client-$i.out" 2>&1 &
		RR_PIDS+=($!)
		E2E_PIDS+=($!)
	done
}

# rr_wait_gone N: waits (3 s at most) until N of RR_PIDS ended; prints how
# many did.
rr_wait_gone()
{
	local gone
	for _ in $(seq 60); do
		gone=0
		for pid in "${RR_PIDS[@]}"; do kill -0 "$pid" 2>/dev/null || gone=$((gone + 1)); done
		[ "$gone" -ge "$1" ] && break
		sleep 0.05
	done
	echo "$gone"
}

# rr_stop: ends the clients still running.
rr_stop()
{
	kill "${RR_PIDS[@]}" 2>/dev/null || true
	wait "${RR_PIDS[@]}" 2>/dev/null || true
}

# expect_reached NODE/POD HOST PORT SERVER [dial options]
expect_reached()
{
	local who=$1 host=$2 port=$3 server=$4 out
	shift 4
	out=$(dial "$who" --count 2 --timeout-ms 2000 "$@" "$host" "$port") ||
		fail "$who could not reach $host:$port: $out"
	[ "$(tally "$out" reply "$server")" = 2 ] || fail "$who to $host:$port: $out"
}

stream_serve()
{
	local out="$E2E_TMP/stream-serve.out"

	"$TESTBED" exec "$E2E_ID" "$1" -- "$STREAM" serve --port "$STREAM_PORT" \
		>"$out" 2>"$E2E_TMP/stream-serve.err" &
	STREAM_PID=$!
	E2E_PIDS+=("$STREAM_PID")
	for _ in $(seq 100); do
		grep -q '^ready' "$out" 2>/dev/null && return 0
		sleep 0.05
	done
	fail "sl-stream serve in $1 did not start: $(cat "$out" "$E2E_TMP/stream-serve.err")"
}

# One field of a RESULT line.
result_field() { sed -n "s/^RESULT .* $2=\([^ ]*\).*/\1/p" <<<"$1"; }

# stream_run FROM IP ARGS...: an sl-stream run from pod FROM that must not
# fail anywhere; every byte is checked at its offset.
stream_run()
{
	local from=$1 ip=$2 out rc=0 conns=1 prev=
	shift 2
	for a in "$@"; do
		[ "$prev" = --conns ] && conns=$a
		prev=$a
	done
	out=$(in_pod "$from" -- "$STREAM" run --timeout "$STREAM_TIMEOUT" "$@" "$ip" \
		"$STREAM_PORT") || rc=$?
	grep '^FAIL' <<<"$out" | head -n 5 >&2 || true
	assert_match "$out" '^RESULT ' "sl-stream run $* to $ip printed no RESULT"
	assert_eq "$(result_field "$out" failed)" 0 "failed connections, $* to $ip"
	assert_eq "$(result_field "$out" ok)" "$conns" "good connections, $* to $ip"
	assert_eq "$rc" 0 "exit code of sl-stream run $* to $ip"
	log "$(grep '^RESULT' <<<"$out") ($ip)"
}

# same_node NODE FIELD: one counter of same-node acceleration.
same_node() { status_field "$1" ".same_node.$2"; }

# ---- agents ------------------------------------------------------------------

# agent_start NODE CONFIG|kube [ARGS...]: without --metrics-addr in ARGS, no
# HTTP listener (agents of parallel tests and nodes would share the
# default port); without --flows-socket, the flow log's socket in the
# test's scratch directory (likewise).
agent_start()
{
	local node=$1 config=$2 cg metrics=(--metrics-addr off)
	local flows=(--flows-socket "$E2E_TMP/flows-$1.sock")
	shift 2
	cg=$(eval "printf '%s' \"\$TB_NODE_${node}_CGROUP\"")
	[[ " $* " == *" --metrics-addr "* ]] && metrics=()
	[[ " $* " == *" --flows-socket "* ]] && flows=()
	# "kube": the replay API server of kube_lib.sh, not files.
	local source=(--config "$config")
	# Every apply by parts is checked against a whole build.
	[ "$config" = kube ] && source=(--kubeconfig "$E2E_TMP/kubeconfig" --node-name "$node"
		--check-delta)
	"$SLUICED" "${source[@]}" --bpffs "$(bpffs_of "$node")" --cgroup "$cg" \
		--log-level debug "${metrics[@]}" "${flows[@]}" "$@" \
		>>"$E2E_TMP/agent-$node.log" 2>&1 &
	E2E_AGENT_PID[$node]=$!
	E2E_AGENT_NODES[$node]=1
}

# Stops the agent and checks that it exited cleanly (sanitizers included).
agent_stop()
{
	local node=$1 pid=${E2E_AGENT_PID[$1]} rc=0
	kill -TERM "$pid"
	wait "$pid" || rc=$?
	unset "E2E_AGENT_PID[$node]"
	if [ "$rc" -ne 0 ] || grep -qE 'AddressSanitizer|runtime error|LeakSanitizer' \
		"$E2E_TMP/agent-$node.log"; then
		fail "agent on $node exited with $rc or a sanitizer report"
	fi
	if grep -q -- '--check-delta: ' "$E2E_TMP/agent-$node.log"; then
		grep -- '--check-delta: ' "$E2E_TMP/agent-$node.log" >&2
		fail "agent on $node: an apply by parts differed from a whole build"
	fi
}

ctl() { local node=$1; shift; "$SLUICECTL" --bpffs "$(bpffs_of "$node")" "$@"; }

# Waits until the agent on NODE has applied a configuration of at least
# generation GEN (default 1) and sluicectl status is healthy.
agent_wait_applied()
{
	local node=$1 gen=${2:-1} g pid
	for _ in $(seq 200); do
		# The agent started last, not one before it on the same pins.
		pid=$(status_field "$node" .agent.pid 2>/dev/null || echo 0)
		if [ "$pid" = "${E2E_AGENT_PID[$node]:-}" ] &&
			g=$(status_field "$node" .config.generation 2>/dev/null) &&
			[ "$g" -ge "$gen" ] 2>/dev/null && ctl "$node" status >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.05
	done
	ctl "$node" status >&2 || true
	fail "agent on $node did not apply generation $gen"
}

# agent_wait_rejected NODE: the agent refused the last configuration.
agent_wait_rejected()
{
	for _ in $(seq 100); do
		[ "$(status_field "$1" .config.last_result)" = rejected ] && return 0
		sleep 0.05
	done
	fail "agent on $1 did not refuse the configuration"
}

# status_field NODE JQ-PATH: one field of `sluicectl status -o json`, whose
# exit code (1 when unhealthy) does not matter here.
status_field()
{
	local json
	json=$(ctl "$1" -o json status) || true
	jq -r "$2" <<<"$json"
}

generation() { status_field "$1" .config.generation; }

# ---- assertions --------------------------------------------------------------

assert_eq()
{
	[ "$1" = "$2" ] || fail "${3:-values differ}: expected '$2', got '$1'"
}

# assert_within VALUE EXPECTED PERCENT WHAT
assert_within()
{
	local v=$1 e=$2 p=$3
	local lo=$((e * (100 - p) / 100)) hi=$((e * (100 + p) / 100))
	[ "$v" -ge "$lo" ] && [ "$v" -le "$hi" ] ||
		fail "$4: $v not within ${p}% of $e"
}

assert_match()
{
	grep -qE -- "$2" <<<"$1" || fail "${3:-no match}: /$2/ not in: $1"
}

assert_no_match()
{
	! grep -qE -- "$2" <<<"$1" || fail "${3:-a match}: /$2/ in: $1"
}

# ---- metrics ------------------------------------------------------------------

PROMETHEUS=${PROMETHEUS:-/usr/bin/prometheus}

# free_port: a loopback TCP port nobody listens on.
free_port()
{
	local port
	for _ in $(seq 50); do
		port=$((20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 40000))
		ss -Htln "sport = :$port" | grep -q . || { echo "$port"; return 0; }
	done
	fail "no free port found"
}

# prometheus_start TARGET: a real Prometheus in the test's directory,
# scraping TARGET (HOST:PORT) every second, on PROM_PORT; returns once it
# has scraped.
prometheus_start()
{
	PROM_PORT=$(free_port)
	mkdir -p "$E2E_TMP/prom"
	cat >"$E2E_TMP/prom/prometheus.yml" <<YAML
global: {scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}
scrape_configs:
- job_name: sluice
  static_configs: [{targets: ["$1"]}]
YAML
	(cd "$E2E_TMP/prom" && exec "$PROMETHEUS" --config.file="$E2E_TMP/prom/prometheus.yml" \
		--storage.tsdb.path="$E2E_TMP/prom/data" --web.listen-address="127.0.0.1:$PROM_PORT" \
		--log.level=warn >"$E2E_TMP/prom/prometheus.log" 2>&1) &
	E2E_PIDS+=($!)
	for _ in $(seq 300); do
		[ "$(prom_query 'up{job="sluice"}')" = 1 ] && return 0
		sleep 0.1
	done
	fail "Prometheus did not scrape $1: $(tail -n 20 "$E2E_TMP/prom/prometheus.log")"
}

# prom_query PROMQL: the value of its single result ("" while there is none).
prom_query()
{
	curl -s -G --data-urlencode "query=$1" "http://127.0.0.1:$PROM_PORT/api/v1/query" |
		jq -r 'if .status == "success" and (.data.result | length) == 1
			then .data.result[0].value[1] else "" end' 2>/dev/null || true
}
