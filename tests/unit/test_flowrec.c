// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Flow records as JSON lines, and the flow log's requests and filters. */
#include <arpa/inet.h>
#include <json-c/json.h>

#include "helpers.h"
#include "flowrec.h"

static void addr4(struct sl_addr *a, const char *text)
{
	memset(a, 0, sizeof(*a));
	assert_int_equal(inet_pton(AF_INET, text, &a->a[0]), 1);
}

/* A closed connection between two named workloads, through a service. */
static void closed_record(struct sl_flowrec *r)
{
	memset(r, 0, sizeof(*r));
	r->time_ms = 1700000000123ULL;
	r->type = SL_EVENT_CLOSE;
	r->reporter = SL_REPORTER_SOURCE;
	r->at = SL_AT_EGRESS;
	r->proto = SL_PROTO_TCP;
	r->family = SL_AF_INET;
	addr4(&r->src.addr, "10.0.0.1");
	r->src.port = 40000;
	strcpy(r->src.namespace, "front");
	strcpy(r->src.name, "web-1");
	strcpy(r->src.principal, "spiffe://cluster.local/ns/front/sa/web");
	addr4(&r->dst.addr, "10.0.0.2");
	r->dst.port = 8080;
	strcpy(r->dst.namespace, "back");
	strcpy(r->dst.name, "api-1");
	strcpy(r->svc_namespace, "back");
	strcpy(r->svc_name, "api");
	r->sent_bytes = 5;
	r->received_bytes = 1234567890123ULL;
	r->duration_ms = 42;
	r->rtt_us = 17;
	r->redirected = true;
}

static json_object *parse(const struct sl_flowrec *r)
{
	size_t len;
	char *line = sl_flowrec_json(r, &len);
	json_object *o;

	assert_non_null(line);
	assert_int_equal(strlen(line), len);
	assert_int_equal(line[len - 1], '\n');
	assert_null(memchr(line, '\n', len - 1));	/* one line */
	o = json_tokener_parse(line);
	assert_non_null(o);
	free(line);
	return o;
}

static const char *get(json_object *o, const char *path)
{
	char buf[128], *save = NULL, *key;
	json_object *v = o;

	snprintf(buf, sizeof(buf), "%s", path);
	for (key = strtok_r(buf, ".", &save); key; key = strtok_r(NULL, ".", &save))
		if (!v || !json_object_object_get_ex(v, key, &v))
			return "(absent)";
	return v ? json_object_get_string(v) : "(null)";
}

static void test_closed_record_json(void **state)
{
	struct sl_flowrec r;
	json_object *o;

	(void)state;
	closed_record(&r);
	o = parse(&r);
	assert_string_equal(get(o, "time"), "2023-11-14T22:13:20.123Z");
	assert_string_equal(get(o, "verdict"), "closed");
	assert_string_equal(get(o, "reporter"), "source");
	assert_string_equal(get(o, "protocol"), "TCP");
	assert_string_equal(get(o, "source.address"), "10.0.0.1");
	assert_string_equal(get(o, "source.port"), "40000");
	assert_string_equal(get(o, "source.namespace"), "front");
	assert_string_equal(get(o, "source.principal"), "spiffe://cluster.local/ns/front/sa/web");
	assert_string_equal(get(o, "destination.name"), "api-1");
	assert_string_equal(get(o, "destination.principal"), "(null)");
	assert_string_equal(get(o, "service.name"), "api");
	assert_string_equal(get(o, "policy"), "(null)");
	assert_string_equal(get(o, "received_bytes"), "1234567890123");
	assert_string_equal(get(o, "duration_ms"), "42");
	assert_string_equal(get(o, "redirected"), "true");
	json_object_put(o);
}

/* A limit refusal has no client address yet; an open carries no bytes; a
 * denial names its policy; an ejection counts. */
static void test_other_records_json(void **state)
{
	struct sl_flowrec r;
	json_object *o;

	(void)state;
	closed_record(&r);
	r.type = SL_EVENT_RATE_LIMITED;
	memset(&r.src, 0, sizeof(r.src));
	o = parse(&r);
	assert_string_equal(get(o, "verdict"), "rate-limited");
	assert_string_equal(get(o, "source.address"), "(null)");
	assert_string_equal(get(o, "source.port"), "(null)");
	assert_string_equal(get(o, "sent_bytes"), "(absent)");
	json_object_put(o);

	closed_record(&r);
	r.type = SL_EVENT_DENY;
	r.reporter = 0;
	r.at = SL_AT_INGRESS;
	r.has_policy = true;
	r.policy_id = 3;
	r.rule = 2;
	strcpy(r.policy_namespace, "back");
	strcpy(r.policy_name, "deny \"quoted\"");
	o = parse(&r);
	assert_string_equal(get(o, "verdict"), "denied");
	assert_string_equal(get(o, "reporter"), "(null)");
	assert_string_equal(get(o, "at"), "ingress");
	assert_string_equal(get(o, "policy.name"), "deny \"quoted\"");
	assert_string_equal(get(o, "policy.rule"), "2");
	json_object_put(o);

	closed_record(&r);
	r.type = SL_EVENT_EJECT;
	r.rule = 4;
	o = parse(&r);
	assert_string_equal(get(o, "verdict"), "ejected");
	assert_string_equal(get(o, "ejections"), "4");
	json_object_put(o);
}

