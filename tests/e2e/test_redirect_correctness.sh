#!/usr/bin/env bash
# Same-node redirection moves bytes without losing, duplicating,
# reordering or sticking any: every sl-stream case between two meshed pods
# of one node, IPv4 and IPv6, every byte checked at its offset -- large
# writes and partial reads, sendfile, splice on both ends, MSG_PEEK,
# half-close and FIN order, RST, a peer closing while the other writes,
# both ends writing at once, 2,000 concurrent connections, fast churn.
#
# Each case runs twice: as it comes (bulk writes go through TCP, and bulk
# senders leave the shortcut), and after three request/response turns with
# every send kept under 8 KiB, which puts the whole case on the redirect
# path; the counters prove that it was.
. "$(dirname "$0")/lib.sh"
e2e_init redirect-correctness

tb_up n1/c n1/d n1/s
echo "" >"$E2E_TMP/cfg.yaml"
agent_start n1 "$E2E_TMP/cfg.yaml"
agent_wait_applied n1
stream_serve n1/s
in_pod n1/d -- sleep 600 &	# d: a pod known before its first connection
E2E_PIDS+=($!)

# redirected ARGS...: a run that must pass with some bytes redirected.
redirected()
{
	local ip=$1 before
	before=$(same_node n1 redirected_bytes)
	stream_run n1/c "$@"
	[ "$(same_node n1 redirected_bytes)" -gt "$before" ] ||
		fail "nothing was redirected in: ${*:2} to $ip"
}

for ip in "$TB_POD_s_IP4" "$TB_POD_s_IP6"; do
	redirected "$ip" --case rr --bytes 3000
	for c in echo upload sendfile splice_send peek halfclose; do
		stream_run n1/c "$ip" --case "$c" --bytes 4M
		redirected "$ip" --case "$c" --bytes 1M --warmup 3 --chunk 8K
	done
	stream_run n1/c "$ip" --case download --bytes 4M
	stream_run n1/c "$ip" --case download --bytes 1M --warmup 3 --chunk 8K
	stream_run n1/c "$ip" --case rst
	redirected "$ip" --case rst --warmup 3 --chunk 8K
	stream_run n1/c "$ip" --case close_while_write
	stream_run n1/c "$ip" --case close_while_write --warmup 3 --chunk 8K
	redirected "$ip" --case echo --conns 300 --bytes 64K --warmup 3 --chunk 4K
	# Last for the pair: after a streak of connections that never took the
	# shortcut, its next ones do not join for a while.
	stream_run n1/c "$ip" --case churn --conns 2000 --parallel 50
	stream_run n1/c "$ip" --case echo --conns 2000 --bytes 64K
done
[ "$(same_node n1 left)" -gt 0 ] || fail "no bulk sender left the shortcut"

# A server that reads with splice(2) cannot see redirected data. One that
# splices from the start, or after a single request it answered with recv
# (a CONNECT-style handover), is never redirected to, small messages and
# all. From another client: the churn above may have put (c, s) on hold
# for a while (a pair whose connections keep closing without taking the
# shortcut stops joining it), and a connection that never joins is never
# seen splicing.
for ip in "$TB_POD_s_IP4" "$TB_POD_s_IP6"; do
	stream_run n1/d "$ip" --case splice_recv --bytes 1000
	stream_run n1/d "$ip" --case splice_recv --bytes 4M
	stream_run n1/d "$ip" --case splice_recv --bytes 3000 --conns 20
	stream_run n1/d "$ip" --case splice_recv --bytes 64K --warmup 1 --chunk 4K
done
[ "$(same_node n1 splice_seen)" -gt 0 ] || fail "splice was never seen"
assert_eq "$(same_node n1 splice_stranded)" 0 "splice readers with redirected data"
log "$(ctl n1 status | sed -n '/same-node/,/joined/p')"
[ "$(same_node n1 sockets_now)" -eq 0 ] || fail "sockets still in the shortcut after all closed"
agent_stop n1
log ok
