// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* networking.istio.io DestinationRule and VirtualService decoding. */
#include "helpers.h"

static const char *dr_two_subsets =
	"apiVersion: networking.istio.io/v1\n"		/* 1 */
	"kind: DestinationRule\n"
	"metadata: {name: web, namespace: shop}\n"
	"spec:\n"
	"  host: web.shop.svc.cluster.local\n"		/* 5 */
	"  subsets:\n"
	"  - name: v1\n"
	"    labels: {version: v1}\n"
	"  - name: v2\n"				/* 9 */
	"    labels: {version: v2, track: canary}\n";

static const char *vs_split =
	"apiVersion: networking.istio.io/v1beta1\n"	/* 1 */
	"kind: VirtualService\n"
	"metadata: {name: web, namespace: shop}\n"
	"spec:\n"
	"  hosts: [web]\n"				/* 5 */
	"  tcp:\n"
	"  - route:\n"
	"    - destination: {host: web, subset: v1}\n"
	"      weight: 90\n"
	"    - destination: {host: web, subset: v2, port: {number: 8080}}\n"	/* 10 */
	"      weight: 10\n";

static void load_ok(const char *text, struct sl_config *cfg)
{
	struct sl_err err;

	if (load_yaml(text, cfg, &err) < 0) {
		sl_config_free(cfg);
		fail_msg("unexpected error: %s", err.msg);
	}
}

static void test_dr_two_subsets(void **state)
{
	const struct sl_destination_rule *dr;
	struct sl_config cfg;

	(void)state;
	load_ok(dr_two_subsets, &cfg);
	assert_int_equal(cfg.n_drules, 1);
	assert_int_equal(cfg.warnings.n, 0);
	dr = &cfg.drules[0];
	assert_string_equal(dr->meta.namespace, "shop");
	assert_string_equal(dr->host, "web.shop.svc.cluster.local");
	assert_int_equal(dr->n_subsets, 2);
	assert_string_equal(dr->subsets[0].name, "v1");
	assert_int_equal(dr->subsets[0].n_labels, 1);
	assert_string_equal(dr->subsets[0].labels[0].value, "v1");
	assert_int_equal(dr->subsets[0].loc.line, 7);
	assert_string_equal(dr->subsets[1].name, "v2");
	assert_int_equal(dr->subsets[1].n_labels, 2);
	assert_string_equal(dr->subsets[1].labels[1].key, "track");
	assert_int_equal(dr->subsets[1].loc.line, 9);
	sl_config_free(&cfg);
}

/* A subset without labels selects every endpoint; v1alpha3 is accepted. */
static void test_dr_subset_without_labels(void **state)
{
	struct sl_config cfg;

	(void)state;
	load_ok("apiVersion: networking.istio.io/v1alpha3\nkind: DestinationRule\n"
		"metadata: {name: web}\nspec: {host: web, subsets: [{name: all}]}\n", &cfg);
	assert_int_equal(cfg.n_drules, 1);
	assert_string_equal(cfg.drules[0].meta.namespace, "default");
	assert_int_equal(cfg.drules[0].subsets[0].n_labels, 0);
	sl_config_free(&cfg);
}

static void test_vs_weighted_split(void **state)
{
	const struct sl_vs_tcp_route *r;
	struct sl_config cfg;

	(void)state;
	load_ok(vs_split, &cfg);
	assert_int_equal(cfg.n_vservices, 1);
	assert_int_equal(cfg.warnings.n, 0);
	assert_int_equal(cfg.vservices[0].n_hosts, 1);
	assert_string_equal(cfg.vservices[0].hosts[0], "web");
	assert_int_equal(cfg.vservices[0].n_tcp, 1);
	r = &cfg.vservices[0].tcp[0];
	assert_int_equal(r->loc.line, 7);
	assert_int_equal(r->n_match_ports, 0);
	assert_false(r->match_any);
	assert_int_equal(r->n_route, 2);
	assert_string_equal(r->route[0].host, "web");
	assert_string_equal(r->route[0].subset, "v1");
	assert_int_equal(r->route[0].weight, 90);
	assert_true(r->route[0].weight_given);
	assert_int_equal(r->route[0].port, 0);
	assert_int_equal(r->route[0].loc.line, 8);
	assert_string_equal(r->route[1].subset, "v2");
	assert_int_equal(r->route[1].weight, 10);
	assert_int_equal(r->route[1].port, 8080);
	assert_int_equal(r->route[1].loc.line, 10);
	sl_config_free(&cfg);
}