static void test_verdict_names(void **state)
{
	(void)state;
	for (uint32_t t = SL_EVENT_DENY; t <= SL_EVENT_EJECT; t++) {
		int v = sl_flow_verdict_of(t);

		assert_true(v >= 0);
		assert_int_equal(sl_flow_verdict_parse(sl_flow_verdict_name(v)), v);
	}
	assert_int_equal(sl_flow_verdict_of(0), -1);
	assert_int_equal(sl_flow_verdict_of(99), -1);
	assert_int_equal(sl_flow_verdict_parse("allowed"), SL_FLOW_OPEN);
	assert_int_equal(sl_flow_verdict_parse("dry-run-denied"), SL_FLOW_DRY_RUN_DENIED);
	assert_int_equal(sl_flow_verdict_parse("nope"), -1);
}

/* What sluicectl sends is what the agent parses back. */
static void test_request_round_trip(void **state)
{
	struct sl_flow_filter f, g;
	char line[SL_FLOW_REQUEST_LEN];
	struct sl_err err;

	(void)state;
	sl_flow_filter_init(&f);
	assert_int_equal(sl_flow_filter_format(&f, line, sizeof(line), &err), 0);
	assert_string_equal(line, "FLOWS follow=0\n");
	f.follow = true;
	strcpy(f.namespace, "front");
	assert_int_equal(sl_flow_filter_service(&f, "api", &err), 0);
	f.verdict = SL_FLOW_POOL_FULL;
	assert_int_equal(sl_flow_filter_format(&f, line, sizeof(line), &err), 0);
	assert_string_equal(line, "FLOWS follow=1 namespace=front service=default/api "
			    "verdict=pool-full\n");
	assert_int_equal(sl_flow_filter_parse(&g, line, &err), 0);
	assert_true(g.follow);
	assert_string_equal(g.namespace, "front");
	assert_string_equal(g.svc_namespace, "default");
	assert_string_equal(g.svc_name, "api");
	assert_int_equal(g.verdict, SL_FLOW_POOL_FULL);
}

static void expect_bad_request(const char *line, const char *msg)
{
	struct sl_flow_filter f;
	struct sl_err err;

	assert_int_equal(sl_flow_filter_parse(&f, line, &err), -1);
	assert_contains(err.msg, msg);
}

static void test_bad_requests(void **state)
{
	(void)state;
	expect_bad_request("", "starts with FLOWS");
	expect_bad_request("GET / HTTP/1.0\r\n", "starts with FLOWS");
	expect_bad_request("FLOWS follow=2", "follow=2");
	expect_bad_request("FLOWS follow", "not KEY=VALUE");
	expect_bad_request("FLOWS colour=red", "unknown term \"colour\"");
	expect_bad_request("FLOWS verdict=maybe", "verdict=maybe");
	expect_bad_request("FLOWS service=a/b/c", "not NAMESPACE/NAME");
	expect_bad_request("FLOWS service=/b", "not NAMESPACE/NAME");
	expect_bad_request("FLOWS namespace=", "not a namespace");
}

static void test_filter_match(void **state)
{
	struct sl_flow_filter f;
	struct sl_flow_keys k;
	struct sl_flowrec r;
	struct sl_err err;

	(void)state;
	closed_record(&r);
	sl_flowrec_keys(&r, &k);
	assert_int_equal(sl_flow_filter_parse(&f, "FLOWS", &err), 0);
	assert_true(sl_flow_filter_match(&f, &k));
	/* A namespace matches either workload's or the service's. */
	assert_int_equal(sl_flow_filter_parse(&f, "FLOWS namespace=front", &err), 0);
	assert_true(sl_flow_filter_match(&f, &k));
	assert_int_equal(sl_flow_filter_parse(&f, "FLOWS namespace=back", &err), 0);
	assert_true(sl_flow_filter_match(&f, &k));
	assert_int_equal(sl_flow_filter_parse(&f, "FLOWS namespace=other", &err), 0);
	assert_false(sl_flow_filter_match(&f, &k));
	/* A service is namespace and name; NAME alone is in default. */
	assert_int_equal(sl_flow_filter_parse(&f, "FLOWS service=back/api", &err), 0);
	assert_true(sl_flow_filter_match(&f, &k));
	assert_int_equal(sl_flow_filter_parse(&f, "FLOWS service=api", &err), 0);
	assert_false(sl_flow_filter_match(&f, &k));
	assert_int_equal(sl_flow_filter_parse(&f, "FLOWS verdict=closed service=back/api "
					      "namespace=front", &err), 0);
	assert_true(sl_flow_filter_match(&f, &k));
	assert_int_equal(sl_flow_filter_parse(&f, "FLOWS verdict=open", &err), 0);
	assert_false(sl_flow_filter_match(&f, &k));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_closed_record_json),
		cmocka_unit_test(test_other_records_json),
		cmocka_unit_test(test_verdict_names),
		cmocka_unit_test(test_request_round_trip),
		cmocka_unit_test(test_bad_requests),
		cmocka_unit_test(test_filter_match),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
