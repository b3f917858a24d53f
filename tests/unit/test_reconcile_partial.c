// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The partial reconcile against real maps: the same maps as a full
 * reconcile, backends shared between services kept until their last
 * reference goes, exact reference counts, capacity refusals. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "helpers.h"
#include "locality.h"
#include "maps_fixture.h"
#include "reconcile.h"
#include "state.h"

#define NODE "r/a"

/* A Service and its EndpointSlice, eps its endpoints' YAML lines. */
static size_t service_text(char *buf, size_t len, const char *name, const char *vip,
			   const char *eps)
{
	return (size_t)snprintf(buf, len,
		"apiVersion: v1\nkind: Service\nmetadata: {name: %s}\n"
		"spec: {clusterIP: %s, ports: [{port: 80}]}\n---\n"
		"apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
		"metadata: {name: %s-1, labels: {kubernetes.io/service-name: %s}}\n"
		"addressType: IPv4\nports: [{port: 8080}]\nendpoints:\n%s---\n",
		name, vip, name, name, eps);
}

/* Services a to d, or their changed versions (and a new e) when changed:
 * a and b share 10.1.0.3, a and d share 10.1.0.1, c has two locality
 * priorities, d a Maglev table. */
static void scenario_yaml(char *buf, size_t len, bool changed)
{
	static const char *dr =
		"apiVersion: networking.istio.io/v1\nkind: DestinationRule\n"
		"metadata: {name: %s}\nspec: {host: %s, trafficPolicy: {%s}}\n---\n";
	const char *names[] = { "a", "b", "c", "d", "e" };
	const char *vips[] = { "10.96.0.1", "10.96.0.2", "10.96.0.3", "10.96.0.4",
			       "10.96.0.5" };
	const char *eps[2][5] = {
		{ "- {addresses: [10.1.0.1]}\n- {addresses: [10.1.0.2]}\n"
		  "- {addresses: [10.1.0.3]}\n",
		  "- {addresses: [10.1.0.3]}\n- {addresses: [10.1.0.4]}\n",
		  "- {addresses: [10.1.0.5], zone: a}\n- {addresses: [10.1.0.6], zone: a}\n"
		  "- {addresses: [10.1.0.7], zone: b}\n",
		  "- {addresses: [10.1.0.8]}\n- {addresses: [10.1.0.9]}\n"
		  "- {addresses: [10.1.0.1]}\n", NULL },
		{ "- {addresses: [10.1.0.1]}\n- {addresses: [10.1.0.3]}\n"
		  "- {addresses: [10.1.0.10]}\n",
		  "- {addresses: [10.1.0.3]}\n- {addresses: [10.1.0.4]}\n",
		  "- {addresses: [10.1.0.5], zone: a}\n"
		  "- {addresses: [10.1.0.6], zone: a, conditions: {ready: false, "
		  "serving: true, terminating: true}}\n"
		  "- {addresses: [10.1.0.11], zone: b}\n",
		  "- {addresses: [10.1.0.8]}\n- {addresses: [10.1.0.9]}\n"
		  "- {addresses: [10.1.0.1]}\n",
		  "- {addresses: [10.1.0.2]}\n- {addresses: [10.1.0.12]}\n" },
	};
	size_t off = 0;

	for (int i = 0; i < 5; i++)
		if (eps[changed][i])
			off += service_text(buf + off, len - off, names[i], vips[i],
					    eps[changed][i]);
	off += (size_t)snprintf(buf + off, len - off, dr, "c", "c", "outlierDetection: {}");
	snprintf(buf + off, len - off, dr, "d", "d",
		 "loadBalancer: {consistentHash: {useSourceIp: true, maglev: {tableSize: 31}}}");
}

static void model_at(const char *yaml, struct sl_model *m)
{
	struct sl_locality loc;
	struct sl_config cfg;
	struct sl_err err;

	assert_null(sl_locality_parse(NODE, &loc));
	if (load_yaml(yaml, &cfg, &err) < 0 || sl_model_build_at(&cfg, &loc, m, &err) < 0)
		fail_msg("%s", err.msg);
	sl_config_free(&cfg);
}

static void full(struct sl_state *st, const char *yaml)
{
	struct sl_reconcile_report rep;
	struct sl_model m;
	struct sl_err err;

	model_at(yaml, &m);
	if (sl_reconcile(st, &m, &rep, &err) < 0)
		fail_msg("reconcile: %s", err.msg);
	sl_model_free(&m);
}

