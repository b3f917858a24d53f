/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Texts kept once. sl_pset is a set of pointers, hashed and compared by
 * what they point at (open addressing, grown at half full); sl_strtab
 * keeps strings in it, each once, in an arena of its own that never
 * frees one and stops taking new ones at a size given: label keys and
 * values repeat across thousands of objects (20,000 pods' "app",
 * "pod-template-hash", their values), while a value that changes with
 * every rollout would otherwise grow the table for the agent's life.
 */
#ifndef SLUICE_STRTAB_H
#define SLUICE_STRTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"

struct sl_pset_ops {
	uint64_t (*hash)(const void *x);
	bool (*same)(const void *x, const void *y);
};

struct sl_pset {
	const void **v;
	size_t n, cap;
};

extern const struct sl_pset_ops sl_pset_strings;

/* The element equal to x, or NULL and *at the free slot for it (set
 * s->v[*at] and count s->n to add it). */
const void *sl_pset_find(struct sl_pset *s, const struct sl_pset_ops *ops, const void *x,
			 size_t *at);
void sl_pset_free(struct sl_pset *s);

struct sl_strtab {
	struct sl_arena arena;
	struct sl_pset set;
	size_t max_bytes;		/* of text kept; 0: no bound */
	bool full;			/* max_bytes reached once */
};

void sl_strtab_init(struct sl_strtab *t, size_t max_bytes);
/* The table's copy of s; NULL once the table is full and s not in it
 * (the caller keeps its own copy). */
const char *sl_strtab_intern(struct sl_strtab *t, const char *s);
void sl_strtab_free(struct sl_strtab *t);

#endif
