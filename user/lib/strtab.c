// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "strtab.h"

static uint64_t string_hash(const void *x)
{
	return XXH64(x, strlen(x), 0);
}

static bool string_same(const void *x, const void *y)
{
	return !strcmp(x, y);
}

const struct sl_pset_ops sl_pset_strings = { string_hash, string_same };

static size_t slot(const struct sl_pset *s, const struct sl_pset_ops *ops, const void *x)
{
	size_t mask = s->cap - 1, at;

	for (at = ops->hash(x) & mask; s->v[at]; at = (at + 1) & mask)
		if (ops->same(s->v[at], x))
			break;
	return at;
}

static void grow(struct sl_pset *s, const struct sl_pset_ops *ops)
{
	const void **old = s->v;
	size_t old_cap = s->cap;

	s->cap = old_cap ? old_cap * 2 : 1024;
	s->v = calloc(s->cap, sizeof(*s->v));
	if (!s->v)
		abort();
	for (size_t i = 0; i < old_cap; i++)
		if (old[i])
			s->v[slot(s, ops, old[i])] = old[i];
	free(old);
}

const void *sl_pset_find(struct sl_pset *s, const struct sl_pset_ops *ops, const void *x,
			 size_t *at)
{
	if (2 * (s->n + 1) > s->cap)
		grow(s, ops);
	*at = slot(s, ops, x);
	return s->v[*at];
}

void sl_pset_free(struct sl_pset *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

void sl_strtab_init(struct sl_strtab *t, size_t max_bytes)
{
	memset(t, 0, sizeof(*t));
	t->max_bytes = max_bytes;
}

const char *sl_strtab_intern(struct sl_strtab *t, const char *s)
{
	size_t at, len = strlen(s) + 1;
	const char *found = sl_pset_find(&t->set, &sl_pset_strings, s, &at);

	if (found)
		return found;
	if (t->max_bytes && t->arena.used + len > t->max_bytes) {
		t->full = true;
		return NULL;
	}
	t->set.v[at] = sl_arena_strdup(&t->arena, s);
	t->set.n++;
	return t->set.v[at];
}

void sl_strtab_free(struct sl_strtab *t)
{
	sl_pset_free(&t->set);
	sl_arena_free(&t->arena);
	memset(t, 0, sizeof(*t));
}
