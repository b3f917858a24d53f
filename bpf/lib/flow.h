/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Connection views for same-node acceleration: a socket's key in the
 * sockhash and the key of its peer, built alike from sockops and sk_msg
 * contexts so that the two ends of one connection always agree.
 */
#ifndef SLUICE_BPF_FLOW_H
#define SLUICE_BPF_FLOW_H

#include <stdbool.h>
#include <bpf/bpf_endian.h>
#include "maps.h"

/* What was learned about an address is trusted this long: pods come and
 * go, and their addresses move. A local mesh address is seen on every
 * connection; a miss is rechecked sooner. */
#define SL_LOCAL_ADDR_TTL_NS (600ULL * 1000000000ULL)
#define SL_NOT_LOCAL_TTL_NS (30ULL * 1000000000ULL)

/* Only the fields read; CO-RE finds them in the running kernel. */
struct tcp_sock___sl {
	__u32 rcv_nxt;
	__u32 copied_seq;
	__u32 snd_una;
	__u32 write_seq;
} __attribute__((preserve_access_index));

enum sl_scope {
	SL_SCOPE_NODE,		/* unique on the node: a pod address */
	SL_SCOPE_NETNS,		/* loopback: repeats in every namespace */
	SL_SCOPE_NONE,		/* link-local or unspecified: never accelerated */
};

struct sl_view {
	struct sl_sock_key own;
	struct sl_sock_key peer;
};

static __always_inline bool sl_v4_mapped(__u32 w0, __u32 w1, __u32 w2)
{
	return w0 == 0 && w1 == 0 && w2 == bpf_htonl(0xffff);
}

/* An IPv6 socket of a dual-stack server sees IPv4 clients as ::ffff:a.b.c.d
 * while the client's IPv4 socket sees a.b.c.d: both become IPv4 here. */
static __always_inline __u8 sl_addr_set6(struct sl_addr *a, __u32 w0, __u32 w1,
					 __u32 w2, __u32 w3)
{
	if (sl_v4_mapped(w0, w1, w2)) {
		a->a[0] = w3;
		return SL_AF_INET;
	}
	a->a[0] = w0;
	a->a[1] = w1;
	a->a[2] = w2;
	a->a[3] = w3;
	return SL_AF_INET6;
}

static __always_inline enum sl_scope sl_addr_scope(const struct sl_addr *a, __u8 family)
{
	if (family == SL_AF_INET) {
		__u32 h = bpf_ntohl(a->a[0]);

		if ((h >> 24) == 127)
			return SL_SCOPE_NETNS;
		if ((h >> 16) == 0xa9fe || h == 0)
			return SL_SCOPE_NONE;
		return SL_SCOPE_NODE;
	}
	if (a->a[0] == 0 && a->a[1] == 0 && a->a[2] == 0 && a->a[3] == bpf_htonl(1))
		return SL_SCOPE_NETNS;
	if ((bpf_ntohl(a->a[0]) >> 22) == (0xfe80 >> 6))
		return SL_SCOPE_NONE;
	if ((a->a[0] | a->a[1] | a->a[2] | a->a[3]) == 0)
		return SL_SCOPE_NONE;
	return SL_SCOPE_NODE;
}

/*
 * Fills both keys from a context's addresses. local_port is in host order
 * and remote_port holds the network-order port in its upper 16 bits, as
 * sockops and sk_msg contexts give them. Returns false for connections
 * that are never accelerated.
 */
static __always_inline bool sl_view_build(struct sl_view *v, __u8 family,
					  const struct sl_addr *local,
					  const struct sl_addr *remote,
					  __u32 local_port, __u32 remote_port,
					  __u64 netns_cookie)
{
	enum sl_scope ls = sl_addr_scope(local, family);
	enum sl_scope rs = sl_addr_scope(remote, family);

	if (ls == SL_SCOPE_NONE || rs == SL_SCOPE_NONE)
		return false;
	__builtin_memset(v, 0, sizeof(*v));
	v->own.family = family;
	v->own.local = *local;
	v->own.remote = *remote;
	v->own.local_port = bpf_htons((__u16)local_port);
	v->own.remote_port = (__be16)(remote_port >> 16);
	v->own.netns = rs == SL_SCOPE_NETNS ? netns_cookie : 0;
	v->peer.family = family;
	v->peer.local = *remote;
	v->peer.remote = *local;
	v->peer.local_port = v->own.remote_port;
	v->peer.remote_port = v->own.local_port;
	v->peer.netns = v->own.netns;
	return true;
}

