/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Service lookup and endpoint selection, shared by every hook that
 * translates a VIP (connect, sendmsg) and by the selection tests.
 */
#ifndef SLUICE_BPF_LB_H
#define SLUICE_BPF_LB_H

#include <stdbool.h>

#include "bucket.h"
#include "outlier.h"
#include "maps.h"

enum sl_verdict {
	SL_PASS = 0,	/* not a service: leave the address alone */
	SL_REFUSE,	/* a service with no endpoint to send to */
	SL_REWRITE,	/* send to choice->backend */
	SL_LIMITED,	/* over the service's connection rate limit */
	SL_POOL_FULL,	/* every endpoint tried is at maxConnections */
};

struct sl_choice {
	struct sl_backend backend;
	__u32 svc_id;
	__u32 svc_flags;
	__u32 backend_id;
	__u32 pooled;		/* holds a place at backend_id's active count */
	__u32 idle_ms;		/* the service's connection timeouts */
	__u32 max_age_ms;
	__u32 eject_after;	/* the service's outlier detection */
	__u32 eject_ms;
	__u32 connect_ms;	/* the service's connect timeout */
	__u16 ka_time_s;	/* ... tcpKeepalive, for sockops */
	__u16 ka_interval_s;
	__u32 ka_probes;
};

/* Who connects, as far as the hook knows without a lookup: the socket's
 * bound source address, if any, and its network namespace, whose pod
 * address the agent learned (sluice_netns_addr). Resolved only for
 * services that need the client (consistent hashing, limits by source). */
struct sl_client_hint {
	__u64 netns_cookie;
	struct sl_addr bound;
	__u8 bound_family;	/* 0: not bound */
};

struct sl_client {
	struct sl_addr addr;
	__u8 family;		/* 0: unknown */
};

static __always_inline void sl_client_resolve(const struct sl_client_hint *h, __u8 family,
					      struct sl_client *c)
{
	struct sl_netns_addr *ns;

	if (h->bound_family == family) {
		c->addr = h->bound;
		c->family = family;
		return;
	}
	ns = bpf_map_lookup_elem(&sluice_netns_addr, &h->netns_cookie);
	if (!ns)
		return;
	if (family == SL_AF_INET && ns->has4) {
		c->addr = ns->addr4;
		c->family = family;
	} else if (family == SL_AF_INET6 && ns->has6) {
		c->addr = ns->addr6;
		c->family = family;
	}
}

static __always_inline __u32 sl_mix(__u32 h, __u32 w)
{
	h ^= w;
	h *= 0x9e3779b1;
	return h ^ (h >> 15);
}

/* The client's entry of a Maglev table; 0 when unknown (the service then
 * round-robins). */
static __always_inline __u32 sl_client_hash(const struct sl_client *c)
{
	__u32 h = 0x5eed;

	if (c->family == SL_AF_INET)
		return sl_mix(h, c->addr.a[0]) | 1;
	if (c->family == SL_AF_INET6)
		return sl_mix(sl_mix(sl_mix(sl_mix(h, c->addr.a[0]), c->addr.a[1]),
				     c->addr.a[2]), c->addr.a[3]) | 1;
	return 0;
}

/* A limit with sources applies to the clients the agent listed; an
 * unknown client (a namespace not learned yet) is not one of them. */
static __always_inline int sl_limit_applies(__u32 svc_id, __u32 flags,
					    const struct sl_client *c)
{
	struct sl_limit_src_key key = {};

	if (!(flags & SL_SVC_F_LIMIT_SOURCES))
		return 1;
	if (!c->family)
		return 0;
	key.svc_id = svc_id;
	key.family = c->family;
	key.addr = c->addr;
	return bpf_map_lookup_elem(&sluice_limit_src, &key) != NULL;
}

/* Endpoints tried for a place under maxConnections before refusing. */
#define SL_POOL_TRIES 8

/* Takes a place at the chosen endpoint, or at the next ones in slot order
 * (within its locality priority's slots [lo, lo + n_slots)) when it is at
 * max: the add comes first and is undone when it went over, so concurrent
 * connects never both take the last place. */
