// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Endpoint selection in the kernel, through BPF_PROG_TEST_RUN: the maps are
 * filled by the real reconciler from a real configuration, and the real
 * selection code runs against them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "config.h"
#include "locality.h"
#include "model.h"
#include "reconcile.h"
#include "select_test.h"
#include "select_test.skel.h"
#include "state.h"

/* The verdicts of bpf/lib/lb.h. */
enum { PASS = 0, REFUSE = 1, REWRITE = 2 };

struct fixture {
	struct select_test_bpf *skel;
	struct sl_maps maps;
	struct sl_state state;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct bpf_map *map;
	struct sl_err err;

	if (!f)
		return -1;
	f->skel = select_test_bpf__open();
	if (!f->skel)
		return -1;
	/* Private maps: never pinned, gone with the test. */
	bpf_object__for_each_map(map, f->skel->obj)
		bpf_map__set_pin_path(map, NULL);
	bpf_map__set_max_entries(f->skel->maps.sluice_svc, 64);
	bpf_map__set_max_entries(f->skel->maps.sluice_svc_state, 64);
	bpf_map__set_max_entries(f->skel->maps.sluice_svc_info, 64);
	bpf_map__set_max_entries(f->skel->maps.sluice_backend, 64);
	bpf_map__set_max_entries(f->skel->maps.sluice_backend_state, 64);
	bpf_map__set_max_entries(f->skel->maps.sluice_backend_info, 64);
	bpf_map__set_max_entries(f->skel->maps.sluice_slot, 1024);
	bpf_map__set_max_entries(f->skel->maps.sluice_member, 1024);
	if (select_test_bpf__load(f->skel))
		return -1;
	sl_maps_init(&f->maps);
	f->maps.svc = bpf_map__fd(f->skel->maps.sluice_svc);
	f->maps.slot = bpf_map__fd(f->skel->maps.sluice_slot);
	f->maps.member = bpf_map__fd(f->skel->maps.sluice_member);
	f->maps.backend = bpf_map__fd(f->skel->maps.sluice_backend);
	f->maps.revnat = bpf_map__fd(f->skel->maps.sluice_revnat);
	f->maps.sock_vip = bpf_map__fd(f->skel->maps.sluice_sock_vip);
	f->maps.svc_state = bpf_map__fd(f->skel->maps.sluice_svc_state);
	f->maps.backend_state = bpf_map__fd(f->skel->maps.sluice_backend_state);
	f->maps.svc_info = bpf_map__fd(f->skel->maps.sluice_svc_info);
	f->maps.backend_info = bpf_map__fd(f->skel->maps.sluice_backend_info);
	f->maps.status = bpf_map__fd(f->skel->maps.sluice_status);
	if (sl_maps_read_limits(&f->maps, &err) < 0 ||
	    sl_state_load(&f->state, &f->maps, &err) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	sl_state_free(&f->state);
	select_test_bpf__destroy(f->skel);
	free(f);
	return 0;
}

/* node: the node's locality, NULL unknown. */
static void apply_at(struct fixture *f, const char *yaml, const char *node)
{
	struct sl_reconcile_report rep;
	struct sl_locality loc;
	struct sl_config cfg;
	struct sl_model m;
	struct sl_err err;

	memset(&cfg, 0, sizeof(cfg));
	if (node)
		assert_null(sl_locality_parse(node, &loc));
	if (sl_config_load_buffer("test.yaml", yaml, strlen(yaml), &cfg, &err) < 0 ||
	    sl_model_build_at(&cfg, node ? &loc : NULL, &m, &err) < 0)
		fail_msg("%s", err.msg);
	sl_config_free(&cfg);
	if (sl_reconcile(&f->state, &m, &rep, &err) < 0)
		fail_msg("%s", err.msg);
	sl_model_free(&m);
}

static void apply(struct fixture *f, const char *yaml)
{
	apply_at(f, yaml, NULL);
}

static struct select_args run(struct fixture *f, const char *vip, uint16_t port,
			      uint8_t proto)
{
	struct select_args args;
	struct sl_ip ip;
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = &args, .ctx_size_in = sizeof(args));

	memset(&args, 0, sizeof(args));
	assert_int_equal(sl_ip_parse(vip, &ip), 0);
	args.key.addr = ip.addr;
	args.key.family = ip.family;
	args.key.port = htons(port);
	args.key.proto = proto;
	args.connected = 1;
	if (bpf_prog_test_run_opts(bpf_program__fd(f->skel->progs.select_one), &opts))
		fail_msg("BPF_PROG_TEST_RUN: %s", strerror(errno));
	return args;
}

