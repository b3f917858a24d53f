// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Rebuilding the state from the pinned maps when the agent starts. Every
 * map is read whole with batch syscalls first (at 100,000 endpoints a
 * lookup per entry took a second), then matched in memory.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "log.h"
#include "model.h"
#include "state.h"

struct dumps {
	struct sl_map_dump svc, member, slot, svc_info, backend, backend_info;
};

/* Where the entries of the dumps belong, by id. */
struct tables {
	int32_t *fe_at;			/* index in st->fe by service id, -1 */
	uint32_t *found;		/* members found, by index in st->fe */
	uint8_t *ends;			/* 1: first slot found, 2: last */
	int32_t *svc_info;		/* position in the dump by service id, -1 */
	int32_t *backend_info;		/* ... by backend id */
};

static int dump_all(struct sl_maps *m, struct dumps *d, struct sl_err *err)
{
	if (sl_map_dump(m->svc, sizeof(struct sl_svc_key), sizeof(struct sl_svc), &d->svc) ||
	    sl_map_dump(m->member, sizeof(struct sl_member_key), sizeof(struct sl_member),
			&d->member) ||
	    sl_map_dump(m->slot, sizeof(struct sl_slot_key), sizeof(struct sl_slot),
			&d->slot) ||
	    sl_map_dump(m->svc_info, sizeof(__u32), sizeof(struct sl_svc_info),
			&d->svc_info) ||
	    sl_map_dump(m->backend, sizeof(__u32), sizeof(struct sl_backend), &d->backend) ||
	    sl_map_dump(m->backend_info, sizeof(__u32), sizeof(struct sl_backend_info),
			&d->backend_info))
		return sl_errf(err, "reading the maps: %s", strerror(errno));
	return 0;
}

static void dumps_free(struct dumps *d)
{
	sl_map_dump_free(&d->svc);
	sl_map_dump_free(&d->member);
	sl_map_dump_free(&d->slot);
	sl_map_dump_free(&d->svc_info);
	sl_map_dump_free(&d->backend);
	sl_map_dump_free(&d->backend_info);
}

/* Position of each id's entry in an info dump, -1: none. */
static int32_t *by_id(const struct sl_map_dump *d, uint32_t size)
{
	int32_t *at = malloc((size ? size : 1) * sizeof(*at));

	if (!at)
		abort();
	memset(at, 0xff, (size ? size : 1) * sizeof(*at));
	for (size_t i = 0; d && i < d->n; i++) {
		uint32_t id = *(const uint32_t *)sl_dump_key(d, i);

		if (id < size)
			at[id] = (int32_t)i;
	}
	return at;
}

static void tables_free(struct tables *t)
{
	free(t->fe_at);
	free(t->found);
	free(t->ends);
	free(t->svc_info);
	free(t->backend_info);
}

/* The live frontend a (service, revision) table key belongs to, or NULL:
 * its service is gone or holds another revision (garbage of an update
 * that was interrupted). */
static struct sl_applied_fe *owner(struct sl_state *st, const struct tables *t,
				   uint32_t id, uint32_t rev, size_t *at)
{
	if (id >= st->svc_ids.size || t->fe_at[id] < 0)
		return NULL;
	*at = (size_t)t->fe_at[id];
	return st->fe[*at].rev == rev ? &st->fe[*at] : NULL;
}

/* Fills the frontends' members from the dump, in one pass (no sort), and
 * deletes the entries no live frontend owns; counts the rest. */
static size_t match_members(struct sl_state *st, const struct sl_map_dump *d,
			    struct tables *t)
{
	size_t removed = 0, at;

	for (size_t i = 0; i < d->n; i++) {
		const struct sl_member_key *k = sl_dump_key(d, i);
		struct sl_applied_fe *fe = owner(st, t, k->svc_id, k->rev, &at);

		if (!fe) {
			removed += bpf_map_delete_elem(st->maps->member, k) == 0;
			continue;
		}
		st->n_member_entries++;
		if (k->idx < fe->n_members) {
			memcpy(&fe->members[k->idx], sl_dump_val(d, i), sizeof(*fe->members));
			t->found[at]++;
		}
	}
	return removed;
}

