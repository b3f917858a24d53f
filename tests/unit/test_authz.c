// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * AuthorizationPolicy evaluation against Istio's documented behaviour
 * (istio.io "Authorization Policy" reference and the allow-nothing,
 * deny-all, allow-all examples), and the compiled tables against that
 * evaluation for every workload, source and port.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>

#include "authz.h"
#include "helpers.h"

/* Three workloads: foo/fe (sa fe, app=fe), bar/api (sa api, app=api,
 * version=v1), baz/db (sa db). */
static const char *workloads =
	"apiVersion: v1\nkind: Pod\n"
	"metadata: {name: fe, namespace: foo, labels: {app: fe}}\n"
	"spec: {serviceAccountName: fe}\n"
	"status: {podIPs: [{ip: 10.1.0.1}, {ip: \"fd00:1::1\"}]}\n"
	"---\napiVersion: v1\nkind: Pod\n"
	"metadata: {name: api, namespace: bar, labels: {app: api, version: v1}}\n"
	"spec: {serviceAccountName: api}\n"
	"status: {podIPs: [{ip: 10.2.0.1}]}\n"
	"---\napiVersion: networking.istio.io/v1\nkind: WorkloadEntry\n"
	"metadata: {name: db, namespace: baz}\n"
	"spec: {address: 10.3.0.1, serviceAccount: db, labels: {app: db}}\n";

struct fixture {
	struct sl_config cfg;
	struct sl_authz az;
};

static struct fixture fx;

static void load(const char *policies, const char *root_ns)
{
	char *text;
	struct sl_err err;

	if (asprintf(&text, "%s---\n%s", workloads, policies) < 0)
		abort();
	if (load_yaml(text, &fx.cfg, &err) < 0)
		fail_msg("config: %s", err.msg);
	free(text);
	if (sl_authz_build(&fx.cfg, root_ns ? root_ns : SL_DEFAULT_ROOT_NAMESPACE, &fx.az,
			   &err) < 0)
		fail_msg("authz: %s", err.msg);
}

static void unload(void)
{
	sl_authz_free(&fx.az);
	sl_config_free(&fx.cfg);
}

static const struct sl_authz_ip *lpm(const char *addr)
{
	const struct sl_authz_ip *best = NULL;
	struct sl_ip ip;

	assert_int_equal(sl_ip_parse(addr, &ip), 0);
	for (size_t i = 0; i < fx.az.n_ips; i++) {
		const struct sl_authz_ip *e = &fx.az.ips[i];
		struct sl_cidr c = { e->ip, e->plen };

		if (sl_authz_cidr_contains(&c, &ip, ip.family == SL_AF_INET ? 32 : 128) &&
		    (!best || e->plen > best->plen))
			best = e;
	}
	return best;
}

/* The kernel's lookup order (bpf/lib/policy.h), on the compiled tables. */
static int table_verdict(const char *src, const char *dst, uint16_t port,
			 uint32_t *policy)
{
	const struct sl_authz_ip *d = lpm(dst), *s = lpm(src);
	uint32_t cls = s ? s->src_class : 0;
	const struct sl_authz_decision *hit = NULL;

	*policy = 0;
	if (!d || !d->dst_set)
		return SL_VERDICT_ALLOW;
	for (int pass = 0; pass < 2 && !hit; pass++)
		for (size_t i = 0; i < fx.az.n_entries && !hit; i++) {
			const struct sl_authz_entry *e = &fx.az.entries[i];

			if (e->dst_set == d->dst_set && e->src_class == cls &&
			    e->port == (pass ? 0 : port))
				hit = &e->d;
		}
	if (!hit)
		hit = &fx.az.sets[d->dst_set].dflt;
	*policy = hit->policy;
	return hit->verdict;
}

static const char *policy_name(uint32_t p)
{
	return p ? fx.az.policies[p - 1]->meta.name : "(none)";
}

#define ALLOWED(src, dst, port) check(src, dst, port, SL_VERDICT_ALLOW, NULL)
#define DENIED(src, dst, port) check(src, dst, port, SL_VERDICT_DENY, NULL)

