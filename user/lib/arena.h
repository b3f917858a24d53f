/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A bump allocator for everything decoded from one configuration load: the
 * whole load is freed at once, so decoders never track ownership.
 */
#ifndef SLUICE_ARENA_H
#define SLUICE_ARENA_H

#include <stdbool.h>
#include <stddef.h>

struct sl_arena_block;

struct sl_arena {
	struct sl_arena_block *head;
	size_t used;		/* bytes handed out, with their alignment */
};

/* Zeroed memory at malloc's alignment; aborts the process on exhaustion,
 * like the rest of the agent's allocations: a node agent that cannot
 * allocate cannot recover. */
void *sl_arena_alloc(struct sl_arena *arena, size_t size);
/* Sizes the first block of an empty arena (an estimate of all it will
 * hold): one allocation instead of a series of doubling blocks. */
void sl_arena_reserve(struct sl_arena *arena, size_t size);
/* Gives back what an arena of one block did not use, once it is filled
 * (its block sized by an estimate). false: it is not one block of exactly
 * what it uses: it has several (the estimate was short), or its block
 * moved and every pointer into it is void (glibc shrinks in place, a
 * sanitizer's allocator moves); the caller fills a new arena reserved at
 * `used` bytes. */
bool sl_arena_shrink(struct sl_arena *arena);
/* Bytes without alignment, for strings: they count size in used (and
 * the padding to the alignment when they start a new block). */
char *sl_arena_alloc_chars(struct sl_arena *arena, size_t size);
char *sl_arena_strdup(struct sl_arena *arena, const char *s);
/* Grows *array (of *cap elements of elem_size) to hold at least need. */
void sl_arena_grow(struct sl_arena *arena, void **array, size_t *cap,
		   size_t need, size_t elem_size);
void sl_arena_free(struct sl_arena *arena);

/* Outside arenas, with the same policy: abort on exhaustion. NULL is
 * duplicated as "". */
void *sl_xcalloc(size_t n, size_t size);
void *sl_xrealloc(void *p, size_t size);
char *sl_xstrdup(const char *s);
/* *field replaced by a copy of v (NULL: none), the old one freed. */
void sl_xstrset(char **field, const char *v);

#endif
