// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Outlier detection's state machine (bpf/lib/outlier.h), the code the
 * kernel runs: streaks, ejection times, maxEjectionPercent, panic. */
#include "helpers.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif
#include "../../bpf/lib/outlier.h"

#define MS 1000000ULL
#define S (1000 * MS)

/* eject_after failures in a row complete a streak; a success between
 * them starts it again. */
static void test_streak(void **state)
{
	struct sl_backend_state b;

	(void)state;
	memset(&b, 0, sizeof(b));
	assert_false(sl_od_outcome(&b, true, 3));
	assert_false(sl_od_outcome(&b, true, 3));
	assert_false(sl_od_outcome(&b, false, 3));	/* success: again from 0 */
	assert_int_equal(b.failures, 0);
	assert_false(sl_od_outcome(&b, true, 3));
	assert_false(sl_od_outcome(&b, true, 3));
	assert_true(sl_od_outcome(&b, true, 3));
	assert_int_equal(b.failures, 0);		/* the next streak starts */
	assert_false(sl_od_outcome(&b, true, 3));
	/* eject_after 1: every failure. */
	memset(&b, 0, sizeof(b));
	assert_true(sl_od_outcome(&b, true, 1));
	assert_true(sl_od_outcome(&b, true, 1));
}

/* Ejected for baseEjectionTime x the ejections so far, at most 10 x;
 * readmitted when the time is up. */
static void test_ejection_time(void **state)
{
	struct sl_backend_state b;
	__u64 now = 100 * S;

	(void)state;
	memset(&b, 0, sizeof(b));
	assert_false(sl_od_is_ejected(&b, now));
	sl_od_eject(&b, now, 30000);
	assert_true(sl_od_is_ejected(&b, now + 30 * S - 1));
	assert_false(sl_od_is_ejected(&b, now + 30 * S));
	now += 60 * S;
	sl_od_eject(&b, now, 30000);			/* second: 60 s */
	assert_int_equal(b.ejected_until_ns, now + 60 * S);
	for (int i = 0; i < 20; i++)
		sl_od_eject(&b, now, 30000);
	assert_int_equal(b.ejections, 22);
	assert_int_equal(b.ejected_until_ns, now + 300 * S);	/* capped at 10 x */
}

/* maxEjectionPercent is checked against the members and those ejected
 * now; the first ejection always passes, as in Envoy. */
static void test_max_ejection_percent(void **state)
{
	(void)state;
	assert_true(sl_od_may_eject(4, 0, 10));		/* the first, whatever */
	assert_false(sl_od_may_eject(4, 1, 10));
	assert_false(sl_od_may_eject(4, 1, 25));	/* 2 of 4 > 25% */
	assert_true(sl_od_may_eject(4, 1, 50));		/* 2 of 4 = 50% */
	assert_false(sl_od_may_eject(4, 2, 50));
	assert_true(sl_od_may_eject(4, 3, 100));
	assert_true(sl_od_may_eject(20, 1, 10));	/* 2 of 20 */
	assert_false(sl_od_may_eject(20, 2, 10));
}

/* minHealthPercent: below it, ejection is ignored (Envoy's panic); 0 is
 * off. */
static void test_panic(void **state)
{
	(void)state;
	assert_false(sl_od_panicking(4, 3, 0));
	assert_false(sl_od_panicking(4, 1, 75));	/* 3 of 4 healthy = 75% */
	assert_true(sl_od_panicking(4, 2, 75));
	assert_true(sl_od_panicking(4, 3, 60));		/* 1 of 4 < 60% */
	assert_false(sl_od_panicking(10, 4, 60));
	assert_true(sl_od_panicking(10, 5, 60));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_streak),
		cmocka_unit_test(test_ejection_time),
		cmocka_unit_test(test_max_ejection_percent),
		cmocka_unit_test(test_panic),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
