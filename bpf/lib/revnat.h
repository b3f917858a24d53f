/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Remembering which VIP a socket addressed, so that getpeername and recvmsg
 * show it instead of the backend the connection really goes to.
 *
 * Connected sockets (every TCP socket, UDP after connect()) have one peer:
 * it is kept in socket-local storage, written once at connect. Unconnected
 * UDP sockets may talk to many VIPs and backends: an LRU map keyed by
 * (socket cookie, backend) holds those, written only when it changes.
 */
#ifndef SLUICE_BPF_REVNAT_H
#define SLUICE_BPF_REVNAT_H

#include <stdbool.h>
#include "lb.h"

#define SL_SOCK_DGRAM 2

static __always_inline void
sl_sock_vip_record(struct bpf_sock_addr *ctx, const struct sl_svc_key *vip,
		   const struct sl_choice *choice)
{
	struct bpf_sock *sk = ctx->sk;
	struct sl_sock_vip *v;

	if (!sk) {
		sl_pool_release(choice);
		return;
	}
	v = bpf_sk_storage_get(&sluice_sock_vip, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!v) {
		/* Nothing would give the place back at close. */
		sl_pool_release(choice);
		return;
	}
	v->pooled = choice->pooled ? choice->backend_id + 1 : 0;
	v->start_ns = bpf_ktime_get_ns();
	v->idle_ms = choice->idle_ms;
	v->max_age_ms = choice->max_age_ms;
	v->backend_id = choice->backend_id;
	v->eject_after = choice->eject_after;
	v->eject_ms = choice->eject_ms;
	v->connect_ms = choice->connect_ms;
	v->ka_time_s = choice->ka_time_s;
	v->ka_interval_s = choice->ka_interval_s;
	v->ka_probes = choice->ka_probes;
	v->user_timeout = 0;
	v->backend = choice->backend.addr;
	v->backend_port = choice->backend.port;
	v->vip = vip->addr;
	v->vip_port = vip->port;
	v->family = vip->family;
	v->svc_id = choice->svc_id;
	v->svc_flags = choice->svc_flags;
}

/* A UDP socket connected again elsewhere must not keep showing the VIP of
 * its previous peer. */
static __always_inline void sl_sock_vip_forget(struct bpf_sock_addr *ctx)
{
	struct bpf_sock *sk = ctx->sk;

	if (sk && ctx->type == SL_SOCK_DGRAM)
		bpf_sk_storage_delete(&sluice_sock_vip, sk);
}

static __always_inline bool sl_addr_eq(const struct sl_addr *a, const struct sl_addr *b)
{
	return a->a[0] == b->a[0] && a->a[1] == b->a[1] && a->a[2] == b->a[2] &&
	       a->a[3] == b->a[3];
}

static __always_inline void
sl_revnat_record(__u64 cookie, const struct sl_svc_key *vip,
		 const struct sl_choice *choice)
{
	struct sl_revnat_key key = {};
	struct sl_revnat value = {};
	struct sl_revnat *old;

	key.cookie = cookie;
	key.addr = choice->backend.addr;
	key.port = choice->backend.port;
	key.proto = vip->proto;
	key.family = vip->family;
	/* A socket sending datagram after datagram to one VIP finds its
	 * entries in place: a lookup is far cheaper than an LRU update. */
	old = bpf_map_lookup_elem(&sluice_revnat, &key);
	if (old && old->port == vip->port && old->family == vip->family &&
	    sl_addr_eq(&old->addr, &vip->addr))
		return;
	value.addr = vip->addr;
	value.port = vip->port;
	value.family = vip->family;
	value.svc_id = choice->svc_id;
	bpf_map_update_elem(&sluice_revnat, &key, &value, BPF_ANY);
}

/* The VIP to show for a peer address of this socket, or false. */
static __always_inline bool
sl_revnat_find(struct bpf_sock_addr *ctx, const struct sl_addr *addr, __be16 port,
	       __u8 family, struct sl_addr *vip, __be16 *vip_port)
{
	struct sl_revnat_key key = {};
	struct sl_sock_vip *v = NULL;
	struct sl_revnat *r;

	if (ctx->sk)
		v = bpf_sk_storage_get(&sluice_sock_vip, ctx->sk, 0, 0);
	if (v && v->family == family && v->backend_port == port &&
	    sl_addr_eq(&v->backend, addr)) {
		*vip = v->vip;
		*vip_port = v->vip_port;
		return true;
	}
	if (ctx->type != SL_SOCK_DGRAM)
		return false;
	key.cookie = bpf_get_socket_cookie(ctx);
	key.addr = *addr;
	key.port = port;
	key.proto = (__u8)ctx->protocol;
	key.family = family;
	r = bpf_map_lookup_elem(&sluice_revnat, &key);
	if (!r || r->family != family)
		return false;
	*vip = r->addr;
	*vip_port = r->port;
	return true;
}

#endif /* SLUICE_BPF_REVNAT_H */
