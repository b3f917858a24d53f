#!/usr/bin/env bash
# An endpoint that leaves a service has its open connections reset (TCP
# socket iterator + bpf_sock_destroy in the client pods), so clients
# reconnect to a live endpoint; connections to the endpoints that stay are
# untouched; a service annotated sluice.dev/reset-on-endpoint-removal:
# "false" keeps them.
. "$(dirname "$0")/lib.sh"
e2e_init epreset

tb_up n1/c n1/a n1/b
# config ANNOTATION-VALUE ENDPOINT...
config()
{
	local keep=$1 ep
	shift
	cat <<YAML
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: web
  namespace: shop
  annotations: {sluice.dev/reset-on-endpoint-removal: "$keep"}
spec:
  hosts: [web.shop.internal]
  addresses: [10.96.0.70]
  resolution: STATIC
  ports: [{number: 81, name: tcp-echo, protocol: TCP, targetPort: 8081}]
  endpoints:
YAML
	for ep in "$@"; do printf '  - {address: "%s"}\n' "$ep"; done
}
config true "$TB_POD_a_IP4" "$TB_POD_b_IP4" >"$E2E_TMP/cfg.yaml"
for p in a b; do serve "n1/$p" "$p" --echo 8081; done
agent_start n1 "$E2E_TMP/cfg.yaml"
agent_wait_applied n1

# Two long connections, one to each endpoint (round robin).
start_clients()
{
	rr_clients n1/c 10.96.0.70 81 2
	# The clients' pod is found (its sockets are where resets happen).
	agent_wait_pods n1 3
	sleep 0.3
}

start_clients
config true "$TB_POD_b_IP4" >"$E2E_TMP/cfg.new"
mv "$E2E_TMP/cfg.new" "$E2E_TMP/cfg.yaml"
agent_wait_applied n1 2
assert_eq "$(rr_wait_gone 1)" 1 "exactly the connection to the removed endpoint ended"
grep -q 'endpoints left their services: 1 open connections to them reset' \
	"$E2E_TMP/agent-n1.log" || fail "no reset reported: $(grep -i reset "$E2E_TMP/agent-n1.log")"
grep -Eq 'rr: E[A-Z]+' "$E2E_TMP"/client-*.out ||
	fail "the client saw no error: $(cat "$E2E_TMP"/client-*.out)"
rr_stop
log "removal reset the connection to the removed endpoint only"

# Opted out: the connections stay.
config false "$TB_POD_a_IP4" "$TB_POD_b_IP4" >"$E2E_TMP/cfg.new"
mv "$E2E_TMP/cfg.new" "$E2E_TMP/cfg.yaml"
agent_wait_applied n1 3
start_clients
config false "$TB_POD_b_IP4" >"$E2E_TMP/cfg.new"
mv "$E2E_TMP/cfg.new" "$E2E_TMP/cfg.yaml"
agent_wait_applied n1 4
sleep 1
for pid in "${RR_PIDS[@]}"; do
	kill -0 "$pid" 2>/dev/null || fail "a connection was reset despite the opt-out"
done
rr_stop
agent_stop n1
log ok
