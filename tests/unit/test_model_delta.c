// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* An apply by parts (sl_model_delta, sl_model_patch) against a whole
 * build of the same configuration: every frontend, member, weight,
 * priority and locality must come out the same, or the delta must say
 * that only a whole build is exact. */
#include <stdio.h>

#include "helpers.h"
#include "locality.h"

/* Services, each with its own options; %s: the endpoints of "a". */
static const char *const base_services =
	"apiVersion: v1\nkind: Service\nmetadata: {name: a, namespace: default}\n"
	"spec: {clusterIP: 10.96.0.1, ports: [{name: http, port: 80}, "
	"{name: admin, port: 81}]}\n---\n"
	"apiVersion: v1\nkind: Service\nmetadata: {name: b, namespace: default}\n"
	"spec: {clusterIP: 10.96.0.2, sessionAffinity: ClientIP, ports: [{port: 80}]}\n---\n"
	"apiVersion: v1\nkind: Service\nmetadata: {name: c, namespace: default}\n"
	"spec: {clusterIP: 10.96.0.3, ports: [{port: 80}]}\n---\n"
	"apiVersion: v1\nkind: Service\nmetadata: {name: d, namespace: default}\n"
	"spec: {clusterIP: 10.96.0.4, ports: [{port: 80}]}\n---\n"
	"apiVersion: v1\nkind: Service\nmetadata: {name: e, namespace: default}\n"
	"spec: {clusterIP: 10.96.0.5, ports: [{port: 80}]}\n---\n"
	"apiVersion: v1\nkind: Service\nmetadata: {name: f, namespace: default}\n"
	"spec: {clusterIP: 10.96.0.6, ports: [{port: 80}]}\n---\n";

/* What reaches across services: a rule with pools, outlier detection and
 * locality failover for c, a limit on d, a route from e to f. */
static const char *const base_rules =
	"apiVersion: networking.istio.io/v1\nkind: DestinationRule\n"
	"metadata: {name: c, namespace: default}\n"
	"spec:\n  host: c\n  trafficPolicy:\n"
	"    connectionPool: {tcp: {maxConnections: 10}}\n"
	"    outlierDetection: {consecutive5xxErrors: 3}\n"
	"    loadBalancer:\n      localityLbSetting:\n"
	"        failover: [{from: r1, to: r2}]\n---\n"
	"apiVersion: networking.istio.io/v1\nkind: DestinationRule\n"
	"metadata: {name: b, namespace: default}\n"
	"spec:\n  host: b.default.svc.cluster.local\n  trafficPolicy:\n"
	"    loadBalancer: {consistentHash: {useSourceIp: true}}\n---\n"
	"apiVersion: sluice.dev/v1alpha1\nkind: TrafficLimit\n"
	"metadata: {name: d, namespace: default}\n"
	"spec: {services: [{name: d}], connectionsPerSecond: 100}\n---\n"
	"apiVersion: networking.istio.io/v1\nkind: VirtualService\n"
	"metadata: {name: e, namespace: default}\n"
	"spec:\n  hosts: [e]\n  tcp:\n  - route: [{destination: {host: f}}]\n---\n";

/* One EndpointSlice: endpoints as "ADDRESS ZONE READY" lines. */
static void slice(char *buf, size_t len, const char *name, const char *svc,
		  const char *const *eps, size_t n)
{
	size_t off = strlen(buf);

	off += (size_t)snprintf(buf + off, len - off,
		"apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
		"metadata: {name: %s, namespace: default, labels: "
		"{kubernetes.io/service-name: %s}}\n"
		"addressType: IPv4\nports: [{name: http, port: 8080}, {name: admin, port: 9090},"
		" {port: 8080}]\nendpoints:\n", name, svc);
	for (size_t i = 0; i < n; i++) {
		char ip[64], zone[64], ready[16];

		sscanf(eps[i], "%63s %63s %15s", ip, zone, ready);
		off += (size_t)snprintf(buf + off, len - off,
			"- {addresses: [%s], zone: %s, conditions: {ready: %s, serving: true, "
			"terminating: %s}}\n", ip, zone, ready,
			strcmp(ready, "true") ? "true" : "false");
	}
	snprintf(buf + off, len - off, "---\n");
}

struct scenario {
	const char *const *a1, *const *a2, *const *b, *const *c, *const *d, *const *f;
	size_t n_a1, n_a2, n_b, n_c, n_d, n_f;
};

static void slices(char *buf, size_t len, const struct scenario *s)
{
	slice(buf, len, "a-1", "a", s->a1, s->n_a1);
	slice(buf, len, "a-2", "a", s->a2, s->n_a2);
	slice(buf, len, "b-1", "b", s->b, s->n_b);
	slice(buf, len, "c-1", "c", s->c, s->n_c);
	slice(buf, len, "d-1", "d", s->d, s->n_d);
	slice(buf, len, "f-1", "f", s->f, s->n_f);
}