static struct sl_svc_state svc_state(struct fixture *f, uint32_t id)
{
	struct sl_svc_state st;

	assert_int_equal(bpf_map_lookup_elem(f->maps.svc_state, &id, &st), 0);
	return st;
}

static const char *weighted =
	"apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: w}\n"
	"spec:\n  hosts: [w]\n  addresses: [10.96.0.1, \"fd00::1\"]\n  resolution: STATIC\n"
	"  ports: [{number: 80, name: http, targetPort: 8080}]\n"
	"  endpoints:\n"
	"  - {address: 10.1.0.1, weight: 1}\n"
	"  - {address: 10.1.0.2, weight: 1}\n"
	"  - {address: 10.1.0.3, weight: 2}\n"
	"  - {address: \"fd00:1::1\"}\n";

/* 1/1/2 over 400 connections: exactly 100/100/200, since the cursor walks
 * a slot table holding each endpoint its weight's share. */
static void test_weights_exact(void **state)
{
	struct fixture *f = *state;
	uint32_t hits[3] = { 0 };
	struct select_args a;

	apply(f, weighted);
	for (int i = 0; i < 400; i++) {
		a = run(f, "10.96.0.1", 80, SL_PROTO_TCP);
		assert_int_equal(a.verdict, REWRITE);
		assert_int_equal(a.backend.family, SL_AF_INET);
		assert_int_equal(ntohs(a.backend.port), 8080);
		uint32_t host = ntohl(a.backend.addr.a[0]) & 0xff;

		assert_true(host >= 1 && host <= 3);
		hits[host - 1]++;
	}
	assert_int_equal(hits[0], 100);
	assert_int_equal(hits[1], 100);
	assert_int_equal(hits[2], 200);
	assert_int_equal(svc_state(f, a.svc_id).connects, 400);

	a = run(f, "fd00::1", 80, SL_PROTO_TCP);
	assert_int_equal(a.verdict, REWRITE);
	assert_int_equal(a.backend.family, SL_AF_INET6);
}

static void test_not_a_service_passes(void **state)
{
	struct fixture *f = *state;

	apply(f, weighted);
	assert_int_equal(run(f, "10.96.0.2", 80, SL_PROTO_TCP).verdict, PASS);
	assert_int_equal(run(f, "10.96.0.1", 81, SL_PROTO_TCP).verdict, PASS);
	assert_int_equal(run(f, "10.96.0.1", 80, SL_PROTO_UDP).verdict, PASS);
}

static void test_no_endpoint_refuses(void **state)
{
	struct fixture *f = *state;
	const char *yaml =
		"apiVersion: v1\nkind: Service\nmetadata: {name: e}\n"
		"spec: {clusterIP: 10.96.0.9, ports: [{port: 53, protocol: UDP}]}\n"
		"---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
		"metadata: {name: e1, labels: {kubernetes.io/service-name: e}}\n"
		"addressType: IPv4\nports: [{port: 53, protocol: UDP}]\n"
		"endpoints: [{addresses: [10.1.0.1], conditions: {ready: false}}]\n";
	struct select_args a;

	apply(f, yaml);
	a = run(f, "10.96.0.9", 53, SL_PROTO_UDP);
	assert_int_equal(a.verdict, REFUSE);
	assert_int_equal(svc_state(f, a.svc_id).refused, 1);
}

/* A service pointing at a revision whose tables are gone (what a reader
 * sees if it races with an update) is re-read, then refused and counted
 * as an error: never sent to a stale or random place. */
static void test_inconsistent_tables_refused(void **state)
{
	struct fixture *f = *state;
	struct sl_svc_key key;
	struct select_args a;
	struct sl_svc v;

	apply(f, weighted);
	a = run(f, "10.96.0.1", 80, SL_PROTO_TCP);
	key = a.key;
	assert_int_equal(bpf_map_lookup_elem(f->maps.svc, &key, &v), 0);
	v.rev += 1000;
	assert_int_equal(bpf_map_update_elem(f->maps.svc, &key, &v, BPF_EXIST), 0);
	a = run(f, "10.96.0.1", 80, SL_PROTO_TCP);
	assert_int_equal(a.verdict, REFUSE);
	assert_int_equal(svc_state(f, v.id).errors, 1);
	v.rev -= 1000;
	assert_int_equal(bpf_map_update_elem(f->maps.svc, &key, &v, BPF_EXIST), 0);
}