static __always_inline int sl_pool_reserve(const struct sl_svc_key *key,
					   struct sl_svc_state *state,
					   struct sl_choice *choice, __u32 rev,
					   __u32 lo, __u32 n_slots, __u32 max)
{
	struct sl_slot_key slot_key = { .svc_id = choice->svc_id, .rev = rev };

	for (int k = 0; k < SL_POOL_TRIES; k++) {
		struct sl_backend_state *b;
		struct sl_backend *be;
		struct sl_slot *slot;

		b = bpf_map_lookup_elem(&sluice_backend_state, &choice->backend_id);
		if (b) {
			if (__sync_fetch_and_add(&b->active, 1) < max) {
				choice->pooled = 1;
				return 1;
			}
			__sync_fetch_and_add(&b->active, -1);
		}
		if ((__u32)k + 1 >= n_slots)
			return 0;
		slot_key.slot = lo + __sync_fetch_and_add(&state->cursor, 1) % n_slots;
		slot = bpf_map_lookup_elem(&sluice_slot, &slot_key);
		if (!slot)
			return 0;
		be = bpf_map_lookup_elem(&sluice_backend, &slot->backend_id);
		if (!be || be->family != key->family)
			return 0;
		choice->backend_id = slot->backend_id;
		choice->backend = *be;
	}
	return 0;
}

static __always_inline int sl_ejected(__u32 id, __u64 now)
{
	struct sl_backend_state *b = bpf_map_lookup_elem(&sluice_backend_state, &id);

	return b && sl_od_is_ejected(b, now);
}

/* Outlier detection's census of a service revision: its members that are
 * in the balancing pool (hold slots), and how many of those are ejected
 * now. Ejection state belongs to the endpoint (address, port), so it has
 * to be counted where a service's share of ejected members matters. */
struct sl_od_census {
	__u32 svc_id;
	__u32 rev;
	__u64 now;
	__u32 members;
	__u32 ejected;
};

/* Members counted at most; larger services are judged by their first ones. */
#define SL_OD_CENSUS_MAX 4096

static long sl_od_census_one(__u64 idx, void *data)
{
	struct sl_od_census *c = data;
	struct sl_member_key key = { .svc_id = c->svc_id, .rev = c->rev, .idx = (__u32)idx };
	struct sl_member *m = bpf_map_lookup_elem(&sluice_member, &key);

	if (!m)
		return 1;	/* the revision was replaced under us: stop */
	if (m->n_slots) {
		c->members++;
		if (sl_ejected(m->backend_id, c->now))
			c->ejected++;
	}
	return 0;
}

/* bpf_loop rather than an open loop: the verifier checks the body once,
 * whatever the number of members. */
static __always_inline void sl_od_census(struct sl_od_census *c, __u32 n_members)
{
	bpf_loop(n_members < SL_OD_CENSUS_MAX ? n_members : SL_OD_CENSUS_MAX,
		 sl_od_census_one, c, 0);
}

/* minHealthPercent: fewer than min_pct of the members healthy (not
 * ejected) is Envoy's panic: ejection is ignored and every member takes
 * its turn. Counted only when an ejected member comes up, which is rare
 * while the service is healthy. */
static __always_inline bool sl_od_panic(__u32 svc_id, __u32 rev, __u32 n_members,
					__u32 min_pct, __u64 now)
{
	struct sl_od_census c = { .svc_id = svc_id, .rev = rev, .now = now };

	if (!min_pct)
		return false;
	sl_od_census(&c, n_members);
	return sl_od_panicking(c.members, c.ejected, min_pct);
}

/* Outlier detection: an ejected endpoint is passed over for the next ones
 * in weighted order within slots [lo, lo + n_slots). Returns 0 when every
 * endpoint tried is ejected, the choice left as it was: the caller then
 * tries the next locality priority, or uses it anyway (as Envoy's panic
 * threshold does) rather than refusing. */
static __always_inline int sl_skip_ejected(const struct sl_svc_key *key,
					   struct sl_svc_state *state,
					   struct sl_choice *choice, __u32 rev, __u32 lo,
					   __u32 n_slots, __u64 now)
{
	struct sl_slot_key slot_key = { .svc_id = choice->svc_id, .rev = rev };

	for (int k = 0; k < SL_POOL_TRIES; k++) {
		struct sl_backend *be;
		struct sl_slot *slot;

		if (!sl_ejected(choice->backend_id, now))
			return 1;
		if ((__u32)k + 1 >= n_slots)
			return 0;
		slot_key.slot = lo + __sync_fetch_and_add(&state->cursor, 1) % n_slots;
		slot = bpf_map_lookup_elem(&sluice_slot, &slot_key);
		if (!slot || sl_ejected(slot->backend_id, now))
			continue;
		be = bpf_map_lookup_elem(&sluice_backend, &slot->backend_id);
		if (!be || be->family != key->family)
			return 0;
		choice->backend_id = slot->backend_id;
		choice->backend = *be;
		return 1;
	}
	return 0;
}

/* Locality failover: the preferred priority's endpoints are all ejected
 * (the one chosen and those sl_skip_ejected looked at), so the next
 * priority is picked from the same way, at the same cursor (or client
 * hash) taken modulo its own slots, and so on. When every priority is,
 * the first choice stands (panic). Bounded: at most SL_MAX_TIERS - 1
 * priorities of SL_POOL_TRIES looks, and only while ejections last.
 * On success *lo and *n are the priority's slots, for the pool. */
