// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Joining Services with EndpointSlices, and ServiceEntries, into frontends. */
#include <arpa/inet.h>

#include "helpers.h"

static const struct sl_frontend *find_fe(const struct sl_model *m, const char *vip,
					 uint16_t port, uint8_t proto)
{
	struct sl_ip ip;

	assert_int_equal(sl_ip_parse(vip, &ip), 0);
	for (size_t i = 0; i < m->n_fe; i++) {
		const struct sl_frontend *fe = &m->fe[i];

		if (fe->key.family == ip.family && !memcmp(&fe->key.addr, &ip.addr, sizeof(ip.addr)) &&
		    ntohs(fe->key.port) == port && fe->key.proto == proto)
			return fe;
	}
	fail_msg("no frontend %s:%u/%u", vip, port, proto);
	return NULL;
}

static size_t n_usable(const struct sl_frontend *fe)
{
	size_t n = 0;

	for (size_t i = 0; i < fe->n_members; i++)
		n += fe->members[i].usable;
	return n;
}

static const char *dual_stack =
	"apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\n"
	"spec:\n  clusterIPs: [10.96.0.10, \"fd00:96::10\"]\n"
	"  ports:\n  - {name: http, port: 80}\n  - {name: dns, port: 53, protocol: UDP}\n"
	"---\n"
	"apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
	"metadata: {name: web-v4, namespace: shop, labels: {kubernetes.io/service-name: web}}\n"
	"addressType: IPv4\n"
	"ports: [{name: http, port: 8080}, {name: dns, port: 5353, protocol: UDP},\n"
	"        {name: metrics, port: 9090}]\n"
	"endpoints:\n"
	"- addresses: [10.1.0.1]\n"
	"- addresses: [10.1.0.2]\n  conditions: {ready: false}\n"
	"---\n"
	"apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
	"metadata: {name: web-v4b, namespace: shop, labels: {kubernetes.io/service-name: web}}\n"
	"addressType: IPv4\n"
	"ports: [{name: http, port: 8080}]\n"
	"endpoints:\n- addresses: [10.1.0.3]\n- addresses: [10.1.0.1]\n"
	"---\n"
	"apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
	"metadata: {name: web-v6, namespace: shop, labels: {kubernetes.io/service-name: web}}\n"
	"addressType: IPv6\n"
	"ports: [{name: http, port: 8080}]\n"
	"endpoints:\n- addresses: [\"fd00:1::1\"]\n"
	"---\n"
	"apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
	"metadata: {name: other, namespace: elsewhere, labels: {kubernetes.io/service-name: web}}\n"
	"addressType: IPv4\nports: [{name: http, port: 1}]\n"
	"endpoints:\n- addresses: [10.9.9.9]\n";

static void test_slices_join_by_name_family_and_port(void **state)
{
	const struct sl_frontend *fe;
	struct sl_model m;

	(void)state;
	build_model(dual_stack, &m);
	assert_int_equal(m.n_fe, 4);	/* {v4, v6} x {http, dns} */

	fe = find_fe(&m, "10.96.0.10", 80, SL_PROTO_TCP);
	assert_int_equal(fe->n_members, 3);	/* 10.1.0.1 listed twice, merged */
	assert_int_equal(n_usable(fe), 2);
	assert_int_equal(fe->members[0].port, 8080);
	assert_string_equal(fe->namespace, "shop");
	assert_string_equal(fe->port_name, "http");

	fe = find_fe(&m, "10.96.0.10", 53, SL_PROTO_UDP);
	assert_int_equal(fe->n_members, 2);
	assert_int_equal(fe->members[0].port, 5353);

	fe = find_fe(&m, "fd00:96::10", 80, SL_PROTO_TCP);
	assert_int_equal(fe->n_members, 1);
	assert_int_equal(fe->members[0].ip.family, SL_AF_INET6);

	/* The IPv6 slice has no dns port: the frontend exists, empty. */
	fe = find_fe(&m, "fd00:96::10", 53, SL_PROTO_UDP);
	assert_int_equal(fe->n_members, 0);
	sl_model_free(&m);
}

