// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The end of a mesh TCP connection: the tcp_destroy_sock tracepoint (BTF
 * typed, so the socket's storage and TCP counters are at hand), one call
 * per socket where sockops would call back at every state change; the
 * cgroup sock_release hook cannot read TCP's counters. Counts the close
 * with the payload bytes each way (TCP's counters plus what went through
 * the same-node shortcut), the duration and the smoothed RTT; a connect
 * through a VIP that never got established counts as failed. It runs for
 * every TCP socket of the machine: one storage lookup decides. See
 * bpf/lib/telemetry.h.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "lib/telemetry.h"

struct sock;

struct in6_addr___sltel {
	union {
		__u32 u6_addr32[4];
	} in6_u;
} __attribute__((preserve_access_index));

struct sock_common___sltel {
	unsigned long skc_flags;	/* sk_flags, here since Linux 6.16 */
	__be32 skc_rcv_saddr;
	__u16 skc_num;		/* local port, host order; 0 once the port
				 * is released (TCP_CLOSE) */
	struct in6_addr___sltel skc_v6_rcv_saddr;
} __attribute__((preserve_access_index));

struct sock___sltel {
	struct sock_common___sltel __sk_common;
} __attribute__((preserve_access_index));

struct sock___sltel_old {
	unsigned long sk_flags;
} __attribute__((preserve_access_index));

/* tcp_fin() sets SOCK_DONE: the peer's FIN took a sequence number that
 * bytes_received counts. */
static __always_inline bool sl_fin_received(struct sock *sk)
{
	struct sock___sltel *s = (void *)sk;
	struct sock___sltel_old *old = (void *)sk;

	if (bpf_core_field_exists(s->__sk_common.skc_flags))
		return s->__sk_common.skc_flags & (1UL << SL_SOCK_DONE);
	return old->sk_flags & (1UL << SL_SOCK_DONE);
}

static __always_inline void sl_count_close(struct sl_traffic *t, const struct sl_conn_end *end)
{
	t->closed++;
	t->sent_bytes += end->sent;
	t->received_bytes += end->received;
	t->redirected += end->redirected;
	t->duration_ms_sum += end->duration_ms;
	t->duration_ms[sl_hist_bucket(end->duration_ms)]++;
	if (end->rtt_us) {
		t->rtt_us_sum += end->rtt_us;
		t->rtt_us[sl_hist_bucket(end->rtt_us)]++;
	}
}

/* The key of a client socket through a VIP, from its VIP record and its
 * own address. */
static __always_inline bool sl_key_of_vip(struct sock *sk, const struct sl_sock_vip *v,
					  struct sl_traffic_key *key)
{
	struct sock_common___sltel *skc = &((struct sock___sltel *)sk)->__sk_common;

	if (v->family == SL_AF_INET)
		key->src.a[0] = skc->skc_rcv_saddr;
	else if (sl_addr_set6(&key->src, skc->skc_v6_rcv_saddr.in6_u.u6_addr32[0],
			      skc->skc_v6_rcv_saddr.in6_u.u6_addr32[1],
			      skc->skc_v6_rcv_saddr.in6_u.u6_addr32[2],
			      skc->skc_v6_rcv_saddr.in6_u.u6_addr32[3]) != v->family)
		return false;
	key->reporter = SL_REPORTER_SOURCE;
	key->family = v->family;
	key->dst = v->backend;
	key->dst_port = v->backend_port;
	key->svc_id = v->svc_id + 1;
	return true;
}

/* A connection's end: TCP's payload counters plus what the shortcut moved
 * (recorded when its flow closed), the duration, the RTT. */
static __always_inline void sl_close(struct sock *sk, const struct sl_traffic_key *key,
				     __u64 start_ns, __u64 shortcut_sent,
				     __u64 shortcut_received, __be16 sport)
{
	struct sl_conn_end end = {};
	struct tcp_sock___sltel *tp;
	struct sl_traffic *t;

	tp = (void *)bpf_skc_to_tcp_sock(sk);
	if (tp) {
		end.sent = tp->bytes_sent - tp->bytes_retrans;
		end.received = tp->bytes_received;
		if (end.received && sl_fin_received(sk))
			end.received--;
		end.rtt_us = tp->srtt_us >> 3;
	}
	end.sent += shortcut_sent;
	end.received += shortcut_received;
	end.redirected = shortcut_sent || shortcut_received;
	end.duration_ms = (__u32)((bpf_ktime_get_ns() - start_ns) / 1000000);
	t = sl_traffic_get(key);
	if (t)
		sl_count_close(t, &end);
	if (sl_flows_on())
		sl_conn_event(SL_EVENT_CLOSE, key, &end, 0, sport);
}

/* A client socket through a VIP: established (counted at its end) or
 * never (a failed connect). */
static __always_inline void sl_vip_end(struct sock *sk)
{
	struct sock_common___sltel *skc = &((struct sock___sltel *)sk)->__sk_common;
	struct sl_traffic_key key = {};
	struct sl_sock_vip *v;
	struct sl_traffic *t;

	v = bpf_sk_storage_get(&sluice_sock_vip, sk, 0, 0);
	if (!v || !v->start_ns || !sl_telemetry_on() || !sl_key_of_vip(sk, v, &key))
		return;
	if (v->established_ns) {
		sl_close(sk, &key, v->established_ns, v->shortcut_sent, v->shortcut_received,
			 v->sport);
		return;
	}
	t = sl_traffic_get(&key);
	if (t)
		t->failed++;
	if (sl_flows_on())
		sl_conn_event(SL_EVENT_CONNECT_FAILED, &key, NULL, 0, bpf_htons(skc->skc_num));
}

SEC("tp_btf/tcp_destroy_sock")
int BPF_PROG(sl_tcp_destroyed, struct sock *sk)
{
	struct sl_conn *c = bpf_sk_storage_get(&sluice_conn, sk, 0, 0);

	if (c)
		sl_close(sk, &c->key, c->start_ns, c->shortcut_sent, c->shortcut_received,
			 sl_conn_sport(c));
	else
		sl_vip_end(sk);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
