/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Authorization decisions: at most four exact lookups (the destination's
 * ipcache entry, the source's, then (set, class, port), (set, class, any
 * port) or the set's default), however many rules the policies have. The
 * agent compiled every rule into those tables; nothing here loops.
 */
#ifndef SLUICE_BPF_POLICY_H
#define SLUICE_BPF_POLICY_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <sluice/abi.h>
#include "maps.h"

/* One side of a decision. */
struct sl_peer {
	struct sl_addr addr;
	__u8 family;
};

struct sl_decision {
	struct sl_policy_verdict v;
	__u32 src_identity;
	__u32 dst_identity;
};

/* 1 + the bank in force, 0 when no policy is configured: then nothing
 * else is looked up. */
static __always_inline __u32 sl_policy_state(void)
{
	struct sl_settings *cfg = sl_settings();

	return cfg ? cfg->policy : 0;
}

static __always_inline struct sl_ipcache *sl_ipcache_find(__u32 bank,
							  const struct sl_peer *p)
{
	struct sl_ipcache_key key = {};

	key.prefixlen = SL_IPCACHE_PREFIX_BITS + (p->family == SL_AF_INET ? 32 : 128);
	key.bank = (__u8)bank;
	key.family = p->family;
	key.addr = p->addr;
	return bpf_map_lookup_elem(&sluice_ipcache, &key);
}

/* Returns 0 when no policy selects the destination (d untouched), 1 with
 * the verdict in d. A set without its default entry means tables the
 * agent left inconsistent: deny, as a closed door is the safe mistake. */
static __always_inline int sl_policy_decide(__u32 state, const struct sl_peer *src,
					    const struct sl_peer *dst, __u16 port,
					    struct sl_decision *d)
{
	struct sl_policy_set_key set_key = {};
	struct sl_policy_key key = {};
	struct sl_policy_verdict *v;
	struct sl_ipcache *dc, *sc;
	__u32 bank = state - 1;

	dc = sl_ipcache_find(bank, dst);
	if (!dc || !dc->dst_set)
		return 0;
	sc = src ? sl_ipcache_find(bank, src) : NULL;
	key.dst_set = dc->dst_set;
	key.src_class = sc ? sc->src_class : 0;
	key.port = port;
	key.bank = (__u8)bank;
	v = bpf_map_lookup_elem(&sluice_policy, &key);
	if (!v) {
		key.port = 0;
		v = bpf_map_lookup_elem(&sluice_policy, &key);
	}
	if (!v) {
		set_key.dst_set = dc->dst_set;
		set_key.bank = bank;
		v = bpf_map_lookup_elem(&sluice_policy_set, &set_key);
	}
	__builtin_memset(d, 0, sizeof(*d));
	if (v)
		d->v = *v;
	else
		d->v.verdict = SL_VERDICT_DENY;
	d->dst_identity = dc->identity;
	d->src_identity = sc ? sc->identity : 0;
	return 1;
}

static __always_inline void sl_policy_count(__u32 policy, int field)
{
	struct sl_policy_stats *st = bpf_map_lookup_elem(&sluice_policy_stats, &policy);

	if (!st)
		return;
	switch (field) {
	case SL_EVENT_DENY:
		__sync_fetch_and_add(&st->denied, 1);
		break;
	case SL_EVENT_DRY_RUN_DENY:
		__sync_fetch_and_add(&st->dry_run_denied, 1);
		break;
	case SL_EVENT_AUDIT:
		__sync_fetch_and_add(&st->audited, 1);
		break;
	default:
		__sync_fetch_and_add(&st->allowed, 1);
	}
}

/* An event that does not fit in the ring is lost; the agent counts what
 * the ring reports as dropped. */
static __always_inline void sl_policy_event(__u32 type, __u8 at, __u8 proto,
					    const struct sl_peer *src, __be16 sport,
					    const struct sl_peer *dst, __be16 dport,
					    const struct sl_decision *d, __u32 policy,
					    __u32 rule)
{
	struct sl_event *e = sl_event_reserve(type);

	if (!e)
		return;
	e->at = at;
	e->proto = proto;
	e->family = dst->family;
	if (src)
		e->src = src->addr;
	e->dst = dst->addr;
	e->src_port = sport;
	e->dst_port = dport;
	e->policy = policy;
	e->rule = rule;
	e->src_identity = d->src_identity;
	e->dst_identity = d->dst_identity;
	sl_event_submit(e);
}

/* UDP replies (see sl_udp_peer in the ABI): local is the workload on this
 * side, remote and rport the other end. */
static __always_inline void sl_udp_peer_key(struct sl_udp_peer_key *k,
					    const struct sl_peer *local,
					    const struct sl_peer *remote, __be16 rport)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->local = local->addr;
	k->remote = remote->addr;
	k->remote_port = rport;
	k->family = local->family;
}

/* Is this datagram part of a flow policy already let through? */
static __always_inline int sl_udp_known(const struct sl_peer *local,
					const struct sl_peer *remote, __be16 rport)
{
	struct sl_udp_peer_key k;
	struct sl_udp_peer *v;
	__u64 now = bpf_ktime_get_ns();

	sl_udp_peer_key(&k, local, remote, rport);
	v = bpf_map_lookup_elem(&sluice_udp_peer, &k);
	if (!v || now - v->seen_ns >= SL_UDP_PEER_TTL_NS)
		return 0;
	/* Refreshed at most once a second: a write per datagram would bounce
	 * the entry's cache line between CPUs for nothing. */
	if (now - v->seen_ns >= SL_UDP_PEER_REFRESH_NS)
		v->seen_ns = now;
	return 1;
}

static __always_inline void sl_udp_remember(const struct sl_peer *local,
					    const struct sl_peer *remote, __be16 rport)
{
	struct sl_udp_peer_key k;
	struct sl_udp_peer v = { .seen_ns = bpf_ktime_get_ns() };

	sl_udp_peer_key(&k, local, remote, rport);
	bpf_map_update_elem(&sluice_udp_peer, &k, &v, BPF_ANY);
}

/* Counts and reports a decision; returns 1 when the traffic may pass. */
static __always_inline int sl_policy_enforce(const struct sl_decision *d, __u8 at,
					     __u8 proto, const struct sl_peer *src,
					     __be16 sport, const struct sl_peer *dst,
					     __be16 dport)
{
	if (d->v.audit) {
		sl_policy_count(d->v.audit_policy, SL_EVENT_AUDIT);
		sl_policy_event(SL_EVENT_AUDIT, at, proto, src, sport, dst, dport, d,
				d->v.audit_policy, d->v.audit_rule);
	}
	if (d->v.verdict == SL_VERDICT_DENY) {
		sl_policy_count(d->v.policy, SL_EVENT_DENY);
		sl_policy_event(SL_EVENT_DENY, at, proto, src, sport, dst, dport, d,
				d->v.policy, d->v.rule);
		return 0;
	}
	if (d->v.shadow == SL_VERDICT_DENY) {
		sl_policy_count(d->v.shadow_policy, SL_EVENT_DRY_RUN_DENY);
		sl_policy_event(SL_EVENT_DRY_RUN_DENY, at, proto, src, sport, dst, dport,
				d, d->v.shadow_policy, d->v.shadow_rule);
	}
	sl_policy_count(d->v.policy, 0);
	return 1;
}

#endif /* SLUICE_BPF_POLICY_H */