static bool vip_listed(const struct sl_frontend *fe, const char *const *vips, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (fe->key.addr.a[0] == inet_addr(vips[i]))
			return true;
	return false;
}

/* sl_reconcile_partial() on the frontends of yaml's model at the vips. */
static int partial(struct sl_state *st, const char *yaml, const char *const *vips,
		   size_t n_vips, uint8_t *touched, struct sl_reconcile_report *rep,
		   struct sl_err *err)
{
	struct sl_frontend fes[16];
	struct sl_model m;
	size_t n = 0;
	int ret;

	model_at(yaml, &m);
	for (size_t i = 0; i < m.n_fe; i++)
		if (vip_listed(&m.fe[i], vips, n_vips) && n < 16)
			fes[n++] = m.fe[i];
	ret = sl_reconcile_partial(st, fes, n, touched, rep, err);
	sl_model_free(&m);
	return ret;
}

static void partial_ok(struct sl_state *st, const char *yaml, const char *const *vips,
		       size_t n_vips, struct sl_reconcile_report *rep)
{
	struct sl_err err;

	if (partial(st, yaml, vips, n_vips, NULL, rep, &err) < 0)
		fail_msg("partial reconcile: %s", err.msg);
}

static void backend_text(struct sl_maps *maps, uint32_t id, char *out, size_t len)
{
	struct sl_backend_info info = { { 0 } };
	struct sl_backend be;
	char ip[INET_ADDRSTRLEN];

	assert_int_equal(bpf_map_lookup_elem(maps->backend, &id, &be), 0);
	bpf_map_lookup_elem(maps->backend_info, &id, &info);
	inet_ntop(AF_INET, &be.addr.a[0], ip, sizeof(ip));
	snprintf(out, len, "%s:%u/%u@%s", ip, ntohs(be.port), be.proto, info.locality);
}

/* The maps' content with backends named by tuple, not id: two states
 * that allocated ids in another order still compare equal. */
static void dump_logical(struct sl_maps *maps, const struct sl_model *m, char *out,
			 size_t len)
{
	size_t off = 0;
	char be[128];

	for (size_t f = 0; f < m->n_fe; f++) {
		struct sl_svc v;

		assert_int_equal(bpf_map_lookup_elem(maps->svc, &m->fe[f].key, &v), 0);
		off += (size_t)snprintf(out + off, len - off, "svc %zu: %u %u %x %u %u|", f,
					v.n_members, v.n_slots, v.flags, v.n_tiers,
					v.tier_end[0]);
		for (uint32_t i = 0; i < v.n_members; i++) {
			struct sl_member_key k = { v.id, v.rev, i };
			struct sl_member mem;

			assert_int_equal(bpf_map_lookup_elem(maps->member, &k, &mem), 0);
			backend_text(maps, mem.backend_id, be, sizeof(be));
			off += (size_t)snprintf(out + off, len - off, "m %s w%u f%x t%u n%u,", be,
						mem.weight, mem.flags, mem.tier, mem.n_slots);
		}
		for (uint32_t i = 0; i < v.n_slots; i++) {
			struct sl_slot_key k = { v.id, v.rev, i };
			struct sl_slot slot;

			assert_int_equal(bpf_map_lookup_elem(maps->slot, &k, &slot), 0);
			backend_text(maps, slot.backend_id, be, sizeof(be));
			off += (size_t)snprintf(out + off, len - off, "%s,", be);
		}
	}
	snprintf(out + off, len - off, "| counts %u %u %u %u %u",
		 fixture_count(maps->svc, sizeof(struct sl_svc_key)),
		 fixture_count(maps->member, sizeof(struct sl_member_key)),
		 fixture_count(maps->slot, sizeof(struct sl_slot_key)),
		 fixture_count(maps->backend, 4), fixture_count(maps->backend_info, 4));
}

/* refs as kept by the reconciler are what a recount from st->fe gives. */
static void assert_refs_exact(struct sl_state *st)
{
	uint32_t kept[64];

	assert_true(st->n_be <= 64);
	for (size_t i = 0; i < st->n_be; i++)
		kept[i] = st->be[i].refs;
	sl_state_count_refs(st);
	for (size_t i = 0; i < st->n_be; i++)
		assert_int_equal(kept[i], st->be[i].refs);
}

