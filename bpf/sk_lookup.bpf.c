// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Ingress authorization at the server's socket lookup.
 *
 * The agent attaches this program to the network namespace of every local
 * mesh pod. The kernel runs it when a TCP SYN or a UDP datagram looks for
 * a listening or unconnected socket, whoever sent it: a pod on another
 * node, the host, or a local pod that dialled the pod address directly.
 * Dropping the lookup makes the kernel answer as for a closed port (a TCP
 * reset, an ICMP port unreachable for UDP), so a denied client fails at
 * once instead of retrying into silence. Established connections never
 * come here, so a policy decides new connections only, as Istio's does.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "lib/policy.h"

/* Every address field is read, whatever the family: reads at fixed
 * offsets only, as the verifier refuses a load through a context pointer
 * that the compiler adjusted per branch. */
static __always_inline void sl_lookup_peers(struct bpf_sk_lookup *ctx,
					    struct sl_peer *src, struct sl_peer *dst)
{
	__u32 family = ctx->family;
	__u32 r4 = ctx->remote_ip4, l4 = ctx->local_ip4;
	__u32 r6_0 = ctx->remote_ip6[0], r6_1 = ctx->remote_ip6[1];
	__u32 r6_2 = ctx->remote_ip6[2], r6_3 = ctx->remote_ip6[3];
	__u32 l6_0 = ctx->local_ip6[0], l6_1 = ctx->local_ip6[1];
	__u32 l6_2 = ctx->local_ip6[2], l6_3 = ctx->local_ip6[3];

	/* Pin every load here, before the branch. */
	asm volatile("" : "+r"(r4), "+r"(l4), "+r"(r6_0), "+r"(r6_1), "+r"(r6_2),
		     "+r"(r6_3));
	asm volatile("" : "+r"(l6_0), "+r"(l6_1), "+r"(l6_2), "+r"(l6_3));
	__builtin_memset(src, 0, sizeof(*src));
	__builtin_memset(dst, 0, sizeof(*dst));
	if (family == 2 /* AF_INET */) {
		src->family = dst->family = SL_AF_INET;
		src->addr.a[0] = r4;
		dst->addr.a[0] = l4;
		return;
	}
	src->family = dst->family = SL_AF_INET6;
	src->addr.a[0] = r6_0;
	src->addr.a[1] = r6_1;
	src->addr.a[2] = r6_2;
	src->addr.a[3] = r6_3;
	dst->addr.a[0] = l6_0;
	dst->addr.a[1] = l6_1;
	dst->addr.a[2] = l6_2;
	dst->addr.a[3] = l6_3;
}

SEC("sk_lookup")
int sl_sk_lookup(struct bpf_sk_lookup *ctx)
{
	__u32 state = sl_policy_state();
	struct sl_decision d;
	struct sl_peer src, dst;
	int udp;

	if (!state)
		return SK_PASS;
	sl_lookup_peers(ctx, &src, &dst);
	udp = ctx->protocol == SL_PROTO_UDP;
	/* The reply to a datagram this pod sent (or more of a flow let in). */
	if (udp && sl_udp_known(&dst, &src, ctx->remote_port))
		return SK_PASS;
	if (!sl_policy_decide(state, &src, &dst, (__u16)ctx->local_port, &d))
		return SK_PASS;
	if (!sl_policy_enforce(&d, SL_AT_INGRESS, (__u8)ctx->protocol, &src,
			       ctx->remote_port, &dst, bpf_htons((__u16)ctx->local_port)))
		return SK_DROP;
	if (udp)
		sl_udp_remember(&dst, &src, ctx->remote_port);
	return SK_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