/* The reader identity of a socket: its pod address and the server's port,
 * per role. Loopback addresses name no pod: they get no identity. */
static __always_inline bool sl_reader_key_of(const struct sl_sock_key *own, bool server,
					     struct sl_reader_key *k)
{
	if (own->netns)
		return false;
	__builtin_memset(k, 0, sizeof(*k));
	k->addr = own->local;
	k->family = own->family;
	k->server = server;
	k->port = server ? own->local_port : own->remote_port;
	return true;
}

static __always_inline void sl_reader_mark(const struct sl_sock_key *own, bool server,
					   __u32 flag)
{
	struct sl_reader_key k;
	struct sl_reader fresh = {}, *r;

	if (!sl_reader_key_of(own, server, &k))
		return;
	r = bpf_map_lookup_elem(&sluice_reader, &k);
	if (r) {
		if (!(r->flags & flag))
			__sync_fetch_and_or(&r->flags, flag);
		r->seen_ns = bpf_ktime_get_ns();
		return;
	}
	fresh.flags = flag;
	fresh.seen_ns = bpf_ktime_get_ns();
	bpf_map_update_elem(&sluice_reader, &k, &fresh, BPF_NOEXIST);
}

static __always_inline __u32 sl_reader_flags(const struct sl_sock_key *own, bool server)
{
	struct sl_reader_key k;
	struct sl_reader *r;

	if (!sl_reader_key_of(own, server, &k))
		return 0;
	r = bpf_map_lookup_elem(&sluice_reader, &k);
	if (!r || bpf_ktime_get_ns() - r->seen_ns >= SL_LOCAL_ADDR_TTL_NS)
		return 0;
	return r->flags;
}

/* Reads, each followed by a send or an ACK, that prove an application
 * reads with recv/read. A proxy may read a request with recv, answer it,
 * then hand the connection to splice (an HTTP CONNECT tunnel): one read is
 * not proof enough; two turns are. */
#define SL_READER_TURNS 2

/* A member publishes how far its application has read TCP data; reading
 * new data turn after turn without being seen to splice makes it a
 * reader. */
static __always_inline void sl_publish_read(struct sl_flow *flow, __u32 copied_seq)
{
	bool advanced = copied_seq != flow->copied_seq;

	flow->copied_seq = copied_seq;
	if (!advanced || (flow->flags & (SL_FLOW_F_READER | SL_FLOW_F_SPLICER)))
		return;
	if (++flow->reads >= SL_READER_TURNS)
		__sync_fetch_and_or(&flow->flags, SL_FLOW_F_READER);
}

/* A sockops socket's two addresses in the ABI's form; a v4-mapped pair
 * comes out as IPv4. False for another family or a mixed pair. */
static __always_inline bool sl_ops_addrs(struct bpf_sock_ops *skops, struct sl_addr *local,
					 struct sl_addr *remote, __u8 *family)
{
	if (skops->family == SL_AF_INET) {
		local->a[0] = skops->local_ip4;
		remote->a[0] = skops->remote_ip4;
		*family = SL_AF_INET;
		return true;
	}
	if (skops->family != SL_AF_INET6)
		return false;
	*family = sl_addr_set6(local, skops->local_ip6[0], skops->local_ip6[1],
			       skops->local_ip6[2], skops->local_ip6[3]);
	return sl_addr_set6(remote, skops->remote_ip6[0], skops->remote_ip6[1],
			    skops->remote_ip6[2], skops->remote_ip6[3]) == *family;
}

static __always_inline struct sl_redir_stats *sl_redir_stats(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&sluice_redir_stats, &zero);
}

static __always_inline bool sl_redirect_enabled(void)
{
	struct sl_settings *cfg = sl_settings();

	return cfg && cfg->redirect;
}

#endif /* SLUICE_BPF_FLOW_H */