/* The same for slots: only the first and the last are checked. */
static size_t match_slots(struct sl_state *st, const struct sl_map_dump *d,
			  struct tables *t)
{
	size_t removed = 0, at;

	for (size_t i = 0; i < d->n; i++) {
		const struct sl_slot_key *k = sl_dump_key(d, i);
		struct sl_applied_fe *fe = owner(st, t, k->svc_id, k->rev, &at);

		if (!fe) {
			removed += bpf_map_delete_elem(st->maps->slot, k) == 0;
			continue;
		}
		st->n_slot_entries++;
		if (k->slot == 0)
			t->ends[at] |= 1;
		if (fe->n_slots && k->slot == fe->n_slots - 1)
			t->ends[at] |= 2;
	}
	return removed;
}

static void fe_from_svc(struct sl_applied_fe *fe, const struct sl_svc *v)
{
	fe->id = v->id;
	fe->rev = v->rev;
	fe->n_slots = v->n_slots;
	fe->n_members = v->n_members;
	fe->flags = v->flags;
	fe->conn_rate = v->conn_rate;
	fe->max_conn = v->max_conn;
	fe->idle_ms = v->idle_ms;
	fe->max_age_ms = v->max_age_ms;
	fe->eject_after = v->eject_after;
	fe->eject_ms = v->eject_ms;
	fe->eject_max_pct = v->eject_max_pct;
	fe->min_health_pct = v->min_health_pct;
	fe->connect_ms = v->connect_ms;
	fe->ka_time_s = v->ka_time_s;
	fe->ka_interval_s = v->ka_interval_s;
	fe->ka_probes = v->ka_probes;
	fe->conn_burst = v->conn_burst;
	fe->n_tiers = v->n_tiers;
	memcpy(fe->tier_end, v->tier_end, sizeof(fe->tier_end));
}

static int cmp_fe(const void *a, const void *b)
{
	return sl_svc_key_cmp(&((const struct sl_applied_fe *)a)->key,
			      &((const struct sl_applied_fe *)b)->key);
}

static int load_frontends(struct sl_state *st, const struct dumps *d, struct tables *t,
			  struct sl_err *err)
{
	st->fe = calloc(d->svc.n + 1, sizeof(*st->fe));
	t->fe_at = by_id(NULL, st->svc_ids.size);
	if (!st->fe)
		return sl_errf(err, "out of memory");
	for (size_t i = 0; i < d->svc.n; i++) {
		struct sl_applied_fe *fe = &st->fe[st->n_fe];
		const struct sl_svc *v = sl_dump_val(&d->svc, i);
		struct sl_svc_info info;

		memcpy(&fe->key, sl_dump_key(&d->svc, i), sizeof(fe->key));
		if (v->id >= st->svc_ids.size || st->svc_ids.used[v->id])
			return sl_errf(err, "sluice_svc holds an invalid or repeated "
				       "service id %u", v->id);
		fe_from_svc(fe, v);
		fe->members = calloc(v->n_members ? v->n_members : 1, sizeof(*fe->members));
		if (!fe->members)
			return sl_errf(err, "out of memory");
		memset(&info, 0, sizeof(info));
		if (t->svc_info[v->id] < 0)
			fe->dirty = true;
		else
			memcpy(&info, sl_dump_val(&d->svc_info, (size_t)t->svc_info[v->id]),
			       sizeof(info));
		fe->namespace = info.namespace;
		fe->name = info.name;
		fe->port_name = info.port_name;
		fe->kind = info.kind;
		sl_state_own_names(st, fe, NULL);
		sl_id_mark(&st->svc_ids, v->id);
		t->fe_at[v->id] = (int32_t)st->n_fe;
		if (v->rev >= st->next_rev)
			st->next_rev = v->rev + 1;
		st->n_fe++;
	}
	return 0;
}

/* A frontend whose tables are incomplete is rewritten by the next
 * reconcile; then they are sorted as the state keeps them. */
static void finish_frontends(struct sl_state *st, const struct tables *t)
{
	for (size_t i = 0; i < st->n_fe; i++) {
		struct sl_applied_fe *fe = &st->fe[i];

		if (t->found[i] != fe->n_members || (fe->n_slots && t->ends[i] != 3))
			fe->dirty = true;
	}
	if (st->n_fe)
		qsort(st->fe, st->n_fe, sizeof(*st->fe), cmp_fe);
}

