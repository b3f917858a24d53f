#!/usr/bin/env bash
# Where same-node redirection applies and how it is switched off: never
# across nodes nor to a pod outside the mesh; not for a service that opts
# out; and turning it off (and on again) by restarting the agent in the
# middle of live transfers loses nothing.
. "$(dirname "$0")/lib.sh"
e2e_init redirect-control

tb_up n1/c n1/s n1/x:unmeshed n2/r
{
	service_entry fast 10.96.0.10 "$TB_POD_s_IP4"
	echo ---
	service_entry slow 10.96.0.11 "$TB_POD_s_IP4"
	cat <<YAML
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: plain
  annotations: {sluice.dev/redirect: "false"}
spec:
  hosts: [plain]
  addresses: [10.96.0.12]
  resolution: STATIC
  ports: [{number: $STREAM_PORT, name: tcp}]
  endpoints: [{address: "$TB_POD_s_IP4"}]
YAML
	echo ---
	service_entry viaport 10.96.0.13 "$TB_POD_s_IP4" | sed "s/number: 80, name: http, targetPort: 8080/number: $STREAM_PORT, name: tcp/"
} >"$E2E_TMP/cfg.yaml"
echo "" >"$E2E_TMP/empty.yaml"
agent_start n1 "$E2E_TMP/cfg.yaml"
agent_start n2 "$E2E_TMP/empty.yaml"
agent_wait_applied n1
agent_wait_applied n2
stream_serve n1/s
S_PID=$STREAM_PID
stream_serve n2/r
stream_serve n1/x

shortcut() { same_node n1 redirected_bytes; }

# The per-service switch: the same server, once through a VIP that opted
# out and once through one that did not.
b=$(shortcut)
stream_run n1/c 10.96.0.12 --case rr --bytes 2000
assert_eq "$(shortcut)" "$b" "a service with sluice.dev/redirect: \"false\" took the shortcut"
assert_eq "$(ctl n1 -o json services | jq -r '.[] | select(.name == "plain") | .same_node_redirect')" \
	false "the CLI shows the opt-out"
stream_run n1/c 10.96.0.13 --case rr --bytes 2000
[ "$(shortcut)" -gt "$b" ] || fail "a service without the annotation did not take the shortcut"

# Untouched: a server on another node, and one outside the mesh cgroup.
for target in "$TB_POD_r_IP4" "$TB_POD_x_IP4" "$TB_POD_r_IP6"; do
	b=$(shortcut)
	stream_run n1/c "$target" --case rr --bytes 500
	stream_run n1/c "$target" --case churn --conns 200 --parallel 20
	assert_eq "$(shortcut)" "$b" "traffic to $target took the shortcut"
done
[ "$(same_node n1 not_local)" -gt 0 ] || fail "connections without a local peer were not recognised"
[ "$(same_node n2 joined)" -eq 0 ] || fail "the other node's agent joined sockets"
[ "$(same_node n1 sockets_now)" -eq 0 ] || fail "sockets left in the shortcut"

# Off and on again in the middle of transfers: long request/response runs
# and echo streams keep every byte through two agent restarts.
stream_job()
{
	in_pod n1/c -- "$STREAM" run --timeout 60 "$@" "$TB_POD_s_IP4" "$STREAM_PORT" \
		>"$E2E_TMP/job-$1$2.out" 2>&1
}
stream_job --case rr --bytes 60000 &
rr_job=$!
stream_job --case echo --bytes 48M --conns 4 &
echo_job=$!
sleep 0.5
b=$(shortcut)
agent_stop n1
agent_start n1 "$E2E_TMP/cfg.yaml" --no-redirect
agent_wait_applied n1
status=$(ctl n1 status)
assert_match "$status" "10/10 hooks attached" "hooks with --no-redirect"
assert_match "$status" "same-node: +off" "status shows redirect off"
joined=$(same_node n1 joined)
stream_run n1/c "$TB_POD_s_IP4" --case rr --bytes 200
assert_eq "$(same_node n1 joined)" "$joined" "new connections joined with --no-redirect"
sleep 0.5
agent_stop n1
agent_start n1 "$E2E_TMP/cfg.yaml"
agent_wait_applied n1
wait "$rr_job" || fail "the rr run through the switches failed: $(cat "$E2E_TMP"/job---caserr.out)"
wait "$echo_job" || fail "the echo run through the switches failed: $(cat "$E2E_TMP"/job---caseecho.out)"
for f in "$E2E_TMP"/job-*.out; do
	log "$(grep '^RESULT' "$f")"
	assert_eq "$(result_field "$(cat "$f")" failed)" 0 "failed connections in $f"
done
[ "$b" -gt 0 ] || fail "the runs were not redirected before the switch"
stream_run n1/c "$TB_POD_s_IP4" --case rr --bytes 2000
[ "$(same_node n1 joined)" -gt "$joined" ] || fail "redirect did not come back on"
kill -TERM "$S_PID"
agent_stop n1
agent_stop n2
log ok
