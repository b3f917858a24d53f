// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kept.h"

#define FIELDS(X) X(drules) X(vservices) X(limits) X(workload_entries) X(pods) \
	X(policies) X(services) X(slices) X(entries)

enum {
#define ENUM(f) FIELD_##f,
	FIELDS(ENUM)
#undef ENUM
};

_Static_assert(sizeof(struct sl_kept) == 40, "one per object kept, 40,000 at scale");

void sl_kept_take(struct sl_kept *k, struct sl_config *cfg)
{
	memset(k, 0, sizeof(*k));
	k->block = cfg->arena.head;
	k->digest = cfg->digest;
	k->warnings = cfg->warnings.msgs;
	/* An object's warnings: a handful of its fields, in practice; past
	 * 65,535 the rest stay in the arena, unreported. */
	k->n_warnings = cfg->warnings.n > UINT16_MAX ? UINT16_MAX : (uint16_t)cfg->warnings.n;
#define TAKE(f)								\
	if (cfg->n_##f) {						\
		if (k->n) {						\
			fprintf(stderr, "one object decoded into two kinds\n"); \
			abort();					\
		}							\
		k->items = cfg->f;					\
		k->n = (uint32_t)cfg->n_##f;				\
		k->field = FIELD_##f;					\
	}
	FIELDS(TAKE)
#undef TAKE
	memset(cfg, 0, sizeof(*cfg));
}

void sl_kept_free(struct sl_kept *k)
{
	struct sl_arena arena = { .head = k->block };

	sl_arena_free(&arena);
	memset(k, 0, sizeof(*k));
}

void sl_kept_view(const struct sl_kept *k, struct sl_config *view)
{
	memset(view, 0, sizeof(*view));
	view->digest = k->digest;
	view->warnings.msgs = k->warnings;
	view->warnings.n = view->warnings.cap = k->n_warnings;
	view->n_files = 1;
#define VIEW(f)								\
	if (k->n && k->field == FIELD_##f) {				\
		view->f = k->items;					\
		view->n_##f = view->cap_##f = k->n;			\
	}
	FIELDS(VIEW)
#undef VIEW
}

/* Appends n structs of size elem from src to the array *dst. */
static void append(struct sl_arena *arena, void **dst, size_t *n_dst, size_t *cap,
		   const void *src, size_t n, size_t elem)
{
	if (!n)
		return;
	sl_arena_grow(arena, dst, cap, *n_dst + n, elem);
	memcpy((char *)*dst + *n_dst * elem, src, n * elem);
	*n_dst += n;
}

void sl_kept_append(const struct sl_kept *k, struct sl_config *cfg)
{
	struct sl_config in;

	sl_kept_view(k, &in);
#define APPEND(f)							\
	append(&cfg->arena, (void **)&cfg->f, &cfg->n_##f, &cfg->cap_##f, in.f, \
	       in.n_##f, sizeof(*cfg->f));
	FIELDS(APPEND)
#undef APPEND
	for (size_t i = 0; i < in.warnings.n; i++)
		sl_warnings_add(&cfg->warnings, &cfg->arena, in.warnings.msgs[i]);
}

void sl_kept_count(const struct sl_kept *k, struct sl_config *total)
{
#define COUNT(f)							\
	if (k->n && k->field == FIELD_##f)				\
		total->n_##f += k->n;
	FIELDS(COUNT)
#undef COUNT
}
