#!/usr/bin/env bash
# Byte-exact TCP streams between two pods of one node, on plain TCP (no
# agent): every sl-stream case once over IPv4 and once over IPv6, plus a
# concurrent and a churn run. This is the baseline that the same-node
# redirect test will be adapted from: with sockops + sk_msg on, the very
# same runs must still pass -- and print the same csum, since the data
# depends only on the seed. A deliberately corrupted run checks that the
# verifier is not vacuous.
. "$(dirname "$0")/lib.sh"
e2e_init stream-plain

STREAM=$BUILD/sl-stream
PORT=9100
# Below the server's own 60 s, so a stuck connection is reported by the
# client as a timeout rather than outlived by the server.
TIMEOUT=20

[ -x "$STREAM" ] || fail "$STREAM not built (make all)"

# stream_serve NODE/POD: an sl-stream server in the pod, ready on return.
# testbed.sh itself, not the in_pod function: a backgrounded function runs
# in a subshell, and $! would be that shell, not the server we signal.
stream_serve()
{
	local out="$E2E_TMP/stream-serve.out"

	"$TESTBED" exec "$E2E_ID" "$1" -- "$STREAM" serve --port "$PORT" \
		>"$out" 2>"$E2E_TMP/stream-serve.err" &
	STREAM_PID=$!
	E2E_PIDS+=("$STREAM_PID")
	for _ in $(seq 100); do
		grep -q '^ready' "$out" 2>/dev/null && return 0
		sleep 0.05
	done
	fail "sl-stream serve in $1 did not start: $(cat "$out" "$E2E_TMP/stream-serve.err")"
}

# One field of a RESULT line.
result_field() { sed -n "s/^RESULT .* $2=\([^ ]*\).*/\1/p" <<<"$1"; }

# stream_run IP ARGS...: a run from pod c that must not fail anywhere.
stream_run()
{
	local ip=$1 out rc=0 conns=1 a
	shift
	for a in "$@"; do
		[ "${prev-}" = --conns ] && conns=$a
		prev=$a
	done
	unset prev
	out=$(in_pod n1/c -- "$STREAM" run --timeout "$TIMEOUT" "$@" "$ip" "$PORT") || rc=$?
	grep '^FAIL' <<<"$out" | head -n 5 >&2 || true
	assert_match "$out" '^RESULT ' "sl-stream run $* to $ip printed no RESULT"
	assert_eq "$(result_field "$out" failed)" 0 "failed connections, $* to $ip"
	assert_eq "$(result_field "$out" ok)" "$conns" "good connections, $* to $ip"
	assert_eq "$rc" 0 "exit code of sl-stream run $* to $ip"
	log "$(grep '^RESULT' <<<"$out") ($ip)"
}

tb_up n1/c n1/s
stream_serve n1/s

for ip in "$TB_POD_s_IP4" "$TB_POD_s_IP6"; do
	for c in echo upload download sendfile splice_recv splice_send peek halfclose; do
		stream_run "$ip" --case "$c" --bytes 4M
	done
	stream_run "$ip" --case rst
	stream_run "$ip" --case close_while_write
	stream_run "$ip" --case rr --bytes 2000
	stream_run "$ip" --case churn --conns 1000 --parallel 50
	stream_run "$ip" --case echo --conns 500 --bytes 64K
done

# One flipped byte must be caught, at its offset, by the server.
out=$(in_pod n1/c -- "$STREAM" run --timeout "$TIMEOUT" --case upload \
	--bytes 1M --corrupt-at 424242 "$TB_POD_s_IP4" "$PORT") &&
	fail "a corrupted upload passed: $out"
assert_match "$out" '^FAIL conn=0 case=upload server: corrupt dir=up at=424242 ' \
	"corruption report"
assert_eq "$(result_field "$out" failed)" 1 "failed connections of the corrupted run"

kill -TERM "$STREAM_PID"
wait "$STREAM_PID" || fail "sl-stream serve exited with $?"
assert_match "$(cat "$E2E_TMP/stream-serve.out")" '^stopped conns=[0-9]+ failed=1$' \
	"server: only the corrupted connection failed"
log ok
