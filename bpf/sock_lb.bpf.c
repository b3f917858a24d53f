// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Socket-level service load balancing at the cgroup socket-address hooks.
 *
 * connect4/6 and sendmsg4/6 turn a VIP:port into an endpoint before the
 * kernel routes anything, so the application's packets carry the
 * endpoint's address from the first SYN and no per-packet NAT exists.
 * getpeername4/6 and recvmsg4/6 turn the endpoint back into the VIP the
 * application dialled. An IPv6 socket dialling a v4-mapped VIP
 * (::ffff:a.b.c.d) is balanced like an IPv4 one.
 *
 * connect and sendmsg also enforce authorization at the client (egress)
 * after balancing, on the endpoint actually dialled, so a denied
 * connection fails before its first packet; the server's socket lookup
 * (sk_lookup.bpf.c) enforces the same tables for every other client.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "lib/policy.h"
#include "lib/revnat.h"

#define SL_ECONNREFUSED 111

/* A connect or send to a service without endpoints, or one that policy
 * denies, fails at once with ECONNREFUSED, as a closed port would, instead
 * of EPERM or a timeout. */
static __always_inline int sl_refuse(void)
{
	bpf_set_retval(-SL_ECONNREFUSED);
	return 0;
}

/* Where the translated socket will remember its VIP. */
static __always_inline void sl_remember(struct bpf_sock_addr *ctx,
					const struct sl_svc_key *key,
					const struct sl_choice *choice, int connected)
{
	if (connected)
		sl_sock_vip_record(ctx, key, choice);
	else
		sl_revnat_record(bpf_get_socket_cookie(ctx), key, choice);
}

static __always_inline int sl_is_v4_mapped(__u32 w0, __u32 w1, __u32 w2)
{
	return w0 == 0 && w1 == 0 && w2 == bpf_htonl(0xffff);
}

/* The address the hook is about (destination of connect and sendmsg, peer
 * of getpeername, source of recvmsg) in the ABI's form. v6 is a constant
 * per program, so each program keeps only its own family's code. */
static __always_inline void sl_ctx_addr_read(struct bpf_sock_addr *ctx, int v6,
					     struct sl_addr *a, __u8 *family)
{
	__u32 w0, w1, w2, w3;

	__builtin_memset(a, 0, sizeof(*a));
	if (!v6) {
		a->a[0] = ctx->user_ip4;
		*family = SL_AF_INET;
		return;
	}
	w0 = ctx->user_ip6[0];
	w1 = ctx->user_ip6[1];
	w2 = ctx->user_ip6[2];
	w3 = ctx->user_ip6[3];
	if (sl_is_v4_mapped(w0, w1, w2)) {
		a->a[0] = w3;
		*family = SL_AF_INET;
		return;
	}
	a->a[0] = w0;
	a->a[1] = w1;
	a->a[2] = w2;
	a->a[3] = w3;
	*family = SL_AF_INET6;
}

/* Writes an address of the family read; a v4-mapped one keeps its
 * ::ffff: prefix. */
static __always_inline void sl_ctx_addr_write(struct bpf_sock_addr *ctx, int v6,
					      const struct sl_addr *a, __u8 family,
					      __be16 port)
{
	if (!v6) {
		ctx->user_ip4 = a->a[0];
	} else if (family == SL_AF_INET) {
		ctx->user_ip6[3] = a->a[0];
	} else {
		ctx->user_ip6[0] = a->a[0];
		ctx->user_ip6[1] = a->a[1];
		ctx->user_ip6[2] = a->a[2];
		ctx->user_ip6[3] = a->a[3];
	}
	ctx->user_port = port;
}

/* Egress authorization of the destination now in ctx. The client's source
 * address is not bound yet: its pod's address, learned by the agent for
 * the socket's network namespace, stands for it. A namespace the agent has
 * not learned yet is left to the server's ingress check. */
static __always_inline int sl_egress_allowed(struct bpf_sock_addr *ctx, int v6)
{
	__u32 state = sl_policy_state();
	struct sl_netns_addr *ns;
	struct sl_decision d;
	struct sl_peer src = {}, dst = {};
	__u64 cookie;
	int udp;

	if (!state)
		return 1;
	cookie = bpf_get_netns_cookie(ctx);
	ns = bpf_map_lookup_elem(&sluice_netns_addr, &cookie);
	if (!ns)
		return 1;
	sl_ctx_addr_read(ctx, v6, &dst.addr, &dst.family);
	src.family = dst.family;
	if (dst.family == SL_AF_INET && ns->has4)
		src.addr = ns->addr4;
	else if (dst.family == SL_AF_INET6 && ns->has6)
		src.addr = ns->addr6;
	else
		return 1;
	udp = ctx->protocol == SL_PROTO_UDP;
	/* A reply to a peer whose datagrams this pod's policy let in. */
	if (udp && sl_udp_known(&src, &dst, (__be16)ctx->user_port))
		return 1;
	if (!sl_policy_decide(state, &src, &dst, bpf_ntohs((__be16)ctx->user_port), &d))
		return 1;
	if (!sl_policy_enforce(&d, SL_AT_EGRESS, (__u8)ctx->protocol, &src, 0, &dst,
			       (__be16)ctx->user_port))
		return 0;
	if (udp)
		sl_udp_remember(&src, &dst, (__be16)ctx->user_port);
	return 1;
}