static int cmp_be(const void *a, const void *b)
{
	return sl_backend_tuple_cmp(&((const struct sl_applied_be *)a)->be,
				    &((const struct sl_applied_be *)b)->be);
}

static int load_backends(struct sl_state *st, const struct dumps *d, const struct tables *t,
			 struct sl_err *err)
{
	st->be = calloc(d->backend.n + 1, sizeof(*st->be));
	if (!st->be)
		return sl_errf(err, "out of memory");
	for (size_t i = 0; i < d->backend.n; i++) {
		struct sl_applied_be *be = &st->be[st->n_be];
		uint32_t id = *(const uint32_t *)sl_dump_key(&d->backend, i);
		struct sl_backend_info info = { { 0 } };

		if (id >= st->be_ids.size || st->be_ids.used[id])
			return sl_errf(err, "sluice_backend holds an invalid backend id %u", id);
		be->id = id;
		memcpy(&be->be, sl_dump_val(&d->backend, i), sizeof(be->be));
		if (t->backend_info[id] >= 0)
			memcpy(&info, sl_dump_val(&d->backend_info, (size_t)t->backend_info[id]),
			       sizeof(info));
		info.locality[sizeof(info.locality) - 1] = '\0';
		be->locality = sl_state_locality(st, info.locality);
		sl_id_mark(&st->be_ids, id);
		st->n_be++;
	}
	if (st->n_be)
		qsort(st->be, st->n_be, sizeof(*st->be), cmp_be);
	return 0;
}

static void sweep_info(int fd, const struct sl_map_dump *d, const uint8_t *used,
		       uint32_t n_ids)
{
	for (size_t i = 0; i < d->n; i++) {
		uint32_t id = *(const uint32_t *)sl_dump_key(d, i);

		if (id >= n_ids || !used[id])
			bpf_map_delete_elem(fd, &id);
	}
}

/* What no live service or backend owns goes: left by an agent stopped
 * in the middle of an update. */
static void sweep_garbage(struct sl_state *st, const struct dumps *d, struct tables *t)
{
	size_t removed;

	t->found = calloc(st->n_fe + 1, sizeof(*t->found));
	t->ends = calloc(st->n_fe + 1, sizeof(*t->ends));
	if (!t->found || !t->ends)
		abort();
	removed = match_members(st, &d->member, t) + match_slots(st, &d->slot, t);
	sweep_info(st->maps->svc_info, &d->svc_info, st->svc_ids.used, st->svc_ids.size);
	sweep_info(st->maps->backend_info, &d->backend_info, st->be_ids.used, st->be_ids.size);
	if (removed)
		sl_info("removed %zu stale table entries left by an interrupted update",
			removed);
}

int sl_state_load(struct sl_state *st, struct sl_maps *maps, struct sl_err *err)
{
	struct dumps d = { 0 };
	struct tables t = { 0 };
	int ret = -1;

	memset(st, 0, sizeof(*st));
	st->maps = maps;
	st->next_rev = 1;
	if (sl_id_pool_init(&st->svc_ids, maps->max_services) < 0 ||
	    sl_id_pool_init(&st->be_ids, maps->max_backends) < 0) {
		sl_state_free(st);
		return sl_errf(err, "out of memory");
	}
	if (dump_all(maps, &d, err) == 0) {
		t.svc_info = by_id(&d.svc_info, st->svc_ids.size);
		t.backend_info = by_id(&d.backend_info, st->be_ids.size);
		if (load_frontends(st, &d, &t, err) == 0 && load_backends(st, &d, &t, err) == 0) {
			sweep_garbage(st, &d, &t);
			finish_frontends(st, &t);
			/* A frontend found incomplete counts its missing
			 * members as naming id 0, as st->fe says: consistent
			 * with what a rewrite of it will subtract. */
			sl_state_count_refs(st);
			ret = 0;
		}
		tables_free(&t);
	}
	dumps_free(&d);
	if (ret < 0) {
		sl_state_free(st);
		return sl_err_prefix(err, "reading the pinned maps");
	}
	return 0;
}
