// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sockops: which connections may take the same-node shortcut.
 *
 * A connection qualifies when both of its sockets are mesh sockets on this
 * node. The client joins the sockhash unless sluice_local_addr says its
 * destination has no mesh socket here; the server joins if it finds the
 * client a member, since the client is established first. Membership
 * gives both the sk_msg program (bpf/redir.bpf.c).
 *
 * A member that turns out to send in bulk, or whose peer never joined,
 * leaves again on a later ACK (RTT callback) if nothing was ever
 * redirected into it: bulk through the sockhash's send path runs at a half
 * to two thirds of plain TCP, through plain TCP it costs nothing.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "lib/pacing.h"
#include "lib/telemetry.h"
#include "lib/lb.h"	/* the outlier census */

#define SL_SOL_SOCKET 1
#define SL_SO_KEEPALIVE 9
#define SL_SOL_TCP 6
#define SL_TCP_KEEPIDLE 4
#define SL_TCP_KEEPINTVL 5
#define SL_TCP_KEEPCNT 6
#define SL_TCP_USER_TIMEOUT 18
#define SL_TCP_ESTABLISHED 1
#define SL_TCP_SYN_SENT 2
#define SL_TCP_FIN_WAIT1 4
#define SL_TCP_CLOSE 7
#define SL_TCP_LAST_ACK 9

/* See sluice_short_pair in include/sluice/abi.h. A pair is short after this
 * many wasted connections in a row (a health check now and then is not a
 * pattern), and stays short while they keep coming. */
#define SL_SHORT_STREAK 4
#define SL_SHORT_TTL_NS (5ULL * 1000000000ULL)

/* A local mesh address is seen on every connection; writing it down again
 * more often than this is wasted work on the connect path. */
#define SL_LEARN_REFRESH_NS (1000000000ULL)

static __always_inline bool sl_ops_view(struct bpf_sock_ops *skops, struct sl_view *v)
{
	struct sl_addr local = {}, remote = {};
	__u8 family;

	if (!sl_ops_addrs(skops, &local, &remote, &family))
		return false;
	return sl_view_build(v, family, &local, &remote, skops->local_port,
			     skops->remote_port, bpf_get_netns_cookie(skops));
}

static __always_inline void sl_learn(const struct sl_addr *addr, __u8 family, __u32 mesh)
{
	struct sl_local_addr_key key = {};
	struct sl_local_addr val = {}, *seen;
	__u64 now = bpf_ktime_get_ns();

	key.addr = *addr;
	key.family = family;
	seen = bpf_map_lookup_elem(&sluice_local_addr, &key);
	if (seen) {
		if (seen->mesh != mesh || now - seen->seen_ns >= SL_LEARN_REFRESH_NS) {
			seen->mesh = mesh;
			seen->seen_ns = now;
		}
		return;
	}
	val.seen_ns = now;
	val.mesh = mesh;
	bpf_map_update_elem(&sluice_local_addr, &key, &val, BPF_ANY);
}

static __always_inline struct sl_local_addr *sl_learned(const struct sl_addr *addr,
							__u8 family, __u64 ttl)
{
	struct sl_local_addr_key key = {};
	struct sl_local_addr *seen;

	key.addr = *addr;
	key.family = family;
	seen = bpf_map_lookup_elem(&sluice_local_addr, &key);
	if (!seen || bpf_ktime_get_ns() - seen->seen_ns >= ttl)
		return NULL;
	return seen;
}

/* Worth joining unless the destination is known to have no mesh socket
 * here; loopback peers always live in the same pod. */
static __always_inline bool sl_may_be_local(const struct sl_sock_key *own)
{
	struct sl_local_addr *seen;

	if (own->netns)
		return true;
	seen = sl_learned(&own->remote, own->family, SL_LOCAL_ADDR_TTL_NS);
	if (!seen || seen->mesh)
		return true;
	return bpf_ktime_get_ns() - seen->seen_ns >= SL_NOT_LOCAL_TTL_NS;
}

