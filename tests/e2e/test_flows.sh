#!/usr/bin/env bash
# The flow log: known connections through VIPs give one open and one close
# record per connection and end, with the client's port, the workloads and
# the bytes each way exactly as sent, on TCP and on the same-node shortcut;
# a policy denial names its policy; a rate-limit refusal names its service;
# --follow streams a connection made after it started; filters by
# namespace, service and verdict; a client that stops reading loses
# records, counted, and holds up nobody; the access log holds the same
# records and is reopened on SIGHUP; the socket is private and removed on
# exit.
. "$(dirname "$0")/lib.sh"
e2e_init flows

tb_up n1/c n1/d n1/s n2/r
SOCK=$E2E_TMP/run/flows.sock
ACCESS=$E2E_TMP/access.log
N=5
FAR=3
config()
{
	service_entry web 10.96.0.10 "$TB_POD_s_IP4"
	printf -- '---\n'
	service_entry lim 10.96.0.11 "$TB_POD_s_IP4"
	printf -- '---\n'
	service_entry far 10.96.0.12 "$TB_POD_r_IP4" remote
	cat <<YAML
---
apiVersion: sluice.dev/v1alpha1
kind: TrafficLimit
metadata: {name: lim-limit, namespace: default}
spec:
  services: [{name: lim}]
  connectionsPerSecond: 1
  burst: 1
YAML
	pod_doc c front web "$TB_POD_c_IP4"
	pod_doc d front bad "$TB_POD_d_IP4"
	pod_doc s back api "$TB_POD_s_IP4" "app: api"
	pod_doc r remote db "$TB_POD_r_IP4"
	authz_policy back deny-bad DENY '  selector: {matchLabels: {app: api}}
  rules:
  - from: [{source: {principals: [cluster.local/ns/front/sa/bad]}}]'
}
config >"$E2E_TMP/cfg.yaml"
serve n1/s s --tcp 8080
serve n2/r r --tcp 8080
# Processes in the clients' pods, so that the agent finds them.
serve n1/c c --tcp 9090
serve n1/d d --tcp 9090
agent_start n1 "$E2E_TMP/cfg.yaml" --flows-socket "$SOCK" --access-log "$ACCESS"
agent_wait_applied n1
agent_wait_pods n1 3

assert_eq "$(stat -c %a "$SOCK")" 600 "mode of the flow socket"
flows() { ctl n1 flows "$@"; }

# One JSON array of the records matching a jq filter.
records() { flows -o json | jq -s "[.[] | select($1)]"; }
count() { records "$1" | jq length; }

# Waits until the closes of a set of connections have arrived (a socket
# is destroyed a little after the client returns).
wait_count()
{
	local want=$1 filter=$2 got=
	for _ in $(seq 100); do
		got=$(count "$filter")
		[ "$got" = "$want" ] && return 0
		sleep 0.05
	done
	fail "expected $want records of $filter, got $got: $(records "$filter")"
}

# The probe's reply to a request: "NAME SERVER:8080 CLIENT:PORT\n".
reply_len() { printf '%s %s:8080 %s:%s\n' "$1" "$2" "$3" "$4" | wc -c; }

# ---- N connections on this node, FAR to another node ----
out=$(dial n1/c --count "$N" 10.96.0.10 80)
assert_eq "$(total_ok "$out")" "$N" "connections to web: $out"
out=$(dial n1/c --count "$FAR" 10.96.0.12 80)
assert_eq "$(total_ok "$out")" "$FAR" "connections to far: $out"

