/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Connection telemetry: Istio's TCP metrics and the flow log, counted once
 * per connection and end, never per packet. sockops opens (ESTABLISHED),
 * the tcp_destroy_sock tracepoint closes (bpf/telemetry.bpf.c); per-CPU
 * counters in sluice_traffic, events in sluice_events when the flow log
 * is on (sl_settings.flows).
 */
#ifndef SLUICE_BPF_TELEMETRY_H
#define SLUICE_BPF_TELEMETRY_H

#include "flow.h"

/* TCP's own counters, read once at close. bytes_acked and bytes_received
 * count the SYN and FIN sequence numbers too; payload is what was
 * transmitted less what was retransmitted, and what was received less a
 * FIN (sk_flags SOCK_DONE, set by tcp_fin() alone). */
struct tcp_sock___sltel {
	__u64 bytes_received;
	__u64 bytes_sent;	/* payload transmitted, retransmissions included */
	__u64 bytes_retrans;
	__u32 srtt_us;		/* smoothed RTT << 3 */
} __attribute__((preserve_access_index));

#define SL_SOCK_DONE 1		/* enum sock_flags: the peer's FIN arrived */

static __always_inline bool sl_flows_on(void)
{
	struct sl_settings *cfg = sl_settings();

	return cfg && cfg->flows;
}

static __always_inline bool sl_telemetry_on(void)
{
	struct sl_settings *cfg = sl_settings();

	return cfg && cfg->telemetry;
}

/* Bucket i counts values below 2^i; the last counts the rest. */
static __always_inline __u32 sl_hist_bucket(__u64 v)
{
	__u32 b = 0;

	if (!v)
		return 0;
	if (v >= (1ULL << 32)) {
		v >>= 32;
		b += 32;
	}
	if (v >= (1ULL << 16)) {
		v >>= 16;
		b += 16;
	}
	if (v >= (1ULL << 8)) {
		v >>= 8;
		b += 8;
	}
	if (v >= (1ULL << 4)) {
		v >>= 4;
		b += 4;
	}
	if (v >= (1ULL << 2)) {
		v >>= 2;
		b += 2;
	}
	if (v >= 2)
		b += 1;
	b += 1;			/* v in [2^(b-1), 2^b) */
	return b < SL_HIST_BUCKETS ? b : SL_HIST_BUCKETS - 1;
}

/* The counters of a key, created zeroed on first use. */
static __always_inline struct sl_traffic *sl_traffic_get(const struct sl_traffic_key *key)
{
	struct sl_traffic *t = bpf_map_lookup_elem(&sluice_traffic, key);
	__u32 zero = 0;
	void *blank;

	if (t)
		return t;
	blank = bpf_map_lookup_elem(&sluice_traffic_zero, &zero);
	if (!blank)
		return NULL;
	bpf_map_update_elem(&sluice_traffic, key, blank, BPF_NOEXIST);
	return bpf_map_lookup_elem(&sluice_traffic, key);
}

struct sl_conn_end {
	__u64 sent;
	__u64 received;
	__u32 duration_ms;
	__u32 rtt_us;
	__u8 redirected;
};

/* The client's port, which the traffic key leaves out (it would make a
 * series per connection); the flow log pairs a connection's open and close
 * by it. sport: network order, 0 when unknown. */
static __always_inline void sl_conn_event(__u32 type, const struct sl_traffic_key *key,
					  const struct sl_conn_end *end, __u32 rule,
					  __be16 sport)
{
	struct sl_event *e = sl_event_reserve(type);

	if (!e)
		return;
	e->at = key->reporter == SL_REPORTER_SOURCE ? SL_AT_EGRESS : SL_AT_INGRESS;
	e->proto = SL_PROTO_TCP;
	e->family = key->family;
	e->src = key->src;
	e->dst = key->dst;
	e->src_port = sport;
	e->dst_port = key->dst_port;
	e->policy = key->svc_id;
	e->rule = rule;
	e->reporter = key->reporter;
	if (end) {
		e->sent_bytes = end->sent;
		e->received_bytes = end->received;
		e->duration_ms = end->duration_ms;
		e->rtt_us = end->rtt_us;
		e->redirected = end->redirected;
	}
	sl_event_submit(e);
}