static void test_vs_match_ports(void **state)
{
	const struct sl_virtual_service *vs;
	struct sl_config cfg;

	(void)state;
	load_ok("apiVersion: networking.istio.io/v1\nkind: VirtualService\n"
		"metadata: {name: db}\nspec:\n  hosts: [db, db.example]\n  tcp:\n"
		"  - match: [{port: 5432}, {port: 5433}, {port: 5432}]\n"
		"    route: [{destination: {host: db}}]\n"
		"  - match: [{port: 6432}, {}]\n"
		"    route: [{destination: {host: pgbouncer}}]\n", &cfg);
	vs = &cfg.vservices[0];
	assert_int_equal(vs->n_hosts, 2);
	assert_int_equal(vs->n_tcp, 2);
	assert_int_equal(vs->tcp[0].n_match_ports, 2);	/* a repeat counts once */
	assert_int_equal(vs->tcp[0].match_ports[0], 5432);
	assert_int_equal(vs->tcp[0].match_ports[1], 5433);
	assert_false(vs->tcp[0].match_any);
	assert_int_equal(vs->tcp[1].n_match_ports, 1);
	assert_true(vs->tcp[1].match_any);
	assert_null(vs->tcp[1].route[0].subset);
	sl_config_free(&cfg);
}

/* Istio: a lone destination takes all traffic, whatever its weight. */
static void test_vs_single_destination_is_100(void **state)
{
	struct sl_config cfg;

	(void)state;
	load_ok("apiVersion: networking.istio.io/v1\nkind: VirtualService\n"
		"metadata: {name: db}\nspec:\n  hosts: [db]\n"
		"  tcp: [{route: [{destination: {host: db}}]},\n"
		"        {route: [{destination: {host: db}, weight: 0}]}]\n", &cfg);
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(cfg.vservices[0].tcp[i].n_route, 1);
		assert_int_equal(cfg.vservices[0].tcp[i].route[0].weight, 100);
	}
	assert_false(cfg.vservices[0].tcp[0].route[0].weight_given);
	assert_true(cfg.vservices[0].tcp[1].route[0].weight_given);
	sl_config_free(&cfg);
}

static void test_vs_weights_must_sum_to_100(void **state)
{
	(void)state;
	expect_error("apiVersion: networking.istio.io/v1\nkind: VirtualService\n"
		     "metadata: {name: web}\nspec:\n  hosts: [web]\n  tcp:\n"
		     "  - route:\n"
		     "    - destination: {host: web, subset: v1}\n"
		     "      weight: 80\n"
		     "    - destination: {host: web, subset: v2}\n"
		     "      weight: 10\n",
		     "test.yaml:8:5: spec.tcp[0].route: weights sum to 90, not 100");
	expect_error("apiVersion: networking.istio.io/v1\nkind: VirtualService\n"
		     "metadata: {name: web}\nspec:\n  hosts: [web]\n  tcp:\n"
		     "  - route:\n"
		     "    - destination: {host: web, subset: v1}\n"
		     "      weight: 100\n"
		     "    - destination: {host: web, subset: v2}\n",
		     "test.yaml:10:7: spec.tcp[0].route[1]: missing field weight");
	expect_error("apiVersion: networking.istio.io/v1\nkind: VirtualService\n"
		     "metadata: {name: web}\nspec:\n  hosts: [web]\n"
		     "  tcp: [{route: [{destination: {host: web}, weight: 101}]}]\n",
		     "spec.tcp[0].route[0].weight: 101 is out of range 0-100");
}

