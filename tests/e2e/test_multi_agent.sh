#!/usr/bin/env bash
# Two agents side by side on one kernel, one per simulated node, with their
# own pins, cgroups and configurations: the same VIP means a different
# endpoint on each node; stopping or uninstalling one leaves the other.
. "$(dirname "$0")/lib.sh"
e2e_init multi-agent

tb_up n1/c1 n1/a1 n2/c2 n2/a2
for n in 1 2; do
	ip=$(eval "printf '%s' \"\$TB_POD_a${n}_IP4\"")
	service_entry web 10.96.0.10 "$ip" >"$E2E_TMP/cfg$n.yaml"
	serve "n$n/a$n" "a$n" --tcp 8080
	agent_start "n$n" "$E2E_TMP/cfg$n.yaml"
done
agent_wait_applied n1
agent_wait_applied n2

out=$(dial n1/c1 --count 10 10.96.0.10 80)
assert_eq "$(tally "$out" reply a1)" 10 "node 1 uses its own configuration"
out=$(dial n2/c2 --count 10 10.96.0.10 80)
assert_eq "$(tally "$out" reply a2)" 10 "node 2 uses its own configuration"
out=$(dial n1/c1 --count 3 "$TB_POD_a2_IP4" 8080)
assert_eq "$(tally "$out" reply a2)" 3 "pods reach each other across nodes"

agent_stop n1
"$SLUICED" --uninstall --bpffs "$(bpffs_of n1)"
out=$(dial n2/c2 --count 10 10.96.0.10 80)
assert_eq "$(tally "$out" reply a2)" 10 "node 2 unaffected by node 1's uninstall"
out=$(dial n1/c1 --count 2 --timeout-ms 300 10.96.0.10 80) && fail "node 1 still translated"
agent_stop n2
log ok
