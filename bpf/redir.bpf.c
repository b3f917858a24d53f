// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sk_msg: the same-node shortcut.
 *
 * Every message a member socket sends passes here and goes one of two
 * ways: straight into the peer socket's receive queue (redirect), or
 * through TCP as usual (stack). The choice is per message and keeps the
 * byte stream intact:
 *
 *  - The receiver reads redirected data first, then TCP data
 *    (tcp_bpf_recvmsg). So going from redirect to stack is always safe;
 *    going from stack to redirect is safe only when everything sent
 *    through TCP has been acknowledged and read by the peer: then nothing
 *    older can arrive after the redirected bytes. Each end publishes how
 *    far its application has read (copied_seq) whenever it sends or gets
 *    an ACK; TCP sequence numbers are shared by the two ends.
 *  - Large messages are bulk: TCP with segmentation offload moves them
 *    faster than the redirect path, so they take the stack, and sockops
 *    lets a bulk sender leave the sockhash altogether.
 *  - Before redirecting into the peer, the peer's gate is marked, so the
 *    peer never leaves the sockhash with data queued for it.
 *
 *  - Redirected data is read by recv/read, not by splice(2): the kernel's
 *    splice path reads only TCP's own queue (Go's io.Copy between sockets
 *    splices, for one). So data is redirected only to a socket whose
 *    application was seen reading TCP data without splice, itself or
 *    under its reader identity (sluice_reader), and never to one seen
 *    calling splice (bpf/trace.bpf.c).
 *  - Bandwidth limits hold on the shortcut too: a message redirected
 *    takes its bytes from the sender's egress and the receiver's ingress
 *    bucket; one that does not fit goes through TCP, where the pacing and
 *    the TC policer of the same buckets meet it.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "lib/bandwidth.h"
#include "lib/flow.h"

/* Requests and responses are small; streams write in large chunks. One
 * write of more than this goes through TCP. */
#define SL_BULK_MSG_BYTES (16 * 1024)

static __always_inline bool sl_msg_view(struct sk_msg_md *msg, struct sl_view *v)
{
	struct sl_addr local = {}, remote = {};
	__u8 family;

	if (msg->family == SL_AF_INET) {
		local.a[0] = msg->local_ip4;
		remote.a[0] = msg->remote_ip4;
		family = SL_AF_INET;
	} else if (msg->family == SL_AF_INET6) {
		family = sl_addr_set6(&local, msg->local_ip6[0], msg->local_ip6[1],
				      msg->local_ip6[2], msg->local_ip6[3]);
		if (sl_addr_set6(&remote, msg->remote_ip6[0], msg->remote_ip6[1],
				 msg->remote_ip6[2], msg->remote_ip6[3]) != family)
			return false;
	} else {
		return false;
	}
	return sl_view_build(v, family, &local, &remote, msg->local_port,
			     msg->remote_port, bpf_get_netns_cookie(msg));
}

/* Nothing we sent through TCP is in flight or unread: all we wrote was
 * acknowledged, and the peer's application had read up to our last byte
 * when it last read (TCP sequence numbers are shared by the two ends). */
static __always_inline bool sl_quiescent(const struct tcp_sock___sl *me,
					 const struct sl_flow *pflow)
{
	return me->write_seq == me->snd_una && pflow->copied_seq == me->write_seq;
}

/* gate: 0 = nothing ever redirected into the socket, 1 = something was,
 * SL_GATE_LEAVING = the socket is leaving: redirect no more. */
static __always_inline bool sl_gate_enter(__u32 *gate)
{
	__u32 seen = *(volatile __u32 *)gate;

	if (seen == 1)
		return true;
	if (seen != 0)
		return false;
	seen = __sync_val_compare_and_swap(gate, 0, 1);
	return seen == 0 || seen == 1;
}

/* The peer's application was seen reading TCP data of this connection
 * with recv/read, and neither it nor its reader identity was ever seen
 * calling splice. Trusting an identity's past reads for a new socket
 * would be faster, but a server may read a header with recv and the rest
 * with splice (proxies do): only the socket's own reads count. */