static uint32_t refs_of(const struct sl_state *st, const char *ip)
{
	for (size_t i = 0; i < st->n_be; i++)
		if (st->be[i].be.addr.a[0] == inet_addr(ip))
			return st->be[i].refs;
	fail_msg("no backend %s in the state", ip);
	return 0;
}

/* A change of a, c and the new e, applied partially on them alone,
 * leaves the maps as a full reconcile of the whole model does. */
static void test_partial_same_as_full(void **state)
{
	const char *vips[] = { "10.96.0.1", "10.96.0.3", "10.96.0.5" };
	static char y0[8192], y1[8192], d1[16384], d2[16384];
	struct sl_reconcile_report rep;
	struct sl_maps maps1, maps2;
	struct sl_state st1, st2;
	uint8_t touched[16] = { 0 };
	struct sl_model m;
	struct sl_err err;

	(void)state;
	scenario_yaml(y0, sizeof(y0), false);
	scenario_yaml(y1, sizeof(y1), true);
	fixture_maps_create(&maps1, 16, 32, 4096);
	fixture_maps_create(&maps2, 16, 32, 4096);
	assert_int_equal(sl_state_load(&st1, &maps1, &err), 0);
	assert_int_equal(sl_state_load(&st2, &maps2, &err), 0);
	full(&st1, y0);
	full(&st2, y0);
	assert_int_equal(refs_of(&st1, "10.1.0.1"), 2);
	assert_int_equal(refs_of(&st1, "10.1.0.3"), 2);

	assert_int_equal(partial(&st1, y1, vips, 3, touched, &rep, &err), 0);
	assert_int_equal(rep.fe_updated, 2);
	assert_int_equal(rep.fe_added, 1);
	assert_int_equal(rep.be_added, 3);	/* .10, .11, .12 */
	assert_int_equal(rep.be_removed, 1);	/* .7; .2 moves to e */
	assert_true(touched[st1.fe[0].id]);
	assert_false(touched[st1.fe[1].id]);
	full(&st2, y1);

	model_at(y1, &m);
	dump_logical(&maps1, &m, d1, sizeof(d1));
	dump_logical(&maps2, &m, d2, sizeof(d2));
	assert_string_equal(d1, d2);
	sl_model_free(&m);
	assert_int_equal(st1.n_fe, st2.n_fe);
	assert_int_equal(st1.n_be, st2.n_be);
	assert_int_equal(st1.n_slot_entries, st2.n_slot_entries);
	assert_int_equal(st1.n_member_entries, st2.n_member_entries);
	assert_int_equal(st1.be_ids.n_used, st2.be_ids.n_used);
	assert_int_equal(st1.svc_ids.n_used, st2.svc_ids.n_used);
	for (size_t i = 0; i < st1.n_be; i++) {
		assert_memory_equal(&st1.be[i].be, &st2.be[i].be, sizeof(st1.be[i].be));
		assert_int_equal(st1.be[i].refs, st2.be[i].refs);
	}
	assert_refs_exact(&st1);

	/* And back again: the old frontends come back the same way. */
	assert_int_equal(partial(&st1, y0, vips, 3, NULL, &rep, &err), 0);
	assert_int_equal(rep.fe_removed, 0);	/* e stays: none is removed */
	assert_refs_exact(&st1);
	assert_int_equal(refs_of(&st1, "10.1.0.2"), 2);
	sl_state_free(&st1);
	sl_state_free(&st2);
	sl_maps_close(&maps1);
	sl_maps_close(&maps2);
}

static void two_services(char *buf, size_t len, const char *x_eps, const char *y_eps)
{
	static const char *fmt =
		"apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: x}\n"
		"spec: {hosts: [x], addresses: [10.96.0.1], resolution: STATIC,\n"
		"  ports: [{number: 80, name: http}], endpoints: [%s]}\n---\n"
		"apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: y}\n"
		"spec: {hosts: [y], addresses: [10.96.0.2], resolution: STATIC,\n"
		"  ports: [{number: 80, name: http}], endpoints: [%s]}\n";

	snprintf(buf, len, fmt, x_eps, y_eps);
}

#define EP(a) "{address: 10.1.0." #a "}"

/* A backend of two services survives the first dropping it and goes with
 * the second; the counts stay exact, also as read back after a restart. */