static void test_vs_errors(void **state)
{
	static const char *const bad[][2] = {
		{ "spec: {hosts: [web], tcp: [{route: [{destination: {subset: v1}}]}]}\n",
		  "test.yaml:4:51: spec.tcp[0].route[0].destination: missing field host" },
		{ "spec: {hosts: [web], tcp: [{route: [{weight: 100}]}]}\n",
		  "spec.tcp[0].route[0]: missing field destination" },
		{ "spec: {hosts: [web], tcp: [{match: [{port: 80}]}]}\n",
		  "spec.tcp[0].route: at least one destination is required" },
		{ "spec: {hosts: [web], tcp: [{match: [{port: 0}], route: []}]}\n",
		  "spec.tcp[0].match[0].port: 0 is out of range 1-65535" },
		{ "spec: {hosts: [web], tcp: [{route: [{destination: {host: web, "
		  "port: {}}}]}]}\n", "destination.port: missing field number" },
		{ "spec: {tcp: [{route: [{destination: {host: web}}]}]}\n",
		  "spec.hosts: at least one host is required" },
		{ "spec: {hosts: [\"\"]}\n", "spec.hosts[0]: a host must not be empty" },
		{ "spec: {hosts: [web], tcp: [{route: [{destination: {host: web}, "
		  "wieght: 1}]}]}\n", "spec.tcp[0].route[0].wieght: unknown field" },
		{ "spec: {hosts: [web], retries: 3}\n", "spec.retries: unknown field" },
	};
	char text[1024];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "apiVersion: networking.istio.io/v1\n"
			 "kind: VirtualService\nmetadata: {name: web}\n%s", bad[i][0]);
		expect_error(text, bad[i][1]);
	}
}

static void test_dr_errors(void **state)
{
	static const char *const bad[][2] = {
		{ "spec:\n  host: web\n  subsets:\n  - name: v1\n  - name: v2\n"
		  "  - name: v1\n", "test.yaml:9:11: spec.subsets[2].name: subset \"v1\" "
		  "is defined twice (also at line 7)" },
		{ "spec: {host: web, subsets: [{name: V1}]}\n",
		  "spec.subsets[0].name: \"V1\" must consist of lower case" },
		{ "spec: {host: web, subsets: [{labels: {a: b}}]}\n",
		  "spec.subsets[0]: missing field name" },
		{ "spec: {subsets: [{name: v1}]}\n", "missing field spec.host" },
		{ "spec: {host: \"\"}\n", "spec.host: a host must not be empty" },
		{ "spec: {host: web, subset: [{name: v1}]}\n",
		  "test.yaml:4:19: spec.subset: unknown field" },
	};
	char text[1024];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "apiVersion: networking.istio.io/v1\n"
			 "kind: DestinationRule\nmetadata: {name: web}\n%s", bad[i][0]);
		expect_error(text, bad[i][1]);
	}
}

static void test_duplicate_names(void **state)
{
	struct sl_config cfg;
	char text[2048];

	(void)state;
	snprintf(text, sizeof(text), "%s---\n%s", dr_two_subsets, dr_two_subsets);
	expect_error(text, "DestinationRule shop/web is defined twice");
	snprintf(text, sizeof(text), "%s---\n%s", vs_split, vs_split);
	expect_error(text, "VirtualService shop/web is defined twice");
	/* One name for a rule and a service of routes is fine. */
	snprintf(text, sizeof(text), "%s---\n%s", dr_two_subsets, vs_split);
	load_ok(text, &cfg);
	sl_config_free(&cfg);
}

