/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Bandwidth limits, the sockops side: a TCP connection of a limited
 * workload that has sent SL_BW_PACE_AFTER bytes is paced by its own stack
 * (SO_MAX_PACING_RATE; TCP's internal pacing needs no fq) a little below
 * the limit, so the TC policer of the same bucket seldom drops.
 *
 * Not from the start: pacing costs a connection that carries one request
 * about as much as the rest of its setup (6% of new connections per
 * second, measured), and such a connection never comes near a limit; the
 * bucket's depth covers the unpaced start of a long one. So the limited
 * connection asks for its ACKs (RTT callback) until it has sent that much,
 * then is paced and stops asking.
 */
#ifndef SLUICE_BPF_PACING_H
#define SLUICE_BPF_PACING_H

#include "bandwidth.h"
#include "flow.h"

#define SL_BW_PACE_AFTER (16 * 1024)
#define SL_SOL_SOCKET 1
#define SL_SO_MAX_PACING_RATE 47

struct sock___slpace {
	unsigned long sk_max_pacing_rate;
} __attribute__((preserve_access_index));

/* Bytes/s this connection is to be paced at, 0 for none. SO_MAX_PACING_RATE
 * takes 32 bits of bytes/s (34 Gbit/s): a limit above that is the
 * policer's alone. */
static __always_inline __u32 sl_bw_pace_rate(struct bpf_sock_ops *skops)
{
	struct sl_addr local = {}, remote = {};
	__u64 rate;
	__u8 family;

	if (!sl_ops_addrs(skops, &local, &remote, &family))
		return 0;
	rate = sl_bw_send_rate(&local, &remote, family) * SL_BW_PACE_PERCENT / 100;
	return rate < 0xffffffffULL ? (__u32)rate : 0;
}

static __always_inline bool sl_bw_paced(struct bpf_sock_ops *skops)
{
	struct sock___slpace *sk;

	if (!skops->sk)
		return true;
	sk = (void *)bpf_skc_to_tcp_sock(skops->sk);
	return !sk || sk->sk_max_pacing_rate != ~0UL;
}

/* Established: a limited connection asks for its ACKs. */
static __always_inline void sl_bw_watch(struct bpf_sock_ops *skops)
{
	if (sl_bw_pace_rate(skops))
		bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags |
					  BPF_SOCK_OPS_RTT_CB_FLAG);
}

/* Pacing is still to be set on this connection. */
static __always_inline bool sl_bw_pending(struct bpf_sock_ops *skops)
{
	return sl_bw_configured() && !sl_bw_paced(skops) && sl_bw_pace_rate(skops);
}

/* An ACK: paces the connection once it has sent enough. True when the
 * bandwidth limits need no more of its ACKs. */
static __always_inline bool sl_bw_acked(struct bpf_sock_ops *skops)
{
	int val;

	if (!sl_bw_configured() || sl_bw_paced(skops))
		return true;
	if (skops->bytes_acked < SL_BW_PACE_AFTER)
		return false;
	val = (int)sl_bw_pace_rate(skops);
	if (val)
		bpf_setsockopt(skops, SL_SOL_SOCKET, SL_SO_MAX_PACING_RATE, &val, sizeof(val));
	return true;
}

#endif /* SLUICE_BPF_PACING_H */
