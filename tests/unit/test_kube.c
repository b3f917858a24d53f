// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#define _GNU_SOURCE
/* The Kubernetes source's pieces without a server: API objects decoded as
 * files are, the store of decoded objects, kubeconfig files. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "helpers.h"
#include "kobj.h"
#include "strtab.h"
#include "kstore.h"
#include "kubeconfig.h"

/* As the API server sends it: server-set fields, and one this build does
 * not know (a newer Kubernetes). A list item: no kind or apiVersion. */
static const char *service_json =
	"{\"metadata\":{\"name\":\"web\",\"namespace\":\"shop\",\"uid\":\"5e3c\","
	"\"resourceVersion\":\"48397\",\"creationTimestamp\":\"2024-05-02T09:14:37Z\","
	"\"labels\":{\"app\":\"web\"},\"managedFields\":[{\"manager\":\"kubectl\","
	"\"operation\":\"Update\",\"fieldsType\":\"FieldsV1\",\"fieldsV1\":{\"f:spec\":{}}}]},"
	"\"spec\":{\"type\":\"ClusterIP\",\"clusterIP\":\"10.96.0.10\","
	"\"clusterIPs\":[\"10.96.0.10\"],\"ipFamilies\":[\"IPv4\"],"
	"\"ipFamilyPolicy\":\"SingleStack\",\"internalTrafficPolicy\":\"Cluster\","
	"\"sessionAffinity\":\"None\",\"trafficDistribution\":\"PreferClose\","
	"\"someFieldOfKubernetes2030\":{\"x\":1},"
	"\"ports\":[{\"name\":\"http\",\"port\":80,\"protocol\":\"TCP\",\"targetPort\":8080}]},"
	"\"status\":{\"loadBalancer\":{}}}";

static int decode_with(const char *json, const char *api, const char *kind,
		       struct sl_strtab *texts, struct sl_config *cfg, struct sl_err *err)
{
	struct json_object *obj = json_tokener_parse(json);
	unsigned int per_node = 0;
	int ret;

	assert_non_null(obj);
	memset(cfg, 0, sizeof(*cfg));
	ret = sl_kobj_decode(obj, api, kind, "Service shop/web (resourceVersion 1)", &per_node,
			     texts, cfg, err);
	json_object_put(obj);
	return ret;
}

static int decode(const char *json, const char *api, const char *kind,
		  struct sl_config *cfg, struct sl_err *err)
{
	return decode_with(json, api, kind, NULL, cfg, err);
}

/* Label keys and values come from the shared table while it has room,
 * copied once it is full; the digest is the same either way. */
static void test_labels_shared(void **state)
{
	static const char *pod =
		"{\"metadata\":{\"name\":\"%s\",\"namespace\":\"shop\","
		"\"labels\":{\"app\":\"web\",\"pod-template-hash\":\"7d4b9c8f6d\"}},"
		"\"status\":{\"podIP\":\"10.1.0.1\"}}";
	struct sl_config a, b, c, plain;
	struct sl_strtab texts, tiny;
	struct sl_err err;
	char json[512];

	(void)state;
	sl_strtab_init(&texts, 0);
	sl_strtab_init(&tiny, 8);
	snprintf(json, sizeof(json), pod, "web-1");
	assert_int_equal(decode_with(json, "v1", "Pod", &texts, &a, &err), 0);
	snprintf(json, sizeof(json), pod, "web-2");
	assert_int_equal(decode_with(json, "v1", "Pod", &texts, &b, &err), 0);
	assert_int_equal(decode_with(json, "v1", "Pod", &tiny, &c, &err), 0);
	assert_int_equal(decode_with(json, "v1", "Pod", NULL, &plain, &err), 0);
	assert_int_equal(a.pods[0].meta.n_labels, 2);
	assert_ptr_equal(a.pods[0].meta.labels[0].key, b.pods[0].meta.labels[0].key);
	assert_ptr_equal(a.pods[0].meta.labels[1].value, b.pods[0].meta.labels[1].value);
	assert_string_equal(b.pods[0].meta.labels[1].key, "pod-template-hash");
	assert_string_equal(b.pods[0].meta.labels[1].value, "7d4b9c8f6d");
	/* 8 bytes: "app" and "web" fit, the rest is the object's own. */
	assert_true(tiny.full);
	assert_string_equal(c.pods[0].meta.labels[1].key, "pod-template-hash");
	assert_string_equal(c.pods[0].meta.labels[1].value, "7d4b9c8f6d");
	assert_int_equal(c.digest, plain.digest);
	assert_int_equal(b.digest, plain.digest);
	sl_config_free(&a);
	sl_config_free(&b);
	sl_config_free(&c);
	sl_config_free(&plain);
	sl_strtab_free(&texts);
	sl_strtab_free(&tiny);
}

