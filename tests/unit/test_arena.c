// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The arena: strings packed, structs at malloc's alignment, and `used`
 * enough for one block of the same allocations (the Kubernetes source
 * decodes an object again into a block of that size). */
#include <stdint.h>

#include "helpers.h"
#include "arena.h"

#define ALIGN _Alignof(max_align_t)

static void test_strings_packed(void **state)
{
	struct sl_arena a = { 0 };
	char *x, *y;

	(void)state;
	x = sl_arena_strdup(&a, "ab");
	y = sl_arena_strdup(&a, "cde");
	assert_string_equal(x, "ab");
	assert_string_equal(y, "cde");
	assert_ptr_equal(y, x + 3);
	assert_int_equal(a.used, 3 + 4);
	sl_arena_free(&a);
}

static void test_structs_aligned_and_zeroed(void **state)
{
	struct sl_arena a = { 0 };
	unsigned char *p;

	(void)state;
	sl_arena_strdup(&a, "x");
	p = sl_arena_alloc(&a, 24);
	assert_int_equal((uintptr_t)p % ALIGN, 0);
	for (int i = 0; i < 24; i++)
		assert_int_equal(p[i], 0);
	/* "x" and its NUL, the padding to the struct, the struct. */
	assert_int_equal(a.used, ALIGN + 24);
	sl_arena_strdup(&a, "yz");
	assert_int_equal(a.used, ALIGN + 24 + 3);
	sl_arena_free(&a);
	assert_int_equal(a.used, 0);
}

/* Allocation i of a mixed sequence: strings of odd lengths, structs of
 * sizes that are not multiples of the alignment. */
static void *alloc_nth(struct sl_arena *a, int i)
{
	static const char text[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	char s[40];
	int len = 1 + (i * 7) % 35;

	if (i % 3 == 2)
		return sl_arena_alloc(a, (size_t)(8 + (i * 13) % 90));
	memcpy(s, text, (size_t)len);
	s[len] = '\0';
	return sl_arena_strdup(a, s);
}

/* Over several blocks (the first was small), then again into one block
 * reserved at `used`: everything fits in that block, and no more is used. */
static void test_used_fits_one_block(void **state)
{
	struct sl_arena many = { 0 }, one = { 0 };
	char *first = NULL, *last = NULL;
	size_t last_size = 0;

	(void)state;
	for (int i = 0; i < 400; i++)
		alloc_nth(&many, i);
	assert_true(many.used > 4096);
	sl_arena_reserve(&one, many.used);
	for (int i = 0; i < 400; i++) {
		char *p = alloc_nth(&one, i);

		if (!first)
			first = p;
		last = p;
		last_size = i % 3 == 2 ? (size_t)(8 + (i * 13) % 90) : strlen(p) + 1;
		if (i % 3 == 2)
			assert_int_equal((uintptr_t)p % ALIGN, 0);
	}
	assert_true(one.used <= many.used);
	assert_true((size_t)(last + last_size - first) == one.used);
	sl_arena_free(&one);
	sl_arena_free(&many);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strings_packed),
		cmocka_unit_test(test_structs_aligned_and_zeroed),
		cmocka_unit_test(test_used_fits_one_block),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
