// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The partial reconcile: only the frontends given are planned, built and
 * written, and only the backends their members name are looked at, so one
 * EndpointSlice costs its services and not the 10,000 others. Backends
 * are shared between frontends: each holds in refs how many members of st
 * name it, and one is deleted when the last of them goes.
 */
#include <stdlib.h>
#include <string.h>

#include "reconcile.h"
#include "arena.h"
#include "reconcile_int.h"

static int cmp_be(const void *tuple, const void *be)
{
	return sl_backend_tuple_cmp(tuple, &((const struct sl_applied_be *)be)->be);
}

static int cmp_fe(const void *key, const void *fe)
{
	return sl_svc_key_cmp(key, &((const struct sl_applied_fe *)fe)->key);
}

/* Index of key's entry in the sorted array base, or -1. */
static long find(const void *key, const void *base, size_t n, size_t size,
		 int (*cmp)(const void *, const void *))
{
	const char *hit = n ? bsearch(key, base, n, size, cmp) : NULL;

	return hit ? (long)((size_t)(hit - (const char *)base) / size) : -1;
}

/* Where each backend id is, in st->be or among the new wants: the old
 * members of a frontend name ids, and st->be is sorted by tuple. */
static void index_backends(struct run *r)
{
	struct sl_state *st = r->st;
	uint32_t n = 0;

	/* As many as the highest id in use, not the pool's size: a table
	 * of 262,144 (1 MB) was mapped and faulted in at every change. */
	for (size_t k = 0; k < st->n_be; k++)
		if (st->be[k].id >= n)
			n = st->be[k].id + 1;
	for (size_t i = 0; i < r->n_want; i++)
		if (r->want[i].old < 0 && r->want[i].be.id >= n)
			n = r->want[i].be.id + 1;
	r->n_be_at = n;
	r->be_at = malloc((n + 1) * sizeof(*r->be_at));
	if (!r->be_at)
		abort();
	memset(r->be_at, 0xff, (n + 1) * sizeof(*r->be_at));
	for (size_t k = 0; k < st->n_be; k++)
		r->be_at[st->be[k].id] = (int32_t)k;
	for (size_t i = 0; i < r->n_want; i++)
		if (r->want[i].old < 0)
			r->be_at[r->want[i].be.id] = -2 - (int32_t)i;
}

static int32_t be_at(const struct run *r, uint32_t id)
{
	return id < r->n_be_at ? r->be_at[id] : -1;
}

/* The distinct tuples of the given frontends' members, found in st->be
 * by binary search or given new ids; every backend of st is kept unless
 * partial_refs() finds its last reference gone. */
static int plan_backends(struct run *r)
{
	struct sl_state *st = r->st;
	size_t n = 0, n_new = 0;

	for (size_t f = 0; f < r->n_fes; f++)
		n += r->fes[f].n_members;
	r->want = calloc(n + 1, sizeof(*r->want));
	r->old_be = malloc(st->n_be + 1);
	if (!r->want || !r->old_be)
		return sl_errf(r->err, "out of memory");
	memset(r->old_be, OLD_BE_WANTED, st->n_be + 1);
	n = 0;
	for (size_t f = 0; f < r->n_fes; f++) {
		for (size_t k = 0; k < r->fes[f].n_members; k++, n++) {
			const struct sl_model_member *m = &r->fes[f].members[k];

			sl_rc_tuple_of(m, &r->want[n].be.be);
			r->want[n].be.locality = sl_state_locality(st, m->locality);
		}
	}
	sl_rc_sort_wants(r, n);
	for (size_t i = 0; i < r->n_want; i++) {
		struct want_be *w = &r->want[i];

		w->old = find(&w->be.be, st->be, st->n_be, sizeof(*st->be), cmp_be);
		if (w->old >= 0)
			w->be.id = st->be[w->old].id;
		else
			n_new++;
	}
	if (sl_rc_alloc_new(r, n_new) < 0)
		return -1;
	index_backends(r);
	return 0;
}

static int plan_frontends(struct run *r)
{
	r->plan = calloc(r->n_fes + 1, sizeof(*r->plan));
	if (!r->plan)
		return sl_errf(r->err, "out of memory");
	for (size_t i = 0; i < r->n_fes; i++) {
		struct fe_plan *p = &r->plan[r->n_plan++];

		if (i && sl_svc_key_cmp(&r->fes[i - 1].key, &r->fes[i].key) >= 0)
			return sl_errf(r->err, "partial reconcile: frontends not sorted "
				       "by key or repeated");
		p->want = &r->fes[i];
		p->old = find(&p->want->key, r->st->fe, r->st->n_fe, sizeof(*r->st->fe),
			      cmp_fe);
		if (sl_rc_plan_write(r, p) < 0)
			return -1;
	}
	return 0;
}

/* Counts in n[] (by index in st->be) the members naming each backend. */
static void count_members(const struct run *r, const struct sl_applied_fe *f, uint32_t *n)
{
	for (uint32_t k = 0; k < f->n_members; k++) {
		int32_t at = be_at(r, f->members[k].backend_id);

		if (at >= 0)
			n[at]++;
	}
}

