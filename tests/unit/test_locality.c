// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * DestinationRule localityLbSetting: decoding and Istio's validation, the
 * locality rules, and the model's priorities and weights seen from a node.
 */
#include <arpa/inet.h>
#include <stdio.h>

#include "helpers.h"
#include "locality.h"

static void load_ok(const char *text, struct sl_config *cfg)
{
	struct sl_err err;

	if (load_yaml(text, cfg, &err) < 0) {
		sl_config_free(cfg);
		fail_msg("unexpected error: %s", err.msg);
	}
}

static void load_fails(const char *text, const char *expected)
{
	struct sl_config cfg;
	struct sl_err err;

	if (load_yaml(text, &cfg, &err) == 0) {
		sl_config_free(&cfg);
		fail_msg("expected an error containing \"%s\"", expected);
	}
	assert_contains(err.msg, expected);
	sl_config_free(&cfg);
}

/* A DestinationRule whose localityLbSetting is `body` (indented for it),
 * the setting on line 7. */
static char *dr(const char *body)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf),
		 "apiVersion: networking.istio.io/v1\n"		/* 1 */
		 "kind: DestinationRule\n"
		 "metadata: {name: web, namespace: shop}\n"
		 "spec:\n"
		 "  host: web.shop.internal\n"			/* 5 */
		 "  trafficPolicy:\n"
		 "    loadBalancer:\n"
		 "      localityLbSetting:\n"			/* 8 */
		 "%s", body);
	return buf;
}

static void test_parse_node_locality(void **state)
{
	struct sl_locality l;
	char buf[SL_LOCALITY_LEN];

	(void)state;
	assert_null(sl_locality_parse("us-east/us-east-1a/rack-3", &l));
	assert_string_equal(l.region, "us-east");
	assert_string_equal(l.zone, "us-east-1a");
	assert_string_equal(l.subzone, "rack-3");
	assert_null(sl_locality_parse("us-east", &l));
	assert_string_equal(l.zone, "");
	sl_locality_format(&l, buf, sizeof(buf));
	assert_string_equal(buf, "us-east");
	assert_null(sl_locality_parse("r/z", &l));
	sl_locality_format(&l, buf, sizeof(buf));
	assert_string_equal(buf, "r/z");
	assert_non_null(sl_locality_parse("", &l));
	assert_non_null(sl_locality_parse("r//s", &l));
	assert_non_null(sl_locality_parse("/z", &l));
	assert_non_null(sl_locality_parse("r/z/", &l));
	assert_non_null(sl_locality_parse("r/z/s/x", &l));
	assert_non_null(sl_locality_parse("r/*", &l));
}

static void test_patterns(void **state)
{
	struct sl_locality l;

	(void)state;
	assert_null(sl_locality_check_pattern("*"));
	assert_null(sl_locality_check_pattern("r/*"));
	assert_null(sl_locality_check_pattern("r/z/*"));
	assert_null(sl_locality_check_pattern("r/z/s"));
	assert_non_null(sl_locality_check_pattern("r*"));
	assert_non_null(sl_locality_check_pattern("*/z"));
	assert_non_null(sl_locality_check_pattern("r/*/s"));
	assert_non_null(sl_locality_check_pattern("r/z/s/t"));
	assert_non_null(sl_locality_check_pattern("r//*"));

	assert_null(sl_locality_parse("r/z/s", &l));
	assert_true(sl_locality_match(&l, "*"));
	assert_true(sl_locality_match(&l, "r"));
	assert_true(sl_locality_match(&l, "r/*"));
	assert_true(sl_locality_match(&l, "r/z/*"));
	assert_true(sl_locality_match(&l, "r/z/s"));
	assert_false(sl_locality_match(&l, "r/z2/*"));
	assert_false(sl_locality_match(&l, "r2"));
	assert_false(sl_locality_match(&l, "r/z/s2"));
}

/* Istio's LbPriority; an EndpointSlice zone takes the node's region. */
static void test_priority(void **state)
{
	struct sl_locality node, ep;

	(void)state;
	assert_null(sl_locality_parse("r/z", &node));
	sl_locality_split("r/z", false, &ep);
	assert_int_equal(sl_locality_priority(&node, &ep), 0);
	sl_locality_split("r/z/s", false, &ep);
	assert_int_equal(sl_locality_priority(&node, &ep), 1);
	sl_locality_split("r/z2", false, &ep);
	assert_int_equal(sl_locality_priority(&node, &ep), 2);
	sl_locality_split("r2/z", false, &ep);
	assert_int_equal(sl_locality_priority(&node, &ep), 3);
	sl_locality_split("z", true, &ep);
	sl_locality_resolve(&ep, &node);
	assert_int_equal(sl_locality_priority(&node, &ep), 0);
	sl_locality_split("z2", true, &ep);
	sl_locality_resolve(&ep, &node);
	assert_int_equal(sl_locality_priority(&node, &ep), 2);
	sl_locality_split("", false, &ep);
	assert_int_equal(sl_locality_priority(&node, &ep), 3);
}

