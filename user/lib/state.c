// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "log.h"
#include "model.h"
#include "state.h"

int sl_id_pool_init(struct sl_id_pool *p, uint32_t size)
{
	memset(p, 0, sizeof(*p));
	p->used = calloc(size ? size : 1, 1);
	if (!p->used)
		return -1;
	p->size = size;
	return 0;
}

/* Round-robin rather than lowest-free: an id freed now is reused as late
 * as possible, so a program still holding the old service sees nothing of
 * the new one. */
int64_t sl_id_alloc(struct sl_id_pool *p)
{
	for (uint32_t i = 0; i < p->size; i++) {
		uint32_t id = (p->next + i) % p->size;

		if (!p->used[id]) {
			p->used[id] = 1;
			p->n_used++;
			p->next = (id + 1) % p->size;
			return id;
		}
	}
	return -1;
}

void sl_id_mark(struct sl_id_pool *p, uint32_t id)
{
	if (id < p->size && !p->used[id]) {
		p->used[id] = 1;
		p->n_used++;
	}
}

void sl_id_free(struct sl_id_pool *p, uint32_t id)
{
	if (id < p->size && p->used[id]) {
		p->used[id] = 0;
		p->n_used--;
	}
}

static int cmp_str_ptr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

const char *sl_state_locality(struct sl_state *st, const char *s)
{
	char buf[SL_LOCALITY_LEN], *key = buf, **hit;
	size_t at;

	snprintf(buf, sizeof(buf), "%s", s ? s : "");
	hit = st->n_localities ? bsearch(&key, st->localities, st->n_localities,
					 sizeof(*st->localities), cmp_str_ptr) : NULL;
	if (hit)
		return *hit;
	st->localities = realloc(st->localities,
				 (st->n_localities + 1) * sizeof(*st->localities));
	if (!st->localities)
		abort();
	for (at = 0; at < st->n_localities && strcmp(st->localities[at], buf) < 0; at++)
		;
	memmove(&st->localities[at + 1], &st->localities[at],
		(st->n_localities - at) * sizeof(*st->localities));
	st->localities[at] = strdup(buf);
	if (!st->localities[at])
		abort();
	st->n_localities++;
	return st->localities[at];
}

int sl_backend_tuple_cmp(const struct sl_backend *a, const struct sl_backend *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	int c = memcmp(&a->addr, &b->addr, sizeof(a->addr));

	if (c)
		return c;
	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	return (int)a->proto - (int)b->proto;
}

static int cmp_fe(const void *a, const void *b)
{
	return sl_svc_key_cmp(&((const struct sl_applied_fe *)a)->key,
			      &((const struct sl_applied_fe *)b)->key);
}

static int cmp_be(const void *a, const void *b)
{
	return sl_backend_tuple_cmp(&((const struct sl_applied_be *)a)->be,
				    &((const struct sl_applied_be *)b)->be);
}

static bool tables_present(struct sl_maps *maps, struct sl_applied_fe *fe)
{
	struct sl_slot_key sk = { fe->id, fe->rev, 0 };
	struct sl_slot slot;

	for (uint32_t i = 0; i < fe->n_members; i++) {
		struct sl_member_key mk = { fe->id, fe->rev, i };

		if (bpf_map_lookup_elem(maps->member, &mk, &fe->members[i]))
			return false;
	}
	if (!fe->n_slots)
		return true;
	if (bpf_map_lookup_elem(maps->slot, &sk, &slot))
		return false;
	sk.slot = fe->n_slots - 1;
	return bpf_map_lookup_elem(maps->slot, &sk, &slot) == 0;
}

static int load_frontends(struct sl_state *st, struct sl_err *err)
{
	struct sl_svc_key key, *prev = NULL;
	size_t cap = 0;

	while (bpf_map_get_next_key(st->maps->svc, prev, &key) == 0) {
		struct sl_applied_fe *fe;
		struct sl_svc v;

		if (st->n_fe == cap) {
			cap = cap ? cap * 2 : 64;
			fe = realloc(st->fe, cap * sizeof(*fe));
			if (!fe)
				return sl_errf(err, "out of memory");
			st->fe = fe;
		}
		fe = &st->fe[st->n_fe];
		memset(fe, 0, sizeof(*fe));
		fe->key = key;
		prev = &fe->key;
		if (bpf_map_lookup_elem(st->maps->svc, &key, &v))
			continue;	/* deleted under us: nothing to mirror */
		if (v.id >= st->svc_ids.size || st->svc_ids.used[v.id])
			return sl_errf(err, "sluice_svc holds an invalid or repeated "
				       "service id %u", v.id);
		fe->id = v.id;
		fe->rev = v.rev;
		fe->n_slots = v.n_slots;
		fe->n_members = v.n_members;
		fe->flags = v.flags;
		fe->conn_rate = v.conn_rate;
		fe->max_conn = v.max_conn;
		fe->idle_ms = v.idle_ms;
		fe->max_age_ms = v.max_age_ms;
		fe->eject_after = v.eject_after;
		fe->eject_ms = v.eject_ms;
		fe->eject_max_pct = v.eject_max_pct;
		fe->min_health_pct = v.min_health_pct;
		fe->connect_ms = v.connect_ms;
		fe->ka_time_s = v.ka_time_s;
		fe->ka_interval_s = v.ka_interval_s;
		fe->ka_probes = v.ka_probes;
		fe->conn_burst = v.conn_burst;
		fe->n_tiers = v.n_tiers;
		memcpy(fe->tier_end, v.tier_end, sizeof(fe->tier_end));
		fe->members = calloc(v.n_members ? v.n_members : 1, sizeof(*fe->members));
		if (!fe->members)
			return sl_errf(err, "out of memory");
		fe->dirty = !tables_present(st->maps, fe);
		if (bpf_map_lookup_elem(st->maps->svc_info, &fe->id, &fe->info))
			fe->dirty = true;
		sl_id_mark(&st->svc_ids, v.id);
		if (v.rev >= st->next_rev)
			st->next_rev = v.rev + 1;
		st->n_fe++;
	}
	if (errno != ENOENT)
		return sl_errf(err, "walking sluice_svc: %s", strerror(errno));
	if (st->n_fe)
		qsort(st->fe, st->n_fe, sizeof(*st->fe), cmp_fe);
	return 0;
}

