#!/usr/bin/env bash
# sluiced --uninstall leaves no pin, link or program behind, and refuses
# while an agent runs on the same pins.
. "$(dirname "$0")/lib.sh"
e2e_init uninstall

tb_up n1/c n1/a
service_entry web 10.96.0.10 "$TB_POD_a_IP4" >"$E2E_TMP/cfg.yaml"
serve n1/a a --tcp 8080
agent_start n1 "$E2E_TMP/cfg.yaml"
agent_wait_applied n1
pins=$(bpffs_of n1)
# One agent per pin directory: a second one is refused, the first unharmed.
rc=0
"$SLUICED" --config "$E2E_TMP/cfg.yaml" --bpffs "$pins" --cgroup "$TB_NODE_n1_CGROUP" \
	2>"$E2E_TMP/second.txt" || rc=$?
assert_eq "$rc" 1 "second agent on the same pins"
assert_match "$(cat "$E2E_TMP/second.txt")" "another sluiced already runs" "refusal explained"
ctl n1 status >/dev/null || fail "the first agent was disturbed"
# The kernel objects of this agent, to check that every one is freed.
map_ids=$(for f in "$pins"/maps/*; do bpftool -j map show pinned "$f" | jq .id; done)
prog_ids=$(find "$pins/links" -type f | while read -r f; do
	bpftool -j link show pinned "$f" | jq .prog_id; done)
[ "$(wc -w <<<"$prog_ids")" -ge 8 ] || fail "programs not attached"

"$SLUICED" --uninstall --bpffs "$pins" 2>"$E2E_TMP/refused.txt" &&
	fail "uninstall succeeded while the agent runs"
assert_match "$(cat "$E2E_TMP/refused.txt")" "stop it first" "refusal explained"
agent_stop n1
"$SLUICED" --uninstall --bpffs "$pins"
[ ! -e "$pins" ] || fail "pins left: $(ls -R "$pins")"
cg=$TB_NODE_n1_CGROUP
attached=$(bpftool cgroup show "$cg" | tail -n +2)
[ -z "$attached" ] || fail "programs still attached to $cg: $attached"
# Programs and maps are freed once nothing holds them, after an RCU grace
# period.
alive()
{
	local id
	for id in $prog_ids; do bpftool prog show id "$id" >/dev/null 2>&1 && echo "prog $id"; done
	for id in $map_ids; do bpftool map show id "$id" >/dev/null 2>&1 && echo "map $id"; done
	true
}
for _ in $(seq 100); do
	[ -z "$(alive)" ] && break
	sleep 0.1
done
[ -z "$(alive)" ] || fail "still alive after uninstall: $(alive | tr '\n' ' ')"
out=$(dial n1/c --count 2 --timeout-ms 300 10.96.0.10 80) && fail "VIP still translated"
rc=0
ctl n1 status >/dev/null 2>&1 || rc=$?
assert_eq "$rc" 3 "status exit code without pins"
"$SLUICED" --uninstall --bpffs "$pins" || fail "a second uninstall must succeed quietly"
log ok
