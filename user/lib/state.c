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

	/* Members come in runs of one locality: no copy, no search. */
	if (st->last_locality && !strcmp(st->last_locality, s ? s : ""))
		return st->last_locality;
	snprintf(buf, sizeof(buf), "%s", s ? s : "");
	hit = st->n_localities ? bsearch(&key, st->localities, st->n_localities,
					 sizeof(*st->localities), cmp_str_ptr) : NULL;
	if (hit) {
		st->last_locality = *hit;
		return *hit;
	}
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
	st->last_locality = st->localities[at];
	return st->last_locality;
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

void sl_state_count_refs(struct sl_state *st)
{
	uint32_t *n = calloc(st->be_ids.size + 1, sizeof(*n));

	if (!n)
		abort();
	for (size_t i = 0; i < st->n_fe; i++)
		for (uint32_t k = 0; k < st->fe[i].n_members; k++)
			if (st->fe[i].members[k].backend_id < st->be_ids.size)
				n[st->fe[i].members[k].backend_id]++;
	for (size_t i = 0; i < st->n_be; i++)
		st->be[i].refs = st->be[i].id < st->be_ids.size ? n[st->be[i].id] : 0;
	free(n);
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
	sl_arena_free(&st->names);
	memset(st, 0, sizeof(*st));
}