static int load_backends(struct sl_state *st, struct sl_err *err)
{
	__u32 id, *prev = NULL;
	size_t cap = 0;

	while (bpf_map_get_next_key(st->maps->backend, prev, &id) == 0) {
		struct sl_applied_be *be;
		struct sl_backend_info info;

		if (st->n_be == cap) {
			cap = cap ? cap * 2 : 64;
			be = realloc(st->be, cap * sizeof(*be));
			if (!be)
				return sl_errf(err, "out of memory");
			st->be = be;
		}
		be = &st->be[st->n_be];
		memset(be, 0, sizeof(*be));
		be->id = id;
		prev = &be->id;
		if (bpf_map_lookup_elem(st->maps->backend, &id, &be->be))
			continue;
		if (id >= st->be_ids.size || st->be_ids.used[id])
			return sl_errf(err, "sluice_backend holds an invalid backend id %u", id);
		if (bpf_map_lookup_elem(st->maps->backend_info, &id, &info) == 0)
			info.locality[sizeof(info.locality) - 1] = '\0';
		else
			info.locality[0] = '\0';
		be->locality = sl_state_locality(st, info.locality);
		sl_id_mark(&st->be_ids, id);
		st->n_be++;
	}
	if (errno != ENOENT)
		return sl_errf(err, "walking sluice_backend: %s", strerror(errno));
	if (st->n_be)
		qsort(st->be, st->n_be, sizeof(*st->be), cmp_be);
	return 0;
}

/* Deletes every key of a (svc_id, rev, index) table whose service is gone
 * or holds another revision; counts the rest. */
static size_t sweep_table(int fd, const uint32_t *live_rev, uint32_t n_ids,
			  size_t *kept)
{
	struct sl_slot_key key, next, *prev = NULL;
	size_t removed = 0;

	*kept = 0;
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		bool live = next.svc_id < n_ids && live_rev[next.svc_id] == next.rev + 1;

		if (!live && bpf_map_delete_elem(fd, &next) == 0) {
			removed++;
			/* Deleting the cursor restarts the walk; keep prev. */
			continue;
		}
		if (live)
			(*kept)++;
		key = next;
		prev = &key;
	}
	return removed;
}

static void sweep_info(int fd, const uint8_t *used, uint32_t n_ids)
{
	__u32 key, next, *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		if ((next >= n_ids || !used[next]) && bpf_map_delete_elem(fd, &next) == 0)
			continue;
		key = next;
		prev = &key;
	}
}

static int sweep_garbage(struct sl_state *st, struct sl_err *err)
{
	uint32_t n = st->svc_ids.size;
	uint32_t *live_rev = calloc(n ? n : 1, sizeof(*live_rev));
	size_t removed;

	if (!live_rev)
		return sl_errf(err, "out of memory");
	/* rev + 1, so that 0 means "no live service with this id". */
	for (size_t i = 0; i < st->n_fe; i++)
		live_rev[st->fe[i].id] = st->fe[i].rev + 1;
	removed = sweep_table(st->maps->slot, live_rev, n, &st->n_slot_entries);
	removed += sweep_table(st->maps->member, live_rev, n, &st->n_member_entries);
	free(live_rev);
	sweep_info(st->maps->svc_info, st->svc_ids.used, n);
	sweep_info(st->maps->backend_info, st->be_ids.used, st->be_ids.size);
	if (removed)
		sl_info("removed %zu stale table entries left by an interrupted update",
			removed);
	return 0;
}

int sl_state_load(struct sl_state *st, struct sl_maps *maps, struct sl_err *err)
{
	memset(st, 0, sizeof(*st));
	st->maps = maps;
	st->next_rev = 1;
	if (sl_id_pool_init(&st->svc_ids, maps->max_services) < 0 ||
	    sl_id_pool_init(&st->be_ids, maps->max_backends) < 0) {
		sl_state_free(st);
		return sl_errf(err, "out of memory");
	}
	if (load_frontends(st, err) < 0 || load_backends(st, err) < 0 ||
	    sweep_garbage(st, err) < 0) {
		sl_state_free(st);
		return sl_err_prefix(err, "reading the pinned maps");
	}
	return 0;
}

void sl_state_free(struct sl_state *st)
{
	for (size_t i = 0; i < st->n_fe; i++)
		free(st->fe[i].members);
	free(st->fe);
	free(st->be);
	free(st->svc_ids.used);
	free(st->be_ids.used);
	for (size_t i = 0; i < st->n_localities; i++)
		free(st->localities[i]);
	free(st->localities);
	memset(st, 0, sizeof(*st));
}