/* A client whose server never joined remembers that, unless the address
 * was just seen as a mesh socket (the server may merely have closed). */
static __always_inline void sl_learn_not_local(const struct sl_sock_key *own)
{
	struct sl_local_addr *seen;

	if (own->netns)
		return;
	seen = sl_learned(&own->remote, own->family, SL_NOT_LOCAL_TTL_NS);
	if (!seen || !seen->mesh)
		sl_learn(&own->remote, own->family, 0);
}

/* A client connected through a VIP of a service that opted out. */
static __always_inline bool sl_service_opted_out(struct bpf_sock_ops *skops)
{
	struct bpf_sock *sk = skops->sk;
	struct sl_sock_vip *vip;

	if (!sk)
		return false;
	vip = bpf_sk_storage_get(&sluice_sock_vip, sk, 0, 0);
	return vip && (vip->svc_flags & SL_SVC_F_NO_REDIRECT);
}

/* The pair of a connection: the client's key without its port. */
static __always_inline void sl_pair_key(const struct sl_view *v, bool server,
					struct sl_sock_key *pair)
{
	*pair = server ? v->peer : v->own;
	pair->local_port = 0;
}

/* The client's pair has been wasting joins lately: do not join. The
 * server end asks too, to tell such a connection from one whose peer is
 * not local; only the client end counts it. */
static __always_inline bool sl_pair_short(const struct sl_view *v, bool server)
{
	struct sl_redir_stats *stats;
	struct sl_short_pair *rec;
	struct sl_sock_key pair;

	sl_pair_key(v, server, &pair);
	rec = bpf_map_lookup_elem(&sluice_short_pair, &pair);
	if (!rec || rec->wasted < SL_SHORT_STREAK ||
	    bpf_ktime_get_ns() - rec->seen_ns >= SL_SHORT_TTL_NS)
		return false;
	stats = sl_redir_stats();
	if (stats && !server)
		__sync_fetch_and_add(&stats->short_skipped, 1);
	return true;
}

/* The last end of a member connection to close tells its pair whether
 * joining was worth it; the first one hands over what it knows. */
static __always_inline void sl_pair_account(const struct sl_view *v, struct sl_flow *flow)
{
	struct sl_short_pair fresh = {}, *rec;
	struct sl_flow *peer;
	struct sl_sock_key pair;
	bool used;

	used = (flow->gate & ~SL_GATE_LEAVING) || (flow->flags & SL_FLOW_F_USED);
	peer = bpf_map_lookup_elem(&sluice_flow, &v->peer);
	if (peer) {
		if (used && !(peer->flags & SL_FLOW_F_USED))
			__sync_fetch_and_or(&peer->flags, SL_FLOW_F_USED);
		return;
	}
	sl_pair_key(v, flow->flags & SL_FLOW_F_SERVER, &pair);
	rec = bpf_map_lookup_elem(&sluice_short_pair, &pair);
	if (used) {
		if (rec && rec->wasted)
			rec->wasted = 0;
		return;
	}
	if (rec) {
		__sync_fetch_and_add(&rec->wasted, 1);
		rec->seen_ns = bpf_ktime_get_ns();
		return;
	}
	fresh.wasted = 1;
	fresh.seen_ns = bpf_ktime_get_ns();
	bpf_map_update_elem(&sluice_short_pair, &pair, &fresh, BPF_NOEXIST);
}

static __always_inline struct sl_sock_vip *sl_vip_of(struct bpf_sock_ops *skops)
{
	struct bpf_sock *sk = skops->sk;

	return sk ? bpf_sk_storage_get(&sluice_sock_vip, sk, 0, 0) : NULL;
}