static void load(const char *text, struct sl_config *cfg)
{
	struct sl_err err;

	if (load_yaml(text, cfg, &err) < 0)
		fail_msg("config: %s", err.msg);
}

/* The part of `now` an apply of `svc` alone is given: that Service, its
 * slices, and every rule (kube_delta.c assembles the same). */
static void part_of(const struct sl_config *now, const char *svc, struct sl_config *part)
{
	memset(part, 0, sizeof(*part));
	part->drules = now->drules;
	part->n_drules = now->n_drules;
	part->vservices = now->vservices;
	part->n_vservices = now->n_vservices;
	part->entries = now->entries;
	part->n_entries = now->n_entries;
	part->services = calloc(now->n_services, sizeof(*part->services));
	part->slices = calloc(now->n_slices, sizeof(*part->slices));
	for (size_t i = 0; i < now->n_services; i++)
		if (!strcmp(now->services[i].meta.name, svc))
			part->services[part->n_services++] = now->services[i];
	for (size_t i = 0; i < now->n_slices; i++)
		if (!strcmp(now->slices[i].service_name, svc))
			part->slices[part->n_slices++] = now->slices[i];
}

/* prev built from `before`; svc changed to `after`: the delta's result
 * (1: patched into prev and compared with a whole build, 0: refused). */
static int delta_then_compare(const char *before, const char *after, const char *svc,
			      const struct sl_locality *node)
{
	struct sl_config b, a, part;
	struct sl_model prev, whole, d;
	struct sl_err err;
	char where[256];
	int ret;

	load(before, &b);
	load(after, &a);
	if (sl_model_build_at(&b, node, &prev, &err) < 0 ||
	    sl_model_build_at(&a, node, &whole, &err) < 0)
		fail_msg("model: %s", err.msg);
	part_of(&a, svc, &part);
	ret = sl_model_delta(&prev, &part, node, &d);
	if (ret == 1) {
		sl_model_patch(&prev, &d);
		sl_model_free(&d);
		if (!sl_model_same(&prev, &whole, where, sizeof(where)))
			fail_msg("%s changed by parts differs at %s", svc, where);
	}
	free(part.services);
	free(part.slices);
	sl_model_free(&prev);
	sl_model_free(&whole);
	sl_config_free(&b);
	sl_config_free(&a);
	return ret;
}

static const char *const a1[] = { "10.1.0.1 z1 true", "10.1.0.2 z2 true" };
static const char *const a2[] = { "10.1.0.3 z1 true", "10.1.0.1 z1 false" };
static const char *const b1[] = { "10.2.0.1 z1 true", "10.2.0.2 z1 true", "10.2.0.3 z1 true" };
static const char *const c1[] = { "10.3.0.1 z1 true", "10.3.0.2 z9 true", "10.3.0.3 z1 true" };
static const char *const d1[] = { "10.4.0.1 z1 true" };
static const char *const f1[] = { "10.6.0.1 z1 true", "10.6.0.2 z1 true" };

static const struct scenario start = { a1, a2, b1, c1, d1, f1, 2, 2, 3, 3, 1, 2 };

static void text_of(char *buf, size_t len, const struct scenario *s)
{
	snprintf(buf, len, "%s%s", base_services, base_rules);
	slices(buf, len, s);
}

/* Each change of one service's endpoints, alone, applied by parts. */
static void check_change(const struct scenario *after, const char *svc, int expect)
{
	static char before_text[16384], after_text[16384];
	struct sl_locality node;

	assert_null(sl_locality_parse("r1/z1", &node));
	text_of(before_text, sizeof(before_text), &start);
	text_of(after_text, sizeof(after_text), after);
	assert_int_equal(delta_then_compare(before_text, after_text, svc, &node), expect);
	assert_int_equal(delta_then_compare(before_text, after_text, svc, NULL), expect);
}

static void test_endpoint_replaced_in_one_of_two_slices(void **state)
{
	static const char *const a1x[] = { "10.1.0.9 z1 true", "10.1.0.2 z2 true" };
	struct scenario s = start;

	(void)state;
	s.a1 = a1x;
	check_change(&s, "a", 1);
}

static void test_duplicate_endpoint_becomes_ready(void **state)
{
	static const char *const a2x[] = { "10.1.0.3 z1 true", "10.1.0.1 z1 true" };
	static const char *const a1x[] = { "10.1.0.2 z2 true" };
	struct scenario s = start;

	(void)state;
	s.a2 = a2x;
	check_change(&s, "a", 1);
	s.a1 = a1x;		/* now only the other slice lists it */
	s.n_a1 = 1;
	check_change(&s, "a", 1);
}

