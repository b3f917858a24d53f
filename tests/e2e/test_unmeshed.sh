#!/usr/bin/env bash
# Processes outside the agent's --cgroup subtree are untouched: a pod whose
# cgroup is elsewhere, and the node's own host processes, reach the VIP
# address itself (nothing answers there), while a meshed pod is balanced.
. "$(dirname "$0")/lib.sh"
e2e_init unmeshed

tb_up n1/c n1/a n1/x:unmeshed
service_entry web 10.96.0.10 "$TB_POD_a_IP4" >"$E2E_TMP/cfg.yaml"
serve n1/a a --tcp 8080
agent_start n1 "$E2E_TMP/cfg.yaml"
agent_wait_applied n1

out=$(dial n1/c --count 5 10.96.0.10 80)
assert_eq "$(tally "$out" reply a)" 5 "the meshed pod is balanced"
for who in n1/x n1; do
	out=$(dial "$who" --count 3 --timeout-ms 500 10.96.0.10 80) &&
		fail "$who reached an endpoint through the VIP: $out"
	assert_eq "$(total_ok "$out")" 0 "$who is not translated"
	out=$(dial "$who" --count 3 "$TB_POD_a_IP4" 8080)
	assert_eq "$(tally "$out" reply a)" 3 "$who still reaches the pod directly"
done
assert_eq "$(ctl n1 -o json services | jq '.[0].connections')" 5 "only meshed connections counted"
agent_stop n1
log ok