static __always_inline void sl_join(struct bpf_sock_ops *skops, const struct sl_view *v,
				    bool server)
{
	struct sl_redir_stats *stats = sl_redir_stats();
	struct sl_flow flow = {};

	/* Established: the application has read all there is. */
	flow.copied_seq = skops->rcv_nxt;
	flow.joined_seq = skops->rcv_nxt;
	flow.flags = server ? SL_FLOW_F_SERVER : 0;
	if (bpf_map_update_elem(&sluice_flow, &v->own, &flow, BPF_ANY))
		return;
	if (bpf_sock_hash_update(skops, &sluice_sockhash, (void *)&v->own, BPF_NOEXIST)) {
		bpf_map_delete_elem(&sluice_flow, &v->own);
		return;
	}
	if (!server) {
		struct sl_sock_vip *vip = sl_vip_of(skops);

		if (vip)
			vip->joined = 1;	/* keeps its state callbacks */
	}
	bpf_sock_ops_cb_flags_set(skops, BPF_SOCK_OPS_RTT_CB_FLAG | BPF_SOCK_OPS_STATE_CB_FLAG);
	if (stats)
		__sync_fetch_and_add(&stats->joined, 1);
}

static __always_inline void sl_established(struct bpf_sock_ops *skops, bool active)
{
	struct sl_redir_stats *stats;
	struct sl_view v;
	bool local;

	if (sl_bw_configured())
		sl_bw_watch(skops);
	/* Checked first: with --no-redirect this hook only serves the
	 * connection pools and must cost nothing else. */
	if (!sl_redirect_enabled() || !sl_ops_view(skops, &v))
		return;
	if (!v.own.netns)
		sl_learn(&v.own.local, v.own.family, 1);
	if (active) {
		if (sl_service_opted_out(skops) || sl_pair_short(&v, false))
			return;
		local = sl_may_be_local(&v.own);
	} else
		local = bpf_map_lookup_elem(&sluice_flow, &v.peer) != NULL;
	if (local) {
		sl_join(skops, &v, !active);
		return;
	}
	if (!active && sl_pair_short(&v, true))
		return;
	stats = sl_redir_stats();
	if (stats)
		__sync_fetch_and_add(&stats->not_local, 1);
}

/* Leaves the sockhash if nothing was ever redirected into this socket:
 * closing the gate first guarantees that nothing ever will be. */
static __always_inline void sl_try_leave(struct bpf_sock_ops *skops,
					 const struct sl_view *v, struct sl_flow *flow)
{
	struct sl_redir_stats *stats = sl_redir_stats();

	/* Whatever happens, this socket stops asking on every ACK, unless
	 * its bandwidth pacing is still to be set. */
	bpf_sock_ops_cb_flags_set(skops, BPF_SOCK_OPS_STATE_CB_FLAG |
				  (sl_bw_pending(skops) ? BPF_SOCK_OPS_RTT_CB_FLAG : 0));
	if (__sync_val_compare_and_swap(&flow->gate, 0, SL_GATE_LEAVING) != 0)
		return;		/* data may sit in our queue: stay */
	bpf_map_delete_elem(&sluice_sockhash, &v->own);
	__sync_fetch_and_or(&flow->flags, SL_FLOW_F_LEFT);
	if (stats)
		__sync_fetch_and_add(&stats->left, 1);
}

/* After an ACK of our data: a bulk sender, or a socket whose peer never
 * joined (or is gone), is better off on plain TCP. True while the socket
 * needs its ACKs for that (a member that has not left). */
static __always_inline bool sl_acked(struct bpf_sock_ops *skops)
{
	struct sl_flow *flow;
	struct sl_view v;

	if (!sl_ops_view(skops, &v))
		return false;
	flow = bpf_map_lookup_elem(&sluice_flow, &v.own);
	if (!flow || (flow->flags & SL_FLOW_F_LEFT))
		return false;
	if (skops->sk) {
		struct tcp_sock___sl *tp = (void *)bpf_skc_to_tcp_sock(skops->sk);

		if (tp)
			sl_publish_read(flow, tp->copied_seq);
	}
	if (flow->flags & SL_FLOW_F_BULK) {
		sl_try_leave(skops, &v, flow);
	} else if (!bpf_map_lookup_elem(&sluice_flow, &v.peer)) {
		if (!flow->gate)
			sl_learn_not_local(&v.own);
		sl_try_leave(skops, &v, flow);
	}
	return true;
}

