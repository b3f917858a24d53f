#!/usr/bin/env bash
# Same-node redirection moves bytes without losing, duplicating,
# reordering or sticking any: every sl-stream case between two meshed pods
# of one node, IPv4 and IPv6, every byte checked at its offset -- large
# writes and partial reads, sendfile, splice on both ends, MSG_PEEK,
# half-close and FIN order, RST, a peer closing while the other writes,
# both ends writing at once, 2,000 concurrent connections, fast churn --
# with the proof, from the counters, that the shortcut was really taken.
. "$(dirname "$0")/lib.sh"
e2e_init redirect-correctness

tb_up n1/c n1/s
echo "" >"$E2E_TMP/cfg.yaml"
agent_start n1 "$E2E_TMP/cfg.yaml"
agent_wait_applied n1
stream_serve n1/s

for ip in "$TB_POD_s_IP4" "$TB_POD_s_IP6"; do
	before=$(same_node n1 redirected_bytes)
	stream_run n1/c "$ip" --case rr --bytes 3000
	after=$(same_node n1 redirected_bytes)
	[ "$after" -gt "$before" ] || fail "request/response over $ip was not redirected"
	for c in echo upload download sendfile splice_send peek halfclose; do
		stream_run n1/c "$ip" --case "$c" --bytes 4M
		stream_run n1/c "$ip" --case "$c" --bytes 3000
	done
	stream_run n1/c "$ip" --case rst
	stream_run n1/c "$ip" --case close_while_write
	stream_run n1/c "$ip" --case churn --conns 2000 --parallel 50
	stream_run n1/c "$ip" --case echo --conns 2000 --bytes 64K
done
[ "$(same_node n1 left)" -gt 0 ] || fail "no bulk sender left the shortcut"

# A server that reads with splice(2) cannot see redirected data: it is
# recognised at its first splice and never redirected to, small messages
# and all.
for ip in "$TB_POD_s_IP4" "$TB_POD_s_IP6"; do
	stream_run n1/c "$ip" --case splice_recv --bytes 1000
	stream_run n1/c "$ip" --case splice_recv --bytes 4M
	stream_run n1/c "$ip" --case splice_recv --bytes 3000 --conns 20
done
[ "$(same_node n1 splice_seen)" -gt 0 ] || fail "splice was never seen"
log "$(ctl n1 status | sed -n '/same-node/,/joined/p')"
[ "$(same_node n1 sockets_now)" -eq 0 ] || fail "sockets still in the shortcut after all closed"
agent_stop n1
log ok