static void test_api_object_decoded(void **state)
{
	struct sl_config cfg;
	struct sl_err err;

	(void)state;
	assert_int_equal(decode(service_json, "v1", "Service", &cfg, &err), 0);
	assert_int_equal(cfg.n_services, 1);
	assert_string_equal(cfg.services[0].meta.namespace, "shop");
	assert_string_equal(cfg.services[0].meta.name, "web");
	assert_int_equal(cfg.services[0].n_cluster_ips, 1);
	assert_int_equal(cfg.services[0].ports[0].port, 80);
	sl_config_free(&cfg);
}

/* service_json with `from` replaced by `to` (once). */
static char *edited(const char *from, const char *to)
{
	const char *at = strstr(service_json, from);
	char *p;

	assert_non_null(at);
	if (asprintf(&p, "%.*s%s%s", (int)(at - service_json), service_json, to,
		     at + strlen(from)) < 0)
		abort();
	return p;
}

static uint64_t digest_json(const char *json)
{
	struct sl_config cfg;
	struct sl_err err;
	uint64_t d;

	if (decode(json, "v1", "Service", &cfg, &err) < 0)
		fail_msg("%s", err.msg);
	d = cfg.digest;
	sl_config_free(&cfg);
	return d;
}

/* What the decoders read is the object's digest; the rest is not. */
static void test_api_object_content_digest(void **state)
{
	const struct { const char *from, *to; bool same; } cases[] = {
		{ "\"48397\"", "\"50000\"", true },			/* resourceVersion */
		{ "\"loadBalancer\":{}", "\"loadBalancer\":{\"ingress\":[{\"ip\":\"192.0.2.1\"}]}",
		  true },						/* status */
		{ "\"manager\":\"kubectl\"", "\"manager\":\"helm\"", true },	/* managedFields */
		{ "\"port\":80", "\"port\":81", false },
		{ "{\"app\":\"web\"}", "{\"app\":\"web\",\"tier\":\"1\"}", false },	/* labels */
		{ "\"sessionAffinity\":\"None\"", "\"sessionAffinity\":\"ClientIP\"", false },
	};
	uint64_t base = digest_json(service_json);

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *json = edited(cases[i].from, cases[i].to);

		if ((digest_json(json) == base) != cases[i].same)
			fail_msg("%s -> %s: digest %s", cases[i].from, cases[i].to,
				 cases[i].same ? "changed" : "unchanged");
		free(json);
	}
}

static void test_api_object_refused_by_field(void **state)
{
	const char *bad = "{\"metadata\":{\"name\":\"web\",\"namespace\":\"shop\"},"
			  "\"spec\":{\"clusterIP\":\"10.96.0.10\",\"ports\":[{\"port\":\"80\"}]}}";
	struct sl_config cfg;
	struct sl_err err;

	(void)state;
	assert_int_equal(decode(bad, "v1", "Service", &cfg, &err), -1);
	/* No line and column: the object has none. The field path says where. */
	assert_string_equal(err.msg, "Service shop/web (resourceVersion 1): spec.ports[0].port: "
			    "expected an integer, got the string \"80\"");
	sl_config_free(&cfg);
}

