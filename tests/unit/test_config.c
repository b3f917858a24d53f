// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Parsing and validation of configuration files. */
#include "helpers.h"

static const char *service_yaml =
	"apiVersion: v1\n"
	"kind: Service\n"
	"metadata:\n"
	"  name: web\n"
	"  namespace: shop\n"
	"  labels: {app: web}\n"
	"  uid: 1234\n"
	"spec:\n"
	"  type: ClusterIP\n"
	"  clusterIP: 10.96.0.10\n"
	"  clusterIPs: [10.96.0.10, fd00:96::10]\n"
	"  ipFamilies: [IPv4, IPv6]\n"
	"  ipFamilyPolicy: PreferDualStack\n"
	"  selector: {app: web}\n"
	"  sessionAffinity: None\n"
	"  ports:\n"
	"  - name: http\n"
	"    port: 80\n"
	"    targetPort: http-alt\n"
	"  - name: dns\n"
	"    port: 53\n"
	"    protocol: UDP\n"
	"    targetPort: 5353\n"
	"status:\n"
	"  loadBalancer: {}\n";

static void test_service_decoded(void **state)
{
	struct sl_config cfg;
	struct sl_err err;

	(void)state;
	assert_int_equal(load_yaml(service_yaml, &cfg, &err), 0);
	assert_int_equal(cfg.n_services, 1);
	assert_string_equal(cfg.services[0].meta.namespace, "shop");
	assert_string_equal(cfg.services[0].meta.name, "web");
	assert_int_equal(cfg.services[0].n_cluster_ips, 2);
	assert_int_equal(cfg.services[0].cluster_ips[0].family, SL_AF_INET);
	assert_int_equal(cfg.services[0].cluster_ips[1].family, SL_AF_INET6);
	assert_int_equal(cfg.services[0].n_ports, 2);
	assert_int_equal(cfg.services[0].ports[1].port, 53);
	assert_int_equal(cfg.services[0].ports[1].proto, SL_PROTO_UDP);
	assert_int_equal(cfg.warnings.n, 0);
	sl_config_free(&cfg);
}

/* Each case: YAML, then text the error must contain. */
static const char *const bad_cases[][2] = {
	{ "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  portz: []\n",
	  "test.yaml:5:3: spec.portz: unknown field \"portz\"" },
	{ "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  ports:\n"
	  "  - port: 70000\n", "test.yaml:6:11: spec.ports[0].port: 70000 is out of range" },
	{ "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  ports:\n"
	  "  - port: \"80\"\n", "spec.ports[0].port: expected an integer" },
	{ "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  clusterIP: 10.0.0.300\n",
	  "test.yaml:5:14: spec.clusterIP: \"10.0.0.300\" is not an IPv4 or IPv6 address" },
	{ "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  ports:\n"
	  "  - {port: 80, protocol: ICMP}\n", "\"ICMP\" is not one of TCP, UDP, SCTP" },
	{ "apiVersion: v1\nkind: Service\nmetadata: {namespace: x}\nspec: {}\n",
	  "missing field metadata.name" },
	{ "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  ports:\n"
	  "  - {port: 80}\n  - {port: 81}\n", "must name every port" },
	{ "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  ports:\n"
	  "  - {name: x, port: 80}\n  - {name: x, port: 81}\n", "port name \"x\" is used twice" },
	{ "apiVersion: v1\nkind: Service\nmetadata: {name: a, name: b}\n",
	  "metadata.name: field given twice" },
	{ "apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n  bad: [\n",
	  "test.yaml:6:1: YAML syntax error" },
	{ "kind: Service\nmetadata: {name: a}\n", "missing field apiVersion" },
	{ "apiVersion: v1\nkind: Service\nmetadata: {name: Web}\n", "lower case" },
	{ "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n"
	  "  clusterIP: 10.0.0.1\n  clusterIPs: [10.0.0.2]\n", "clusterIP must equal clusterIPs[0]" },
	{ "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n"
	  "  clusterIPs: [10.0.0.1, 10.0.0.2]\n", "different families" },
	{ "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: s}\n"
	  "endpoints: []\n", "missing field addressType" },
	{ "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: s}\n"
	  "addressType: IPv4\nendpoints:\n- addresses: [\"fd00::1\"]\n",
	  "endpoints[0].addresses[0]: address family differs from addressType IPv4" },
	{ "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: s}\n"
	  "addressType: IPv4\nendpoints:\n- addresses: [10.0.0.1]\n  conditions: {ready: yes}\n",
	  "endpoints[0].conditions.ready: expected true or false" },
	{ "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: s}\n"
	  "addressType: IPv4\nendpoints:\n- conditions: {ready: true}\n",
	  "missing field addresses" },
	{ "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: e}\n"
	  "spec:\n  addresses: [10.1.1.1]\n", "at least one host is required" },
	{ "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: e}\n"
	  "spec:\n  hosts: [a.example]\n  resolution: STATIC\n  ports:\n"
	  "  - {number: 80, name: http, protocol: SPDY}\n", "\"SPDY\" is not one of" },
	{ "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: e}\n"
	  "spec:\n  hosts: [a.example]\n  resolution: STATIC\n  ports:\n"
	  "  - {number: 80, name: http}\n  endpoints:\n  - address: db.example\n",
	  "\"db.example\" is not an IP address" },
	{ "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: e}\n"
	  "spec:\n  hosts: [a.example]\n  resolution: STATIC\n  ports:\n"
	  "  - {number: 80, name: http}\n  endpoints:\n  - address: 10.0.0.1\n"
	  "    ports: {htp: 8080}\n", "no port named \"htp\" in spec.ports" },
	{ "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: e}\n"
	  "spec:\n  hosts: [a.example]\n  resolution: STATIC\n  endpoints:\n"
	  "  - address: 10.0.0.1\n    weight: -1\n", "endpoints[0].weight: expected an integer" },
	{ "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\n"
	  "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n",
	  "test.yaml:5: Service default/a is defined twice (also at test.yaml:1)" },
	{ "apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n"
	  "  annotations: {sluice.dev/redirect: \"no\"}\n",
	  "metadata.annotations.sluice.dev/redirect: \"no\" must be \"true\" or \"false\"" },
	{ "apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n"
	  "  annotations: {sluice.dev/redirekt: \"false\"}\n",
	  "test.yaml:5:17: metadata.annotations.sluice.dev/redirekt: unknown Sluice annotation" },
	{ "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
	  "metadata: {name: s, annotations: {sluice.dev/redirect: \"false\"}}\n"
	  "addressType: IPv4\n", "applies to the Service, not its EndpointSlices" },
};