static void test_none_ready_then_terminating_serve(void **state)
{
	static const char *const a1x[] = { "10.1.0.1 z1 false", "10.1.0.2 z2 false" };
	static const char *const a2x[] = { "10.1.0.3 z1 false" };
	struct scenario s = start;

	(void)state;
	s.a1 = a1x;
	s.a2 = a2x;
	s.n_a2 = 1;
	check_change(&s, "a", 1);
	s.n_a1 = 0;
	s.n_a2 = 0;		/* no endpoint at all */
	check_change(&s, "a", 1);
}

static void test_consistent_hash_and_affinity(void **state)
{
	static const char *const bx[] = { "10.2.0.1 z1 true", "10.2.0.4 z1 true" };
	struct scenario s = start;

	(void)state;
	s.b = bx;
	s.n_b = 2;
	check_change(&s, "b", 1);
}

static void test_rule_with_pools_outliers_and_locality(void **state)
{
	static const char *const cx[] = { "10.3.0.2 z9 true", "10.3.0.4 z1 true",
					  "10.3.0.5 z1 false" };
	struct scenario s = start;

	(void)state;
	s.c = cx;
	check_change(&s, "c", 1);
}

static void test_limit_kept_from_the_model_in_force(void **state)
{
	static const char *const dx[] = { "10.4.0.2 z1 true", "10.4.0.3 z1 true" };
	struct scenario s = start;

	(void)state;
	s.d = dx;
	s.n_d = 2;
	check_change(&s, "d", 1);
}

static void test_routed_service_needs_a_whole_build(void **state)
{
	static const char *const fx[] = { "10.6.0.1 z1 true" };
	struct scenario s = start;

	(void)state;
	s.f = fx;
	s.n_f = 1;
	/* f's endpoints are also e's members through the route. */
	check_change(&s, "f", 0);
}

static void test_new_service_needs_a_whole_build(void **state)
{
	static char before[16384], after[16384];

	(void)state;
	text_of(before, sizeof(before), &start);
	text_of(after, sizeof(after), &start);
	strcat(after, "apiVersion: v1\nkind: Service\nmetadata: {name: g, namespace: default}\n"
		      "spec: {clusterIP: 10.96.0.7, ports: [{port: 80}]}\n---\n");
	slice(after, sizeof(after), "g-1", "g", d1, 1);
	assert_int_equal(delta_then_compare(before, after, "g", NULL), 0);
}

/* Patches leave replaced members in the arena until there are more of
 * them than live ones; the compacted model is still the same. */
static void test_many_patches_compact(void **state)
{
	static char before[16384], after[16384];
	static char eps[200][32];
	const char *list[1];
	struct sl_config cfg;
	struct sl_model prev, whole, d;
	struct sl_err err;
	char where[256];
	struct scenario s = start;
	size_t replaced = 0, compactions = 0;

	(void)state;
	text_of(before, sizeof(before), &start);
	load(before, &cfg);
	if (sl_model_build_at(&cfg, NULL, &prev, &err) < 0)
		fail_msg("%s", err.msg);
	sl_config_free(&cfg);
	for (int i = 0; i < 200; i++) {
		struct sl_config now, part;

		snprintf(eps[i], sizeof(eps[i]), "10.4.%d.%d z1 true", i / 200, i % 200 + 1);
		list[0] = eps[i];
		s.d = list;
		s.n_d = 1;
		text_of(after, sizeof(after), &s);
		load(after, &now);
		part_of(&now, "d", &part);
		assert_int_equal(sl_model_delta(&prev, &part, NULL, &d), 1);
		sl_model_patch(&prev, &d);
		/* Replaced members are bounded by an eighth of the live ones. */
		assert_true(prev.n_replaced <= prev.n_members / 8 + 64);
		if (prev.n_replaced < replaced)
			compactions++;
		replaced = prev.n_replaced;
		sl_model_free(&d);
		free(part.services);
		free(part.slices);
		if (i == 199) {
			if (sl_model_build_at(&now, NULL, &whole, &err) < 0)
				fail_msg("%s", err.msg);
			if (!sl_model_same(&prev, &whole, where, sizeof(where)))
				fail_msg("after 200 patches: %s", where);
			sl_model_free(&whole);
		}
		sl_config_free(&now);
	}
	assert_true(compactions > 0);
	sl_model_free(&prev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_endpoint_replaced_in_one_of_two_slices),
		cmocka_unit_test(test_duplicate_endpoint_becomes_ready),
		cmocka_unit_test(test_none_ready_then_terminating_serve),
		cmocka_unit_test(test_consistent_hash_and_affinity),
		cmocka_unit_test(test_rule_with_pools_outliers_and_locality),
		cmocka_unit_test(test_limit_kept_from_the_model_in_force),
		cmocka_unit_test(test_routed_service_needs_a_whole_build),
		cmocka_unit_test(test_new_service_needs_a_whole_build),
		cmocka_unit_test(test_many_patches_compact),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
