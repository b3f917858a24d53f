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
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "lib/revnat.h"

#define SL_ECONNREFUSED 111

/* A connect or send to a service without endpoints fails at once with
 * ECONNREFUSED, as a closed port would, instead of EPERM or a timeout. */
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

static __always_inline int sl_translate4(struct bpf_sock_addr *ctx, int connected)
{
	struct sl_svc_key key = {};
	struct sl_choice choice;

	key.addr.a[0] = ctx->user_ip4;
	key.port = (__be16)ctx->user_port;
	key.proto = (__u8)ctx->protocol;
	key.family = SL_AF_INET;
	switch (sl_choose(&key, &choice, connected)) {
	case SL_PASS:
		if (connected)
			sl_sock_vip_forget(ctx);
		return 1;
	case SL_REFUSE:
		return sl_refuse();
	case SL_REWRITE:
		break;
	}
	ctx->user_ip4 = choice.backend.addr.a[0];
	ctx->user_port = choice.backend.port;
	sl_remember(ctx, &key, &choice, connected);
	return 1;
}

static __always_inline int sl_is_v4_mapped(__u32 w0, __u32 w1, __u32 w2)
{
	return w0 == 0 && w1 == 0 && w2 == bpf_htonl(0xffff);
}

static __always_inline int sl_translate6(struct bpf_sock_addr *ctx, int connected)
{
	struct sl_svc_key key = {};
	struct sl_choice choice;
	__u32 w0 = ctx->user_ip6[0], w1 = ctx->user_ip6[1];
	__u32 w2 = ctx->user_ip6[2], w3 = ctx->user_ip6[3];
	int mapped = sl_is_v4_mapped(w0, w1, w2);

	if (mapped) {
		key.addr.a[0] = w3;
		key.family = SL_AF_INET;
	} else {
		key.addr.a[0] = w0;
		key.addr.a[1] = w1;
		key.addr.a[2] = w2;
		key.addr.a[3] = w3;
		key.family = SL_AF_INET6;
	}
	key.port = (__be16)ctx->user_port;
	key.proto = (__u8)ctx->protocol;
	switch (sl_choose(&key, &choice, connected)) {
	case SL_PASS:
		if (connected)
			sl_sock_vip_forget(ctx);
		return 1;
	case SL_REFUSE:
		return sl_refuse();
	case SL_REWRITE:
		break;
	}
	if (mapped) {
		ctx->user_ip6[3] = choice.backend.addr.a[0];
	} else {
		ctx->user_ip6[0] = choice.backend.addr.a[0];
		ctx->user_ip6[1] = choice.backend.addr.a[1];
		ctx->user_ip6[2] = choice.backend.addr.a[2];
		ctx->user_ip6[3] = choice.backend.addr.a[3];
	}
	ctx->user_port = choice.backend.port;
	sl_remember(ctx, &key, &choice, connected);
	return 1;
}

static __always_inline void sl_untranslate4(struct bpf_sock_addr *ctx)
{
	struct sl_addr addr = {}, vip;
	__be16 vip_port;

	addr.a[0] = ctx->user_ip4;
	if (!sl_revnat_find(ctx, &addr, (__be16)ctx->user_port, SL_AF_INET, &vip,
			    &vip_port))
		return;
	ctx->user_ip4 = vip.a[0];
	ctx->user_port = vip_port;
}

static __always_inline void sl_untranslate6(struct bpf_sock_addr *ctx)
{
	__u32 w0 = ctx->user_ip6[0], w1 = ctx->user_ip6[1];
	__u32 w2 = ctx->user_ip6[2], w3 = ctx->user_ip6[3];
	int mapped = sl_is_v4_mapped(w0, w1, w2);
	struct sl_addr addr = {}, vip;
	__be16 vip_port;

	if (mapped) {
		addr.a[0] = w3;
	} else {
		addr.a[0] = w0;
		addr.a[1] = w1;
		addr.a[2] = w2;
		addr.a[3] = w3;
	}
	if (!sl_revnat_find(ctx, &addr, (__be16)ctx->user_port,
			    mapped ? SL_AF_INET : SL_AF_INET6, &vip, &vip_port))
		return;
	if (mapped) {
		ctx->user_ip6[3] = vip.a[0];
	} else {
		ctx->user_ip6[0] = vip.a[0];
		ctx->user_ip6[1] = vip.a[1];
		ctx->user_ip6[2] = vip.a[2];
		ctx->user_ip6[3] = vip.a[3];
	}
	ctx->user_port = vip_port;
}

SEC("cgroup/connect4")
int sl_connect4(struct bpf_sock_addr *ctx)
{
	return sl_translate4(ctx, 1);
}

SEC("cgroup/connect6")
int sl_connect6(struct bpf_sock_addr *ctx)
{
	return sl_translate6(ctx, 1);
}

SEC("cgroup/sendmsg4")
int sl_sendmsg4(struct bpf_sock_addr *ctx)
{
	return sl_translate4(ctx, 0);
}

SEC("cgroup/sendmsg6")
int sl_sendmsg6(struct bpf_sock_addr *ctx)
{
	return sl_translate6(ctx, 0);
}

/* recvmsg and getpeername cannot fail: they only ever rewrite. */
SEC("cgroup/recvmsg4")
int sl_recvmsg4(struct bpf_sock_addr *ctx)
{
	sl_untranslate4(ctx);
	return 1;
}

SEC("cgroup/recvmsg6")
int sl_recvmsg6(struct bpf_sock_addr *ctx)
{
	sl_untranslate6(ctx);
	return 1;
}

SEC("cgroup/getpeername4")
int sl_getpeername4(struct bpf_sock_addr *ctx)
{
	sl_untranslate4(ctx);
	return 1;
}

SEC("cgroup/getpeername6")
int sl_getpeername6(struct bpf_sock_addr *ctx)
{
	sl_untranslate6(ctx);
	return 1;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
