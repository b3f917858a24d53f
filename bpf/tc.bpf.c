// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * TC (tcx) on the interfaces inside a bandwidth-limited pod's network
 * namespace: what leaves through them is the pod's egress, what arrives
 * its ingress. Each packet takes its IP length from the workload's bucket
 * (bpf/lib/bandwidth.h) or is dropped: there is no fq qdisc to delay it
 * with. TCP senders of this node are paced below the limit by sockops, so
 * drops mostly hit other senders, whose congestion control backs off.
 *
 * The agent attaches these only where a limit exists: other pods pay
 * nothing per packet.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include "lib/bandwidth.h"

/* tcx verdicts (linux/bpf.h of Linux >= 6.6). */
#define SL_TCX_NEXT -1
#define SL_TCX_DROP 2

static __always_inline int sl_police(struct __sk_buff *skb, int dir)
{
	struct sl_addr addr = {};
	struct sl_bw *bw;
	__u8 family;
	__u32 off;

	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		family = SL_AF_INET;
		off = ETH_HLEN + (dir == SL_BW_EGRESS ? 12 : 16);
		if (bpf_skb_load_bytes(skb, off, &addr.a[0], 4))
			return SL_TCX_NEXT;
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		family = SL_AF_INET6;
		off = ETH_HLEN + (dir == SL_BW_EGRESS ? 8 : 24);
		if (bpf_skb_load_bytes(skb, off, &addr.a[0], 16))
			return SL_TCX_NEXT;
	} else {
		return SL_TCX_NEXT;
	}
	bw = sl_bw_of(&addr, family);
	if (!bw || skb->len <= ETH_HLEN)
		return SL_TCX_NEXT;
	return sl_bw_take(bw, dir, skb->len - ETH_HLEN, true) ? SL_TCX_NEXT : SL_TCX_DROP;
}

SEC("tc")
int sl_tc_egress(struct __sk_buff *skb)
{
	return sl_police(skb, SL_BW_EGRESS);
}

SEC("tc")
int sl_tc_ingress(struct __sk_buff *skb)
{
	return sl_police(skb, SL_BW_INGRESS);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