static __always_inline bool sl_peer_reads(const struct sl_flow *pflow,
					  const struct sl_sock_key *peer)
{
	__u32 f = pflow->flags;

	if ((f & SL_FLOW_F_SPLICER) || !(f & SL_FLOW_F_READER))
		return false;
	return !(sl_reader_flags(peer, f & SL_FLOW_F_SERVER) & SL_FLOW_F_SPLICER);
}

/* The message fits the bandwidth limits of both ends, if they have any
 * (loopback peers share one pod: nothing leaves it). */
static __always_inline bool sl_bw_admits(const struct sl_view *v, __u32 size)
{
	struct sl_bw *bw;

	if (v->own.netns || !sl_bw_configured())
		return true;
	bw = sl_bw_of(&v->own.local, v->own.family);
	if (bw && !sl_bw_take(bw, SL_BW_EGRESS, size, false))
		return false;
	bw = sl_bw_of(&v->own.remote, v->own.family);
	return !bw || sl_bw_take(bw, SL_BW_INGRESS, size, false);
}

static __always_inline bool sl_may_redirect(const struct sl_flow *flow,
					    const struct tcp_sock___sl *me,
					    struct sl_flow *pflow,
					    const struct sl_view *v, __u32 size)
{
	if ((pflow->flags & SL_FLOW_F_LEFT) || !sl_peer_reads(pflow, &v->peer))
		return false;
	if (flow->dir != SL_DIR_REDIRECT && !sl_quiescent(me, pflow))
		return false;
	if (!sl_bw_admits(v, size))
		return false;
	return sl_gate_enter(&pflow->gate);
}

static __always_inline int sl_via_stack(struct sl_flow *flow, __u32 size)
{
	struct sl_redir_stats *stats = sl_redir_stats();

	flow->dir = SL_DIR_STACK;
	if (stats) {
		__sync_fetch_and_add(&stats->stack_msgs, 1);
		__sync_fetch_and_add(&stats->stack_bytes, size);
	}
	return SK_PASS;
}

static __always_inline int sl_redirected(struct sl_flow *flow, __u32 size)
{
	struct sl_redir_stats *stats = sl_redir_stats();

	flow->dir = SL_DIR_REDIRECT;
	__sync_fetch_and_add(&flow->redirected_msgs, 1);
	__sync_fetch_and_add(&flow->redirected_bytes, size);
	if (stats) {
		__sync_fetch_and_add(&stats->redirected_msgs, 1);
		__sync_fetch_and_add(&stats->redirected_bytes, size);
	}
	return SK_PASS;
}

SEC("sk_msg")
int sl_redirect(struct sk_msg_md *msg)
{
	struct bpf_sock *sk = msg->sk;
	struct sl_flow *flow, *pflow;
	struct tcp_sock___sl *me;
	__u32 size = msg->size;
	struct sl_view v;

	if (!sk || !sl_msg_view(msg, &v))
		return SK_PASS;
	flow = bpf_map_lookup_elem(&sluice_flow, &v.own);
	me = (void *)bpf_skc_to_tcp_sock(sk);
	if (!flow || !me)
		return SK_PASS;
	sl_publish_read(flow, me->copied_seq);
	if (size > SL_BULK_MSG_BYTES || !sl_redirect_enabled()) {
		if (!(flow->flags & SL_FLOW_F_BULK))
			__sync_fetch_and_or(&flow->flags, SL_FLOW_F_BULK);
		return sl_via_stack(flow, size);
	}
	pflow = bpf_map_lookup_elem(&sluice_flow, &v.peer);
	if (!pflow || !sl_may_redirect(flow, me, pflow, &v, size))
		return sl_via_stack(flow, size);
	if (bpf_msg_redirect_hash(msg, &sluice_sockhash, &v.peer, BPF_F_INGRESS) != SK_PASS)
		return sl_via_stack(flow, size);
	return sl_redirected(flow, size);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
