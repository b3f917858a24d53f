// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Weighted slot tables. */
#include <stdlib.h>

#include "helpers.h"
#include "slots.h"

static void build(const uint32_t *w, size_t n, size_t max, uint32_t **table,
		  size_t *n_slots, uint32_t *per)
{
	struct sl_err err;

	if (sl_slots_build(w, n, max, table, n_slots, per, &err) < 0)
		fail_msg("%s", err.msg);
}

static void test_proportions_exact(void **state)
{
	const uint32_t w[] = { 1, 1, 2 };
	uint32_t per[3], *t, count[3] = { 0 };
	size_t n;

	(void)state;
	build(w, 3, 65536, &t, &n, per);
	assert_int_equal(n, 4);
	for (size_t i = 0; i < n; i++)
		count[t[i]]++;
	assert_int_equal(count[0], 1);
	assert_int_equal(count[1], 1);
	assert_int_equal(count[2], 2);
	assert_int_equal(per[2], 2);
	free(t);
}

/* Walking the table in a circle, the heavy member of 5/1/1 never runs
 * more than 4 in a row (the nginx smooth round-robin does no better), and
 * equal weights take plain turns. */
static void test_smooth(void **state)
{
	const uint32_t w[] = { 5, 1, 1 }, eq[] = { 1, 1, 1, 1 };
	uint32_t per[4], *t;
	size_t n, run = 0, max_run = 0;

	(void)state;
	build(w, 3, 65536, &t, &n, per);
	assert_int_equal(n, 7);
	for (size_t i = 0; i < 2 * n; i++) {
		run = t[i % n] == 0 ? run + 1 : 0;
		if (run > max_run)
			max_run = run;
	}
	assert_true(max_run <= 4);
	free(t);
	build(eq, 4, 65536, &t, &n, per);
	assert_int_equal(n, 4);
	for (uint32_t i = 0; i < 4; i++)
		assert_int_equal(t[i], i);
	free(t);
}

static void test_gcd_and_zero(void **state)
{
	const uint32_t w[] = { 100, 0, 300 };
	uint32_t per[3], *t;
	size_t n;

	(void)state;
	build(w, 3, 65536, &t, &n, per);
	assert_int_equal(n, 4);
	assert_int_equal(per[0], 1);
	assert_int_equal(per[1], 0);
	assert_int_equal(per[2], 3);
	free(t);
}

static void test_all_zero_is_empty(void **state)
{
	const uint32_t w[] = { 0, 0 };
	uint32_t per[2], *t;
	size_t n;

	(void)state;
	build(w, 2, 65536, &t, &n, per);
	assert_int_equal(n, 0);
	free(t);
}

static void test_scaled_keeps_every_member(void **state)
{
	const uint32_t w[] = { 4000000000u, 1, 3999999999u };
	uint32_t per[3], *t;
	size_t n;

	(void)state;
	build(w, 3, 1000, &t, &n, per);
	assert_true(n <= 1001);
	assert_true(per[1] >= 1);
	assert_true(per[0] >= 499 && per[0] <= 500);
	free(t);
}

static void test_too_many_members(void **state)
{
	uint32_t w[10], per[10], *t;
	struct sl_err err;
	size_t n;

	(void)state;
	for (int i = 0; i < 10; i++)
		w[i] = 1;
	assert_int_equal(sl_slots_build(w, 10, 5, &t, &n, per, &err), -1);
	assert_contains(err.msg, "exceed the 5 slots");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_proportions_exact),
		cmocka_unit_test(test_smooth),
		cmocka_unit_test(test_gcd_and_zero),
		cmocka_unit_test(test_all_zero_is_empty),
		cmocka_unit_test(test_scaled_keeps_every_member),
		cmocka_unit_test(test_too_many_members),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
