#!/usr/bin/env bash
# Connections that carry one request each never take the shortcut (the
# server must read twice before anything is redirected to it), and joining
# the sockhash costs them a quarter of their life. After a streak of such
# connections between a client and a server, that pair's new connections
# stay out; a pair that behaves otherwise, and the same pair after the
# streak has gone quiet for a while, take the shortcut as before.
. "$(dirname "$0")/lib.sh"
e2e_init redirect-short

tb_up n1/c n1/s n1/t
echo "" >"$E2E_TMP/cfg.yaml"
agent_start n1 "$E2E_TMP/cfg.yaml"
agent_wait_applied n1
stream_serve n1/s
stream_serve n1/t

shortcut() { same_node n1 redirected_bytes; }
skipped() { same_node n1 short_skipped; }

# A warm connection on a fresh pair takes the shortcut.
b=$(shortcut)
stream_run n1/c "$TB_POD_s_IP4" --case rr --bytes 3000
[ "$(shortcut)" -gt "$b" ] || fail "a request/response connection was not redirected"

# Connection churn: connect, one exchange, close.
joined=$(same_node n1 joined)
stream_run n1/c "$TB_POD_s_IP4" --case churn --conns 400 --parallel 4
[ "$(skipped)" -gt 300 ] || fail "churn kept joining: skipped $(skipped) of 400"
[ "$(( $(same_node n1 joined) - joined ))" -lt 200 ] ||
	fail "churn joined $(( $(same_node n1 joined) - joined )) sockets"

# The streak belongs to its pair: the same client to another server still
# takes the shortcut, and the pair that churned stays out meanwhile.
b=$(shortcut)
stream_run n1/c "$TB_POD_t_IP4" --case rr --bytes 3000
[ "$(shortcut)" -gt "$b" ] || fail "another pair lost the shortcut"
b=$(shortcut) s=$(skipped)
stream_run n1/c "$TB_POD_s_IP4" --case rr --bytes 3000
assert_eq "$(shortcut)" "$b" "the churning pair joined within its quiet time"
[ "$(skipped)" -gt "$s" ] || fail "the churning pair's connection was not counted as kept off"

# Once the streak has been quiet for its time, the pair tries again, and a
# connection that takes the shortcut clears it.
sleep 5.5
b=$(shortcut)
stream_run n1/c "$TB_POD_s_IP4" --case rr --bytes 3000
[ "$(shortcut)" -gt "$b" ] || fail "the pair did not join again after its quiet time"
b=$(shortcut)
stream_run n1/c "$TB_POD_s_IP4" --case rr --bytes 3000
[ "$(shortcut)" -gt "$b" ] || fail "a redirected connection did not clear the streak"
[ "$(same_node n1 sockets_now)" -eq 0 ] || fail "sockets still in the shortcut after all closed"
agent_stop n1
log ok