static void test_not_implemented_warned(void **state)
{
	struct sl_config cfg;

	(void)state;
	load_ok("apiVersion: networking.istio.io/v1\nkind: DestinationRule\n"
		"metadata: {name: web}\nspec:\n  host: web\n"
		"  trafficPolicy: {outlierDetection: {baseEjectionTime: 10s}, loadBalancer: {simple: LEAST_REQUEST, warmupDurationSecs: 10s}, connectionPool: {tcp: {connectTimeout: 5s}}}\n"
		"  subsets:\n  - name: v1\n    trafficPolicy: {connectionPool: {}}\n"
		"  exportTo: [\".\"]\n  workloadSelector: {matchLabels: {app: a}}\n"
		"---\n"
		"apiVersion: networking.istio.io/v1\nkind: VirtualService\n"
		"metadata: {name: web}\nspec:\n  hosts: [web]\n"
		"  gateways: [mesh, ingress]\n"
		"  http: [{route: [{destination: {host: web}}]}]\n"
		"  tls: [{match: [{sniHosts: [web]}], route: [{destination: {host: web}}]}]\n"
		"  tcp:\n  - match: [{port: 80, sourceLabels: {app: a}, sourceNamespace: b,\n"
		"              destinationSubnets: [10.0.0.0/8], gateways: [egress]}]\n"
		"    route: [{destination: {host: web}}]\n", &cfg);
	assert_true(warnings_contain(&cfg, "spec.trafficPolicy.loadBalancer."
				     "warmupDurationSecs: not implemented by Sluice yet"));
	assert_int_equal(cfg.drules[0].policy.connect_ms, 5000);
	assert_int_equal(cfg.drules[0].policy.eject_after, 5);	/* Istio's default */
	assert_int_equal(cfg.drules[0].policy.eject_ms, 10000);
	assert_int_equal(cfg.drules[0].policy.lb_flags, SL_SVC_F_LB_LEAST);
	assert_true(warnings_contain(&cfg, "spec.subsets[0].trafficPolicy: subset "
				     "trafficPolicy is not implemented by Sluice yet"));
	assert_true(warnings_contain(&cfg, "spec.exportTo[0]: exportTo \".\""));
	assert_true(warnings_contain(&cfg, "spec.workloadSelector: workloadSelector "
				     "is not implemented"));
	assert_true(warnings_contain(&cfg, "test.yaml:18:13: spec.gateways: gateways "
				     "are not implemented by Sluice"));
	assert_true(warnings_contain(&cfg, "test.yaml:19:9: spec.http: HTTP/TLS routes "
				     "need L7"));
	assert_true(warnings_contain(&cfg, "test.yaml:20:8: spec.tls: HTTP/TLS routes"));
	assert_true(warnings_contain(&cfg, "spec.tcp[0].match[0].sourceLabels: "
				     "sourceLabels is not implemented by Sluice yet; the "
				     "match is by port only"));
	assert_true(warnings_contain(&cfg, "match[0].sourceNamespace: sourceNamespace"));
	assert_true(warnings_contain(&cfg, "match[0].destinationSubnets: "));
	assert_true(warnings_contain(&cfg, "match[0].gateways: gateways are not"));
	assert_int_equal(cfg.warnings.n, 11);
	/* The tcp route is kept; its match is by port alone. */
	assert_int_equal(cfg.vservices[0].tcp[0].n_match_ports, 1);
	assert_false(cfg.vservices[0].tcp[0].match_any);
	sl_config_free(&cfg);
}

/* What Sluice does anyway is not worth a warning. */
static void test_mesh_and_export_everywhere_are_quiet(void **state)
{
	struct sl_config cfg;

	(void)state;
	load_ok("apiVersion: networking.istio.io/v1\nkind: VirtualService\n"
		"metadata: {name: web}\nspec:\n  hosts: [web]\n  gateways: [mesh]\n"
		"  exportTo: [\"*\"]\n  http: []\n"
		"  tcp: [{match: [{gateways: [mesh]}], route: [{destination: {host: web}}]}]\n"
		"---\n"
		"apiVersion: networking.istio.io/v1\nkind: DestinationRule\n"
		"metadata: {name: web}\nspec: {host: web, exportTo: [\".\", \"*\"]}\n", &cfg);
	assert_int_equal(cfg.warnings.n, 0);
	assert_true(cfg.vservices[0].tcp[0].match_any);
	sl_config_free(&cfg);
}