static void test_terminating_fallback(void **state)
{
	const char *yaml =
		"apiVersion: v1\nkind: Service\nmetadata: {name: w}\n"
		"spec: {clusterIP: 10.96.0.1, ports: [{port: 80}]}\n"
		"---\n"
		"apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
		"metadata: {name: w1, labels: {kubernetes.io/service-name: w}}\n"
		"addressType: IPv4\nports: [{port: 8080}]\n"
		"endpoints:\n"
		"- addresses: [10.1.0.1]\n  conditions: {ready: false, serving: true, terminating: true}\n"
		"- addresses: [10.1.0.2]\n  conditions: {ready: false, serving: false, terminating: true}\n"
		"- addresses: [10.1.0.3]\n  conditions: {ready: false}\n";
	const struct sl_frontend *fe;
	struct sl_model m;

	(void)state;
	build_model(yaml, &m);
	fe = find_fe(&m, "10.96.0.1", 80, SL_PROTO_TCP);
	assert_int_equal(fe->n_members, 3);
	assert_int_equal(n_usable(fe), 1);
	assert_true(fe->members[0].usable);
	sl_model_free(&m);
}

static void test_service_entry_ports_and_weights(void **state)
{
	const char *yaml =
		"apiVersion: networking.istio.io/v1\nkind: ServiceEntry\n"
		"metadata: {name: db}\n"
		"spec:\n  hosts: [db]\n  addresses: [10.50.0.1, \"fd00:50::1\"]\n"
		"  resolution: STATIC\n"
		"  ports:\n  - {number: 5432, name: pg, targetPort: 6432}\n"
		"  - {number: 53, name: dns, protocol: UDP}\n"
		"  endpoints:\n"
		"  - {address: 10.1.0.1, weight: 3}\n"
		"  - {address: 10.1.0.2, ports: {pg: 7000}}\n"
		"  - {address: \"fd00:1::5\", weight: 2}\n";
	const struct sl_frontend *fe;
	struct sl_model m;

	(void)state;
	build_model(yaml, &m);
	assert_int_equal(m.n_fe, 4);
	fe = find_fe(&m, "10.50.0.1", 5432, SL_PROTO_TCP);
	assert_int_equal(fe->n_members, 2);
	assert_int_equal(fe->members[0].port, 6432);
	assert_int_equal(fe->members[0].weight, 3);
	assert_int_equal(fe->members[1].port, 7000);
	assert_int_equal(fe->members[1].weight, 1);
	assert_int_equal(fe->kind, SL_KIND_SERVICE_ENTRY);
	fe = find_fe(&m, "10.50.0.1", 53, SL_PROTO_UDP);
	assert_int_equal(fe->members[0].port, 53);
	fe = find_fe(&m, "fd00:50::1", 5432, SL_PROTO_TCP);
	assert_int_equal(fe->n_members, 1);
	assert_int_equal(fe->members[0].weight, 2);
	sl_model_free(&m);
}

static void test_vip_conflict_rejected(void **state)
{
	const char *yaml =
		"apiVersion: v1\nkind: Service\nmetadata: {name: a}\n"
		"spec: {clusterIP: 10.96.0.1, ports: [{port: 80}]}\n"
		"---\n"
		"apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: b}\n"
		"spec: {hosts: [b], addresses: [10.96.0.1], resolution: STATIC,\n"
		"       ports: [{number: 80, name: http}]}\n";
	struct sl_config cfg;
	struct sl_model m;
	struct sl_err err;

	(void)state;
	assert_int_equal(load_yaml(yaml, &cfg, &err), 0);
	assert_int_equal(sl_model_build(&cfg, &m, &err), -1);
	assert_contains(err.msg, "claims 10.96.0.1:80/TCP, already served by");
	assert_contains(err.msg, "test.yaml:");
	sl_config_free(&cfg);
}

static void test_headless_and_external_name_not_balanced(void **state)
{
	const char *yaml =
		"apiVersion: v1\nkind: Service\nmetadata: {name: h}\n"
		"spec: {clusterIP: None, ports: [{port: 80}]}\n"
		"---\n"
		"apiVersion: v1\nkind: Service\nmetadata: {name: x}\n"
		"spec: {type: ExternalName, externalName: x.example}\n";
	struct sl_model m;

	(void)state;
	build_model(yaml, &m);
	assert_int_equal(m.n_fe, 0);
	sl_model_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slices_join_by_name_family_and_port),
		cmocka_unit_test(test_terminating_fallback),
		cmocka_unit_test(test_service_entry_ports_and_weights),
		cmocka_unit_test(test_vip_conflict_rejected),
		cmocka_unit_test(test_headless_and_external_name_not_balanced),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