static void test_decode(void **state)
{
	const struct sl_destination_rule *d;
	struct sl_config cfg;

	(void)state;
	load_ok(dr("        enabled: true\n"
		   "        distribute:\n"
		   "        - from: us-east/zone-a/*\n"
		   "          to: {\"us-east/zone-a/*\": 80, \"us-east/zone-b/*\": 20}\n"
		   "        - {from: \"us-west/*\", to: {\"*\": 100}}\n"), &cfg);
	assert_int_equal(cfg.warnings.n, 0);
	d = &cfg.drules[0];
	assert_false(d->policy.locality_off);
	assert_int_equal(d->policy.locality_loc.line, 9);
	assert_int_equal(d->policy.n_distribute, 2);
	assert_string_equal(d->policy.distribute[0].from, "us-east/zone-a/*");
	assert_int_equal(d->policy.distribute[0].loc.line, 11);
	assert_int_equal(d->policy.distribute[0].n_to, 2);
	assert_string_equal(d->policy.distribute[0].to[1].locality, "us-east/zone-b/*");
	assert_int_equal(d->policy.distribute[0].to[1].percent, 20);
	assert_string_equal(d->policy.distribute[1].to[0].locality, "*");
	sl_config_free(&cfg);

	load_ok(dr("        enabled: false\n"
		   "        failover: [{from: us-east, to: eu-west}, {from: eu-west, to: us-east}]\n"
		   "        failoverPriority: [topology.istio.io/network]\n"), &cfg);
	d = &cfg.drules[0];
	assert_true(d->policy.locality_off);
	assert_int_equal(d->policy.n_failover, 2);
	assert_string_equal(d->policy.failover[1].to, "us-east");
	assert_true(warnings_contain(&cfg, "test.yaml:11:27: spec.trafficPolicy.loadBalancer."
				     "localityLbSetting.failoverPriority: label-based"));
	sl_config_free(&cfg);
}

/* Istio's validation, each error at its line and field. */
static void test_decode_errors(void **state)
{
	(void)state;
	load_fails(dr("        distribute: [{from: \"r/*\", to: {\"r/*\": 100}}]\n"
		      "        failover: [{from: r, to: r2}]\n"),
		   "test.yaml:10:19: spec.trafficPolicy.loadBalancer.localityLbSetting."
		   "failover: distribute and failover cannot both be given");
	load_fails(dr("        distribute:\n"
		      "        - from: r/z/*\n"
		      "          to: {\"r/z/*\": 70, \"r/z2/*\": 20}\n"),
		   "test.yaml:11:15: spec.trafficPolicy.loadBalancer.localityLbSetting."
		   "distribute[0].to: the percentages sum to 90; they must sum to 100");
	load_fails(dr("        distribute:\n"
		      "        - from: r/z/*\n"
		      "          to: {\"r/z/*\": 0, \"r/z2/*\": 100}\n"),
		   "test.yaml:11:25: spec.trafficPolicy.loadBalancer.localityLbSetting."
		   "distribute[0].to.r/z/*: 0 is out of range 1-100");
	load_fails(dr("        distribute:\n"
		      "        - from: \"r/*/s\"\n"
		      "          to: {\"r/*\": 100}\n"),
		   "test.yaml:10:17: spec.trafficPolicy.loadBalancer.localityLbSetting."
		   "distribute[0].from: \"r/*/s\": \"*\" may only stand alone as the last part");
	load_fails(dr("        distribute:\n"
		      "        - from: r\n"
		      "          to: {\"r//z\": 100}\n"),
		   "test.yaml:11:16: spec.trafficPolicy.loadBalancer.localityLbSetting."
		   "distribute[0].to: \"r//z\": a locality's parts may not be empty");
	load_fails(dr("        distribute: [{from: r, to: {\"r/z/s/t\": 100}}]\n"),
		   "at most three parts");
	load_fails(dr("        distribute: [{from: r, to: {r: 50, \"r\": 50}}]\n"),
		   "locality \"r\" given twice");
	load_fails(dr("        distribute: [{from: r}]\n"),
		   "test.yaml:9:22: spec.trafficPolicy.loadBalancer.localityLbSetting."
		   "distribute[0]: from and to are required");
	load_fails(dr("        failover: [{from: us-east/zone-a, to: eu-west}]\n"),
		   "test.yaml:9:27: spec.trafficPolicy.loadBalancer.localityLbSetting."
		   "failover[0].from: \"us-east/zone-a\": failover names a region");
	load_fails(dr("        failover: [{from: us-east, to: us-east}]\n"),
		   "test.yaml:9:20: spec.trafficPolicy.loadBalancer.localityLbSetting."
		   "failover[0]: from and to must be different regions");
	load_fails(dr("        failover: [{from: \"*\", to: us-east}]\n"),
		   "failover names a region");
	load_fails(dr("        enabled: maybe\n"), "localityLbSetting.enabled");
	load_fails(dr("        weights: {}\n"), "unknown field \"weights\"");
}