static __always_inline void sl_fail_over(const struct sl_svc_key *key,
					 struct sl_svc_state *state,
					 struct sl_choice *choice, const struct sl_svc *svc,
					 __u32 rev, __u32 n_slots, __u32 pos, __u64 now,
					 __u32 *lo, __u32 *n)
{
	struct sl_slot_key slot_key = { .svc_id = choice->svc_id, .rev = rev };
	__u32 first_id = choice->backend_id;
	struct sl_backend first = choice->backend;
	__u32 start = svc->tier_end[0];

	for (int t = 1; t < SL_MAX_TIERS; t++) {
		struct sl_backend *be;
		struct sl_slot *slot;
		__u32 end;

		if ((__u32)t >= svc->n_tiers)
			break;
		end = svc->tier_end[t];
		if (end <= start || end > n_slots)
			break;		/* not a table the agent writes */
		slot_key.slot = start + pos % (end - start);
		slot = bpf_map_lookup_elem(&sluice_slot, &slot_key);
		if (!slot)
			break;
		be = bpf_map_lookup_elem(&sluice_backend, &slot->backend_id);
		if (!be || be->family != key->family)
			break;
		choice->backend_id = slot->backend_id;
		choice->backend = *be;
		if (sl_skip_ejected(key, state, choice, rev, start, end - start, now)) {
			*lo = start;
			*n = end - start;
			return;
		}
		start = end;
	}
	choice->backend_id = first_id;
	choice->backend = first;
}

/* LEAST_REQUEST: of the chosen endpoint and the next slot's, the one with
 * fewer active connections from this node (ties keep the chosen one, so
 * equal loads still follow the weighted order). Two looks, not a scan:
 * the power of two choices is what keeps this O(1). */
static __always_inline void sl_least_of_two(const struct sl_svc_key *key,
					    struct sl_choice *choice, __u32 rev,
					    __u32 lo, __u32 n_slots, __u32 next)
{
	struct sl_slot_key slot_key = { .svc_id = choice->svc_id, .rev = rev };
	struct sl_backend_state *a, *b;
	struct sl_backend *be;
	struct sl_slot *slot;
	__u32 other;

	slot_key.slot = lo + next % n_slots;
	slot = bpf_map_lookup_elem(&sluice_slot, &slot_key);
	if (!slot || slot->backend_id == choice->backend_id)
		return;
	other = slot->backend_id;
	a = bpf_map_lookup_elem(&sluice_backend_state, &choice->backend_id);
	b = bpf_map_lookup_elem(&sluice_backend_state, &other);
	if (!a || !b || b->active >= a->active)
		return;
	be = bpf_map_lookup_elem(&sluice_backend, &other);
	if (!be || be->family != key->family)
		return;
	choice->backend_id = other;
	choice->backend = *be;
}

/* Gives a place back (the connection will not be made). */
static __always_inline void sl_pool_release(const struct sl_choice *choice)
{
	__u32 id = choice->backend_id;
	struct sl_backend_state *b;

	if (!choice->pooled)
		return;
	b = bpf_map_lookup_elem(&sluice_backend_state, &id);
	if (b)
		__sync_fetch_and_add(&b->active, -1);
}

/* Pick the next slot of the service's weighted round-robin table. The
 * table of the revision read from the service entry may be replaced while
 * we read it; a missing slot means exactly that, so the service is read
 * again once before the lookup is declared inconsistent. */
/* One token of the service's connection bucket, if there is one left. */
static __always_inline int sl_take_token(__u32 id, __u32 rate, __u32 burst)
{
	struct sl_conn_bucket *b = bpf_map_lookup_elem(&sluice_conn_bucket, &id);
	__u64 now = bpf_ktime_get_ns();	/* no helper call under the lock */
	int ok;

	if (!b)
		return 1;
	bpf_spin_lock(&b->lock);
	ok = sl_bucket_take(b, now, rate, burst);
	bpf_spin_unlock(&b->lock);
	return ok;
}

