/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The agent's mirror of what is in the maps: applied frontends and
 * backends, with the ids they hold. Rebuilt from the maps when the agent
 * starts, so a restart reconciles instead of starting from empty, and kept
 * exact by the reconciler after every write.
 */
#ifndef SLUICE_STATE_H
#define SLUICE_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sluice/abi.h>

#include "arena.h"
#include "err.h"
#include "maps.h"

struct sl_applied_fe {
	struct sl_svc_key key;
	uint32_t id;
	uint32_t rev;
	uint32_t n_slots;
	uint32_t n_members;
	uint32_t flags;			/* SL_SVC_F_* */
	uint32_t max_conn;		/* per-endpoint connection cap, 0: none */
	uint32_t idle_ms;		/* connection timeouts, 0: none */
	uint32_t max_age_ms;
	uint32_t eject_after;		/* outlier detection, 0: none */
	uint32_t eject_ms;
	uint32_t eject_max_pct;		/* maxEjectionPercent */
	uint32_t min_health_pct;	/* minHealthPercent, 0: off */
	uint32_t connect_ms;		/* connect timeout, 0: the kernel's */
	uint16_t ka_time_s;		/* keepalive, 0: none */
	uint16_t ka_interval_s;
	uint32_t ka_probes;
	uint32_t conn_rate;		/* connection rate limit, 0: none */
	uint32_t conn_burst;
	uint32_t n_tiers;		/* locality priorities, 0: one table */
	uint32_t tier_end[SL_MAX_TIERS];
	struct sl_member *members;	/* malloc'd */
	/* The names sluice_svc_info holds, at their length instead of its
	 * 392 bytes: in st, one block per frontend in st->names; in a plan,
	 * the model's strings, truncated when written or kept. */
	const char *namespace;
	const char *name;
	const char *port_name;
	uint32_t kind;			/* SL_KIND_* */
	bool dirty;			/* tables found incomplete: rewrite */
};

/* 40 bytes, no padding: 100,000 of them at scale. */
struct sl_applied_be {
	struct sl_backend be;		/* the (address, port, proto) tuple */
	uint32_t id;
	/* Members of all the frontends in st naming this id: a partial
	 * reconcile deletes a backend when its last reference goes without
	 * looking at the frontends it was not given. */
	uint32_t refs;
	const char *locality;		/* interned in sl_state, never NULL */
};

struct sl_id_pool {
	uint8_t *used;
	uint32_t size;
	uint32_t next;			/* allocation is round-robin */
	uint32_t n_used;
};

struct sl_state {
	struct sl_maps *maps;
	struct sl_applied_fe *fe;	/* sorted by key */
	size_t n_fe;
	struct sl_applied_be *be;	/* sorted by tuple */
	size_t n_be;
	struct sl_id_pool svc_ids;
	struct sl_id_pool be_ids;
	uint32_t next_rev;
	size_t n_slot_entries;		/* in sluice_slot */
	size_t n_member_entries;	/* in sluice_member */
	/* Distinct backend localities (a handful in a cluster), so that a
	 * backend holds a pointer instead of 128 bytes: equal pointers are
	 * equal strings. Kept until the state is freed. */
	char **localities;		/* sorted */
	size_t n_localities;
	const char *last_locality;	/* the last one asked for */
	/* The frontends' names, "namespace\0name\0port_name" in one block
	 * each. A rename or a removal leaves its block behind, until the
	 * garbage outweighs the live blocks and they are copied into a new
	 * arena: churn costs at most twice the names held. */
	struct sl_arena names;
	size_t names_live;		/* bytes of the blocks st->fe points at */
};

/* Reads the maps into st and deletes what no live service points at
 * (left by an agent stopped in the middle of an update). */
int sl_state_load(struct sl_state *st, struct sl_maps *maps, struct sl_err *err);
void sl_state_free(struct sl_state *st);
/* Sets every backend's refs from the members of st->fe, in O(members). */
void sl_state_count_refs(struct sl_state *st);

int sl_id_pool_init(struct sl_id_pool *p, uint32_t size);
/* Returns -1 when every id is taken. */
int64_t sl_id_alloc(struct sl_id_pool *p);
void sl_id_mark(struct sl_id_pool *p, uint32_t id);
void sl_id_free(struct sl_id_pool *p, uint32_t id);

/* The interned copy of s (NULL: ""), truncated as sl_backend_info holds it. */
const char *sl_state_locality(struct sl_state *st, const char *s);

/* Are a's names and kind what sluice_svc_info holds for b's, truncated
 * alike? Either may hold a model's strings, of any length. */
bool sl_fe_info_same(const struct sl_applied_fe *a, const struct sl_applied_fe *b);
/* The value of sluice_svc_info for fe: its names truncated to the arrays. */
void sl_fe_info_fill(const struct sl_applied_fe *fe, struct sl_svc_info *info);
/* Points fe's names (a model's, or a map's) into st->names, truncated:
 * old's block when old (the frontend fe replaces, or NULL) holds the same
 * names, else a new one, and old's becomes garbage. */
void sl_state_own_names(struct sl_state *st, struct sl_applied_fe *fe,
			const struct sl_applied_fe *old);
/* fe leaves st: its block becomes garbage. */
void sl_state_drop_names(struct sl_state *st, const struct sl_applied_fe *fe);
/* Copies the live blocks into a new arena once garbage outweighs them. */
void sl_state_compact_names(struct sl_state *st);

int sl_backend_tuple_cmp(const struct sl_backend *a, const struct sl_backend *b);

#endif