static void check(const char *src, const char *dst, uint16_t port, int want,
		  const char *by)
{
	uint32_t policy;
	int got = table_verdict(src, dst, port, &policy);

	if (got != want)
		fail_msg("%s -> %s:%u: %s by %s, expected %s", src, dst, port,
			 got ? "denied" : "allowed", policy_name(policy),
			 want ? "denied" : "allowed");
	if (by && strcmp(policy_name(policy), by))
		fail_msg("%s -> %s:%u decided by %s, expected %s", src, dst, port,
			 policy_name(policy), by);
}

static void test_no_policy_allows(void **state)
{
	(void)state;
	load("", NULL);
	ALLOWED("10.1.0.1", "10.2.0.1", 80);
	ALLOWED("192.0.2.1", "10.2.0.1", 80);
	unload();
}

/* istio.io: "allow-nothing": an ALLOW policy without rules matches
 * nothing, and a workload with an ALLOW policy allows only what one
 * matches. */
static void test_allow_nothing(void **state)
{
	(void)state;
	load("apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n"
	     "metadata: {name: allow-nothing, namespace: bar}\nspec: {}\n", NULL);
	DENIED("10.1.0.1", "10.2.0.1", 80);
	DENIED("10.3.0.1", "10.2.0.1", 8080);
	ALLOWED("10.2.0.1", "10.1.0.1", 80);	/* foo is not selected */
	unload();
}

static void test_allow_all_and_deny_all(void **state)
{
	(void)state;
	load("apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n"
	     "metadata: {name: allow-all, namespace: bar}\nspec: {rules: [{}]}\n"
	     "---\napiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n"
	     "metadata: {name: deny-all, namespace: baz}\n"
	     "spec: {action: DENY, rules: [{}]}\n", NULL);
	ALLOWED("192.0.2.7", "10.2.0.1", 1);
	check("10.1.0.1", "10.3.0.1", 5432, SL_VERDICT_DENY, "deny-all");
	unload();
}

/* A matching DENY wins over a matching ALLOW. */
static void test_deny_before_allow(void **state)
{
	(void)state;
	load("apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n"
	     "metadata: {name: allow-mesh, namespace: bar}\n"
	     "spec: {rules: [{from: [{source: {namespaces: [foo, baz]}}]}]}\n"
	     "---\napiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n"
	     "metadata: {name: no-db, namespace: bar}\n"
	     "spec:\n  action: DENY\n  rules:\n"
	     "  - from: [{source: {principals: [cluster.local/ns/baz/sa/db]}}]\n", NULL);
	check("10.1.0.1", "10.2.0.1", 80, SL_VERDICT_ALLOW, "allow-mesh");
	check("fd00:1::1", "10.2.0.1", 80, SL_VERDICT_ALLOW, NULL);
	check("10.3.0.1", "10.2.0.1", 80, SL_VERDICT_DENY, "no-db");
	check("192.0.2.1", "10.2.0.1", 80, SL_VERDICT_DENY, "(none)");
	unload();
}

/* notNamespaces matches every source outside them, including sources
 * without an identity. */
static void test_not_namespaces(void **state)
{
	(void)state;
	load("apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n"
	     "metadata: {name: only-foo, namespace: bar}\n"
	     "spec: {action: DENY, rules: [{from: [{source: {notNamespaces: [foo]}}]}]}\n",
	     NULL);
	ALLOWED("10.1.0.1", "10.2.0.1", 80);
	DENIED("10.3.0.1", "10.2.0.1", 80);
	DENIED("198.51.100.3", "10.2.0.1", 80);
	unload();
}

static void test_ports_and_not_ports(void **state)
{
	(void)state;
	load("apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n"
	     "metadata: {name: web, namespace: bar}\n"
	     "spec:\n  rules:\n  - to: [{operation: {ports: [\"8080\", \"8443\"]}}]\n"
	     "  - from: [{source: {namespaces: [baz]}}]\n"
	     "    to: [{operation: {notPorts: [\"22\"]}}]\n", NULL);
	ALLOWED("192.0.2.1", "10.2.0.1", 8080);
	ALLOWED("10.1.0.1", "10.2.0.1", 8443);
	DENIED("10.1.0.1", "10.2.0.1", 9090);
	ALLOWED("10.3.0.1", "10.2.0.1", 9090);
	DENIED("10.3.0.1", "10.2.0.1", 22);
	unload();
}