static __always_inline enum sl_verdict
sl_choose(const struct sl_svc_key *key, struct sl_choice *choice, int connected,
	  const struct sl_client_hint *hint)
{
	struct sl_client client = {};
	struct sl_svc_state *state;
	struct sl_backend *backend;
	struct sl_slot_key slot_key;
	struct sl_slot *slot = NULL;
	struct sl_svc *svc;
	__u32 cursor, rev, n_slots, lo = 0, len = 0, src_hash = 0;
	int attempt;

	svc = bpf_map_lookup_elem(&sluice_svc, key);
	if (!svc)
		return SL_PASS;
	choice->svc_id = svc->id;
	state = bpf_map_lookup_elem(&sluice_svc_state, &choice->svc_id);
	if (!state)
		return SL_REFUSE;
	if (svc->flags & (SL_SVC_F_LB_HASH | SL_SVC_F_LIMIT_SOURCES)) {
		sl_client_resolve(hint, key->family, &client);
		src_hash = sl_client_hash(&client);
	}
	if (connected && svc->conn_rate && svc->n_slots &&
	    sl_limit_applies(choice->svc_id, svc->flags, &client) &&
	    !sl_take_token(choice->svc_id, svc->conn_rate, svc->conn_burst)) {
		__sync_fetch_and_add(&state->rate_limited, 1);
		return SL_LIMITED;
	}

	for (attempt = 0; attempt < 2; attempt++) {
		if (attempt) {
			svc = bpf_map_lookup_elem(&sluice_svc, key);
			if (!svc || svc->id != choice->svc_id)
				break;
		}
		rev = svc->rev;
		n_slots = svc->n_slots;
		choice->svc_flags = svc->flags;
		if (n_slots == 0) {
			__sync_fetch_and_add(&state->refused, 1);
			return SL_REFUSE;
		}
		if ((svc->flags & SL_SVC_F_LB_HASH) && src_hash)
			cursor = src_hash;	/* the client's entry of the Maglev table */
		else if (svc->flags & SL_SVC_F_LB_RANDOM)
			cursor = bpf_get_prandom_u32();
		else
			cursor = __sync_fetch_and_add(&state->cursor, 1);
		/* Locality priorities: new connections go to the first's
		 * slots (sl_fail_over moves on while they are ejected). */
		len = n_slots;
		if (svc->n_tiers > 1 && svc->tier_end[0] && svc->tier_end[0] < n_slots)
			len = svc->tier_end[0];
		slot_key.svc_id = choice->svc_id;
		slot_key.rev = rev;
		slot_key.slot = cursor % len;
		slot = bpf_map_lookup_elem(&sluice_slot, &slot_key);
		if (slot)
			break;
	}
	if (!slot)
		goto inconsistent;

	choice->backend_id = slot->backend_id;
	backend = bpf_map_lookup_elem(&sluice_backend, &choice->backend_id);
	if (!backend || backend->family != key->family)
		goto inconsistent;
	choice->backend = *backend;
	choice->pooled = 0;
	choice->idle_ms = svc->idle_ms;
	choice->max_age_ms = svc->max_age_ms;
	choice->eject_after = svc->eject_after;
	choice->eject_ms = svc->eject_ms;
	choice->connect_ms = svc->connect_ms;
	choice->ka_time_s = svc->ka_time_s;
	choice->ka_interval_s = svc->ka_interval_s;
	choice->ka_probes = svc->ka_probes;
	if (svc->eject_after && key->proto == SL_PROTO_TCP) {
		__u64 now = bpf_ktime_get_ns();

		/* Too few healthy endpoints (minHealthPercent): ejection is
		 * ignored, as Envoy's panic threshold does. */
		if (sl_ejected(choice->backend_id, now) &&
		    sl_od_panic(choice->svc_id, rev, svc->n_members, svc->min_health_pct, now))
			__sync_fetch_and_add(&state->eject_panic, 1);
		else if (!sl_skip_ejected(key, state, choice, rev, 0, len, now) &&
			 svc->n_tiers > 1)
			sl_fail_over(key, state, choice, svc, rev, n_slots, cursor, now,
				     &lo, &len);
	}
	/* Connection counts (LEAST_REQUEST, maxConnections) are TCP's; both
	 * look within the locality priority chosen. */
	if (connected && key->proto == SL_PROTO_TCP &&
	    (svc->max_conn || (svc->flags & SL_SVC_F_LB_LEAST))) {
		if (svc->flags & SL_SVC_F_LB_LEAST)
			sl_least_of_two(key, choice, rev, lo, len, cursor + 1);
		if (!sl_pool_reserve(key, state, choice, rev, lo, len,
				     svc->max_conn ? svc->max_conn : 0xffffffffU)) {
			__sync_fetch_and_add(&state->pool_full, 1);
			return SL_POOL_FULL;
		}
	}

	if (connected)
		__sync_fetch_and_add(&state->connects, 1);
	else
		__sync_fetch_and_add(&state->datagrams, 1);
	struct sl_backend_state *bstate =
		bpf_map_lookup_elem(&sluice_backend_state, &choice->backend_id);
	if (bstate)
		__sync_fetch_and_add(&bstate->selected, 1);
	return SL_REWRITE;

inconsistent:
	__sync_fetch_and_add(&state->errors, 1);
	return SL_REFUSE;
}

#endif /* SLUICE_BPF_LB_H */