/* A ServiceEntry with endpoints in five localities (10.1.0.1-5). */
static const char *five =
	"apiVersion: networking.istio.io/v1\nkind: ServiceEntry\n"
	"metadata: {name: web, namespace: shop}\n"
	"spec:\n  hosts: [web.shop.internal]\n  addresses: [10.96.0.1]\n"
	"  resolution: STATIC\n  ports: [{number: 80, name: http, targetPort: 8080}]\n"
	"  endpoints:\n"
	"  - {address: 10.1.0.1, locality: us-east/zone-a/rack-1}\n"
	"  - {address: 10.1.0.2, locality: us-east/zone-a/rack-2}\n"
	"  - {address: 10.1.0.3, locality: us-east/zone-b}\n"
	"  - {address: 10.1.0.4, locality: eu-west/zone-a}\n"
	"  - {address: 10.1.0.5, locality: ap-south}\n"
	"---\n";

static void build_at(const char *text, const char *node, struct sl_model *m)
{
	struct sl_locality loc;
	struct sl_config cfg;
	struct sl_err err;

	if (node)
		assert_null(sl_locality_parse(node, &loc));
	load_ok(text, &cfg);
	if (sl_model_build_at(&cfg, node ? &loc : NULL, m, &err) < 0)
		fail_msg("unexpected model error: %s", err.msg);
	sl_config_free(&cfg);
}

/* Tiers of the members 10.1.0.1.. in order, as "0 1 2 ...". */
static void assert_tiers(const struct sl_model *m, const char *expected)
{
	char buf[128] = "";
	size_t off = 0;

	assert_int_equal(m->n_fe, 1);
	for (size_t i = 0; i < m->fe[0].n_members; i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%u", i ? " " : "",
					m->fe[0].members[i].tier);
	assert_string_equal(buf, expected);
}

static char *with_dr(const char *endpoints, const char *policy)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf), "%s"
		 "apiVersion: networking.istio.io/v1\nkind: DestinationRule\n"
		 "metadata: {name: web, namespace: shop}\n"
		 "spec:\n  host: web.shop.internal\n  trafficPolicy:\n%s", endpoints, policy);
	return buf;
}

#define OUTLIER "    outlierDetection: {consecutive5xxErrors: 3}\n"

static void test_model_priorities(void **state)
{
	struct sl_model m;

	(void)state;
	/* Subzone, subzone of another rack, zone, other regions. */
	build_at(with_dr(five, OUTLIER), "us-east/zone-a/rack-1", &m);
	assert_tiers(&m, "0 1 2 3 3");
	sl_model_free(&m);
	/* failover names eu-west for us-east: it comes before the rest. */
	build_at(with_dr(five, OUTLIER "    loadBalancer:\n      localityLbSetting:\n"
			 "        failover: [{from: eu-west, to: ap-south}, "
			 "{from: us-east, to: eu-west}]\n"), "us-east/zone-a/rack-1", &m);
	assert_tiers(&m, "0 1 2 3 4");
	sl_model_free(&m);
	/* Gaps closed: a node in zone-b, no subzone. Priorities 0 (zone-b),
	 * 2 (zone-a), 3 (others) become 0, 1, 2. */
	build_at(with_dr(five, OUTLIER), "us-east/zone-b", &m);
	assert_tiers(&m, "1 1 0 2 2");
	sl_model_free(&m);
	/* Nobody in the node's region: everyone is priority 0. */
	build_at(with_dr(five, OUTLIER), "sa-east", &m);
	assert_tiers(&m, "0 0 0 0 0");
	sl_model_free(&m);
}