/* Nested CIDRs, notIpBlocks, and a workload inside a named block. */
static void test_ip_blocks(void **state)
{
	(void)state;
	load("apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n"
	     "metadata: {name: nets, namespace: bar}\n"
	     "spec:\n  rules:\n"
	     "  - from: [{source: {ipBlocks: [10.0.0.0/8], notIpBlocks: [10.3.0.0/16]}}]\n"
	     "  - from: [{source: {remoteIpBlocks: [\"2001:db8::/32\"]}}]\n", NULL);
	ALLOWED("10.1.0.1", "10.2.0.1", 80);
	ALLOWED("10.9.9.9", "10.2.0.1", 80);
	DENIED("10.3.0.1", "10.2.0.1", 80);
	DENIED("10.3.7.7", "10.2.0.1", 80);
	DENIED("192.0.2.1", "10.2.0.1", 80);
	ALLOWED("2001:db8::5", "10.2.0.1", 80);
	DENIED("fd00:1::1", "10.2.0.1", 80);
	unload();
}

static void test_string_forms(void **state)
{
	(void)state;
	assert_true(sl_authz_str_match("*", "x"));
	assert_false(sl_authz_str_match("*", ""));
	assert_true(sl_authz_str_match("prod-*", "prod-eu"));
	assert_false(sl_authz_str_match("prod-*", "dev-eu"));
	assert_true(sl_authz_str_match("*-test", "api-test"));
	assert_false(sl_authz_str_match("*-test", "api-prod"));
	assert_true(sl_authz_str_match("exact", "exact"));
	assert_false(sl_authz_str_match("exact", "exactly"));
	load("apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n"
	     "metadata: {name: any-identity, namespace: bar}\n"
	     "spec: {rules: [{from: [{source: {principals: [\"*\"]}}]}]}\n"
	     "---\napiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n"
	     "metadata: {name: suffix, namespace: baz}\n"
	     "spec: {rules: [{from: [{source: {principals: [\"*/sa/fe\"]}}]}]}\n", NULL);
	ALLOWED("10.3.0.1", "10.2.0.1", 80);
	DENIED("192.0.2.1", "10.2.0.1", 80);
	ALLOWED("10.1.0.1", "10.3.0.1", 80);
	DENIED("10.2.0.1", "10.3.0.1", 80);
	unload();
}

/* ztunnel's L4 rule: an ALLOW rule needing L7 never matches; a DENY rule
 * is enforced without its L7 part. */
static void test_l7_fields(void **state)
{
	(void)state;
	load("apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n"
	     "metadata: {name: get-only, namespace: bar}\n"
	     "spec: {rules: [{to: [{operation: {methods: [GET]}}]}]}\n"
	     "---\napiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n"
	     "metadata: {name: no-admin, namespace: baz}\n"
	     "spec: {action: DENY, rules: [{to: [{operation: {paths: [/admin], ports: [\"9000\"]}}]}]}\n",
	     NULL);
	assert_true(warnings_contain(&fx.cfg, "get-only"));
	assert_true(warnings_contain(&fx.cfg, "no-admin"));
	DENIED("10.1.0.1", "10.2.0.1", 80);
	DENIED("10.1.0.1", "10.3.0.1", 9000);
	ALLOWED("10.1.0.1", "10.3.0.1", 9001);
	unload();
}

/* AUDIT marks, dry-run reports; neither changes the verdict. */
static void test_audit_and_dry_run(void **state)
{
	struct sl_authz_decision d;
	const struct sl_authz_ip *dst, *src;
	uint32_t idx[8];
	size_t n;

	(void)state;
	load("apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n"
	     "metadata: {name: audit-fe, namespace: bar}\n"
	     "spec: {action: AUDIT, rules: [{from: [{source: {namespaces: [foo]}}]}]}\n"
	     "---\napiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n"
	     "metadata: {name: try-deny, namespace: bar, annotations: {\"istio.io/dry-run\": \"true\"}}\n"
	     "spec: {action: DENY, rules: [{from: [{source: {namespaces: [foo]}}]}]}\n", NULL);
	ALLOWED("10.1.0.1", "10.2.0.1", 80);
	dst = lpm("10.2.0.1");
	src = lpm("10.1.0.1");
	n = fx.az.sets[dst->dst_set].n_policies;
	assert_true(n <= 8);
	memcpy(idx, fx.az.sets[dst->dst_set].policies, n * sizeof(*idx));
	sl_authz_eval(fx.az.policies, idx, n, &fx.az.classes[src->src_class], 80, &d);
	assert_int_equal(d.verdict, SL_VERDICT_ALLOW);
	assert_int_equal(d.shadow, SL_VERDICT_DENY);
	assert_string_equal(policy_name(d.shadow_policy), "try-deny");
	assert_true(d.audit);
	assert_string_equal(policy_name(d.audit_policy), "audit-fe");
	unload();
}