/* A refusal for a limit (rate, pool), reported like a policy event; the
 * service id stands where a policy id would. */
static __always_inline void sl_refusal_event(struct bpf_sock_addr *ctx, __u32 type,
					     const struct sl_svc_key *key, __u32 svc_id)
{
	struct sl_decision d = {};
	struct sl_peer vip = {};

	vip.addr = key->addr;
	vip.family = key->family;
	sl_policy_event(type, SL_AT_EGRESS, (__u8)ctx->protocol, NULL, 0, &vip, key->port,
			&d, svc_id, 0);
}

/* The client as the hook knows it without a lookup (see lb.h). */
static __always_inline void sl_client_hint_read(struct bpf_sock_addr *ctx, __u8 family,
						struct sl_client_hint *h)
{
	struct bpf_sock *sk = ctx->sk;

	h->netns_cookie = bpf_get_netns_cookie(ctx);
	if (!sk)
		return;
	if (family == SL_AF_INET && sk->src_ip4) {
		h->bound.a[0] = sk->src_ip4;
		h->bound_family = SL_AF_INET;
	} else if (family == SL_AF_INET6 && (sk->src_ip6[0] | sk->src_ip6[3])) {
		h->bound.a[0] = sk->src_ip6[0];
		h->bound.a[1] = sk->src_ip6[1];
		h->bound.a[2] = sk->src_ip6[2];
		h->bound.a[3] = sk->src_ip6[3];
		h->bound_family = SL_AF_INET6;
	}
}

static __always_inline int sl_translate(struct bpf_sock_addr *ctx, int v6, int connected)
{
	struct sl_client_hint hint = {};
	struct sl_svc_key key = {};
	struct sl_choice choice;

	sl_ctx_addr_read(ctx, v6, &key.addr, &key.family);
	key.port = (__be16)ctx->user_port;
	key.proto = (__u8)ctx->protocol;
	sl_client_hint_read(ctx, key.family, &hint);
	switch (sl_choose(&key, &choice, connected, &hint)) {
	case SL_PASS:
		if (connected)
			sl_sock_vip_forget(ctx);
		return sl_egress_allowed(ctx, v6) ? 1 : sl_refuse();
	case SL_REFUSE:
		return sl_refuse();
	case SL_LIMITED:
		sl_refusal_event(ctx, SL_EVENT_RATE_LIMITED, &key, choice.svc_id);
		return sl_refuse();
	case SL_POOL_FULL:
		sl_refusal_event(ctx, SL_EVENT_POOL_FULL, &key, choice.svc_id);
		return sl_refuse();
	case SL_REWRITE:
		break;
	}
	sl_ctx_addr_write(ctx, v6, &choice.backend.addr, key.family, choice.backend.port);
	if (!sl_egress_allowed(ctx, v6)) {
		sl_pool_release(&choice);
		return sl_refuse();
	}
	sl_remember(ctx, &key, &choice, connected);
	return 1;
}

static __always_inline void sl_untranslate(struct bpf_sock_addr *ctx, int v6)
{
	struct sl_addr addr, vip;
	__be16 vip_port;
	__u8 family;

	sl_ctx_addr_read(ctx, v6, &addr, &family);
	if (sl_revnat_find(ctx, &addr, (__be16)ctx->user_port, family, &vip, &vip_port))
		sl_ctx_addr_write(ctx, v6, &vip, family, vip_port);
}

SEC("cgroup/connect4")
int sl_connect4(struct bpf_sock_addr *ctx)
{
	return sl_translate(ctx, 0, 1);
}

SEC("cgroup/connect6")
int sl_connect6(struct bpf_sock_addr *ctx)
{
	return sl_translate(ctx, 1, 1);
}

SEC("cgroup/sendmsg4")
int sl_sendmsg4(struct bpf_sock_addr *ctx)
{
	return sl_translate(ctx, 0, 0);
}

SEC("cgroup/sendmsg6")
int sl_sendmsg6(struct bpf_sock_addr *ctx)
{
	return sl_translate(ctx, 1, 0);
}

/* recvmsg and getpeername cannot fail: they only ever rewrite. */
SEC("cgroup/recvmsg4")
int sl_recvmsg4(struct bpf_sock_addr *ctx)
{
	sl_untranslate(ctx, 0);
	return 1;
}

SEC("cgroup/recvmsg6")
int sl_recvmsg6(struct bpf_sock_addr *ctx)
{
	sl_untranslate(ctx, 1);
	return 1;
}

SEC("cgroup/getpeername4")
int sl_getpeername4(struct bpf_sock_addr *ctx)
{
	sl_untranslate(ctx, 0);
	return 1;
}

SEC("cgroup/getpeername6")
int sl_getpeername6(struct bpf_sock_addr *ctx)
{
	sl_untranslate(ctx, 1);
	return 1;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