/* The error of a VIP claimed twice, as the model words it: the newest
 * claimant is the one left out, whichever comes first in the text. */
static void test_newest_origin(void **state)
{
	char kind[64], key[512], a[256], b[256], msg[1024];

	(void)state;
	sl_kobj_origin(a, sizeof(a), "ServiceEntry", "shop/web-ext", "48420");
	sl_kobj_origin(b, sizeof(b), "Service", "shop/web", "9");
	snprintf(msg, sizeof(msg), "%s:1: Service shop/web claims 10.96.0.10:80/TCP, already "
		 "served by ServiceEntry shop/web-ext (%s:1)", b, a);
	assert_true(sl_kobj_newest_origin(msg, kind, sizeof(kind), key, sizeof(key)));
	assert_string_equal(kind, "ServiceEntry");
	assert_string_equal(key, "shop/web-ext");
	snprintf(msg, sizeof(msg), "%s:1: TrafficLimit x", b);
	assert_true(sl_kobj_newest_origin(msg, kind, sizeof(kind), key, sizeof(key)));
	assert_string_equal(key, "shop/web");
	assert_false(sl_kobj_newest_origin("web.yaml:3:1: a file's error", kind, sizeof(kind),
					   key, sizeof(key)));
}

static void put(struct sl_kstore *s, unsigned int kind, const char *key, const char *rv,
		const char *json)
{
	struct sl_config cfg;
	struct sl_err err;

	if (decode(json, "v1", "Service", &cfg, &err) < 0)
		fail_msg("%s", err.msg);
	sl_kstore_put(s, kind, key, rv, &cfg);
}

static char *service_named(const char *name, const char *vip)
{
	char *p;

	if (asprintf(&p, "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"shop\"},\"spec\":"
		     "{\"clusterIP\":\"%s\",\"ports\":[{\"port\":80}]}}", name, vip) < 0)
		abort();
	return p;
}