c4=$TB_POD_c_IP4 s4=$TB_POD_s_IP4 r4=$TB_POD_r_IP4
web_src='.reporter == "source" and .service.name == "web"'
web_dst=".reporter == \"destination\" and .destination.address == \"$s4\""
far_src='.service.name == "far"'
for spec in "$N|$web_src|s|$s4" "$N|$web_dst|s|$s4" "$FAR|$far_src|r|$r4"; do
	IFS='|' read -r n filter name server <<<"$spec"
	wait_count "$n" "($filter) and .verdict == \"closed\""
	assert_eq "$(count "($filter) and .verdict == \"open\"")" "$n" "opens of $filter"
	json=$(records "$filter")
	# One open and one close per client port, both ends at port 8080.
	assert_eq "$(jq '[.[] | .source.port] | unique | length' <<<"$json")" "$n" \
		"distinct client ports of $filter: $json"
	assert_eq "$(jq '[group_by(.source.port)[] | map(.verdict) | sort] | unique' -c <<<"$json")" \
		'[["closed","open"]]' "open and close paired by port: $json"
	assert_eq "$(jq "[.[] | select(.source.address != \"$c4\" or .destination.port != 8080)] | length" \
		<<<"$json")" 0 "addresses and ports of $filter"
	# Bytes exactly as sent: 5 for the request, the reply's length back.
	while read -r port reporter sent recvd redirected; do
		rl=$(reply_len "$name" "$server" "$c4" "$port")
		if [ "$reporter" = source ]; then
			assert_eq "$sent/$recvd" "5/$rl" "bytes of the client's end of port $port"
		else
			assert_eq "$sent/$recvd" "$rl/5" "bytes of the server's end of port $port"
		fi
		assert_eq "$redirected" false "one request per connection stays on TCP"
	done < <(jq -r '.[] | select(.verdict == "closed") |
		"\(.source.port) \(.reporter) \(.sent_bytes) \(.received_bytes) \(.redirected)"' <<<"$json")
done
json=$(records "$web_src and .verdict == \"open\"")
assert_eq "$(jq -r '.[0] | "\(.source.namespace)/\(.source.name) \(.source.principal) \(.destination.namespace)/\(.destination.name) \(.service.namespace)"' <<<"$json")" \
	"front/c spiffe://cluster.local/ns/front/sa/web back/s default" "workloads of a record"
log "$N connections on the node and $FAR across: one open and one close per end, exact bytes"

# ---- the same-node shortcut: request/response turns socket to socket ----
# The bytes a redirected message carries are counted where TCP does not
# see them; both ends must agree with each other and with sl-stream.
stream_serve n1/s
out=$(in_pod n1/c -- "$STREAM" run --case rr --bytes 200 --timeout "$STREAM_TIMEOUT" "$s4" \
	"$STREAM_PORT")
up=$(result_field "$out" bytes_up) down=$(result_field "$out" bytes_down)
stream=".destination.port == $STREAM_PORT and .verdict == \"closed\""
wait_count 2 "$stream"
json=$(records "$stream")
read -r cs cr cx < <(jq -r '.[] | select(.reporter == "source") |
	"\(.sent_bytes) \(.received_bytes) \(.redirected)"' <<<"$json")
read -r ss sr sx < <(jq -r '.[] | select(.reporter == "destination") |
	"\(.sent_bytes) \(.received_bytes) \(.redirected)"' <<<"$json")
assert_eq "$cx $sx" "true true" "both ends took the shortcut: $json"
assert_eq "$cs/$cr" "$sr/$ss" "the two ends of a shortcut connection agree"
assert_eq "$cr" "$down" "bytes down, as sl-stream counted them"
# Up: sl-stream counts its payload, not its first line ("CASE rr 200
# SEED TOKEN\n", random numbers of varying length).
[ $((cs - up)) -ge 16 ] && [ $((cs - up)) -le 60 ] ||
	fail "bytes up: $cs, sl-stream sent $up and a header line"
log "a connection on the same-node shortcut: $cs bytes up and $cr down, both ends"

# ---- a denial and rate-limit refusals ----
expect_refused n1/d 10.96.0.10 80
wait_count 2 '.verdict == "denied"'
json=$(records '.verdict == "denied"')
assert_eq "$(jq -r '[.[] | "\(.policy.namespace)/\(.policy.name) \(.source.name) \(.at)"] | unique | .[]' <<<"$json")" \
	"back/deny-bad d egress" "the denial names its policy: $json"
out=$(dial n1/c --count 5 --timeout-ms 1000 10.96.0.11 80) || true
refused=$(tally "$out" error ECONNREFUSED)
[ "$refused" -ge 3 ] || fail "the rate limit refused $refused of 5: $out"
wait_count "$refused" '.verdict == "rate-limited" and .service.name == "lim"'
assert_eq "$(flows --verdict rate-limited -o json | jq -s 'length')" "$refused" "--verdict rate-limited"
log "a denial with its policy, $refused rate-limit refusals with their service"

# ---- filters ----
assert_eq "$(flows -o json --service web | jq -s 'length')" "$((2 * N))" "--service web"
assert_eq "$(flows -o json --service remote/far | jq -s 'length')" "$((2 * FAR))" "--service remote/far"
assert_eq "$(flows -o json --namespace remote | jq -s 'length')" "$((2 * FAR))" "--namespace remote"
assert_eq "$(flows -o json --namespace front --verdict denied | jq -s 'length')" 2 \
	"--namespace front --verdict denied"
assert_eq "$(flows -o json --verdict closed --namespace back | jq -s 'map(.reporter) | sort | unique | join(",")' -r)" \
	"destination,source" "--namespace back matches either end"
rc=0; flows --verdict nonsense >/dev/null 2>&1 || rc=$?
assert_eq "$rc" 2 "exit code of a bad --verdict"
table=$(flows --service web --verdict closed)
assert_match "$table" '^TIME +VERDICT +REPORTER +SOURCE +DESTINATION +SERVICE +BYTES\(S/R\) +DURATION +POLICY'
assert_eq "$(grep -c "closed .*front/c $c4:[0-9]* .*default/web" <<<"$table")" "$N" "table rows: $table"
log "filters by service, namespace and verdict"

# ---- --follow: a connection made after it started ----
# The CLI itself, not a function: $! must be its pid. (A background
# command of a script starts with SIGINT ignored; sluicectl sets its own.)
"$SLUICECTL" --bpffs "$(bpffs_of n1)" flows --follow -o json --service web --verdict closed \
	>"$E2E_TMP/follow.out" 2>&1 &
follow=$!
E2E_PIDS+=("$follow")
for _ in $(seq 100); do
	[ "$(wc -l <"$E2E_TMP/follow.out")" -ge "$N" ] && break
	sleep 0.05
done
assert_eq "$(wc -l <"$E2E_TMP/follow.out")" "$N" "history before following"
dial n1/c 10.96.0.10 80 >/dev/null
for _ in $(seq 100); do
	[ "$(wc -l <"$E2E_TMP/follow.out")" -gt "$N" ] && break
	sleep 0.05
done
assert_eq "$(wc -l <"$E2E_TMP/follow.out")" "$((N + 1))" "the new connection streamed"
kill -INT "$follow"
rc=0; wait "$follow" || rc=$?
assert_eq "$rc" 0 "exit code of --follow after SIGINT"
log "--follow streamed a new connection and ended cleanly on SIGINT"

# ---- a client that stops reading ----
# Its stdout is a FIFO that a sleeping process holds open and nobody
# reads: it stops reading the socket, its buffer in the agent fills, and
# the ring goes round past it while thousands of refusals arrive. It
# loses records, is told how many, and nobody else waits for it. (When
# the holder is killed, a stuck writer gets EPIPE: nothing hangs.)
mkfifo "$E2E_TMP/slow"
sleep 600 <>"$E2E_TMP/slow" &
E2E_PIDS+=($!)
"$SLUICECTL" --bpffs "$(bpffs_of n1)" flows --follow -o json --verdict rate-limited \
	>"$E2E_TMP/slow" 2>"$E2E_TMP/slow.err" &
slow=$!
E2E_PIDS+=("$slow")
sleep 0.5
dial n1/c --count 12000 --timeout-ms 1000 10.96.0.11 80 >/dev/null || true
assert_eq "$(flows -o json | jq -s length)" 4096 "the whole ring, to another client, meanwhile"
timeout 5 cat "$E2E_TMP/slow" >"$E2E_TMP/slow.out" || true
kill -INT "$slow"
wait "$slow" || true
dropped=$(jq -s '[.[] | select(.dropped) | .dropped] | max // 0' "$E2E_TMP/slow.out")
got=$(jq -s '[.[] | select(.verdict == "rate-limited")] | length' "$E2E_TMP/slow.out")
[ "$dropped" -gt 0 ] && [ "$got" -gt 0 ] ||
	fail "the stuck client got $got records and $dropped drops reported"
# Every rate-limit record the agent made was either sent or counted.
assert_eq "$((got + dropped))" "$(grep -c '"verdict":"rate-limited"' "$ACCESS")" \
	"records got and dropped by the stuck client"
for _ in $(seq 120); do
	grep -q 'records dropped for slow flow clients' "$E2E_TMP/agent-n1.log" && break
	sleep 0.1
done
assert_match "$(cat "$E2E_TMP/agent-n1.log")" "[0-9]+ records dropped for slow flow clients" \
	"the agent warned of the drops"
log "a stuck client lost $dropped records (told so, and warned of) and got $got"

# ---- the access log: the same records ----
sleep 0.2
flows -o json >"$E2E_TMP/flows.json"
diff "$E2E_TMP/flows.json" <(tail -n 4096 "$ACCESS") >&2 ||
	fail "the access log's last records differ from the flow log"
log "access log: the same records ($(wc -l <"$ACCESS") in all)"

# Rotation: the file moved away, SIGHUP, and new records go to a new file.
mv "$ACCESS" "$ACCESS.1"
kill -HUP "${E2E_AGENT_PID[n1]}"
for _ in $(seq 100); do
	[ -e "$ACCESS" ] && break
	sleep 0.05
done
[ -e "$ACCESS" ] || fail "no new access log after SIGHUP"
dial n1/c 10.96.0.10 80 >/dev/null
for _ in $(seq 100); do
	[ "$(grep -c '"verdict":"closed"' "$ACCESS")" = 2 ] && break
	sleep 0.05
done
assert_eq "$(grep -c '"verdict":"closed"' "$ACCESS")" 2 "the next connection's closes in the new file"
log "access log reopened on SIGHUP"

agent_stop n1
[ ! -e "$SOCK" ] || fail "the flow socket was left behind"
rc=0; flows >/dev/null 2>&1 || rc=$?
assert_eq "$rc" 3 "exit code with the agent stopped"
log ok