/* Istio's rules for when there are no priorities at all. */
static void test_model_no_priorities(void **state)
{
	struct sl_model m;

	(void)state;
	/* No outlierDetection: nothing would ever fail over. */
	build_at(with_dr(five, "    loadBalancer:\n      localityLbSetting:\n"
			 "        failover: [{from: us-east, to: eu-west}]\n"),
		 "us-east/zone-a/rack-1", &m);
	assert_tiers(&m, "0 0 0 0 0");
	sl_model_free(&m);
	/* enabled: false. */
	build_at(with_dr(five, OUTLIER "    loadBalancer: {localityLbSetting: {enabled: false}}\n"),
		 "us-east/zone-a/rack-1", &m);
	assert_tiers(&m, "0 0 0 0 0");
	sl_model_free(&m);
	/* The node's locality unknown. */
	build_at(with_dr(five, OUTLIER), NULL, &m);
	assert_tiers(&m, "0 0 0 0 0");
	sl_model_free(&m);
	/* No DestinationRule. */
	build_at(five, "us-east/zone-a/rack-1", &m);
	assert_tiers(&m, "0 0 0 0 0");
	sl_model_free(&m);
}

/* An endpoint not ready takes no part in closing the gaps. */
static void test_model_unusable_skipped(void **state)
{
	const char *text =
		"apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\n"
		"spec: {clusterIP: 10.96.0.1, ports: [{port: 80}]}\n---\n"
		"apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
		"metadata: {name: w1, namespace: shop, labels: {kubernetes.io/service-name: web}}\n"
		"addressType: IPv4\nports: [{port: 8080}]\nendpoints:\n"
		"- {addresses: [10.1.0.1], zone: zone-a, conditions: {ready: false}}\n"
		"- {addresses: [10.1.0.2], zone: zone-b}\n"
		"- {addresses: [10.1.0.3], zone: zone-c}\n---\n"
		"apiVersion: networking.istio.io/v1\nkind: DestinationRule\n"
		"metadata: {name: web, namespace: shop}\n"
		"spec: {host: web, trafficPolicy: {outlierDetection: {}}}\n";
	struct sl_model m;

	(void)state;
	build_at(text, "us-east/zone-b", &m);
	assert_tiers(&m, "1 0 1");
	sl_model_free(&m);
	build_at(text, "us-east/zone-a", &m);
	/* zone-a's only endpoint is not ready: the others are preferred. */
	assert_tiers(&m, "0 0 0");
	sl_model_free(&m);
}

/* distribute: each locality's percentage over its endpoints' weights;
 * an endpoint of no listed locality gets nothing; no priorities. */
static void test_model_distribute(void **state)
{
	const char *ep =
		"apiVersion: networking.istio.io/v1\nkind: ServiceEntry\n"
		"metadata: {name: web, namespace: shop}\n"
		"spec:\n  hosts: [web.shop.internal]\n  addresses: [10.96.0.1]\n"
		"  resolution: STATIC\n  ports: [{number: 80, name: http, targetPort: 8080}]\n"
		"  endpoints:\n"
		"  - {address: 10.1.0.1, locality: us-east/zone-a, weight: 1}\n"
		"  - {address: 10.1.0.2, locality: us-east/zone-a, weight: 3}\n"
		"  - {address: 10.1.0.3, locality: us-east/zone-b}\n"
		"  - {address: 10.1.0.4, locality: eu-west/zone-a}\n"
		"---\n";
	const char *policy =
		OUTLIER
		"    loadBalancer:\n      localityLbSetting:\n        distribute:\n"
		"        - from: us-west/*\n          to: {\"us-west/*\": 100}\n"
		"        - from: us-east/zone-a/*\n"
		"          to: {\"us-east/zone-a/*\": 80, \"us-east/*\": 20}\n";
	const struct sl_model_member *mm;
	struct sl_model m;

	(void)state;
	build_at(with_dr(ep, policy), "us-east/zone-a", &m);
	mm = m.fe[0].members;
	assert_int_equal(mm[0].weight, 200000);	/* 80% x 1/4 */
	assert_int_equal(mm[1].weight, 600000);	/* 80% x 3/4 */
	assert_int_equal(mm[2].weight, 200000);	/* us-east, the rest of the region */
	assert_true(mm[0].usable && mm[1].usable && mm[2].usable);
	assert_false(mm[3].usable);		/* no `to` names eu-west */
	assert_tiers(&m, "0 0 0 0");
	sl_model_free(&m);
	/* A node no `from` matches: neither weights nor priorities. */
	build_at(with_dr(ep, policy), "eu-west/zone-a", &m);
	mm = m.fe[0].members;
	assert_int_equal(mm[1].weight, 3);
	assert_true(mm[3].usable);
	assert_tiers(&m, "0 0 0 0");
	sl_model_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_node_locality),
		cmocka_unit_test(test_patterns),
		cmocka_unit_test(test_priority),
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_decode_errors),
		cmocka_unit_test(test_model_priorities),
		cmocka_unit_test(test_model_no_priorities),
		cmocka_unit_test(test_model_unusable_skipped),
		cmocka_unit_test(test_model_distribute),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
