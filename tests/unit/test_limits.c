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

/* The bandwidth bucket: its burst at once, then the rate, to the byte;
 * a refill covers at most one second; the shortcut leaves half. */
static void test_byte_bucket(void **state)
{
	struct sl_bw_dir d;
	__u64 t = 7 * SL_NSEC, passed = 0;

	(void)state;
	memset(&d, 0, sizeof(d));
	d.rate = 1250000;		/* 10 Mbit/s */
	d.burst = 131072;
	while (sl_bytes_take(&d, t, 1500, false))
		passed += 1500;
	assert_int_equal(passed, 131072 / 1500 * 1500);
	/* 2 s offered in 1 ms steps, 2,000 bytes each: the rate exactly. */
	passed = 0;
	for (int i = 1; i <= 2000; i++)
		passed += sl_bytes_take(&d, t + (__u64)i * MS, 2000, false) ? 2000 : 0;
	assert_in_range(passed, 2 * 1250000 - 2000, 2 * 1250000 + 131072);
	/* A clock read before the last refill adds nothing and fails nothing. */
	assert_false(sl_bytes_take(&d, t, 100000, false));
	/* After a minute of silence: the burst, not a minute's worth. */
	t += 60 * SL_NSEC;
	passed = 0;
	while (sl_bytes_take(&d, t, 1000, false))
		passed += 1000;
	assert_int_equal(passed, 131000);
	/* keep_half: the shortcut stops with half the bucket left. */
	t += 60 * SL_NSEC;
	passed = 0;
	while (sl_bytes_take(&d, t, 1000, true))
		passed += 1000;
	assert_int_equal(passed, 65000);
	assert_true(sl_bytes_take(&d, t, 1000, false));
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
		{ "spec: {connectionsPerSecond: 5}\n", "connectionsPerSecond limits services" },
		{ "spec: {services: [{name: web}]}\n", "give connectionsPerSecond, bandwidth" },
		{ "spec: {services: [{name: web}], burst: 5, bandwidth: {egress: 1M}}\n",
		  "spec.burst needs spec.connectionsPerSecond" },
		{ "spec: {bandwidth: {egress: 1M}}\n", "spec.selector picks or to the endpoints" },
		{ "spec: {selector: {}, bandwidth: {}}\n", "give egress, ingress or both" },
		{ "spec: {selector: {}, bandwidth: {egress: 10Mbps}}\n",
		  "test.yaml:14:42: spec.bandwidth.egress: \"10Mbps\": a bandwidth in bits" },
		{ "spec: {selector: {}, bandwidth: {egress: 0x10M}}\n", "bits per second" },
		{ "spec: {selector: {}, bandwidth: {ingress: 999}}\n", "between 1k and 100G" },
		{ "spec: {selector: {}, bandwidth: {ingress: 101G}}\n", "between 1k and 100G" },
		{ "spec: {selector: {}, bandwidth: {ingress: 1M, up: 2M}}\n", "up" },
		{ "spec: {selector: {}, connectionsPerSecond: 5}\n",
		  "connectionsPerSecond limits services" },
		{ "spec: {selector: {}, bandwidth: {egress: 1M}, sources: [{namespaces: [a]}]}\n",
		  "spec.sources narrows connectionsPerSecond" },
		{ "spec: {services: [{name: web}], connectionsPerSecond: 5, sources: [{}]}\n",
		  "test.yaml:14:68: spec.sources[0]: a source needs namespaces, principals" },
		{ "spec: {services: [{name: web}], connectionsPerSecond: 5, sources: "
		  "[{namespace: [a]}]}\n", "namespace" },
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

/* Sources: the addresses of the Pods and WorkloadEntries they match. */
static void test_limit_sources(void **state)
{
	struct sl_config cfg;
	struct sl_model model;
	struct sl_err err;

	(void)state;
	load_ok("apiVersion: v1\nkind: Pod\nmetadata: {name: p1, namespace: ops}\n"
		"status: {podIP: 10.200.1.5}\n---\n"
		"apiVersion: v1\nkind: Pod\nmetadata: {name: p2, namespace: shop}\n"
		"spec: {serviceAccountName: batch}\nstatus: {podIP: 10.200.1.6}\n---\n"
		"apiVersion: v1\nkind: Pod\nmetadata: {name: p3, namespace: shop}\n"
		"status: {podIP: 10.200.1.7}\n---\n"
		"apiVersion: networking.istio.io/v1\nkind: WorkloadEntry\n"
		"metadata: {name: vm, namespace: dev}\n"
		"spec: {address: 10.0.0.9, serviceAccount: batch}\n---\n"
		"apiVersion: sluice.dev/v1alpha1\nkind: TrafficLimit\n"
		"metadata: {name: l, namespace: shop}\n"
		"spec:\n  services: [{name: web}]\n  connectionsPerSecond: 5\n"
		"  sources:\n  - {namespaces: [ops]}\n"
		"  - {principals: [\"*/sa/batch\"], "
		"namespaces: [\"*\"]}\n", &cfg);
	assert_int_equal(sl_model_build(&cfg, &model, &err), 0);
	for (size_t i = 0; i < model.n_fe; i++) {
		char ips[128] = "";

		assert_true(model.fe[i].flags & SL_SVC_F_LIMIT_SOURCES);
		assert_int_equal(model.fe[i].n_limit_src, 3);	/* p1, p2, vm; not p3 */
		for (size_t k = 0; k < model.fe[i].n_limit_src; k++) {
			char a[64];

			sl_ip_format(&model.fe[i].limit_src[k].addr,
				     model.fe[i].limit_src[k].family, a, sizeof(a));
			strcat(ips, a);
			strcat(ips, " ");
		}
		assert_string_equal(ips, "10.200.1.5 10.200.1.6 10.0.0.9 ");
	}
	sl_model_free(&model);
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

static const struct sl_bw_limit *bw_of(const struct sl_model *m, const char *ip)
{
	struct sl_ip want;

	assert_int_equal(sl_ip_parse(ip, &want), 0);
	for (size_t i = 0; i < m->n_bw; i++)
		if (!sl_ip_cmp(&m->bw[i].ip, &want))
			return &m->bw[i];
	fail_msg("no bandwidth limit for %s", ip);
	return NULL;
}

/* Pod annotations, a selector, a service's endpoints; the lower wins. */
static void test_bandwidth_sources(void **state)
{
	const struct sl_bw_limit *b;
	struct sl_config cfg;
	struct sl_model model;
	struct sl_err err;

	(void)state;
	load_ok("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p1\n  namespace: shop\n"
		"  labels: {app: api}\n  annotations:\n"
		"    kubernetes.io/egress-bandwidth: 10M\n"
		"    kubernetes.io/ingress-bandwidth: 1.5Gi\n"
		"status: {podIPs: [{ip: 10.200.1.5}, {ip: \"fd00:200::5\"}]}\n---\n"
		"apiVersion: v1\nkind: Pod\nmetadata: {name: p2, namespace: shop, "
		"labels: {app: api}}\nstatus: {podIP: 10.200.1.6}\n---\n"
		"apiVersion: v1\nkind: Pod\nmetadata: {name: p3, namespace: ops, "
		"labels: {app: api}}\nstatus: {podIP: 10.200.1.7}\n---\n"
		"apiVersion: sluice.dev/v1alpha1\nkind: TrafficLimit\n"
		"metadata: {name: api, namespace: shop}\n"
		"spec: {selector: {matchLabels: {app: api}}, bandwidth: {egress: 20M, "
		"ingress: 1e6}}\n---\n"
		"apiVersion: sluice.dev/v1alpha1\nkind: TrafficLimit\n"
		"metadata: {name: web, namespace: shop}\n"
		"spec: {services: [{name: web}], bandwidth: {egress: 500k}}\n", &cfg);
	assert_int_equal(sl_model_build(&cfg, &model, &err), 0);
	/* p1 (both addresses) and p2 by the selector, not p3 (another
	 * namespace); both endpoints of web. */
	assert_int_equal(model.n_bw, 5);
	b = bw_of(&model, "10.200.1.5");
	assert_int_equal(b->egress_bps, 10000000);	/* the annotation's, lower */
	assert_string_equal(b->egress_from, "Pod shop/p1");
	assert_int_equal(b->ingress_bps, 1000000);	/* the TrafficLimit's */
	assert_string_equal(b->ingress_from, "TrafficLimit shop/api");
	b = bw_of(&model, "fd00:200::5");
	assert_int_equal(b->egress_bps, 10000000);
	b = bw_of(&model, "10.200.1.6");
	assert_int_equal(b->egress_bps, 20000000);
	b = bw_of(&model, "10.200.1.2");
	assert_int_equal(b->egress_bps, 500000);
	assert_int_equal(b->ingress_bps, 0);
	for (size_t i = 0; i < model.n_bw; i++)
		assert_true(strcmp(model.bw[i].egress_from, "TrafficLimit ops/api"));
	sl_model_free(&model);
	sl_config_free(&cfg);
}

static void test_bandwidth_annotation_errors(void **state)
{
	struct sl_config cfg;
	struct sl_err err;

	(void)state;
	if (load_yaml("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p1\n"
		      "  annotations: {kubernetes.io/ingress-bandwidth: \"10 M\"}\n"
		      "status: {podIP: 10.200.1.5}\n", &cfg, &err) == 0)
		fail_msg("a bad quantity loaded");
	assert_contains(err.msg, "test.yaml:5:50: metadata.annotations."
			"kubernetes.io/ingress-bandwidth: \"10 M\"");
	sl_config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bucket_burst_then_rate),
		cmocka_unit_test(test_bucket_caps_and_resets),
		cmocka_unit_test(test_byte_bucket),
		cmocka_unit_test(test_bandwidth_sources),
		cmocka_unit_test(test_bandwidth_annotation_errors),
		cmocka_unit_test(test_limit_applies_to_every_frontend),
		cmocka_unit_test(test_limit_errors),
		cmocka_unit_test(test_limit_sources),
		cmocka_unit_test(test_two_limits_on_one_service),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
