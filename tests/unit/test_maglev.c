// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The Maglev table against the paper's properties: balance and minimal
 * disruption. */
#include "helpers.h"
#include "maglev.h"

#define M 16381

static void counts(const uint32_t *table, size_t n, uint32_t *c)
{
	memset(c, 0, n * sizeof(*c));
	for (uint32_t j = 0; j < M; j++)
		c[table[j]]++;
}

static void test_balance(void **state)
{
	static uint32_t table[M];
	uint64_t keys[10];
	uint32_t w[10], c[10];
	struct sl_err err;

	(void)state;
	for (size_t i = 0; i < 10; i++) {
		keys[i] = 0x0a000000ULL + i * 7919;
		w[i] = 1;
	}
	assert_int_equal(sl_maglev_build(keys, w, 10, M, table, &err), 0);
	counts(table, 10, c);
	/* Each member within 1% of M / n (the paper: within a few percent). */
	for (size_t i = 0; i < 10; i++)
		assert_true(c[i] >= M / 10 - M / 100 && c[i] <= M / 10 + M / 100);
}

static void test_weights(void **state)
{
	static uint32_t table[M];
	uint64_t keys[2] = { 1, 2 };
	uint32_t w[2] = { 3, 1 }, c[2];
	struct sl_err err;

	(void)state;
	assert_int_equal(sl_maglev_build(keys, w, 2, M, table, &err), 0);
	counts(table, 2, c);
	assert_true(c[0] >= 3 * (M / 4) - M / 100 && c[0] <= 3 * (M / 4) + M / 100);
}

/* Removing one of ten members moves its own entries and almost nothing
 * else: the paper's minimal disruption. */
static void test_minimal_disruption(void **state)
{
	static uint32_t before[M], after[M];
	uint64_t keys[10], rest[9];
	uint32_t w[10];
	size_t moved = 0, owned = 0;
	struct sl_err err;

	(void)state;
	for (size_t i = 0; i < 10; i++) {
		keys[i] = 0x0a000000ULL + i * 104729;
		w[i] = 1;
	}
	assert_int_equal(sl_maglev_build(keys, w, 10, M, before, &err), 0);
	for (size_t i = 0, k = 0; i < 10; i++)
		if (i != 3)
			rest[k++] = keys[i];
	assert_int_equal(sl_maglev_build(rest, w, 9, M, after, &err), 0);
	for (uint32_t j = 0; j < M; j++) {
		uint64_t was = keys[before[j]], now = rest[after[j]];

		if (before[j] == 3) {
			owned++;
			continue;
		}
		moved += was != now;
	}
	/* Entries of the 9 survivors that changed owner: a few percent. */
	assert_true(moved < (M - owned) * 5 / 100);
}

static void test_bad_sizes(void **state)
{
	static uint32_t table[M];
	uint64_t keys[1] = { 1 };
	uint32_t w[1] = { 1 };
	struct sl_err err;

	(void)state;
	assert_int_equal(sl_maglev_build(keys, w, 1, 16384, table, &err), -1);
	assert_contains(err.msg, "not a prime");
	assert_true(sl_maglev_is_prime(SL_MAGLEV_MAX_SIZE));
	assert_true(sl_maglev_is_prime(SL_MAGLEV_DEFAULT_SIZE));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_balance),
		cmocka_unit_test(test_weights),
		cmocka_unit_test(test_minimal_disruption),
		cmocka_unit_test(test_bad_sizes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