/* The client's port of a connection, from the ports sockops gave: local
 * (host order) at the client, remote (network order, upper half) at the
 * server. */
static __always_inline __be16 sl_conn_sport(const struct sl_conn *c)
{
	if (c->key.reporter == SL_REPORTER_SOURCE)
		return bpf_htons((__u16)c->local_port);
	return (__be16)(c->remote_port >> 16);
}

/* ESTABLISHED, either end: the connection's key kept in its socket until
 * release, its opening counted. The client end knows the service it
 * dialled from its VIP record (v, if any); loopback connections stay
 * inside a pod. */
static __always_inline void sl_telemetry_open(struct bpf_sock_ops *skops, bool active,
					      struct sl_sock_vip *v)
{
	struct sl_addr local = {}, remote = {};
	struct sl_traffic_key key = {};
	struct bpf_sock *sk = skops->sk;
	struct sl_traffic *t;
	struct sl_conn *c;
	__u8 family;

	if (!sk || !sl_telemetry_on() || !sl_ops_addrs(skops, &local, &remote, &family) ||
	    sl_addr_scope(&local, family) != SL_SCOPE_NODE)
		return;
	key.family = family;
	if (active) {
		key.reporter = SL_REPORTER_SOURCE;
		key.src = local;
		key.dst = remote;
		key.dst_port = (__be16)(skops->remote_port >> 16);
		if (v)
			key.svc_id = v->svc_id + 1;
	} else {
		key.reporter = SL_REPORTER_DESTINATION;
		key.src = remote;
		key.dst = local;
		key.dst_port = bpf_htons((__u16)skops->local_port);
	}
	if (v) {
		/* The VIP record stands for sluice_conn: one storage
		 * allocation less per connection. */
		v->established_ns = bpf_ktime_get_ns();
		v->sport = bpf_htons((__u16)skops->local_port);
	} else {
		c = bpf_sk_storage_get(&sluice_conn, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
		if (!c)
			return;
		c->key = key;
		c->start_ns = bpf_ktime_get_ns();
		c->local_port = skops->local_port;
		c->remote_port = skops->remote_port;
	}
	t = sl_traffic_get(&key);
	if (t)
		t->opened++;
	if (sl_flows_on())
		sl_conn_event(SL_EVENT_OPEN, &key, NULL, 0,
			      active ? bpf_htons((__u16)skops->local_port) :
			      (__be16)(skops->remote_port >> 16));
}

/* TCP_CLOSE of a shortcut member (sockops), just before its flow entry is
 * deleted: the bytes it redirected, and those its peer redirected into it
 * (read from the peer's flow, or left in its own by a peer that closed
 * first), kept for tcp_destroy_sock, which comes later. */
static __always_inline void sl_telemetry_shortcut(struct bpf_sock_ops *skops,
						  const struct sl_flow *own, struct sl_flow *peer)
{
	struct bpf_sock *sk = skops->sk;
	__u64 received;
	struct sl_sock_vip *v;
	struct sl_conn *c;

	if (peer)
		peer->peer_bytes = own->redirected_bytes;
	if (!sk)
		return;
	received = peer ? peer->redirected_bytes : own->peer_bytes;
	c = bpf_sk_storage_get(&sluice_conn, sk, 0, 0);
	if (c) {
		c->shortcut_sent = own->redirected_bytes;
		c->shortcut_received = received;
		return;
	}
	/* A client through a VIP keeps them in its VIP record instead. */
	v = bpf_sk_storage_get(&sluice_sock_vip, sk, 0, 0);
	if (v) {
		v->shortcut_sent = own->redirected_bytes;
		v->shortcut_received = received;
	}
}

/* Outlier detection ejected an endpoint: an event whatever the flow log
 * setting (ejections are rare and an operator wants each). */
static __always_inline void sl_telemetry_eject(const struct sl_sock_vip *v, __u32 ejections)
{
	struct sl_traffic_key key = {};

	key.family = v->family;
	key.dst = v->backend;
	key.dst_port = v->backend_port;
	key.svc_id = v->svc_id + 1;
	key.reporter = SL_REPORTER_SOURCE;
	sl_conn_event(SL_EVENT_EJECT, &key, NULL, ejections, 0);
}

#endif /* SLUICE_BPF_TELEMETRY_H */