static __always_inline void sl_closed(struct bpf_sock_ops *skops)
{
	struct sl_redir_stats *stats = sl_redir_stats();
	struct sl_flow *flow;
	struct sl_view v;

	if (skops->args[1] != SL_TCP_CLOSE || !sl_ops_view(skops, &v))
		return;
	flow = bpf_map_lookup_elem(&sluice_flow, &v.own);
	if (!flow)
		return;
	if (stats && !(flow->flags & SL_FLOW_F_LEFT))
		__sync_fetch_and_add(&stats->closed, 1);
	sl_pair_account(&v, flow);
	sl_telemetry_shortcut(skops, flow, bpf_map_lookup_elem(&sluice_flow, &v.peer));
	bpf_map_delete_elem(&sluice_flow, &v.own);
}

/* A connection holding a place under its service's maxConnections asks
 * to hear of its close, to give the place back. */
static __always_inline struct sl_sock_vip *sl_pooled(struct bpf_sock_ops *skops)
{
	struct bpf_sock *sk = skops->sk;
	struct sl_sock_vip *v;

	if (!sk)
		return NULL;
	v = bpf_sk_storage_get(&sluice_sock_vip, sk, 0, 0);
	return v && v->pooled ? v : NULL;
}


/* The service a client socket connected through, as it is now. */
static __always_inline struct sl_svc *sl_svc_of(const struct sl_sock_vip *v)
{
	struct sl_svc_key key = {};

	key.addr = v->vip;
	key.port = v->vip_port;
	key.proto = SL_PROTO_TCP;
	key.family = v->family;
	return bpf_map_lookup_elem(&sluice_svc, &key);
}

/* tcpKeepalive of the socket's service (recorded at connect, so no
 * service lookup here), set as the connection starts. */
static __always_inline void sl_keepalive(struct bpf_sock_ops *skops,
					 const struct sl_sock_vip *v)
{
	int on = 1, val;

	if (!v->ka_time_s)
		return;
	bpf_setsockopt(skops, SL_SOL_SOCKET, SL_SO_KEEPALIVE, &on, sizeof(on));
	val = v->ka_time_s;
	bpf_setsockopt(skops, SL_SOL_TCP, SL_TCP_KEEPIDLE, &val, sizeof(val));
	if (v->ka_interval_s) {
		val = v->ka_interval_s;
		bpf_setsockopt(skops, SL_SOL_TCP, SL_TCP_KEEPINTVL, &val, sizeof(val));
	}
	if (v->ka_probes) {
		val = (int)v->ka_probes;
		bpf_setsockopt(skops, SL_SOL_TCP, SL_TCP_KEEPCNT, &val, sizeof(val));
	}
}

/*
 * connectTimeout. Linux gives up on a SYN nobody answers after
 * tcp_syn_retries retransmissions (about 127 s); TCP_USER_TIMEOUT bounds
 * SYN_SENT too (tcp_write_timeout checks it there since 5.4, and the
 * retransmission timer is clamped to what is left of it), so it is set for
 * the handshake only and the application's own value (usually none) is
 * given back once established. The connect then fails with ETIMEDOUT at
 * the first timer after connect_ms: at connect_ms itself when that is
 * above the first SYN's timeout (one second), and the first SYN's timeout
 * is shortened to connect_ms when it is below (BPF_SOCK_OPS_TIMEOUT_INIT).
 * An application whose own TCP_USER_TIMEOUT is shorter keeps it.
 */
