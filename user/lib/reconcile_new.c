// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * New frontends written together: every table first (members, slots),
 * then state and names, then the service entries, each step one batch
 * over all of them. A frontend is visible only once its service entry is
 * written, after its tables, as when they are written one by one.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "reconcile_int.h"

struct batch {
	struct fe_plan **p;		/* the new frontends' plans */
	size_t n;
	struct sl_member_key *mkeys;
	struct sl_member *mvals;
	size_t n_m;
	struct sl_slot_key *skeys;
	uint32_t *svals;
	size_t n_s;
	uint32_t *ids;
	struct sl_svc_state *zero;
	struct sl_svc_info *info;
	struct sl_svc_key *svc_keys;
	struct sl_svc *svcs;
};

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n + 1, size);

	if (!p)
		abort();
	return p;
}

/* Ids and revisions, and the arrays sized for every entry. */
static int batch_plan(struct run *r, struct batch *b)
{
	struct sl_state *st = r->st;
	size_t n_m = 0, n_s = 0;

	b->p = xcalloc(r->n_plan, sizeof(*b->p));
	for (size_t k = 0; k < r->n_plan; k++) {
		struct fe_plan *p = &r->plan[k];
		int64_t id;

		if (p->op != OP_WRITE || p->old >= 0)
			continue;
		id = sl_id_alloc(&st->svc_ids);
		if (id < 0)
			return sl_errf(r->err, "map sluice_svc is full");
		p->next.id = (uint32_t)id;
		p->next.rev = st->next_rev++;
		b->p[b->n++] = p;
		n_m += p->next.n_members;
		n_s += p->next.n_slots;
	}
	b->mkeys = xcalloc(n_m, sizeof(*b->mkeys));
	b->mvals = xcalloc(n_m, sizeof(*b->mvals));
	b->skeys = xcalloc(n_s, sizeof(*b->skeys));
	b->svals = xcalloc(n_s, sizeof(*b->svals));
	b->ids = xcalloc(b->n, sizeof(*b->ids));
	b->zero = xcalloc(b->n, sizeof(*b->zero));
	b->info = xcalloc(b->n, sizeof(*b->info));
	b->svc_keys = xcalloc(b->n, sizeof(*b->svc_keys));
	b->svcs = xcalloc(b->n, sizeof(*b->svcs));
	return 0;
}

static void batch_fill(struct batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		const struct sl_applied_fe *n = &b->p[i]->next;

		for (uint32_t k = 0; k < n->n_members; k++, b->n_m++) {
			b->mkeys[b->n_m] = (struct sl_member_key){ n->id, n->rev, k };
			b->mvals[b->n_m] = n->members[k];
		}
		for (uint32_t k = 0; k < n->n_slots; k++, b->n_s++) {
			b->skeys[b->n_s] = (struct sl_slot_key){ n->id, n->rev, k };
			b->svals[b->n_s] = b->p[i]->slots[k];
		}
		b->ids[i] = n->id;
		sl_fe_info_fill(n, &b->info[i]);
		b->svc_keys[i] = n->key;
		sl_rc_fill_svc(n, &b->svcs[i]);
	}
}

static void batch_free(struct batch *b)
{
	free(b->p);
	free(b->mkeys);
	free(b->mvals);
	free(b->skeys);
	free(b->svals);
	free(b->ids);
	free(b->zero);
	free(b->info);
	free(b->svc_keys);
	free(b->svcs);
}

static int batch_put(struct run *r, int fd, const void *keys, const void *vals, size_t n,
		     size_t key_size, size_t value_size, const char *map, size_t *done)
{
	if (sl_map_update_batch(fd, keys, vals, n, key_size, value_size, done))
		return sl_errf(r->err, "writing %s: %s", map, strerror(errno));
	return 0;
}

/* The frontends from the first not switched to on: nothing points at
 * their tables, which go, with their names and ids. */
static void undo(struct run *r, const struct batch *b, size_t from)
{
	struct sl_state *st = r->st;

	for (size_t i = from; i < b->n; i++) {
		const struct sl_applied_fe *n = &b->p[i]->next;

		sl_rc_delete_tables(st, n->id, n->rev, n->n_members, n->n_slots);
		bpf_map_delete_elem(st->maps->svc_info, &n->id);
		sl_id_free(&st->svc_ids, n->id);
	}
}

static int batch_write(struct run *r, struct batch *b)
{
	struct sl_maps *m = r->st->maps;
	size_t done = 0;
	int ret;

	ret = batch_put(r, m->member, b->mkeys, b->mvals, b->n_m, sizeof(*b->mkeys),
			sizeof(*b->mvals), "sluice_member", &done);
	r->st->n_member_entries += done;
	if (!ret) {
		ret = batch_put(r, m->slot, b->skeys, b->svals, b->n_s, sizeof(*b->skeys),
				sizeof(*b->svals), "sluice_slot", &done);
		r->st->n_slot_entries += done;
	}
	if (!ret)
		ret = batch_put(r, m->svc_state, b->ids, b->zero, b->n, sizeof(*b->ids),
				sizeof(*b->zero), "sluice_svc_state", &done);
	if (!ret)
		ret = batch_put(r, m->svc_info, b->ids, b->info, b->n, sizeof(*b->ids),
				sizeof(*b->info), "sluice_svc_info", &done);
	if (ret) {
		undo(r, b, 0);
		return -1;
	}
	/* The switch: each service entry written makes its frontend live. */
	ret = batch_put(r, m->svc, b->svc_keys, b->svcs, b->n, sizeof(*b->svc_keys),
			sizeof(*b->svcs), "sluice_svc", &done);
	for (size_t i = 0; i < done; i++)
		b->p[i]->done = true;
	r->rep->fe_added += done;
	if (ret)
		undo(r, b, done);
	return ret;
}

int sl_rc_write_new_fes(struct run *r)
{
	struct batch b = { 0 };
	int ret = batch_plan(r, &b);

	if (ret == 0 && b.n) {
		batch_fill(&b);
		ret = batch_write(r, &b);
	} else if (ret < 0) {
		/* Ids taken before the pool ran out go back. */
		for (size_t i = 0; i < b.n; i++)
			sl_id_free(&r->st->svc_ids, b.p[i]->next.id);
	}
	batch_free(&b);
	return ret;
}
