// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Istio's labels of workload addresses: workload names from pod names,
 * app, version, canonical service and principal from labels and service
 * accounts; and the one service an endpoint belongs to, from the state
 * the reconciler leaves on real maps.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>

#include "ep_service.h"
#include "helpers.h"
#include "maps_fixture.h"
#include "reconcile.h"
#include "wltable.h"

static void name_of(const char *pod, const char *label_key, const char *label_value,
		    const char *want)
{
	struct sl_label l = { label_key, label_value };
	char buf[128];

	sl_wl_pod_workload(pod, &l, label_key ? 1 : 0, buf, sizeof(buf));
	assert_string_equal(buf, want);
}

static void test_pod_workload(void **state)
{
	(void)state;
	/* Deployment: DEPLOY-HASH-xxxxx, the hash also a label. */
	name_of("web-7d4b9c8f6-x2x9q", NULL, NULL, "web");
	name_of("my-api-v2-5b6c7d8f9-bq4zk", "pod-template-hash", "5b6c7d8f9", "my-api-v2");
	/* An old-style numeric hash is known by its label only. */
	name_of("web-3923456780-x2x9q", "pod-template-hash", "3923456780", "web");
	/* ReplicaSet or DaemonSet alone: NAME-xxxxx. */
	name_of("node-exporter-k8x2p", NULL, NULL, "node-exporter");
	/* CronJob: CRON-MINUTES-xxxxx. */
	name_of("backup-28123456-zv7wk", NULL, NULL, "backup");
	/* StatefulSet: STS-N, with its label. */
	name_of("db-2", "statefulset.kubernetes.io/pod-name", "db-2", "db");
	name_of("db-2", NULL, NULL, "db-2");
	/* Words are not generated suffixes (they have vowels). */
	name_of("client", NULL, NULL, "client");
	name_of("my-redis", NULL, NULL, "my-redis");
	name_of("web-canary", NULL, NULL, "web-canary");
	name_of("-x2x9q", NULL, NULL, "-x2x9q");
}

static const char *const config =
	"apiVersion: v1\nkind: Pod\n"
	"metadata: {name: web-7d4b9c8f6-x2x9q, namespace: shop,\n"
	"  labels: {app: web, version: v1, pod-template-hash: 7d4b9c8f6}}\n"
	"spec: {serviceAccountName: web-sa}\n"
	"status: {podIPs: [{ip: 10.1.0.1}, {ip: \"fd00::1\"}]}\n"
	"---\napiVersion: v1\nkind: Pod\n"
	"metadata: {name: web-7d4b9c8f6-bq4zk, namespace: shop,\n"
	"  labels: {app.kubernetes.io/name: webby, app.kubernetes.io/version: \"2\",\n"
	"    service.istio.io/canonical-name: storefront}}\n"
	"status: {podIPs: [{ip: 10.1.0.2}]}\n"
	"---\napiVersion: v1\nkind: Pod\n"
	"metadata: {name: bare, namespace: shop}\n"
	"status: {podIPs: [{ip: 10.1.0.3}]}\n"
	"---\napiVersion: v1\nkind: Pod\n"
	"metadata: {name: dup, namespace: other}\n"
	"status: {podIPs: [{ip: 10.1.0.3}]}\n"
	"---\napiVersion: networking.istio.io/v1\nkind: WorkloadEntry\n"
	"metadata: {name: vm1, namespace: legacy}\n"
	"spec: {address: 10.9.0.1, serviceAccount: vm, labels: {app: db, version: v3}}\n"
	"---\napiVersion: v1\nkind: Service\n"
	"metadata: {name: web, namespace: shop}\n"
	"spec: {clusterIP: 10.96.0.1, ports: [{port: 80, targetPort: 8080}]}\n"
	"---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
	"metadata: {name: web-1, namespace: shop, labels: {kubernetes.io/service-name: web}}\n"
	"addressType: IPv4\nports: [{port: 8080}]\n"
	"endpoints:\n- addresses: [10.1.0.1]\n- addresses: [10.1.0.2]\n"
	"---\napiVersion: v1\nkind: Service\n"
	"metadata: {name: web-alt, namespace: shop}\n"
	"spec: {clusterIP: 10.96.0.2, ports: [{port: 80, targetPort: 8080}]}\n"
	"---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
	"metadata: {name: web-alt-1, namespace: shop,\n"
	"  labels: {kubernetes.io/service-name: web-alt}}\n"
	"addressType: IPv4\nports: [{port: 8080}]\n"
	"endpoints:\n- addresses: [10.1.0.2]\n"
	"---\napiVersion: networking.istio.io/v1\nkind: ServiceEntry\n"
	"metadata: {name: ext, namespace: legacy}\n"
	"spec:\n  hosts: [db.example.com]\n  addresses: [10.97.0.1]\n"
	"  resolution: STATIC\n  ports: [{number: 5432, name: pg, protocol: TCP}]\n"
	"  endpoints: [{address: 10.9.0.2, labels: {app: pg}}]\n"
	/* Two ports of one service to one endpoint port. */
	"---\napiVersion: v1\nkind: Service\n"
	"metadata: {name: two, namespace: shop}\n"
	"spec: {clusterIP: 10.96.0.3, ports: [{name: a, port: 80, targetPort: 8080},\n"
	"  {name: b, port: 81, targetPort: 8080}]}\n"
	"---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
	"metadata: {name: two-1, namespace: shop, labels: {kubernetes.io/service-name: two}}\n"
	"addressType: IPv4\nports: [{name: a, port: 8080}, {name: b, port: 8080}]\n"
	"endpoints:\n- addresses: [10.1.0.5]\n"
	/* UDP: not the endpoint of a TCP connection. */
	"---\napiVersion: v1\nkind: Service\n"
	"metadata: {name: dns, namespace: shop}\n"
	"spec: {clusterIP: 10.96.0.4, ports: [{port: 53, protocol: UDP}]}\n"
	"---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
	"metadata: {name: dns-1, namespace: shop, labels: {kubernetes.io/service-name: dns}}\n"
	"addressType: IPv4\nports: [{port: 53, protocol: UDP}]\n"
	"endpoints:\n- addresses: [10.1.0.6]\n";