static __always_inline void sl_connect_timeout(struct bpf_sock_ops *skops,
					       struct sl_sock_vip *v)
{
	int own = 0, val = (int)v->connect_ms;

	if (!v->connect_ms || v->user_timeout)
		return;
	if (bpf_getsockopt(skops, SL_SOL_TCP, SL_TCP_USER_TIMEOUT, &own, sizeof(own)))
		own = 0;
	if (own > 0 && own <= val)
		return;
	if (!bpf_setsockopt(skops, SL_SOL_TCP, SL_TCP_USER_TIMEOUT, &val, sizeof(val)))
		v->user_timeout = (__u32)own + 1;
}

/* The kernel asks for the first SYN's retransmission timeout in jiffies.
 * Their length is the kernel's HZ, which BPF cannot read; but the socket's
 * icsk_rto still holds TCP_TIMEOUT_INIT, one second in jiffies, when this
 * is asked (tcp_connect_init has not set it yet), so connect_ms scales it. */
struct inet_connection_sock___sl {
	__u32 icsk_rto;
} __attribute__((preserve_access_index));

struct tcp_sock___slrto {
	struct inet_connection_sock___sl inet_conn;
} __attribute__((preserve_access_index));

static __always_inline void sl_syn_timeout(struct bpf_sock_ops *skops)
{
	struct tcp_sock___slrto *tp;
	struct sl_sock_vip *v = sl_vip_of(skops);
	__u64 second;

	if (!v || !v->connect_ms || v->connect_ms >= 1000 || !skops->sk)
		return;
	tp = (void *)bpf_skc_to_tcp_sock(skops->sk);
	if (!tp)
		return;
	second = tp->inet_conn.icsk_rto;
	if (!second)
		return;
	second = second * v->connect_ms / 1000;
	skops->reply = second ? (__u32)second : 1;
}

/* Established: the handshake's TCP_USER_TIMEOUT gives way to the
 * application's own. */
static __always_inline void sl_handshake_done(struct bpf_sock_ops *skops,
					      struct sl_sock_vip *v)
{
	int own;

	if (!v)
		return;
	/* Outlier detection has heard the outcome (the state callback of
	 * SYN_SENT -> ESTABLISHED comes first): a socket without a pool place
	 * need not call back on every later state change. Joining the
	 * sockhash, next, asks again if it needs to. */
	if (v->eject_after && !v->pooled)
		bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags &
					  ~BPF_SOCK_OPS_STATE_CB_FLAG);
	if (!v->user_timeout)
		return;
	own = (int)(v->user_timeout - 1);
	bpf_setsockopt(skops, SL_SOL_TCP, SL_TCP_USER_TIMEOUT, &own, sizeof(own));
	v->user_timeout = 0;
}

/* Sockets holding a pool place, or whose connect outcome feeds outlier
 * detection, ask to hear of their state changes. */
static __always_inline void sl_pool_watch(struct bpf_sock_ops *skops)
{
	struct sl_sock_vip *v = sl_vip_of(skops);

	if (v) {
		sl_keepalive(skops, v);
		sl_connect_timeout(skops, v);
	}
	if (v && (v->pooled || v->eject_after))
		bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags |
					  BPF_SOCK_OPS_STATE_CB_FLAG);
}

/* maxEjectionPercent: an ejection that would leave more than max_pct of
 * the service's members ejected at once is refused, except the first
 * (Envoy always ejects one). The census and the ejection are not atomic:
 * two endpoints failing at the same instant may both pass. */
static __always_inline bool sl_may_eject(const struct sl_sock_vip *v,
					 const struct sl_backend_state *b, __u64 now)
{
	struct sl_od_census c = { .now = now };
	struct sl_svc_state *state;
	struct sl_svc *svc;

	if (now < b->ejected_until_ns)
		return true;		/* already counted: ejected for longer */
	svc = sl_svc_of(v);
	if (!svc || svc->id != v->svc_id || svc->eject_max_pct >= 100)
		return true;
	c.svc_id = svc->id;
	c.rev = svc->rev;
	sl_od_census(&c, svc->n_members);
	if (sl_od_may_eject(c.members, c.ejected, svc->eject_max_pct))
		return true;
	state = bpf_map_lookup_elem(&sluice_svc_state, &c.svc_id);
	if (state)
		__sync_fetch_and_add(&state->eject_refused, 1);
	return false;
}

