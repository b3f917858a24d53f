#!/usr/bin/env bash
# The agent restarts (and stays down a while) during a steady stream of new
# connections through a VIP: none of them fails. The restarted agent adopts
# the pinned maps and links and replaces the programs in place.
. "$(dirname "$0")/lib.sh"
e2e_init restart

tb_up n1/c n1/a n1/b
service_entry web "10.96.0.10 fd00:96::10" "$TB_POD_a_IP4 $TB_POD_b_IP4 $TB_POD_a_IP6" \
	>"$E2E_TMP/cfg.yaml"
serve n1/a a --tcp 8080
serve n1/b b --tcp 8080
agent_start n1 "$E2E_TMP/cfg.yaml"
agent_wait_applied n1
prog_before=$(ctl n1 -o json status | jq -c '[.hooks[].prog_id]')
ids_before=$(ctl n1 -o json services | jq -c '[.[] | .id]')

for fam in 10.96.0.10 fd00:96::10; do
	dial n1/c --duration 60 --interval-ms 1 --stop-file "$E2E_TMP/stop" "$fam" 80 \
		>"$E2E_TMP/stream-$fam.out" &
	E2E_PIDS+=($!)
done
sleep 0.5
for round in 1 2 3; do
	agent_stop n1
	sleep 0.5	# connections keep coming while no agent runs
	agent_start n1 "$E2E_TMP/cfg.yaml"
	agent_wait_applied n1
	log "restart $round done"
done
sleep 0.5
touch "$E2E_TMP/stop"
wait "${E2E_PIDS[@]: -2}" || true
for fam in 10.96.0.10 fd00:96::10; do
	out=$(cat "$E2E_TMP/stream-$fam.out")
	log "$fam: $(grep total <<<"$out")"
	assert_eq "$(total_failed "$out")" 0 "connections failed during restarts ($fam)"
	[ "$(total_ok "$out")" -gt 300 ] || fail "too few connections to mean anything: $out"
done
assert_eq "$(generation n1)" 1 "an unchanged configuration keeps its generation"
assert_eq "$(ctl n1 -o json services | jq -c '[.[] | .id]')" "$ids_before" "service ids kept"
[ "$(ctl n1 -o json status | jq -c '[.hooks[].prog_id]')" != "$prog_before" ] ||
	fail "programs were not replaced"
grep -q 'program replaced in place' "$E2E_TMP/agent-n1.log" || fail "links were not adopted"
agent_stop n1
log ok