static void test_shared_backend_refs(void **state)
{
	const char *x[] = { "10.96.0.1" }, *y[] = { "10.96.0.2" };
	struct sl_reconcile_report rep;
	struct sl_maps maps;
	struct sl_state st, st2;
	struct sl_err err;
	char yaml[2048];

	(void)state;
	fixture_maps_create(&maps, 16, 16, 64);
	assert_int_equal(sl_state_load(&st, &maps, &err), 0);
	two_services(yaml, sizeof(yaml), EP(1) ", " EP(2), EP(2) ", " EP(3));
	full(&st, yaml);
	assert_int_equal(refs_of(&st, "10.1.0.2"), 2);

	two_services(yaml, sizeof(yaml), EP(1), EP(2) ", " EP(3));
	partial_ok(&st, yaml, x, 1, &rep);
	assert_int_equal(rep.fe_updated, 1);
	assert_int_equal(rep.be_removed, 0);
	assert_int_equal(fixture_count(maps.backend, 4), 3);
	assert_int_equal(refs_of(&st, "10.1.0.2"), 1);
	assert_refs_exact(&st);

	/* Restart: the counts read back are the ones kept. */
	assert_int_equal(sl_state_load(&st2, &maps, &err), 0);
	assert_int_equal(st2.n_be, st.n_be);
	for (size_t i = 0; i < st.n_be; i++)
		assert_int_equal(st2.be[i].refs, st.be[i].refs);
	sl_state_free(&st);

	two_services(yaml, sizeof(yaml), EP(1), EP(3));
	partial_ok(&st2, yaml, y, 1, &rep);
	assert_int_equal(rep.be_removed, 1);
	assert_int_equal(fixture_count(maps.backend, 4), 2);
	assert_int_equal(fixture_count(maps.backend_info, 4), 2);
	assert_int_equal(st2.n_be, 2);
	assert_int_equal(st2.be_ids.n_used, 2);
	assert_int_equal(refs_of(&st2, "10.1.0.1"), 1);
	assert_int_equal(refs_of(&st2, "10.1.0.3"), 1);
	assert_refs_exact(&st2);
	sl_state_free(&st2);
	sl_maps_close(&maps);
}

static const char *locality_of(const struct sl_state *st, const char *ip)
{
	for (size_t i = 0; i < st->n_be; i++)
		if (st->be[i].be.addr.a[0] == inet_addr(ip))
			return st->be[i].locality;
	fail_msg("no backend %s in the state", ip);
	return NULL;
}

/* A backend shared with a frontend not listed keeps its locality name;
 * once every reference is listed, the new name is written. */
static void test_partial_locality(void **state)
{
	const char *x[] = { "10.96.0.1" }, *both[] = { "10.96.0.1", "10.96.0.2" };
	const char *in_a = "- {addresses: [10.1.0.2], zone: a}\n";
	const char *in_b = "- {addresses: [10.1.0.2], zone: b}\n";
	struct sl_backend_info info;
	struct sl_reconcile_report rep;
	struct sl_maps maps;
	struct sl_state st;
	struct sl_err err;
	char yaml[4096];
	size_t off;

	(void)state;
	fixture_maps_create(&maps, 16, 16, 64);
	assert_int_equal(sl_state_load(&st, &maps, &err), 0);
	off = service_text(yaml, sizeof(yaml), "x", "10.96.0.1", in_a);
	service_text(yaml + off, sizeof(yaml) - off, "y", "10.96.0.2", in_a);
	full(&st, yaml);
	assert_string_equal(locality_of(&st, "10.1.0.2"), "a");

	off = service_text(yaml, sizeof(yaml), "x", "10.96.0.1", in_b);
	service_text(yaml + off, sizeof(yaml) - off, "y", "10.96.0.2", in_b);
	partial_ok(&st, yaml, x, 1, &rep);
	assert_int_equal(rep.be_updated, 0);
	assert_string_equal(locality_of(&st, "10.1.0.2"), "a");
	partial_ok(&st, yaml, both, 2, &rep);
	assert_int_equal(rep.be_updated, 1);
	assert_string_equal(locality_of(&st, "10.1.0.2"), "b");
	assert_int_equal(bpf_map_lookup_elem(maps.backend_info, &st.be[0].id, &info), 0);
	assert_string_equal(info.locality, "b");
	sl_state_free(&st);
	sl_maps_close(&maps);
}

