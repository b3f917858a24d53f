#!/usr/bin/env bash
# Every way around an AuthorizationPolicy is tried and refused fast: the pod
# IP instead of the VIP, IPv6, UDP, the node's host namespace, an unmeshed
# pod on this node and one on another node, a port no rule names, a pod
# started after the policy, and all of it again while the agent is down
# and after it restarts.
. "$(dirname "$0")/lib.sh"
e2e_init authzbypass

tb_up n1/c n1/s n1/u:unmeshed n2/r n2/x:unmeshed
pods()
{
	pod_doc c front web "$TB_POD_c_IP4 $TB_POD_c_IP6"
	pod_doc r front batch "$TB_POD_r_IP4 $TB_POD_r_IP6"
	pod_doc s back api "$TB_POD_s_IP4 $TB_POD_s_IP6" "app: api"
	printf -- "---\n"
	service_entry api 10.96.0.10 "$TB_POD_s_IP4" back
	authz_policy back api-allow ALLOW '  selector: {matchLabels: {app: api}}
  rules:
  - from: [{source: {principals: [cluster.local/ns/front/sa/web]}}]
    to: [{operation: {ports: ["8080"]}}]'
}
pods >"$E2E_TMP/cfg.yaml"
serve n1/s s --tcp 8080 --tcp 9090 --udp 8080
serve n1/c c --tcp 8080
serve n2/r r --tcp 8080
agent_start n1 "$E2E_TMP/cfg.yaml"
agent_start n2 "$E2E_TMP/cfg.yaml"
agent_wait_applied n1
agent_wait_applied n2
agent_wait_pods n1 2
agent_wait_pods n2 1

s4=$TB_POD_s_IP4 s6=$TB_POD_s_IP6
bypasses()
{
	expect_reached n1/c 10.96.0.10 80 s		# the allowed way
	expect_reached n1/c "$s4" 8080 s		# pod IP, allowed identity
	expect_reached n1/c "$s6" 8080 s
	expect_reached n1/c "$s4" 8080 s --udp-connected
	expect_refused n1/c "$s4" 9090			# a port no rule names
	expect_refused n1/c "$s6" 9090
	expect_refused n1/c "$s4" 9090 --udp	# egress: sendmsg refused
	expect_refused n2/r "$s4" 8080			# another identity, cross-node
	expect_refused n2/r "$s6" 8080
	expect_refused n1/u "$s4" 8080			# unmeshed pod, same node
	expect_refused n1/u "$s6" 8080
	expect_refused n1/u "$s4" 8080 --udp-connected
	expect_refused n1 "$s4" 8080			# the node's host namespace
	expect_refused n1 "$s6" 8080
	expect_refused n2/x "$s4" 8080			# unmeshed pod, other node
	expect_refused n2/x "$s6" 8080 --udp-connected
	expect_refused n2 "$s4" 8080			# other node's host
}
bypasses
log "all bypasses refused"

# Denials at the server's node (ingress) and at the client's (egress).
grep -q "policy: denied TCP .* at ingress by no ALLOW policy matched" "$E2E_TMP/agent-n1.log" ||
	fail "no ingress deny event on n1"
grep -q "policy: denied TCP .*(front/batch) -> .* at egress" "$E2E_TMP/agent-n2.log" ||
	fail "no egress deny event on n2"

# A pod started after the policy is covered as soon as it exists.
tb_add n1/late
{ pods; pod_doc late back api "$TB_POD_late_IP4 $TB_POD_late_IP6" "app: api"; } >"$E2E_TMP/cfg.new"
mv "$E2E_TMP/cfg.new" "$E2E_TMP/cfg.yaml"
agent_wait_applied n1 2
serve n1/late late --tcp 8080 --tcp 9090
agent_wait_pods n1 3
expect_reached n1/c "$TB_POD_late_IP4" 8080 late
expect_refused n1/u "$TB_POD_late_IP4" 8080
expect_refused n1/c "$TB_POD_late_IP4" 9090
expect_refused n1 "$TB_POD_late_IP6" 8080
log "a pod started after the policy is covered"

# The agent stopped: the pinned datapath keeps enforcing.
agent_stop n1
bypasses
log "enforced while the agent is down"
agent_start n1 "$E2E_TMP/cfg.yaml"
agent_wait_applied n1 2
agent_wait_pods n1 3
bypasses
expect_refused n1/u "$TB_POD_late_IP4" 8080
log "enforced after the restart"
agent_stop n1
agent_stop n2
log ok