static void test_bad_input_names_file_line_field(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		struct sl_config cfg;
		struct sl_err err;
		int ret = load_yaml(bad_cases[i][0], &cfg, &err);

		if (ret == 0) {
			sl_config_free(&cfg);
			fail_msg("case %zu accepted, expected \"%s\"", i, bad_cases[i][1]);
		}
		assert_contains(err.msg, bad_cases[i][1]);
		sl_config_free(&cfg);
	}
}

static void test_not_implemented_fields_are_warned(void **state)
{
	struct sl_config cfg;
	struct sl_err err;
	const char *yaml =
		"apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n"
		"  type: NodePort\n"
		"  sessionAffinity: ClientIP\n"
		"  internalTrafficPolicy: Local\n"
		"  clusterIP: 10.0.0.1\n"
		"  ports: [{port: 80, protocol: SCTP}]\n"
		"---\n"
		"apiVersion: networking.istio.io/v1\nkind: DestinationRule\n"
		"metadata: {name: dr}\nspec: {host: a}\n"
		"---\n"
		"apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: e}\n"
		"spec:\n  hosts: [x.example]\n  resolution: DNS\n  addresses: [10.9.0.0/16]\n";

	(void)state;
	assert_int_equal(load_yaml(yaml, &cfg, &err), 0);
	assert_true(warnings_contain(&cfg, "test.yaml:5:9: spec.type: type NodePort"));
	assert_true(warnings_contain(&cfg, "spec.sessionAffinity: sessionAffinity ClientIP"));
	assert_true(warnings_contain(&cfg, "spec.internalTrafficPolicy"));
	assert_true(warnings_contain(&cfg, "protocol SCTP is not implemented"));
	assert_true(warnings_contain(&cfg, "DestinationRule is not implemented"));
	assert_true(warnings_contain(&cfg, "resolution DNS is not implemented"));
	assert_true(warnings_contain(&cfg, "CIDR address 10.9.0.0/16"));
	assert_false(cfg.entries[0].balanced);
	sl_config_free(&cfg);
}

static void test_redirect_annotation(void **state)
{
	struct sl_config cfg;
	struct sl_model m;
	struct sl_err err;
	const char *yaml =
		"apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n"
		"  annotations: {sluice.dev/redirect: \"false\", team: payments}\n"
		"spec: {clusterIP: 10.0.0.1, ports: [{port: 80}]}\n"
		"---\n"
		"apiVersion: v1\nkind: Service\nmetadata:\n  name: b\n"
		"  annotations: {sluice.dev/redirect: \"true\"}\n"
		"spec: {clusterIP: 10.0.0.2, ports: [{port: 80}]}\n";

	(void)state;
	assert_int_equal(load_yaml(yaml, &cfg, &err), 0);
	assert_true(cfg.services[0].meta.no_redirect);
	assert_false(cfg.services[1].meta.no_redirect);
	assert_int_equal(sl_model_build(&cfg, &m, &err), 0);
	assert_int_equal(m.fe[0].flags, SL_SVC_F_NO_REDIRECT);
	assert_int_equal(m.fe[1].flags, 0);
	sl_model_free(&m);
	sl_config_free(&cfg);
}