/* After an update, the next selection uses the new endpoint set only. */
static void test_update_takes_effect_at_once(void **state)
{
	struct fixture *f = *state;
	const char *one =
		"apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: w}\n"
		"spec:\n  hosts: [w]\n  addresses: [10.96.0.1]\n  resolution: STATIC\n"
		"  ports: [{number: 80, name: http}]\n"
		"  endpoints: [{address: 10.1.0.3}]\n";

	apply(f, weighted);
	apply(f, one);
	for (int i = 0; i < 20; i++) {
		struct select_args a = run(f, "10.96.0.1", 80, SL_PROTO_TCP);

		assert_int_equal(a.verdict, REWRITE);
		assert_int_equal(a.backend.addr.a[0], inet_addr("10.1.0.3"));
	}
	assert_int_equal(run(f, "fd00::1", 80, SL_PROTO_TCP).verdict, PASS);
}

static const char *zones =
	"apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: z}\n"
	"spec:\n  hosts: [z]\n  addresses: [10.96.0.5]\n  resolution: STATIC\n"
	"  ports: [{number: 80, name: tcp, targetPort: 8080}]\n"
	"  endpoints:\n"
	"  - {address: 10.1.0.1, locality: us-east/zone-a}\n"
	"  - {address: 10.1.0.2, locality: us-east/zone-a}\n"
	"  - {address: 10.1.0.3, locality: us-east/zone-b}\n"
	"  - {address: 10.1.0.4, locality: eu-west/zone-a}\n"
	"---\napiVersion: networking.istio.io/v1\nkind: DestinationRule\n"
	"metadata: {name: z}\nspec: {host: z, trafficPolicy: {outlierDetection: {}}}\n";

/* Ejects (in the kernel's own state, as sockops would) endpoint 10.1.0.n. */
static void eject(struct fixture *f, int n)
{
	for (size_t i = 0; i < f->state.n_be; i++) {
		const struct sl_applied_be *be = &f->state.be[i];
		struct sl_backend_state bs = { .ejected_until_ns = ~0ULL >> 1, .ejections = 1 };

		if (be->be.addr.a[0] == htonl(0x0a010000 | (uint32_t)n))
			assert_int_equal(bpf_map_update_elem(f->maps.backend_state, &be->id,
							     &bs, BPF_EXIST), 0);
	}
}

/* Counts the endpoints 10.1.0.1-4 chosen over n TCP connections. */
static void choose_n(struct fixture *f, int n, uint32_t hits[4])
{
	memset(hits, 0, 4 * sizeof(*hits));
	for (int i = 0; i < n; i++) {
		struct select_args a = run(f, "10.96.0.5", 80, SL_PROTO_TCP);
		uint32_t host = ntohl(a.backend.addr.a[0]) & 0xff;

		assert_int_equal(a.verdict, REWRITE);
		assert_true(host >= 1 && host <= 4);
		hits[host - 1]++;
	}
}

/* Locality failover happens in the kernel: with the preferred priority's
 * endpoints ejected, the next priority takes new connections at once,
 * then the next; with every endpoint ejected, the first choice stands. */
static void test_locality_failover(void **state)
{
	struct fixture *f = *state;
	struct sl_svc_key key;
	uint32_t hits[4];
	struct sl_svc v;

	apply_at(f, zones, "us-east/zone-a");
	key = run(f, "10.96.0.5", 80, SL_PROTO_TCP).key;
	assert_int_equal(bpf_map_lookup_elem(f->maps.svc, &key, &v), 0);
	assert_int_equal(v.n_tiers, 3);
	assert_int_equal(v.tier_end[2], v.n_slots);
	assert_true(v.tier_end[0] < v.tier_end[1] && v.tier_end[1] < v.tier_end[2]);

	choose_n(f, 40, hits);
	assert_int_equal(hits[0] + hits[1], 40);
	assert_int_equal(hits[0], hits[1]);
	eject(f, 1);
	choose_n(f, 20, hits);
	assert_int_equal(hits[1], 20);		/* the other endpoint of the zone */
	eject(f, 2);
	choose_n(f, 20, hits);
	assert_int_equal(hits[2], 20);		/* the zone is gone: the region's */
	eject(f, 3);
	choose_n(f, 20, hits);
	assert_int_equal(hits[3], 20);		/* then the other region */
	eject(f, 4);
	choose_n(f, 20, hits);
	assert_int_equal(hits[0] + hits[1], 20);	/* all ejected: panic, as before */

	/* Without the node's locality, one table as always. */
	apply_at(f, zones, NULL);
	assert_int_equal(bpf_map_lookup_elem(f->maps.svc, &key, &v), 0);
	assert_int_equal(v.n_tiers, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_weights_exact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_a_service_passes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_endpoint_refuses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inconsistent_tables_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_update_takes_effect_at_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_locality_failover, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