/* The model: a Kubernetes Service whose slice endpoints are Pods with
 * version labels, a DestinationRule by short name, a 75/25 route. */
static void test_model_route_weights(void **state)
{
	static const char *yaml =
		"apiVersion: v1\nkind: Service\nmetadata: {name: reviews, namespace: shop}\n"
		"spec: {clusterIP: 10.96.0.40, ports: [{port: 80}]}\n---\n"
		"apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
		"metadata: {name: reviews-1, namespace: shop, labels: {kubernetes.io/service-name: reviews}}\n"
		"addressType: IPv4\nports: [{port: 8080}]\nendpoints:\n"
		"- {addresses: [10.1.0.1], targetRef: {kind: Pod, name: r1}}\n"
		"- {addresses: [10.1.0.2], targetRef: {kind: Pod, name: r2}}\n"
		"- {addresses: [10.1.0.3], targetRef: {kind: Pod, name: r3}}\n---\n"
		"apiVersion: v1\nkind: Pod\nmetadata: {name: r1, namespace: shop, labels: {version: v1}}\n"
		"status: {podIP: 10.1.0.1}\n---\n"
		"apiVersion: v1\nkind: Pod\nmetadata: {name: r2, namespace: shop, labels: {version: v1}}\n"
		"status: {podIP: 10.1.0.2}\n---\n"
		"apiVersion: v1\nkind: Pod\nmetadata: {name: r3, namespace: shop, labels: {version: v2}}\n"
		"status: {podIP: 10.1.0.3}\n---\n"
		"apiVersion: networking.istio.io/v1\nkind: DestinationRule\n"
		"metadata: {name: reviews, namespace: shop}\n"
		"spec: {host: reviews, subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]}\n---\n"
		"apiVersion: networking.istio.io/v1\nkind: VirtualService\n"
		"metadata: {name: reviews, namespace: shop}\n"
		"spec:\n  hosts: [reviews.shop.svc.cluster.local]\n  tcp:\n  - route:\n"
		"    - {destination: {host: reviews, subset: v1}, weight: 75}\n"
		"    - {destination: {host: reviews.shop, subset: v2}, weight: 25}\n";
	struct sl_model m;
	uint32_t w[3];

	(void)state;
	build_model(yaml, &m);
	assert_int_equal(m.n_fe, 1);
	assert_int_equal(m.fe[0].n_members, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_true(m.fe[0].members[i].usable);
		assert_null(m.fe[0].members[i].labels);	/* not kept past the build */
		w[i] = m.fe[0].members[i].weight;
	}
	/* Sorted by address: r1, r2 share 75, r3 has 25. */
	assert_int_equal(w[0], w[1]);
	assert_int_equal((uint64_t)w[2] * 3, (uint64_t)w[0] * 2);
	sl_model_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_model_route_weights),
		cmocka_unit_test(test_dr_two_subsets),
		cmocka_unit_test(test_dr_subset_without_labels),
		cmocka_unit_test(test_vs_weighted_split),
		cmocka_unit_test(test_vs_match_ports),
		cmocka_unit_test(test_vs_single_destination_is_100),
		cmocka_unit_test(test_vs_weights_must_sum_to_100),
		cmocka_unit_test(test_vs_errors),
		cmocka_unit_test(test_dr_errors),
		cmocka_unit_test(test_duplicate_names),
		cmocka_unit_test(test_not_implemented_warned),
		cmocka_unit_test(test_mesh_and_export_everywhere_are_quiet),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