static void build_from(struct sl_wltable *t, const char *text)
{
	struct sl_config cfg;
	struct sl_err err;

	if (load_yaml(text, &cfg, &err) < 0)
		fail_msg("config: %s", err.msg);
	assert_int_equal(sl_wltable_build(t, &cfg, &err), 0);
	/* The table owns its strings: the configuration may go. */
	sl_config_free(&cfg);
}

static void build(struct sl_wltable *t)
{
	build_from(t, config);
}

static const struct sl_wl_labels *at(const struct sl_wltable *t, const char *addr)
{
	struct sl_ip ip;

	assert_int_equal(sl_ip_parse(addr, &ip), 0);
	return sl_wltable_addr(t, &ip);
}

static void test_labels(void **state)
{
	const struct sl_wl_labels *l;
	struct sl_wltable t;

	(void)state;
	build(&t);
	l = at(&t, "10.1.0.1");
	assert_non_null(l);
	assert_string_equal(l->workload, "web");
	assert_string_equal(l->namespace, "shop");
	assert_string_equal(l->principal, "spiffe://cluster.local/ns/shop/sa/web-sa");
	assert_string_equal(l->app, "web");
	assert_string_equal(l->version, "v1");
	assert_string_equal(l->canonical_service, "web");
	assert_string_equal(l->canonical_revision, "v1");
	assert_string_equal(l->cluster, "Kubernetes");
	assert_ptr_equal(at(&t, "fd00::1"), at(&t, "fd00::1"));
	assert_string_equal(at(&t, "fd00::1")->workload, "web");
	l = at(&t, "10.1.0.2");
	assert_string_equal(l->workload, "web");
	assert_string_equal(l->principal, "spiffe://cluster.local/ns/shop/sa/default");
	assert_string_equal(l->app, "webby");
	assert_string_equal(l->version, "2");
	assert_string_equal(l->canonical_service, "storefront");
	assert_string_equal(l->canonical_revision, "2");
	/* Nothing in the labels: unknown app, the workload's name, latest. */
	l = at(&t, "10.1.0.3");
	assert_string_equal(l->workload, "bare");
	assert_string_equal(l->namespace, "shop");	/* the first document wins */
	assert_string_equal(l->app, "unknown");
	assert_string_equal(l->canonical_service, "bare");
	assert_string_equal(l->canonical_revision, "latest");
	l = at(&t, "10.9.0.1");
	assert_string_equal(l->workload, "vm1");
	assert_string_equal(l->principal, "spiffe://cluster.local/ns/legacy/sa/vm");
	assert_string_equal(l->canonical_service, "db");
	assert_string_equal(l->canonical_revision, "v3");
	l = at(&t, "10.9.0.2");
	assert_string_equal(l->workload, "ext");
	assert_string_equal(l->app, "pg");
	assert_null(at(&t, "10.1.0.9"));
	assert_string_equal(sl_wl_unknown()->workload, "unknown");
	assert_string_equal(sl_wl_unknown()->principal, "unknown");
	sl_wltable_free(&t);
}

