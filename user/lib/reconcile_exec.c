// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "reconcile_int.h"

static int map_write(struct run *r, int fd, const void *key, const void *value,
		     const char *map)
{
	if (bpf_map_update_elem(fd, key, value, BPF_ANY))
		return sl_errf(r->err, "writing %s: %s", map, strerror(errno));
	return 0;
}

void sl_rc_delete_tables(struct sl_state *st, uint32_t id, uint32_t rev,
			 uint32_t n_members, uint32_t n_slots)
{
	for (uint32_t i = 0; i < n_members; i++) {
		struct sl_member_key k = { id, rev, i };

		if (bpf_map_delete_elem(st->maps->member, &k) == 0)
			st->n_member_entries--;
	}
	for (uint32_t i = 0; i < n_slots; i++) {
		struct sl_slot_key k = { id, rev, i };

		if (bpf_map_delete_elem(st->maps->slot, &k) == 0)
			st->n_slot_entries--;
	}
}

static int remove_fe(struct run *r, struct fe_plan *p)
{
	struct sl_state *st = r->st;
	struct sl_applied_fe *old = &st->fe[p->old];

	if (bpf_map_delete_elem(st->maps->svc, &old->key) && errno != ENOENT)
		return sl_errf(r->err, "deleting from sluice_svc: %s", strerror(errno));
	sl_rc_delete_tables(st, old->id, old->rev, old->n_members, old->n_slots);
	bpf_map_delete_elem(st->maps->svc_info, &old->id);
	sl_id_free(&st->svc_ids, old->id);
	p->done = true;
	r->rep->fe_removed++;
	return 0;
}

/* A backend kept whose locality changed: its name is rewritten. */
static int update_backend(struct run *r, struct want_be *w)
{
	struct sl_state *st = r->st;
	struct sl_applied_be *old;
	struct sl_backend_info info;

	if (w->old < 0)
		return 0;	/* new: write_new_backends() */
	old = &st->be[w->old];
	if (old->locality == w->be.locality)
		return 0;
	memset(&info, 0, sizeof(info));
	snprintf(info.locality, sizeof(info.locality), "%s", w->be.locality);
	if (map_write(r, st->maps->backend_info, &w->be.id, &info, "sluice_backend_info"))
		return -1;
	old->locality = w->be.locality;
	r->rep->be_updated++;
	return 0;
}

struct be_batch {
	uint32_t *ids;
	struct sl_backend_state *state;
	struct sl_backend_info *info;
	struct sl_backend *tuple;
	size_t *want;		/* index in r->want */
	size_t n;
};

static int batch_write(struct run *r, int fd, const struct be_batch *b, const void *v,
		       size_t size, const char *map, size_t *done)
{
	if (sl_map_update_batch(fd, b->ids, v, b->n, sizeof(*b->ids), size, done))
		return sl_errf(r->err, "writing %s: %s", map, strerror(errno));
	return 0;
}

/* The new backends in three batches, their tuples last: nothing finds a
 * backend before its state and name exist. */
static int write_new_backends(struct run *r)
{
	struct sl_maps *m = r->st->maps;
	struct be_batch b = { calloc(r->n_want + 1, sizeof(*b.ids)),
			      calloc(r->n_want + 1, sizeof(*b.state)),
			      calloc(r->n_want + 1, sizeof(*b.info)),
			      calloc(r->n_want + 1, sizeof(*b.tuple)),
			      calloc(r->n_want + 1, sizeof(*b.want)), 0 };
	size_t done = 0;
	int ret;

	if (!b.ids || !b.state || !b.info || !b.tuple || !b.want)
		abort();
	for (size_t k = 0; k < r->n_want; k++) {
		if (r->want[k].old >= 0)
			continue;
		b.ids[b.n] = r->want[k].be.id;
		snprintf(b.info[b.n].locality, sizeof(b.info->locality), "%s",
			 r->want[k].be.locality);
		b.tuple[b.n] = r->want[k].be.be;
		b.want[b.n++] = k;
	}
	ret = batch_write(r, m->backend_state, &b, b.state, sizeof(*b.state),
			  "sluice_backend_state", &done);
	if (!ret)
		ret = batch_write(r, m->backend_info, &b, b.info, sizeof(*b.info),
				  "sluice_backend_info", &done);
	if (!ret) {
		ret = batch_write(r, m->backend, &b, b.tuple, sizeof(*b.tuple),
				  "sluice_backend", &done);
		for (size_t i = 0; i < done; i++)
			r->want[b.want[i]].written = true;
		r->rep->be_added += done;
	}
	free(b.ids);
	free(b.state);
	free(b.info);
	free(b.tuple);
	free(b.want);
	return ret;
}