/* Refused before any write: the maps and st as they were. */
static void test_partial_capacity_refused(void **state)
{
	const char *x[] = { "10.96.0.1" };
	struct sl_reconcile_report rep;
	struct sl_maps maps;
	struct sl_state st;
	struct sl_err err;
	char yaml[2048];
	uint32_t rev;

	(void)state;
	fixture_maps_create(&maps, 16, 3, 64);
	assert_int_equal(sl_state_load(&st, &maps, &err), 0);
	two_services(yaml, sizeof(yaml), EP(1), EP(1));
	full(&st, yaml);
	rev = st.fe[0].rev;
	two_services(yaml, sizeof(yaml), EP(1) ", " EP(2) ", " EP(3) ", " EP(4), EP(1));
	assert_int_equal(partial(&st, yaml, x, 1, NULL, &rep, &err), -1);
	assert_contains(err.msg, "sluice_backend is full");
	assert_int_equal(fixture_count(maps.backend, 4), 1);
	assert_int_equal(st.n_be, 1);
	assert_int_equal(st.be_ids.n_used, 1);
	assert_int_equal(st.be[0].refs, 2);
	assert_int_equal(st.fe[0].rev, rev);
	sl_state_free(&st);
	sl_maps_close(&maps);

	/* Slots: the new table next to the old one overflows. */
	fixture_maps_create(&maps, 16, 16, 5);
	assert_int_equal(sl_state_load(&st, &maps, &err), 0);
	two_services(yaml, sizeof(yaml), EP(1) ", " EP(2), EP(3) ", " EP(4));
	full(&st, yaml);
	two_services(yaml, sizeof(yaml), EP(1) ", " EP(5), EP(3) ", " EP(4));
	assert_int_equal(partial(&st, yaml, x, 1, NULL, &rep, &err), -1);
	assert_contains(err.msg, "is full");
	assert_int_equal(fixture_count(maps.backend, 4), 4);
	assert_int_equal(fixture_count(maps.slot, sizeof(struct sl_slot_key)), 4);
	assert_int_equal(st.n_be, 4);
	assert_int_equal(st.be_ids.n_used, 4);
	assert_int_equal(st.n_slot_entries, 4);
	assert_refs_exact(&st);
	sl_state_free(&st);
	sl_maps_close(&maps);
}

/* A frontend new to st is added through the partial path; an unchanged
 * one listed writes nothing; keys out of order are refused. */
static void test_partial_adds_frontend(void **state)
{
	const char *x[] = { "10.96.0.1" }, *both[] = { "10.96.0.1", "10.96.0.2" };
	struct sl_reconcile_report rep;
	struct sl_frontend fes[2];
	uint8_t touched[16] = { 0 };
	struct sl_maps maps;
	struct sl_state st;
	struct sl_model m;
	struct sl_err err;
	char yaml[2048];
	struct sl_svc v;

	(void)state;
	fixture_maps_create(&maps, 16, 16, 64);
	assert_int_equal(sl_state_load(&st, &maps, &err), 0);
	two_services(yaml, sizeof(yaml), EP(1), EP(1) ", " EP(9));
	partial_ok(&st, yaml, x, 1, &rep);
	assert_int_equal(rep.fe_added, 1);
	assert_int_equal(partial(&st, yaml, both, 2, touched, &rep, &err), 0);
	assert_int_equal(rep.fe_added, 1);
	assert_int_equal(rep.fe_unchanged, 1);
	assert_int_equal(rep.be_added, 1);
	assert_int_equal(st.n_fe, 2);
	assert_int_equal(bpf_map_lookup_elem(maps.svc, &st.fe[1].key, &v), 0);
	assert_int_equal(v.n_members, 2);
	assert_int_equal(v.n_slots, 2);
	assert_true(touched[v.id]);
	assert_false(touched[st.fe[0].id]);
	assert_int_equal(refs_of(&st, "10.1.0.1"), 2);
	assert_refs_exact(&st);

	model_at(yaml, &m);
	fes[0] = m.fe[1];
	fes[1] = m.fe[0];
	assert_int_equal(sl_reconcile_partial(&st, fes, 2, NULL, &rep, &err), -1);
	assert_contains(err.msg, "not sorted");
	sl_model_free(&m);
	sl_state_free(&st);
	sl_maps_close(&maps);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_partial_same_as_full),
		cmocka_unit_test(test_shared_backend_refs),
		cmocka_unit_test(test_partial_locality),
		cmocka_unit_test(test_partial_capacity_refused),
		cmocka_unit_test(test_partial_adds_frontend),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
