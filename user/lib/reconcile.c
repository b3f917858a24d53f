// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <xxhash.h>

#include "arena.h"
#include "log.h"
#include "maglev.h"
#include "reconcile.h"
#include "reconcile_int.h"
#include "slots.h"

static int cmp_want(const void *a, const void *b)
{
	return sl_backend_tuple_cmp(&((const struct want_be *)a)->be.be,
				    &((const struct want_be *)b)->be.be);
}

/* Sorting also by locality makes the choice deterministic when two
 * resources list one endpoint with different localities: the first in
 * byte order wins. */
static int cmp_want_sort(const void *a, const void *b)
{
	int c = cmp_want(a, b);

	return c ? c : strcmp(((const struct want_be *)a)->be.locality,
			      ((const struct want_be *)b)->be.locality);
}

void sl_rc_tuple_of(const struct sl_model_member *m, struct sl_backend *be)
{
	memset(be, 0, sizeof(*be));
	be->addr = m->ip.addr;
	be->family = m->ip.family;
	be->port = htons(m->port);
	be->proto = m->proto;
}

static struct want_be *find_want(struct run *r, const struct sl_backend *tuple)
{
	size_t lo = 0, hi = r->n_want;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = sl_backend_tuple_cmp(&r->want[mid].be.be, tuple);

