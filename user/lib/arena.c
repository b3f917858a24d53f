// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

/* Blocks double from the first to the last size: a configuration load
 * fills many large blocks, while the Kubernetes source keeps one arena per
 * object (most of them a few hundred bytes), thousands at once. */
#define ARENA_FIRST_BLOCK 512
#define ARENA_BLOCK_SIZE (64 * 1024)

struct sl_arena_block {
	struct sl_arena_block *next;
	size_t size;
	size_t off;
	max_align_t data[];
};

void *sl_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (!p) {
		fprintf(stderr, "out of memory allocating %zu bytes\n", n * size);
		abort();
	}
	return p;
}

void *sl_xrealloc(void *p, size_t size)
{
	void *q = realloc(p, size);

	if (!q) {
		fprintf(stderr, "out of memory allocating %zu bytes\n", size);
		abort();
	}
	return q;
}

void sl_xstrset(char **field, const char *v)
{
	free(*field);
	*field = v ? sl_xstrdup(v) : NULL;
}

char *sl_xstrdup(const char *s)
{
	char *p = strdup(s ? s : "");

	if (!p) {
		fprintf(stderr, "out of memory\n");
		abort();
	}
	return p;
}

/* Structs get malloc's alignment; strings none: a name of a few bytes
 * took 32 (sizeof(max_align_t)), a third of an object kept by the
 * Kubernetes source. */
#define ARENA_ALIGN _Alignof(max_align_t)

static size_t align_up(size_t v, size_t align)
{
	return (v + align - 1) & ~(align - 1);
}

/* used counts offsets as if every block followed the one before at its
 * alignment: a block starts where used is aligned, so used is congruent
 * to the block's offset and is what one block of the same allocations
 * takes, at most (sl_arena_shrink's caller reserves that). */
static void *alloc_aligned(struct sl_arena *arena, size_t size, size_t align)
{
	struct sl_arena_block *b = arena->head;
	size_t off = b ? align_up(b->off, align) : 0;
	void *p;

	if (!b || off > b->size || b->size - off < size) {
		size_t cap = b ? b->size * 2 : ARENA_FIRST_BLOCK;

		if (cap > ARENA_BLOCK_SIZE)
			cap = ARENA_BLOCK_SIZE;
		if (cap < size)
			cap = size;

		b = sl_xcalloc(1, sizeof(*b) + cap);
		b->size = cap;
		b->next = arena->head;
		arena->head = b;
		arena->used = align_up(arena->used, ARENA_ALIGN);
		off = 0;
	}
	p = (char *)b->data + off;
	arena->used += off - b->off + size;
	b->off = off + size;
	return p;
}

void *sl_arena_alloc(struct sl_arena *arena, size_t size)
{
	return alloc_aligned(arena, size ? size : 1, ARENA_ALIGN);
}

char *sl_arena_alloc_chars(struct sl_arena *arena, size_t size)
{
	return alloc_aligned(arena, size ? size : 1, 1);
}

void sl_arena_reserve(struct sl_arena *arena, size_t size)
{
	struct sl_arena_block *b;

	if (arena->head)
		return;
	b = sl_xcalloc(1, sizeof(*b) + size);
	b->size = size;
	arena->head = b;
}

bool sl_arena_shrink(struct sl_arena *arena)
{
	struct sl_arena_block *b = arena->head, *nb;

	if (b && b->next)
		return false;	/* the first block's tail was skipped */
	if (!b || b->off == b->size)
		return true;
	nb = realloc(b, sizeof(*b) + b->off);
	if (!nb)
		return true;	/* kept whole: still valid */
	nb->size = nb->off;
	arena->head = nb;
	return nb == b;
}

char *sl_arena_strdup(struct sl_arena *arena, const char *s)
{
	size_t len = strlen(s);
	char *p = sl_arena_alloc_chars(arena, len + 1);

	memcpy(p, s, len + 1);
	return p;
}

void sl_arena_grow(struct sl_arena *arena, void **array, size_t *cap,
		   size_t need, size_t elem_size)
{
	size_t new_cap;
	void *p;

	if (need <= *cap)
		return;
	/* From the first need: a resource of the Kubernetes source holds
	 * one of its kind, not four. */
	new_cap = *cap ? *cap * 2 : need;
	while (new_cap < need)
		new_cap *= 2;
	p = sl_arena_alloc(arena, new_cap * elem_size);
	if (*cap)
		memcpy(p, *array, *cap * elem_size);
	*array = p;
	*cap = new_cap;
}

void sl_arena_free(struct sl_arena *arena)
{
	struct sl_arena_block *b = arena->head;

	while (b) {
		struct sl_arena_block *next = b->next;

		free(b);
		b = next;
	}
	arena->head = NULL;
	arena->used = 0;
}