/* Which backends lose their last reference (deleted after the switch)
 * and which may take a new locality name. A backend shared with a
 * frontend not given keeps its name: the member that named it there is
 * not in front of us, and rewriting the name from one service's slice
 * would make it flip with the order of updates. When every reference is
 * from the given frontends' old versions, the new members' name applies,
 * as a full reconcile would write it. */
static void plan_refs(struct run *r)
{
	struct sl_state *st = r->st;
	uint32_t *listed = calloc(st->n_be + 1, sizeof(*listed));
	uint32_t *named = calloc(st->n_be + 1, sizeof(*named));

	if (!listed || !named)
		abort();
	for (size_t k = 0; k < r->n_plan; k++) {
		const struct fe_plan *p = &r->plan[k];

		if (p->old >= 0)
			count_members(r, &st->fe[p->old], listed);
		count_members(r, &p->next, named);
	}
	for (size_t k = 0; k < r->n_plan; k++) {
		const struct sl_applied_fe *old = r->plan[k].old >= 0 ?
						  &st->fe[r->plan[k].old] : NULL;

		for (uint32_t i = 0; old && i < old->n_members; i++) {
			int32_t at = be_at(r, old->members[i].backend_id);

			if (at >= 0 && (uint64_t)st->be[at].refs + named[at] <= listed[at])
				r->old_be[at] = OLD_BE_UNWANTED;
		}
	}
	for (size_t i = 0; i < r->n_want; i++) {
		struct want_be *w = &r->want[i];

		if (w->old >= 0 && listed[w->old] != st->be[w->old].refs)
			w->be.locality = st->be[w->old].locality;
	}
	free(listed);
	free(named);
}

static int plan_partial(struct run *r)
{
	if (plan_backends(r) < 0 || plan_frontends(r) < 0)
		return -1;
	plan_refs(r);
	return 0;
}

/* References moved by the frontends written: minus their old members,
 * plus the new, on st->be and on the new backends before the merge. */
static void commit_refs(struct run *r)
{
	struct sl_state *st = r->st;

	for (size_t k = 0; k < r->n_plan; k++) {
		const struct fe_plan *p = &r->plan[k];

		if (p->op != OP_WRITE || !p->done)
			continue;
		for (uint32_t i = 0; p->old >= 0 && i < st->fe[p->old].n_members; i++) {
			int32_t at = be_at(r, st->fe[p->old].members[i].backend_id);

			/* Not a new backend's: an id a member of a frontend
			 * found incomplete names may have been given anew. */
			if (at >= 0)
				st->be[at].refs--;
		}
		for (uint32_t i = 0; i < p->next.n_members; i++) {
			int32_t at = be_at(r, p->next.members[i].backend_id);

			if (at >= 0)
				st->be[at].refs++;
			else if (at <= -2)
				r->want[-2 - at].be.refs++;
		}
	}
}

/* st->fe with the frontends written replaced in place and the new ones
 * merged in key order: O(n_fe) copies, no sort, no rebuild. */
static void commit_frontends(struct run *r)
{
	struct sl_state *st = r->st;
	struct sl_applied_fe *fe;
	size_t n_new = 0, k = 0, n = 0;

	for (size_t i = 0; i < r->n_plan; i++) {
		struct fe_plan *p = &r->plan[i];

		sl_rc_mark_touched(r, p);
		if (p->op != OP_WRITE || !p->done)
			continue;
		if (p->old < 0) {
			n_new++;
			continue;
		}
		sl_state_own_names(st, &p->next, &st->fe[p->old]);
		free(st->fe[p->old].members);
		st->fe[p->old] = p->next;
		p->next.members = NULL;
	}
	if (!n_new)
		return;
	fe = calloc(st->n_fe + n_new + 1, sizeof(*fe));
	if (!fe)
		abort();
	for (size_t i = 0; i < r->n_plan; i++) {
		struct fe_plan *p = &r->plan[i];

		if (p->op != OP_WRITE || !p->done || p->old >= 0)
			continue;
		while (k < st->n_fe && sl_svc_key_cmp(&st->fe[k].key, &p->next.key) < 0)
			fe[n++] = st->fe[k++];
		sl_state_own_names(st, &p->next, NULL);
		fe[n++] = p->next;
		p->next.members = NULL;
	}
	memcpy(&fe[n], &st->fe[k], (st->n_fe - k) * sizeof(*fe));
	free(st->fe);
	st->fe = fe;
	st->n_fe = n + st->n_fe - k;
}

static int commit_partial(struct run *r)
{
	commit_refs(r);
	commit_frontends(r);
	sl_rc_commit_backends(r);
	return 0;
}

int sl_reconcile_partial(struct sl_state *st, const struct sl_frontend *fes, size_t n,
			 uint8_t *touched, struct sl_reconcile_report *report,
			 struct sl_err *err)
{
	struct run r = { .st = st, .fes = fes, .n_fes = n, .touched = touched,
			 .rep = report, .err = err };

	return sl_rc_run(&r, plan_partial, commit_partial);
}
