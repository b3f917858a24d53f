// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The Prometheus text exposition format (0.0.4) as the agent writes it:
 * HELP and TYPE lines, label escaping, counter and gauge samples, and a
 * buffer that is never served half-written.
 */
#include <math.h>
#include <stdlib.h>

#include "helpers.h"
#include "prom.h"

static void test_counter_family(void **state)
{
	struct sl_prom p, l;
	size_t len;
	char *text;

	(void)state;
	sl_prom_init(&p);
	sl_prom_init(&l);
	sl_prom_label(&l, "destination_service_namespace", "default");
	sl_prom_label(&l, "destination_service_name", "web");
	sl_prom_label(&l, "port", "80");
	sl_prom_family(&p, "sluice_service_connections_total", "counter",
		       "Connections balanced.");
	sl_prom_u64(&p, "sluice_service_connections_total", sl_prom_text(&l), 20);
	sl_prom_u64(&p, "sluice_service_connections_total", NULL, UINT64_MAX);
	text = sl_prom_take(&p, &len);
	assert_non_null(text);
	assert_string_equal(text,
		"# HELP sluice_service_connections_total Connections balanced.\n"
		"# TYPE sluice_service_connections_total counter\n"
		"sluice_service_connections_total{destination_service_namespace=\"default\","
		"destination_service_name=\"web\",port=\"80\"} 20\n"
		"sluice_service_connections_total 18446744073709551615\n");
	assert_int_equal(len, strlen(text));
	free(text);
	sl_prom_free(&l);
}

/* Label values escape backslash, double quote and newline, in that form
 * and nothing else; HELP text escapes backslash and newline only. */
static void test_escaping(void **state)
{
	struct sl_prom p, l;

	(void)state;
	sl_prom_init(&p);
	sl_prom_init(&l);
	sl_prom_label(&l, "name", "a\"b\\c\nd");
	sl_prom_label(&l, "empty", "");
	sl_prom_label(&l, "utf8", "caf\xc3\xa9");
	assert_string_equal(sl_prom_text(&l),
			    "name=\"a\\\"b\\\\c\\nd\",empty=\"\",utf8=\"caf\xc3\xa9\"");
	sl_prom_family(&p, "x", "gauge", "path C:\\dir\nsecond \"line\"");
	assert_string_equal(sl_prom_text(&p),
			    "# HELP x path C:\\\\dir\\nsecond \"line\"\n# TYPE x gauge\n");
	sl_prom_reset(&l);
	sl_prom_label(&l, "end", "\\");
	assert_string_equal(sl_prom_text(&l), "end=\"\\\\\"");
	sl_prom_free(&p);
	sl_prom_free(&l);
}

static void test_gauge_values(void **state)
{
	struct sl_prom p;

	(void)state;
	sl_prom_init(&p);
	sl_prom_f64(&p, "g", "", 0.25);
	sl_prom_f64(&p, "g", NULL, 1764192543.5);
	sl_prom_f64(&p, "g", NULL, NAN);
	sl_prom_f64(&p, "g", NULL, INFINITY);
	sl_prom_f64(&p, "g", NULL, -INFINITY);
	sl_prom_f64(&p, "g", NULL, 0);
	assert_string_equal(sl_prom_text(&p),
			    "g 0.25\ng 1764192543.5\ng NaN\ng +Inf\ng -Inf\ng 0\n");
	sl_prom_free(&p);
}

/* A large exposition grows the buffer; an empty one is "", not NULL. */
static void test_growth(void **state)
{
	struct sl_prom p;
	size_t len;
	char *text;

	(void)state;
	sl_prom_init(&p);
	assert_string_equal(sl_prom_text(&p), "");
	for (int i = 0; i < 10000; i++)
		sl_prom_u64(&p, "sluice_x_total", "a=\"b\"", (uint64_t)i);
	text = sl_prom_take(&p, &len);
	assert_non_null(text);
	assert_int_equal(len, strlen(text));
	assert_non_null(strstr(text, "sluice_x_total{a=\"b\"} 9999\n"));
	assert_null(p.buf);
	free(text);
}

/* Families in order, each with every row's sample; a row without labels
 * (its object vanished while it was read) is left out of every family. */
static void test_table(void **state)
{
	static const struct sl_prom_family fams[] = {
		{ "a_total", "counter", "A." },
		{ "b", "gauge", "B." },
	};
	char *labels[3] = { "x=\"1\"", NULL, "x=\"3\"" };
	uint64_t vals[6] = { 10, 11, 20, 21, 30, 31 };
	struct sl_prom p;

	(void)state;
	sl_prom_init(&p);
	sl_prom_table(&p, fams, 2, labels, vals, 3);
	assert_string_equal(sl_prom_text(&p),
			    "# HELP a_total A.\n# TYPE a_total counter\n"
			    "a_total{x=\"1\"} 10\na_total{x=\"3\"} 30\n"
			    "# HELP b B.\n# TYPE b gauge\n"
			    "b{x=\"1\"} 11\nb{x=\"3\"} 31\n");
	sl_prom_free(&p);
}

/* Log2 buckets become cumulative le buckets in seconds: bucket i below
 * 2^i units, the last one only in +Inf; _sum and _count follow. */
static void test_log2_histogram(void **state)
{
	const uint64_t counts[4] = { 1, 0, 2, 3 };
	const uint64_t none[4] = { 0 };
	struct sl_prom p;

	(void)state;
	sl_prom_init(&p);
	sl_prom_family(&p, "d_seconds", "histogram", "D.");
	sl_prom_log2_histogram(&p, "d_seconds", "a=\"x\"", counts, 4, 1e-3, 12.5);
	sl_prom_log2_histogram(&p, "d_seconds", NULL, none, 4, 1e-6, 0);
	assert_string_equal(sl_prom_text(&p),
		"# HELP d_seconds D.\n# TYPE d_seconds histogram\n"
		"d_seconds_bucket{a=\"x\",le=\"0.001\"} 1\n"
		"d_seconds_bucket{a=\"x\",le=\"0.002\"} 1\n"
		"d_seconds_bucket{a=\"x\",le=\"0.004\"} 3\n"
		"d_seconds_bucket{a=\"x\",le=\"+Inf\"} 6\n"
		"d_seconds_sum{a=\"x\"} 12.5\n"
		"d_seconds_count{a=\"x\"} 6\n"
		"d_seconds_bucket{le=\"1e-06\"} 0\n"
		"d_seconds_bucket{le=\"2e-06\"} 0\n"
		"d_seconds_bucket{le=\"4e-06\"} 0\n"
		"d_seconds_bucket{le=\"+Inf\"} 0\n"
		"d_seconds_sum 0\n"
		"d_seconds_count 0\n");
	sl_prom_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counter_family),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_gauge_values),
		cmocka_unit_test(test_growth),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_log2_histogram),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
