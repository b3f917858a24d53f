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
struct tcp_sock;

struct bpf_iter__tcp {
	struct bpf_iter_meta *meta;
	struct sock_common *sk_common;
	__u32 uid;
} __attribute__((preserve_access_index));

extern int bpf_sock_destroy(struct sock_common *sk) __ksym;

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