		if (!c)
			return &r->want[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

void sl_rc_sort_wants(struct run *r, size_t n)
{
	size_t out = 0;

	if (n)
		qsort(r->want, n, sizeof(*r->want), cmp_want_sort);
	for (size_t k = 0; k < n; k++)
		if (!out || cmp_want(&r->want[out - 1], &r->want[k]))
			r->want[out++] = r->want[k];
	r->n_want = out;
}

int sl_rc_alloc_new(struct run *r, size_t n_new)
{
	struct sl_state *st = r->st;

	if (st->be_ids.n_used + n_new > st->be_ids.size)
		return sl_errf(r->err, "map sluice_backend is full: the update needs %zu "
			       "backends, capacity is %u (raise --max-backends)",
			       st->be_ids.n_used + n_new, st->be_ids.size);
	for (size_t i = 0; i < r->n_want; i++) {
		if (r->want[i].old < 0) {
			r->want[i].be.id = (uint32_t)sl_id_alloc(&st->be_ids);
			r->want[i].allocated = true;
		}
	}
	return 0;
}

/* Every distinct (address, port, proto) of the model, matched to the id it
 * already holds or given a new one. */
static int plan_backends(struct run *r)
{
	struct sl_state *st = r->st;
	size_t n = 0, i = 0, j = 0, n_new = 0;

	r->want = calloc(r->model->n_members + 1, sizeof(*r->want));
	r->old_be = calloc(st->n_be + 1, sizeof(*r->old_be));
	if (!r->want || !r->old_be)
		return sl_errf(r->err, "out of memory");
	for (size_t f = 0; f < r->model->n_fe; f++) {
		const struct sl_frontend *fe = &r->model->fe[f];

		for (size_t k = 0; k < fe->n_members; k++, n++) {
			sl_rc_tuple_of(&fe->members[k], &r->want[n].be.be);
			r->want[n].be.locality = sl_state_locality(st, fe->members[k].locality);
		}
	}
	sl_rc_sort_wants(r, n);
	while (i < r->n_want) {
		int c = j < st->n_be ? sl_backend_tuple_cmp(&st->be[j].be, &r->want[i].be.be) : 1;

		if (c < 0) {
			j++;
		} else if (c == 0) {
			r->want[i].old = (long)j;
			r->want[i++].be.id = st->be[j].id;
			r->old_be[j++] = OLD_BE_WANTED;
		} else {
			r->want[i++].old = -1;
			n_new++;
		}
	}
	return sl_rc_alloc_new(r, n_new);
}

/* Would writing b change what the maps hold for a? Compared as written:
 * the service entry (ids aside: b's are new) and the members, slot counts
 * included (a Maglev table of another size, other tiers' bounds). */
static bool same_as_written(const struct sl_applied_fe *a, const struct sl_applied_fe *b)
{
	struct sl_svc x, y;

	if (a->n_members != b->n_members || !sl_fe_info_same(a, b))
		return false;
	sl_rc_fill_svc(a, &x);
	sl_rc_fill_svc(b, &y);
	x.id = y.id;
	x.rev = y.rev;
	return !memcmp(&x, &y, sizeof(x)) &&
	       !memcmp(a->members, b->members, a->n_members * sizeof(*a->members));
}

static bool any_weight(const uint32_t *w, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (w[i])
			return true;
	return false;
}

/* consistentHash: a Maglev table instead of the round-robin slots, keyed
 * by each endpoint's address and port, so it keeps its entries whatever
 * else changes. */
static int maglev_table(const struct sl_frontend *fe, const uint32_t *weights,
			uint32_t **table, size_t *n_slots, uint32_t *per_member,
			struct sl_err *err)
{
	uint64_t *keys = calloc(fe->n_members + 1, sizeof(*keys));
	int ret;

	if (!keys)
		abort();
	for (size_t i = 0; i < fe->n_members; i++) {
		struct sl_backend tuple;

		sl_rc_tuple_of(&fe->members[i], &tuple);
		keys[i] = XXH64(&tuple, sizeof(tuple), 0);
	}
	ret = sl_maglev_slots(keys, weights, fe->n_members, fe->maglev_size, table,
			      n_slots, per_member, err);
	free(keys);
	return ret;
}

/* One table per locality priority, laid end to end: priority t holds
 * slots [tier_end[t - 1], tier_end[t]), each a table of its own (smooth
 * round-robin or Maglev) over that priority's members, so the kernel
 * can pick within one priority exactly as it picks within a service. */
static int tier_tables(struct run *r, const struct sl_frontend *fe, const uint32_t *weights,
		       uint32_t n_tiers, uint32_t **table, size_t *n_slots,
		       uint32_t *per_member, uint32_t *tier_end)
{
	uint32_t *w = calloc(fe->n_members + 1, sizeof(*w));
	uint32_t *part_n = calloc(fe->n_members + 1, sizeof(*part_n));
	int ret = 0;

	*table = NULL;
	*n_slots = 0;
	if (!w || !part_n) {
		free(w);
		free(part_n);
		return sl_errf(r->err, "out of memory");
	}
	for (uint32_t t = 0; t < n_tiers && ret == 0; t++) {
		uint32_t *part = NULL, *grown;
		size_t n_part = 0;

		for (size_t i = 0; i < fe->n_members; i++)
			w[i] = fe->members[i].tier == t ? weights[i] : 0;
		if (!any_weight(w, fe->n_members)) {
			tier_end[t] = (uint32_t)*n_slots;
			continue;
		}
		if (fe->flags & SL_SVC_F_LB_HASH)
			ret = maglev_table(fe, w, &part, &n_part, part_n, r->err);
		else
			ret = sl_slots_build(w, fe->n_members,
					     SL_MAX_SLOTS_PER_SERVICE / n_tiers, &part,
					     &n_part, part_n, r->err);
		if (ret < 0)
			break;
		grown = realloc(*table, (*n_slots + n_part + 1) * sizeof(**table));
		if (!grown) {
			free(part);
			ret = sl_errf(r->err, "out of memory");
			break;
		}
		*table = grown;
		memcpy(*table + *n_slots, part, n_part * sizeof(*part));
		*n_slots += n_part;
		tier_end[t] = (uint32_t)*n_slots;
		for (size_t i = 0; i < fe->n_members; i++)
			per_member[i] += part_n[i];
		free(part);
	}
	if (ret < 0) {
		free(*table);
		*table = NULL;
		*n_slots = 0;
	}
	free(w);
	free(part_n);
	return ret;
}

static int build_next(struct run *r, struct fe_plan *p)
{
	const struct sl_frontend *fe = p->want;
	struct sl_applied_fe *next = &p->next;
	uint32_t *weights, *per_member, *table = NULL;
	uint32_t n_tiers = 1;
	size_t n_slots = 0;
	int ret;

	memset(next, 0, sizeof(*next));
	next->key = fe->key;
	next->flags = fe->flags;
	next->conn_rate = fe->conn_rate;
	next->max_conn = fe->max_conn;
	next->idle_ms = fe->idle_ms;
	next->max_age_ms = fe->max_age_ms;
	next->eject_after = fe->eject_after;
	next->eject_ms = fe->eject_ms;
	next->eject_max_pct = fe->eject_max_pct;
	next->min_health_pct = fe->min_health_pct;
	next->connect_ms = fe->connect_ms;
	next->ka_time_s = fe->ka_time_s;
	next->ka_interval_s = fe->ka_interval_s;
	next->ka_probes = fe->ka_probes;
	next->conn_burst = fe->conn_burst;
	/* The model's: the state takes its copy in commit, if written. */
	next->namespace = fe->namespace;
	next->name = fe->name;
	next->port_name = fe->port_name;
	next->kind = fe->kind;
	next->n_members = (uint32_t)fe->n_members;
	next->members = calloc(fe->n_members + 1, sizeof(*next->members));
	weights = calloc(fe->n_members + 1, sizeof(*weights));
	per_member = calloc(fe->n_members + 1, sizeof(*per_member));
	if (!next->members || !weights || !per_member) {
		free(weights);
		free(per_member);
		return sl_errf(r->err, "out of memory");
	}
	for (size_t i = 0; i < fe->n_members; i++) {
		struct sl_backend tuple;

		sl_rc_tuple_of(&fe->members[i], &tuple);
		next->members[i].backend_id = find_want(r, &tuple)->be.id;
		next->members[i].weight = fe->members[i].weight;
		next->members[i].flags = fe->members[i].flags;
		next->members[i].tier = fe->members[i].tier;
		weights[i] = fe->members[i].usable ? fe->members[i].weight : 0;
		if (weights[i] && fe->members[i].tier >= n_tiers)
			n_tiers = fe->members[i].tier + 1;
	}
	if (n_tiers > SL_MAX_TIERS) {
		ret = sl_errf(r->err, "%s/%s: %u locality priorities, at most %u",
			      fe->namespace, fe->name, n_tiers, SL_MAX_TIERS);
	} else if (n_tiers > 1) {
		next->n_tiers = n_tiers;
		ret = tier_tables(r, fe, weights, n_tiers, &table, &n_slots, per_member,
				  next->tier_end);
	} else if ((fe->flags & SL_SVC_F_LB_HASH) && any_weight(weights, fe->n_members))
		ret = maglev_table(fe, weights, &table, &n_slots, per_member, r->err);
	else
		ret = sl_slots_build(weights, fe->n_members, SL_MAX_SLOTS_PER_SERVICE,
				     &table, &n_slots, per_member, r->err);
	if (ret == 0) {
		for (size_t i = 0; i < fe->n_members; i++)
			next->members[i].n_slots = per_member[i];
		for (size_t s = 0; s < n_slots; s++)
			table[s] = next->members[table[s]].backend_id;
		p->slots = table;
		next->n_slots = (uint32_t)n_slots;
	}
	free(weights);
	free(per_member);
	return ret;
}

/* Is want exactly what the previous model held for it, so that the
 * tables in the maps are already right? */
static bool unchanged_since_prev(struct run *r, const struct sl_frontend *want)
{
	const struct sl_model *prev = r->prev;

	if (!prev)
		return false;
	while (r->prev_at < prev->n_fe &&
	       sl_svc_key_cmp(&prev->fe[r->prev_at].key, &want->key) < 0)
		r->prev_at++;
	return r->prev_at < prev->n_fe && sl_frontend_same(&prev->fe[r->prev_at], want);
}

static int plan_frontends(struct run *r)
{
	struct sl_state *st = r->st;
	size_t i = 0, j = 0;

	r->plan = calloc(st->n_fe + r->model->n_fe + 1, sizeof(*r->plan));
	if (!r->plan)
		return sl_errf(r->err, "out of memory");
	while (i < r->model->n_fe || j < st->n_fe) {
		struct fe_plan *p = &r->plan[r->n_plan++];
		int c;

		if (i == r->model->n_fe)
			c = 1;
		else if (j == st->n_fe)
			c = -1;
		else
			c = sl_svc_key_cmp(&r->model->fe[i].key, &st->fe[j].key);
		p->old = c >= 0 ? (long)j++ : -1;
		if (c > 0) {
			p->op = OP_REMOVE;
			continue;
		}
		p->want = &r->model->fe[i++];
		if (p->old >= 0 && !st->fe[p->old].dirty && unchanged_since_prev(r, p->want)) {
			p->op = OP_NOOP;
			continue;
		}
		if (sl_rc_plan_write(r, p) < 0)
			return -1;
	}
	return 0;
}

int sl_rc_plan_write(struct run *r, struct fe_plan *p)
{
	if (build_next(r, p) < 0)
		return -1;
	p->op = OP_WRITE;
	if (p->old >= 0) {
		const struct sl_applied_fe *old = &r->st->fe[p->old];

		if (!old->dirty && same_as_written(old, &p->next))
			p->op = OP_NOOP;
	}
	return 0;
}

/* Walks the plan in execution order (removals, then writes) and checks
 * that no map overflows at any step. */
static int check_capacity(struct run *r)
{
	struct sl_state *st = r->st;
	size_t slots = st->n_slot_entries, members = st->n_member_entries;
	size_t peak_slots = slots, peak_members = members;
	size_t svcs = st->svc_ids.n_used, peak_svcs = svcs;

	for (size_t k = 0; k < r->n_plan; k++) {
		const struct fe_plan *p = &r->plan[k];

		if (p->op != OP_REMOVE)
			continue;
		slots -= st->fe[p->old].n_slots;
		members -= st->fe[p->old].n_members;
		svcs--;
	}
	for (size_t k = 0; k < r->n_plan; k++) {
		const struct fe_plan *p = &r->plan[k];
		const struct sl_applied_fe *old = p->old >= 0 ? &st->fe[p->old] : NULL;

		if (p->op != OP_WRITE)
			continue;
		if (slots + p->next.n_slots > peak_slots)
			peak_slots = slots + p->next.n_slots;
		if (members + p->next.n_members > peak_members)
			peak_members = members + p->next.n_members;
		/* In size_t: a frontend that shrinks must not wrap in 32 bits. */
		slots = slots + (size_t)p->next.n_slots - (old ? (size_t)old->n_slots : 0);
		members = members + (size_t)p->next.n_members -
			  (old ? (size_t)old->n_members : 0);
		if (!old && ++svcs > peak_svcs)
			peak_svcs = svcs;
	}
	if (peak_svcs > st->svc_ids.size)
		return sl_errf(r->err, "map sluice_svc is full: the update needs %zu "
			       "frontends, capacity is %u (raise --max-services)",
			       peak_svcs, st->svc_ids.size);
	if (peak_slots > st->maps->max_slots || peak_members > st->maps->max_slots)
		return sl_errf(r->err, "map sluice_slot/sluice_member is full: the "
			       "update needs %zu slots and %zu members, capacity is %u "
			       "(raise --max-slots)", peak_slots, peak_members,
			       st->maps->max_slots);
	return 0;
}

void sl_rc_mark_touched(struct run *r, const struct fe_plan *p)
{
	if (!r->touched || p->op == OP_NOOP)
		return;
	if (p->old >= 0)
		r->touched[r->st->fe[p->old].id] = 1;
	if (p->op == OP_WRITE && p->done)
		r->touched[p->next.id] = 1;
}

/* Where tuple goes among be[0, n). */
static size_t be_lower_bound(const struct sl_applied_be *be, size_t n,
			     const struct sl_backend *tuple)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (sl_backend_tuple_cmp(&be[mid].be, tuple) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* st->be without the backends deleted and with the new ones written, in
 * place: a change moves a few of 100,000 entries, and a merge into a
 * fresh array touched 5 MB an apply. Ids of new backends never written
 * go back to the pool. */
void sl_rc_commit_backends(struct run *r)
{
	struct sl_state *st = r->st;
	const uint8_t *del = memchr(r->old_be, OLD_BE_DELETED, st->n_be);
	size_t n_new = 0, hi, end;

	if (del) {
		size_t out = (size_t)(del - r->old_be);

		for (size_t k = out; k < st->n_be; k++)
			if (r->old_be[k] != OLD_BE_DELETED)
				st->be[out++] = st->be[k];
		st->n_be = out;
	}
	for (size_t i = 0; i < r->n_want; i++) {
		if (r->want[i].written)
			n_new++;
		else if (r->want[i].allocated)
			sl_id_free(&st->be_ids, r->want[i].be.id);
	}
	if (!n_new)
		return;
	st->be = sl_xrealloc(st->be, (st->n_be + n_new + 1) * sizeof(*st->be));
	/* From the last new one: each block of old entries moves once. */
	hi = st->n_be;
	end = st->n_be + n_new;
	for (size_t i = r->n_want; i-- > 0;) {
		const struct want_be *w = &r->want[i];
		size_t at;

		if (!w->written)
			continue;
		at = be_lower_bound(st->be, hi, &w->be.be);
		end -= hi - at;
		memmove(&st->be[end], &st->be[at], (hi - at) * sizeof(*st->be));
		st->be[--end] = w->be;
		hi = at;
	}
	st->n_be += n_new;
}

/* Rebuilds st from the plan's outcome, whether or not execute() finished:
 * st must describe the maps exactly, also after a failed write. */
static int commit(struct run *r)
{
	struct sl_state *st = r->st;
	struct sl_applied_fe *fe = calloc(r->n_plan + 1, sizeof(*fe));
	size_t n_fe = 0;

	if (!fe)
		return sl_errf(r->err, "out of memory");
	for (size_t k = 0; k < r->n_plan; k++) {
		struct fe_plan *p = &r->plan[k];
		struct sl_applied_fe *old = p->old >= 0 ? &st->fe[p->old] : NULL;

		sl_rc_mark_touched(r, p);
		if (p->op == OP_REMOVE && p->done) {
			sl_state_drop_names(st, old);
			free(old->members);
		} else if (p->op == OP_WRITE && p->done) {
			sl_state_own_names(st, &p->next, old);
			fe[n_fe++] = p->next;
			p->next.members = NULL;
			if (old)
				free(old->members);
		} else if (old) {
			fe[n_fe++] = *old;
		}
	}
	free(st->fe);
	st->fe = fe;
	st->n_fe = n_fe;
	sl_rc_commit_backends(r);
	sl_state_count_refs(st);
	return 0;
}

static void run_free(struct run *r)
{
	for (size_t k = 0; k < r->n_plan; k++) {
		free(r->plan[k].next.members);
		free(r->plan[k].slots);
	}
	free(r->plan);
	free(r->want);
	free(r->old_be);
	free(r->be_at);
}

static void release_new_ids(struct run *r)
{
	for (size_t k = 0; k < r->n_want; k++)
		if (r->want[k].allocated)
			sl_id_free(&r->st->be_ids, r->want[k].be.id);
}

int sl_rc_run(struct run *r, int (*plan)(struct run *r), int (*commit)(struct run *r))
{
	int ret;

	memset(r->rep, 0, sizeof(*r->rep));
	ret = plan(r);
	if (ret == 0)
		ret = check_capacity(r);
	if (ret < 0) {
		/* Nothing was written: st stays as it is. */
		release_new_ids(r);
	} else {
		ret = sl_rc_execute(r);
		if (commit(r) < 0)
			ret = -1;
		sl_state_compact_names(r->st);
		for (size_t k = 0; k < r->n_plan; k++)
			if (r->plan[k].op == OP_NOOP)
				r->rep->fe_unchanged++;
	}
	run_free(r);
	return ret;
}

static int plan_full(struct run *r)
{
	return plan_backends(r) < 0 ? -1 : plan_frontends(r);
}

int sl_reconcile(struct sl_state *st, const struct sl_model *model,
		 struct sl_reconcile_report *report, struct sl_err *err)
{
	return sl_reconcile_from(st, model, NULL, report, err);
}

int sl_reconcile_from(struct sl_state *st, const struct sl_model *model,
		      const struct sl_model *prev, struct sl_reconcile_report *report,
		      struct sl_err *err)
{
	return sl_reconcile_touched(st, model, prev, NULL, report, err);
}

int sl_reconcile_touched(struct sl_state *st, const struct sl_model *model,
			 const struct sl_model *prev, uint8_t *touched,
			 struct sl_reconcile_report *report, struct sl_err *err)
{
	struct run r = { .st = st, .model = model, .prev = prev, .touched = touched,
			 .rep = report, .err = err };

	return sl_rc_run(&r, plan_full, commit);
}