/* Root-namespace policies apply everywhere; others to their namespace;
 * selectors narrow by labels. */
static void test_scope_and_selector(void **state)
{
	(void)state;
	load("apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n"
	     "metadata: {name: mesh-deny-baz, namespace: mesh-root}\n"
	     "spec: {action: DENY, rules: [{from: [{source: {namespaces: [baz]}}]}]}\n"
	     "---\napiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n"
	     "metadata: {name: v2-only, namespace: bar}\n"
	     "spec: {selector: {matchLabels: {version: v2}}}\n", "mesh-root");
	DENIED("10.3.0.1", "10.1.0.1", 80);
	DENIED("10.3.0.1", "10.2.0.1", 80);
	ALLOWED("10.1.0.1", "10.2.0.1", 80);	/* v2-only selects nothing */
	unload();
	load("apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n"
	     "metadata: {name: mesh-deny-baz, namespace: mesh-root}\n"
	     "spec: {action: DENY, rules: [{from: [{source: {namespaces: [baz]}}]}]}\n",
	     NULL);
	ALLOWED("10.3.0.1", "10.1.0.1", 80);	/* mesh-root is not the root */
	unload();
}

/* An EndpointSlice endpoint takes the identity and labels of the Pod its
 * targetRef names; one without a Pod document is a workload of the
 * slice's namespace without identity or labels. */
static void test_slice_endpoints(void **state)
{
	(void)state;
	load("apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
	     "metadata: {name: web-1, namespace: shop, labels: {kubernetes.io/service-name: web}}\n"
	     "addressType: IPv4\nports: [{name: http, port: 8080}]\n"
	     "endpoints:\n- addresses: [10.4.0.1]\n  targetRef: {kind: Pod, name: p1}\n"
	     "- addresses: [10.4.0.2]\n"
	     "---\napiVersion: v1\nkind: Pod\n"
	     "metadata: {name: p1, namespace: shop, labels: {app: x}}\n"
	     "spec: {serviceAccountName: p1sa}\nstatus: {podIPs: [{ip: 10.4.0.1}]}\n"
	     "---\napiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n"
	     "metadata: {name: sel, namespace: shop}\n"
	     "spec: {selector: {matchLabels: {app: x}}, rules: [{from: [{source: {namespaces: [foo]}}]}]}\n"
	     "---\napiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n"
	     "metadata: {name: ns-wide, namespace: shop}\n"
	     "spec: {action: DENY, rules: [{from: [{source: {principals: [cluster.local/ns/bar/sa/api]}}]}]}\n"
	     "---\napiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n"
	     "metadata: {name: from-p1, namespace: baz}\n"
	     "spec: {rules: [{from: [{source: {principals: [cluster.local/ns/shop/sa/p1sa]}}]}]}\n",
	     NULL);
	ALLOWED("10.1.0.1", "10.4.0.1", 80);
	check("10.2.0.1", "10.4.0.1", 80, SL_VERDICT_DENY, "ns-wide");
	DENIED("10.3.0.1", "10.4.0.1", 80);
	check("10.2.0.1", "10.4.0.2", 80, SL_VERDICT_DENY, "ns-wide");
	ALLOWED("10.3.0.1", "10.4.0.2", 80);
	ALLOWED("10.4.0.1", "10.3.0.1", 5432);	/* p1's identity as a source */
	DENIED("10.4.0.2", "10.3.0.1", 5432);
	unload();
}

