// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* sluice.dev/v1alpha1 TrafficLimit: decoding and its join onto frontends. */
#include "helpers.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif
#include "../../bpf/lib/bucket.h"

#define MS 1000000ULL

/* The kernel's bucket arithmetic: a burst, then the rate, exactly. */
static void test_bucket_burst_then_rate(void **state)
{
	struct sl_conn_bucket b;
	__u64 t = 5 * SL_TOKEN;
	int ok = 0;

	(void)state;
	memset(&b, 0, sizeof(b));
	for (int i = 0; i < 50; i++)
		ok += sl_bucket_take(&b, t, 100, 10);
	assert_int_equal(ok, 10);			/* the burst, at one instant */
	/* 3 s at one attempt per ms: 10 ms per token at 100/s. */
	for (int i = 1; i <= 3000; i++)
		ok += sl_bucket_take(&b, t + (__u64)i * MS, 100, 10);
	assert_int_equal(ok, 10 + 300);
}

static void test_bucket_caps_and_resets(void **state)
{
	struct sl_conn_bucket b;
	int ok = 0;

	(void)state;
	memset(&b, 0, sizeof(b));
	for (int i = 0; i < 5; i++)
		ok += sl_bucket_take(&b, SL_TOKEN, 1, 5);
	assert_int_equal(ok, 5);
	assert_false(sl_bucket_take(&b, SL_TOKEN, 1, 5));
	/* An hour of silence fills to the burst, not beyond. */
	ok = 0;
	for (int i = 0; i < 10; i++)
		ok += sl_bucket_take(&b, 3600 * SL_TOKEN, 1, 5);
	assert_int_equal(ok, 5);
	/* A new limit starts full. */
	ok = 0;
	for (int i = 0; i < 10; i++)
		ok += sl_bucket_take(&b, 3600 * SL_TOKEN, 1, 7);
	assert_int_equal(ok, 7);
	/* Fractions accumulate: 1/s, 250 ms steps give one token per 4. */
	ok = 0;
	for (int i = 1; i <= 8; i++)
		ok += sl_bucket_take(&b, 3600 * SL_TOKEN + (__u64)i * 250 * MS, 1, 7);
	assert_int_equal(ok, 2);
}

static const char *web =
	"apiVersion: networking.istio.io/v1\nkind: ServiceEntry\n"
	"metadata: {name: web, namespace: shop}\n"
	"spec:\n  hosts: [web]\n  addresses: [10.96.0.10, \"fd00:96::10\"]\n"
	"  resolution: STATIC\n  ports: [{number: 80, name: http, targetPort: 8080}]\n"
	"  endpoints: [{address: 10.200.1.2}, {address: \"fd00:200::2\"}]\n---\n";

static void load_ok(const char *limit, struct sl_config *cfg)
{
	char text[4096];
	struct sl_err err;

	snprintf(text, sizeof(text), "%s%s", web, limit);
	if (load_yaml(text, cfg, &err) < 0)
		fail_msg("unexpected error: %s", err.msg);
}

static void test_limit_applies_to_every_frontend(void **state)
{
	struct sl_config cfg;
	struct sl_model model;
	struct sl_err err;

	(void)state;
	load_ok("apiVersion: sluice.dev/v1alpha1\nkind: TrafficLimit\n"
		"metadata: {name: l, namespace: shop}\n"
		"spec: {services: [{name: web}], connectionsPerSecond: 100}\n", &cfg);
	assert_int_equal(cfg.n_limits, 1);
	assert_int_equal(cfg.limits[0].conn_burst, 100);	/* burst defaults to rate */
	assert_string_equal(cfg.limits[0].services[0].namespace, "shop");
	assert_int_equal(sl_model_build(&cfg, &model, &err), 0);
	assert_int_equal(model.n_fe, 2);
	for (size_t i = 0; i < model.n_fe; i++) {
		assert_int_equal(model.fe[i].conn_rate, 100);
		assert_int_equal(model.fe[i].conn_burst, 100);
	}
	sl_model_free(&model);
	sl_config_free(&cfg);
}

static void test_limit_errors(void **state)
{
	static const char *const bad[][2] = {
		{ "spec: {connectionsPerSecond: 5}\n", "at least one service" },
		{ "spec: {services: [{name: web}]}\n", "connectionsPerSecond: missing" },
		{ "spec: {services: [{name: web}], connectionsPerSecond: 0}\n",
		  "test.yaml:14:55: spec.connectionsPerSecond: 0 is out of range" },
		{ "spec: {services: [{name: web}], connectionsPerSecond: 5, burts: 3}\n",
		  "burts" },
		{ "spec: {services: [{namespace: shop}], connectionsPerSecond: 5}\n",
		  "missing field name" },
	};
	char text[4096];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sl_config cfg;
		struct sl_err err;

		snprintf(text, sizeof(text), "%sapiVersion: sluice.dev/v1alpha1\n"
			 "kind: TrafficLimit\nmetadata: {name: l, namespace: shop}\n%s",
			 web, bad[i][0]);
		if (load_yaml(text, &cfg, &err) == 0) {
			sl_config_free(&cfg);
			fail_msg("case %zu loaded", i);
		}
		assert_contains(err.msg, bad[i][1]);
		sl_config_free(&cfg);
	}
}

static void test_limit_not_yet_fields_warned(void **state)
{
	struct sl_config cfg;

	(void)state;
	load_ok("apiVersion: sluice.dev/v1alpha1\nkind: TrafficLimit\n"
		"metadata: {name: l, namespace: shop}\n"
		"spec:\n  services: [{name: web}]\n  connectionsPerSecond: 5\n"
		"  bandwidth: {egress: 10M}\n", &cfg);
	assert_true(warnings_contain(&cfg, "bandwidth"));
	sl_config_free(&cfg);
}

static void test_two_limits_on_one_service(void **state)
{
	struct sl_config cfg;
	struct sl_model model;
	struct sl_err err;

	(void)state;
	load_ok("apiVersion: sluice.dev/v1alpha1\nkind: TrafficLimit\n"
		"metadata: {name: a, namespace: shop}\n"
		"spec: {services: [{name: web}], connectionsPerSecond: 5}\n---\n"
		"apiVersion: sluice.dev/v1alpha1\nkind: TrafficLimit\n"
		"metadata: {name: b, namespace: ops}\n"
		"spec: {services: [{name: web, namespace: shop}], connectionsPerSecond: 7}\n",
		&cfg);
	assert_int_equal(sl_model_build(&cfg, &model, &err), -1);
	assert_contains(err.msg, "limits already");
	sl_config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bucket_burst_then_rate),
		cmocka_unit_test(test_bucket_caps_and_resets),
		cmocka_unit_test(test_limit_applies_to_every_frontend),
		cmocka_unit_test(test_limit_errors),
		cmocka_unit_test(test_limit_not_yet_fields_warned),
		cmocka_unit_test(test_two_limits_on_one_service),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
