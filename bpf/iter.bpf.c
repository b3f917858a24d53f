// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Resetting connections to endpoints that left their service.
 *
 * The agent runs this TCP socket iterator in each local pod's network
 * namespace after an update that removed endpoints, with the removed
 * (service, endpoint) pairs in sluice_doomed. A client socket that was
 * balanced through such a service to such an endpoint (its socket storage
 * says so) is destroyed with bpf_sock_destroy(): the application sees a
 * reset and reconnects, to a live endpoint, instead of talking to a pod
 * that is going away.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "lib/maps.h"

/* Named, not laid out: only pointers to them pass through here, and the
 * kernel's BTF must find them as structs of these names. */
struct sock_common {
	unsigned short skc_family;
} __attribute__((preserve_access_index));
struct sock;

/* Only the fields read; CO-RE finds them in the running kernel. */
struct tcp_sock {
	__u64 tcp_mstamp;	/* most recent packet sent or received, usec */
} __attribute__((preserve_access_index));

struct sock___sl {
	void *sk_user_data;	/* a psock: the socket is in the shortcut */
} __attribute__((preserve_access_index));

struct bpf_iter__tcp {
	struct bpf_iter_meta *meta;
	struct sock_common *sk_common;
	__u32 uid;
} __attribute__((preserve_access_index));

extern int bpf_sock_destroy(struct sock_common *sk) __ksym;

/* Counts and says whether a socket outlived its service's timeouts. */
static __always_inline int sl_expired(const struct sl_sock_vip *v, struct tcp_sock *tp)
{
	__u64 now = bpf_ktime_get_ns();
	struct sl_svc_state *st;
	__u32 id = v->svc_id;
	int aged, idle = 0;

	aged = v->max_age_ms && now - v->start_ns > (__u64)v->max_age_ms * 1000000;
	if (!aged && v->idle_ms && !((struct sock___sl *)tp)->sk_user_data)
		idle = now / 1000 - tp->tcp_mstamp > (__u64)v->idle_ms * 1000;
	if (!aged && !idle)
		return 0;
	st = bpf_map_lookup_elem(&sluice_svc_state, &id);
	if (st && aged)
		__sync_fetch_and_add(&st->aged_closed, 1);
	else if (st)
		__sync_fetch_and_add(&st->idle_closed, 1);
	return 1;
}

SEC("iter/tcp")
int sl_reset_removed(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct sl_doomed_key key = {};
	struct sl_sock_vip *v;
	struct tcp_sock *tp;
	__u32 *resets;

	/* Reading a field also makes the compiler describe the struct, which
	 * the kfunc's signature check needs. */
	if (!skc || (skc->skc_family != 2 && skc->skc_family != 10))
		return 0;
	tp = bpf_skc_to_tcp_sock(skc);
	if (!tp)
		return 0;
	v = bpf_sk_storage_get(&sluice_sock_vip, (struct sock *)tp, 0, 0);
	if (!v)
		return 0;
	if ((v->idle_ms || v->max_age_ms) && sl_expired(v, tp)) {
		bpf_sock_destroy(skc);
		return 0;
	}
	key.backend = v->backend;
	key.backend_port = v->backend_port;
	key.family = v->family;
	key.svc_id = v->svc_id;
	resets = bpf_map_lookup_elem(&sluice_doomed, &key);
	if (!resets)
		return 0;
	/* The count tells the agent what it did. */
	if (!bpf_sock_destroy(skc))
		__sync_fetch_and_add(resets, 1);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