/* Outlier detection: a connect that ends before ESTABLISHED (refused,
 * reset, timed out, connectTimeout included) is a failure of its endpoint;
 * eject_after in a row eject it for eject_ms times the ejections so far (at
 * most 10), unless maxEjectionPercent forbids; either way the streak starts
 * again. A connect that succeeds clears the streak. */
static __always_inline void sl_connect_outcome(struct bpf_sock_ops *skops)
{
	struct sl_backend_state *b;
	struct sl_sock_vip *v;
	__u64 now;
	__u32 id;

	if (skops->args[0] != SL_TCP_SYN_SENT || !(v = sl_vip_of(skops)) || !v->eject_after)
		return;
	if (skops->args[1] != SL_TCP_ESTABLISHED && skops->args[1] != SL_TCP_CLOSE)
		return;
	id = v->backend_id;
	b = bpf_map_lookup_elem(&sluice_backend_state, &id);
	if (!b || !sl_od_outcome(b, skops->args[1] == SL_TCP_CLOSE, v->eject_after))
		return;
	now = bpf_ktime_get_ns();
	if (sl_may_eject(v, b, now)) {
		sl_od_eject(b, now, v->eject_ms);
		sl_telemetry_eject(v, b->ejections);
	}
}

/* The place goes back when the application closed the connection
 * (FIN_WAIT1, or LAST_ACK after the peer's FIN) or it died (CLOSE): no
 * later state change matters to the pool, so unless the socket is in the
 * same-node shortcut (whose bookkeeping waits for CLOSE) it stops calling
 * back. */
static __always_inline void sl_pool_closed(struct bpf_sock_ops *skops)
{
	__u32 state = skops->args[1], id;
	struct sl_backend_state *b;
	struct sl_sock_vip *v;

	if ((state != SL_TCP_FIN_WAIT1 && state != SL_TCP_LAST_ACK &&
	     state != SL_TCP_CLOSE) || !(v = sl_pooled(skops)))
		return;
	id = v->pooled - 1;
	v->pooled = 0;
	b = bpf_map_lookup_elem(&sluice_backend_state, &id);
	if (b)
		__sync_fetch_and_add(&b->active, -1);
	if (!v->joined)
		bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags &
					  ~BPF_SOCK_OPS_STATE_CB_FLAG);
}

SEC("sockops")
int sl_sockops(struct bpf_sock_ops *skops)
{
	switch (skops->op) {
	case BPF_SOCK_OPS_TIMEOUT_INIT:
		sl_syn_timeout(skops);
		break;
	case BPF_SOCK_OPS_TCP_CONNECT_CB:
		sl_pool_watch(skops);
		break;
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB: {
		struct sl_sock_vip *v = sl_vip_of(skops);

		sl_handshake_done(skops, v);
		sl_telemetry_open(skops, true, v);
		sl_established(skops, true);
		break;
	}
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		sl_telemetry_open(skops, false, NULL);
		sl_established(skops, false);
		break;
	case BPF_SOCK_OPS_RTT_CB: {
		/* Both run: the pacing and the shortcut's bookkeeping. */
		bool paced = sl_bw_acked(skops);

		if (!sl_acked(skops) && paced)
			bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags &
						  ~BPF_SOCK_OPS_RTT_CB_FLAG);
		break;
	}
	case BPF_SOCK_OPS_STATE_CB:
		sl_connect_outcome(skops);
		sl_pool_closed(skops);
		sl_closed(skops);
		break;
	}
	return 1;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