/* A Deployment's pods are one workload: one set of labels for all their
 * addresses; a pod of another version is a set of its own that shares
 * the strings. */
static void test_label_sets_shared(void **state)
{
	static const char *pods =
		"apiVersion: v1\nkind: Pod\n"
		"metadata: {name: web-7d4b9c8f6d-x2k4q, namespace: shop,\n"
		"  labels: {app: web, version: v1, pod-template-hash: 7d4b9c8f6d}}\n"
		"status: {podIP: 10.2.0.1}\n"
		"---\napiVersion: v1\nkind: Pod\n"
		"metadata: {name: web-7d4b9c8f6d-b8m5z, namespace: shop,\n"
		"  labels: {app: web, version: v1, pod-template-hash: 7d4b9c8f6d}}\n"
		"status: {podIP: 10.2.0.2}\n"
		"---\napiVersion: v1\nkind: Pod\n"
		"metadata: {name: web-5f6c7b8d9f-k2l4m, namespace: shop,\n"
		"  labels: {app: web, version: v2, pod-template-hash: 5f6c7b8d9f}}\n"
		"status: {podIP: 10.2.0.3}\n";
	const struct sl_wl_labels *a, *b, *c;
	struct sl_wltable t;

	(void)state;
	build_from(&t, pods);
	a = at(&t, "10.2.0.1");
	b = at(&t, "10.2.0.2");
	c = at(&t, "10.2.0.3");
	assert_non_null(a);
	assert_ptr_equal(a, b);
	assert_string_equal(a->workload, "web");
	assert_string_equal(a->version, "v1");
	assert_ptr_not_equal(a, c);
	assert_string_equal(c->version, "v2");
	assert_ptr_equal(a->workload, c->workload);
	assert_ptr_equal(a->namespace, c->namespace);
	assert_ptr_equal(a->principal, c->principal);
	sl_wltable_free(&t);
}

static const struct sl_applied_fe *ep(const struct sl_ep_services *x, const char *addr,
				      uint16_t port)
{
	struct sl_ip ip;

	assert_int_equal(sl_ip_parse(addr, &ip), 0);
	return sl_ep_service(x, &ip, htons(port));
}

static void test_endpoint_service(void **state)
{
	const struct sl_applied_fe *fe;
	struct sl_reconcile_report rep;
	struct sl_ep_services x;
	struct sl_model model;
	struct sl_maps maps;
	struct sl_state st;
	struct sl_err err;

	(void)state;
	fixture_maps_create(&maps, 16, 16, 65536);
	assert_int_equal(sl_state_load(&st, &maps, &err), 0);
	build_model(config, &model);
	if (sl_reconcile(&st, &model, &rep, &err) < 0)
		fail_msg("reconcile: %s", err.msg);
	sl_model_free(&model);
	assert_int_equal(sl_ep_services_build(&x, &st), 0);
	fe = ep(&x, "10.1.0.1", 8080);
	assert_non_null(fe);
	assert_string_equal(fe->name, "web");
	assert_string_equal(fe->namespace, "shop");
	assert_int_equal(fe->kind, SL_KIND_SERVICE);
	/* In web and web-alt: which one is unknown. */
	assert_null(ep(&x, "10.1.0.2", 8080));
	assert_null(ep(&x, "10.1.0.1", 9090));
	assert_null(ep(&x, "10.1.0.9", 8080));
	/* The ServiceEntry's frontend: its host is the applied model's. */
	fe = ep(&x, "10.9.0.2", 5432);
	assert_non_null(fe);
	assert_string_equal(fe->name, "ext");
	assert_string_equal(fe->namespace, "legacy");
	assert_int_not_equal(fe->kind, SL_KIND_SERVICE);
	/* Both frontends of one service: that service. */
	fe = ep(&x, "10.1.0.5", 8080);
	assert_non_null(fe);
	assert_string_equal(fe->name, "two");
	assert_null(ep(&x, "10.1.0.6", 53));
	sl_ep_services_free(&x);
	/* Not built (out of memory): no service, no crash. */
	assert_null(ep(&x, "10.1.0.1", 8080));
	sl_state_free(&st);
	sl_maps_close(&maps);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pod_workload),
		cmocka_unit_test(test_labels),
		cmocka_unit_test(test_label_sets_shared),
		cmocka_unit_test(test_endpoint_service),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