static uint64_t digest_of(struct sl_kstore *s, size_t want_services)
{
	struct sl_config cfg;
	struct sl_err err;
	uint64_t d;

	if (sl_kstore_config(s, &cfg, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(cfg.n_services, want_services);
	d = cfg.digest;
	/* Kept as objects change: the same as counted over the objects. */
	assert_int_equal(sl_kstore_digest_recount(s), d);
	sl_config_free(&cfg);
	return d;
}

static void test_store_digest_is_the_objects(void **state)
{
	struct sl_kstore a, b;
	struct sl_err err;
	char *one = service_named("one", "10.96.0.1"), *two = service_named("two", "10.96.0.2");

	(void)state;
	assert_int_equal(sl_kstore_init(&a, &err), 0);
	assert_int_equal(sl_kstore_init(&b, &err), 0);
	put(&a, 0, "shop/one", "5", one);
	put(&a, 0, "shop/two", "6", two);
	put(&b, 0, "shop/two", "6", two);	/* another order, another run */
	put(&b, 0, "shop/one", "5", one);
	assert_int_equal(digest_of(&a, 2), digest_of(&b, 2));
	/* A new version that changes nothing Sluice reads: the same. */
	put(&b, 0, "shop/one", "7", one);
	assert_int_equal(digest_of(&a, 2), digest_of(&b, 2));
	free(one);
	one = service_named("one", "10.96.0.3");	/* one that does */
	put(&b, 0, "shop/one", "8", one);
	assert_int_not_equal(digest_of(&a, 2), digest_of(&b, 2));
	assert_int_equal(a.n_by_kind[0], 2);
	sl_kstore_free(&a);
	sl_kstore_free(&b);
	free(one);
	free(two);
}

/* resourceVersions short and long (opaque strings to a client), across
 * a new version and a refused one; the digest of a refused one is its
 * resourceVersion's. */
static void test_store_resource_versions(void **state)
{
	static const char long_rv[] = "123456789012345678901234567890-opaque";
	char *one = service_named("one", "10.96.0.1");
	struct sl_kstore s;
	struct sl_kstore_obj *o;
	struct sl_err err;
	uint64_t refused_long;

	(void)state;
	assert_int_equal(sl_kstore_init(&s, &err), 0);
	put(&s, 0, "shop/one", "123456789012345", one);	/* 15: the longest in place */
	o = sl_kstore_get(&s, 0, "shop/one");
	assert_string_equal(sl_kstore_rv(o), "123456789012345");
	put(&s, 0, "shop/one", "1234567890123456", one);
	assert_string_equal(sl_kstore_rv(o), "1234567890123456");
	put(&s, 0, "shop/one", long_rv, one);
	assert_string_equal(sl_kstore_rv(o), long_rv);
	sl_kstore_refuse(&s, 0, "shop/one", "77", "bad");
	assert_string_equal(sl_kstore_rv(o), "77");
	assert_int_equal(sl_kstore_digest_recount(&s), s.digest);
	sl_kstore_refuse(&s, 0, "shop/one", long_rv, "bad");
	refused_long = s.digest;
	assert_int_equal(sl_kstore_digest_recount(&s), refused_long);
	sl_kstore_refuse(&s, 0, "shop/one", "78", "bad");
	assert_int_not_equal(s.digest, refused_long);
	sl_kstore_refuse(&s, 0, "shop/one", NULL, "bad");
	assert_null(sl_kstore_rv(o));
	assert_true(sl_kstore_remove(&s, 0, "shop/one"));
	sl_kstore_free(&s);
	free(one);
}

static void count_obj(struct sl_kstore_obj *o, void *arg)
{
	(void)o;
	(*(size_t *)arg)++;
}

static size_t in_group(struct sl_kstore *s, unsigned int kind, const char *group)
{
	size_t n = 0;

	sl_kstore_group_each(s, kind, group, count_obj, &n);
	return n;
}

static size_t of_kind(struct sl_kstore *s, unsigned int kind)
{
	size_t n = 0;

	sl_kstore_kind_each(s, kind, count_obj, &n);
	return n;
}

/* Groups and kinds follow every change, the digest too. */
static void test_store_groups_kinds_and_digest(void **state)
{
	struct sl_kstore s;
	struct sl_err err;
	uint64_t d0, d1;
	char key[32], vip[32], *svc;

	(void)state;
	assert_int_equal(sl_kstore_init(&s, &err), 0);
	for (int i = 0; i < 2000; i++) {	/* the group table grows */
		snprintf(key, sizeof(key), "shop/s%d", i);
		snprintf(vip, sizeof(vip), "10.97.%d.%d", i / 250, i % 250 + 1);
		svc = service_named(key + 5, vip);
		put(&s, 3, key, "1", svc);
		free(svc);
		sl_kstore_set_group(&s, sl_kstore_get(&s, 3, key), i % 2 ? "shop/odd" : "shop/even");
	}
	assert_int_equal(in_group(&s, 3, "shop/odd"), 1000);
	assert_int_equal(in_group(&s, 2, "shop/odd"), 0);	/* another kind */
	assert_int_equal(of_kind(&s, 3), 2000);
	/* Moved, removed, swept: gone from its group and kind. */
	sl_kstore_set_group(&s, sl_kstore_get(&s, 3, "shop/s1"), "shop/even");
	assert_int_equal(in_group(&s, 3, "shop/odd"), 999);
	assert_true(sl_kstore_remove(&s, 3, "shop/s0"));
	assert_int_equal(in_group(&s, 3, "shop/even"), 1000);
	sl_kstore_mark(&s, 3);
	for (int i = 0; i < 2000; i += 4) {
		snprintf(key, sizeof(key), "shop/s%d", i);
		if (sl_kstore_get(&s, 3, key))
			sl_kstore_get(&s, 3, key)->seen = true;
	}
	assert_int_equal(sl_kstore_sweep(&s, 3), 1500);
	assert_int_equal(of_kind(&s, 3), 499);
	assert_int_equal(in_group(&s, 3, "shop/odd"), 0);
	assert_int_equal(in_group(&s, 3, "shop/even"), 499);
	d0 = digest_of(&s, 499);
	/* Refused, left out, taken back: each changes the digest (a status
	 * with another generation), and the kept one follows. */
	sl_kstore_refuse(&s, 3, "shop/s4", "9", "Service shop/s4: no");
	d1 = digest_of(&s, 499);
	assert_int_not_equal(d1, d0);
	assert_true(sl_kstore_exclude(&s, 3, "shop/s8", "left out"));
	assert_int_not_equal(digest_of(&s, 498), d1);
	sl_kstore_clear_exclusions(&s);
	assert_int_equal(digest_of(&s, 499), d1);
	sl_kstore_set_group(&s, sl_kstore_get(&s, 3, "shop/s8"), NULL);
	assert_int_equal(in_group(&s, 3, "shop/even"), 498);
	sl_kstore_free(&s);
}

static void test_store_relist_sweeps_and_refusal_keeps(void **state)
{
	char *one = service_named("one", "10.96.0.1"), *two = service_named("two", "10.96.0.2");
	struct sl_kstore s;
	struct sl_config cfg;
	struct sl_err err;

	(void)state;
	assert_int_equal(sl_kstore_init(&s, &err), 0);
	for (int i = 0; i < 3000; i++) {	/* the table grows */
		char key[32], vip[32], *other;

		snprintf(key, sizeof(key), "p%d", i);
		snprintf(vip, sizeof(vip), "10.97.%d.%d", i / 250, i % 250 + 1);
		other = service_named(key, vip);
		put(&s, 2, key, "1", other);
		free(other);
	}
	put(&s, 0, "shop/one", "5", one);
	put(&s, 0, "shop/two", "6", two);
	/* A list that holds only "one": "two" goes, kind 2 stays. */
	sl_kstore_mark(&s, 0);
	sl_kstore_get(&s, 0, "shop/one")->seen = true;
	assert_int_equal(sl_kstore_sweep(&s, 0), 1);
	assert_null(sl_kstore_get(&s, 0, "shop/two"));
	assert_int_equal(s.n_by_kind[2], 3000);
	/* A refused version: the one before stays, and is named. */
	sl_kstore_refuse(&s, 0, "shop/one", "9", "Service shop/one: spec.ports: no");
	assert_int_equal(s.n_refused, 1);
	assert_int_equal(sl_kstore_config(&s, &cfg, &err), 0);
	assert_int_equal(cfg.n_services, 3001);
	assert_true(warnings_contain(&cfg, "Service shop/one: spec.ports: no"));
	sl_config_free(&cfg);
	assert_true(sl_kstore_remove(&s, 0, "shop/one"));
	assert_int_equal(s.n_refused, 0);
	assert_false(sl_kstore_remove(&s, 0, "shop/one"));
	sl_kstore_free(&s);
	free(one);
	free(two);
}

static char tmpdir[] = "/tmp/sluice-kubeconfig-XXXXXX";

static const char *write_file(const char *name, const char *text)
{
	static char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static void test_kubeconfig_current_context(void **state)
{
	struct sl_kubeconfig kc;
	struct sl_err err;
	const char *path;

	(void)state;
	write_file("token", "abc.def\n");
	path = write_file("config",
		"apiVersion: v1\nkind: Config\ncurrent-context: b\n"
		"contexts:\n- {name: a, context: {cluster: one, user: u1}}\n"
		"- {name: b, context: {cluster: two, user: u2}}\n"
		"clusters:\n- {name: one, cluster: {server: 'https://one:6443'}}\n"
		"- {name: two, cluster: {server: 'https://10.0.0.1:6443/', certificate-authority: ca.pem,"
		" certificate-authority-data: LS0tLS1CRUdJTg==}}\n"
		"users:\n- {name: u1, user: {token: one}}\n- {name: u2, user: {tokenFile: token}}\n");
	assert_int_equal(sl_kubeconfig_load(path, NULL, &kc, &err), 0);
	assert_string_equal(kc.server, "https://10.0.0.1:6443");
	assert_string_equal(strrchr(kc.ca_file, '/'), "/ca.pem");
	assert_string_equal(kc.ca_data.data, "-----BEGIN");
	{
		char *t = sl_kubeconfig_token(&kc, &err);

		assert_string_equal(t, "abc.def");	/* re-read, newline gone */
		free(t);
	}
	sl_kubeconfig_free(&kc);
}

static void test_kubeconfig_refusals(void **state)
{
	struct sl_kubeconfig kc;
	struct sl_err err;
	const char *path;

	(void)state;
	path = write_file("exec", "current-context: a\ncontexts: [{name: a, context: "
			  "{cluster: c, user: u}}]\nclusters: [{name: c, cluster: {server: "
			  "'https://x'}}]\nusers:\n- name: u\n  user:\n    exec: {command: x}\n");
	assert_int_equal(sl_kubeconfig_load(path, NULL, &kc, &err), -1);
	assert_contains(err.msg, "/exec:7:");
	assert_contains(err.msg, "exec and auth-provider credential plugins are not supported");
	path = write_file("half", "current-context: a\ncontexts: [{name: a, context: "
			  "{cluster: c, user: u}}]\nclusters: [{name: c, cluster: {server: "
			  "'https://x'}}]\nusers: [{name: u, user: {client-certificate: c.pem}}]\n");
	assert_int_equal(sl_kubeconfig_load(path, NULL, &kc, &err), -1);
	assert_contains(err.msg, "a client certificate needs its key");
	path = write_file("nocontext", "current-context: zz\ncontexts: []\n");
	assert_int_equal(sl_kubeconfig_load(path, NULL, &kc, &err), -1);
	assert_contains(err.msg, "context \"zz\" not found");
}

static void test_in_cluster(void **state)
{
	struct sl_kubeconfig kc;
	struct sl_err err;

	(void)state;
	write_file("token", "sa-token");
	setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	assert_int_equal(sl_kubeconfig_load(NULL, tmpdir, &kc, &err), 0);
	assert_string_equal(kc.server, "https://[fd00::1]:443");
	assert_string_equal(strrchr(kc.ca_file, '/'), "/ca.crt");
	sl_kubeconfig_free(&kc);
	unsetenv("KUBERNETES_SERVICE_HOST");
	assert_int_equal(sl_kubeconfig_load(NULL, tmpdir, &kc, &err), -1);
	assert_contains(err.msg, "give --kubeconfig");
}

static int make_tmp(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmp(void **state)
{
	char cmd[600];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_api_object_decoded),
		cmocka_unit_test(test_labels_shared),
		cmocka_unit_test(test_api_object_content_digest),
		cmocka_unit_test(test_api_object_refused_by_field),
		cmocka_unit_test(test_newest_origin),
		cmocka_unit_test(test_store_digest_is_the_objects),
		cmocka_unit_test(test_store_relist_sweeps_and_refusal_keeps),
		cmocka_unit_test(test_store_resource_versions),
		cmocka_unit_test(test_store_groups_kinds_and_digest),
		cmocka_unit_test(test_kubeconfig_current_context),
		cmocka_unit_test(test_kubeconfig_refusals),
		cmocka_unit_test(test_in_cluster),
	};

	return cmocka_run_group_tests(tests, make_tmp, remove_tmp);
}