/* The compiled tables answer exactly as the evaluation, for every
 * workload, several outside sources, and every port named plus others. */
static void test_tables_equal_evaluation(void **state)
{
	static const char *srcs[] = { "10.1.0.1", "fd00:1::1", "10.2.0.1", "10.3.0.1",
				      "10.3.9.9", "10.200.0.1", "192.0.2.1" };
	static const char *dsts[] = { "10.1.0.1", "10.2.0.1", "10.3.0.1", "fd00:1::1" };
	static const uint16_t ports[] = { 1, 22, 80, 8080, 9000, 65535 };

	(void)state;
	load("apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n"
	     "metadata: {name: a, namespace: bar}\n"
	     "spec:\n  rules:\n  - from: [{source: {namespaces: [foo], notPrincipals: [\"*/sa/x\"]}}]\n"
	     "    to: [{operation: {ports: [\"80\"]}}]\n"
	     "  - from: [{source: {ipBlocks: [10.3.0.0/16]}}]\n"
	     "    when: [{key: destination.port, notValues: [\"22\"]}]\n"
	     "---\napiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n"
	     "metadata: {name: d, namespace: istio-system}\n"
	     "spec:\n  action: DENY\n  rules:\n  - from: [{source: {notIpBlocks: [10.0.0.0/8, \"fd00::/8\"]}}]\n"
	     "    to: [{operation: {notPorts: [\"9000\"]}}]\n"
	     "---\napiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n"
	     "metadata: {name: e, namespace: baz}\n"
	     "spec:\n  rules:\n  - from: [{source: {principals: [cluster.local/ns/foo/sa/fe]}}]\n"
	     "    to: [{operation: {ports: [\"9000\"]}}]\n"
	     "  - from: [{source: {principals: [\"spiffe://cluster.local/ns/bar/sa/api\"]}}, {source: {namespaces: [baz]}}]\n"
	     "---\napiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n"
	     "metadata: {name: f, namespace: baz}\n"
	     "spec: {action: DENY, rules: [{from: [{source: {principals: [cluster.local/ns/bar/sa/api]}}], to: [{operation: {ports: [\"22\"]}}]}]}\n",
	     NULL);
	for (size_t d = 0; d < sizeof(dsts) / sizeof(*dsts); d++)
		for (size_t s = 0; s < sizeof(srcs) / sizeof(*srcs); s++)
			for (size_t p = 0; p < sizeof(ports) / sizeof(*ports); p++) {
				const struct sl_authz_ip *de = lpm(dsts[d]);
				struct sl_authz_peer peer = { 0 };
				const struct sl_authz_ip *se = lpm(srcs[s]);
				struct sl_authz_decision want = { 0 };
				uint32_t policy;
				const struct sl_authz_set *set;

				if (se)
					peer = fx.az.classes[se->src_class];
				if (de->dst_set) {
					set = &fx.az.sets[de->dst_set];
					/* the reference: the source as it is */
					if (sl_ip_parse(srcs[s], &peer.ip) < 0)
						fail();
					peer.plen = peer.ip.family == SL_AF_INET ? 32 : 128;
					sl_authz_eval(fx.az.policies, set->policies,
						      set->n_policies, &peer, ports[p], &want);
				}
				if (table_verdict(srcs[s], dsts[d], ports[p], &policy) !=
				    want.verdict || policy != want.policy)
					fail_msg("%s -> %s:%u: tables say %s, evaluation %s",
						 srcs[s], dsts[d], ports[p], policy_name(policy),
						 policy_name(want.policy));
			}
	unload();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_policy_allows),
		cmocka_unit_test(test_allow_nothing),
		cmocka_unit_test(test_allow_all_and_deny_all),
		cmocka_unit_test(test_deny_before_allow),
		cmocka_unit_test(test_not_namespaces),
		cmocka_unit_test(test_ports_and_not_ports),
		cmocka_unit_test(test_ip_blocks),
		cmocka_unit_test(test_string_forms),
		cmocka_unit_test(test_l7_fields),
		cmocka_unit_test(test_audit_and_dry_run),
		cmocka_unit_test(test_scope_and_selector),
		cmocka_unit_test(test_slice_endpoints),
		cmocka_unit_test(test_tables_equal_evaluation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