static int write_tables(struct run *r, const struct sl_applied_fe *n,
			const uint32_t *slots)
{
	struct sl_state *st = r->st;

	uint32_t n_keys = n->n_members > n->n_slots ? n->n_members : n->n_slots;
	struct sl_member_key *keys = calloc(n_keys + 1, sizeof(*keys));
	size_t done;
	int ret = 0;

	/* Member and slot keys are both (id, rev, index): one key array,
	 * and a table costs one syscall instead of one per entry. */
	_Static_assert(sizeof(struct sl_member_key) == sizeof(struct sl_slot_key),
		       "member and slot keys share a layout");
	_Static_assert(sizeof(struct sl_slot) == sizeof(uint32_t), "a slot is an id");
	if (!keys)
		abort();
	for (uint32_t i = 0; i < n_keys; i++)
		keys[i] = (struct sl_member_key){ n->id, n->rev, i };
	ret = sl_map_update_batch(st->maps->member, keys, n->members, n->n_members,
				  sizeof(*keys), sizeof(*n->members), &done);
	st->n_member_entries += done;
	if (ret)
		ret = sl_errf(r->err, "writing sluice_member: %s", strerror(errno));
	else {
		ret = sl_map_update_batch(st->maps->slot, keys, slots, n->n_slots,
					  sizeof(*keys), sizeof(*slots), &done);
		st->n_slot_entries += done;
		if (ret)
			ret = sl_errf(r->err, "writing sluice_slot: %s", strerror(errno));
	}
	free(keys);
	return ret;
}

void sl_rc_fill_svc(const struct sl_applied_fe *n, struct sl_svc *v)
{
	memset(v, 0, sizeof(*v));
	v->id = n->id;
	v->rev = n->rev;
	v->n_members = n->n_members;
	v->n_slots = n->n_slots;
	v->flags = n->flags;
	v->conn_rate = n->conn_rate;
	v->max_conn = n->max_conn;
	v->idle_ms = n->idle_ms;
	v->max_age_ms = n->max_age_ms;
	v->eject_after = n->eject_after;
	v->eject_ms = n->eject_ms;
	v->eject_max_pct = (__u8)n->eject_max_pct;
	v->min_health_pct = (__u8)n->min_health_pct;
	v->connect_ms = n->connect_ms;
	v->ka_time_s = n->ka_time_s;
	v->ka_interval_s = n->ka_interval_s;
	v->ka_probes = n->ka_probes;
	v->conn_burst = n->conn_burst;
	v->n_tiers = n->n_tiers;
	memcpy(v->tier_end, n->tier_end, sizeof(v->tier_end));
}

static int write_info(struct run *r, const struct sl_applied_fe *n)
{
	struct sl_svc_info info;

	sl_fe_info_fill(n, &info);
	return map_write(r, r->st->maps->svc_info, &n->id, &info, "sluice_svc_info");
}

static int write_fe(struct run *r, struct fe_plan *p)
{
	struct sl_state *st = r->st;
	struct sl_applied_fe *old = p->old >= 0 ? &st->fe[p->old] : NULL;
	struct sl_applied_fe *n = &p->next;
	struct sl_svc_state zero = { 0 };
	struct sl_svc v = { 0 };

	if (old) {
		n->id = old->id;
	} else {
		int64_t id = sl_id_alloc(&st->svc_ids);

		if (id < 0)
			return sl_errf(r->err, "map sluice_svc is full");
		n->id = (uint32_t)id;
	}
	n->rev = st->next_rev++;
	if (write_tables(r, n, p->slots) ||
	    (!old && map_write(r, st->maps->svc_state, &n->id, &zero, "sluice_svc_state")) ||
	    ((!old || !sl_fe_info_same(old, n)) && write_info(r, n)))
		goto undo;
	sl_rc_fill_svc(n, &v);
	/* The switch: from here on new connections use revision n->rev. */
	if (map_write(r, st->maps->svc, &n->key, &v, "sluice_svc"))
		goto undo;
	if (old)
		sl_rc_delete_tables(st, old->id, old->rev, old->n_members, old->n_slots);
	p->done = true;
	if (old)
		r->rep->fe_updated++;
	else
		r->rep->fe_added++;
	return 0;
undo:
	sl_rc_delete_tables(st, n->id, n->rev, n->n_members, n->n_slots);
	if (!old) {
		bpf_map_delete_elem(st->maps->svc_info, &n->id);
		sl_id_free(&st->svc_ids, n->id);
	}
	return -1;
}

static int delete_backend(struct run *r, size_t k)
{
	struct sl_state *st = r->st;
	const struct sl_applied_be *be = &st->be[k];

	if (bpf_map_delete_elem(st->maps->backend, &be->id) && errno != ENOENT)
		return sl_errf(r->err, "deleting from sluice_backend: %s", strerror(errno));
	bpf_map_delete_elem(st->maps->backend_info, &be->id);
	sl_id_free(&st->be_ids, be->id);
	r->old_be[k] = OLD_BE_DELETED;
	r->rep->be_removed++;
	return 0;
}

int sl_rc_execute(struct run *r)
{
	for (size_t k = 0; k < r->n_plan; k++)
		if (r->plan[k].op == OP_REMOVE && remove_fe(r, &r->plan[k]) < 0)
			return -1;
	for (size_t k = 0; k < r->n_want; k++)
		if (update_backend(r, &r->want[k]) < 0)
			return -1;
	if (write_new_backends(r) < 0)
		return -1;
	/* Changed frontends one by one, then the new ones in batches: the
	 * new only add entries, so the peak stays what check_capacity()
	 * computed for the plan's order. */
	for (size_t k = 0; k < r->n_plan; k++)
		if (r->plan[k].op == OP_WRITE && r->plan[k].old >= 0 &&
		    write_fe(r, &r->plan[k]) < 0)
			return -1;
	if (sl_rc_write_new_fes(r) < 0)
		return -1;
	for (size_t k = 0; k < r->st->n_be; k++)
		if (r->old_be[k] == OLD_BE_UNWANTED && delete_backend(r, k) < 0)
			return -1;
	return 0;
}