static void test_other_kinds_and_lists(void **state)
{
	struct sl_config cfg;
	struct sl_err err;
	const char *yaml =
		"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {x: 1}\n"
		"---\n"
		"apiVersion: v1\nkind: List\nitems:\n"
		"- apiVersion: v1\n  kind: Service\n  metadata: {name: a}\n"
		"  spec: {clusterIP: None}\n"
		"- apiVersion: v1\n  kind: Service\n  metadata: {name: b}\n"
		"  spec: {clusterIP: 10.0.0.1}\n"
		"---\n";

	(void)state;
	assert_int_equal(load_yaml(yaml, &cfg, &err), 0);
	assert_int_equal(cfg.n_services, 2);
	assert_int_equal(cfg.warnings.n, 0);
	assert_string_equal(cfg.services[1].meta.namespace, "default");
	sl_config_free(&cfg);
}

static void test_slice_conditions(void **state)
{
	struct sl_config cfg;
	struct sl_err err;
	const char *yaml =
		"apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
		"metadata:\n  name: s\n  labels: {kubernetes.io/service-name: web}\n"
		"addressType: IPv6\n"
		"ports: [{name: http, port: 8080}]\n"
		"endpoints:\n"
		"- addresses: [\"fd00::1\"]\n"
		"- addresses: [\"fd00::2\"]\n  conditions: {ready: false}\n"
		"- addresses: [\"fd00::3\"]\n"
		"  conditions: {ready: false, serving: true, terminating: true}\n"
		"  zone: z1\n  nodeName: n1\n  targetRef: {kind: Pod, name: p}\n";

	(void)state;
	assert_int_equal(load_yaml(yaml, &cfg, &err), 0);
	assert_int_equal(cfg.n_slices, 1);
	const struct sl_endpoint_slice *s = &cfg.slices[0];

	assert_string_equal(s->service_name, "web");
	assert_int_equal(s->family, SL_AF_INET6);
	assert_int_equal(s->n_endpoints, 3);
	assert_true(s->endpoints[0].ready && s->endpoints[0].serving);
	assert_false(s->endpoints[0].terminating);
	assert_false(s->endpoints[1].ready || s->endpoints[1].serving);
	assert_true(s->endpoints[2].serving && s->endpoints[2].terminating);
	assert_string_equal(s->endpoints[2].zone, "z1");
	sl_config_free(&cfg);
}

static void test_service_entry_decoded(void **state)
{
	struct sl_config cfg;
	struct sl_err err;
	const char *yaml =
		"apiVersion: networking.istio.io/v1beta1\nkind: ServiceEntry\n"
		"metadata: {name: db, namespace: data}\n"
		"spec:\n"
		"  hosts: [db.internal]\n"
		"  addresses: [10.50.0.1, 10.50.0.2/32]\n"
		"  location: MESH_INTERNAL\n"
		"  resolution: STATIC\n"
		"  ports:\n"
		"  - {number: 5432, name: pg, protocol: tcp, targetPort: 6432}\n"
		"  endpoints:\n"
		"  - {address: 10.1.0.1, weight: 3, locality: us/east/a, labels: {v: \"1\"}}\n"
		"  - {address: 10.1.0.2, ports: {pg: 7000}}\n";

	(void)state;
	assert_int_equal(load_yaml(yaml, &cfg, &err), 0);
	assert_int_equal(cfg.n_entries, 1);
	const struct sl_service_entry *se = &cfg.entries[0];

	assert_true(se->balanced);
	assert_int_equal(se->n_addresses, 2);
	assert_int_equal(se->ports[0].target_port, 6432);
	assert_int_equal(se->ports[0].proto, SL_PROTO_TCP);
	assert_int_equal(se->endpoints[0].weight, 3);
	assert_string_equal(se->endpoints[0].locality, "us/east/a");
	assert_int_equal(se->endpoints[1].ports[0].number, 7000);
	sl_config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_service_decoded),
		cmocka_unit_test(test_bad_input_names_file_line_field),
		cmocka_unit_test(test_not_implemented_fields_are_warned),
		cmocka_unit_test(test_redirect_annotation),
		cmocka_unit_test(test_other_kinds_and_lists),
		cmocka_unit_test(test_slice_conditions),
		cmocka_unit_test(test_service_entry_decoded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
