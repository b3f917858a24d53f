// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The reconciler against real maps: fewest writes, atomic switches,
 * capacity refusals and recovery of the state after a restart. */
#include <arpa/inet.h>
#include <errno.h>

#include "helpers.h"
#include "locality.h"
#include "maps_fixture.h"
#include "reconcile.h"
#include "state.h"

/* A service with the given endpoints (IPv4, port 8080, weight 1 each). */
static void service_yaml(char *buf, size_t len, const char *name, const char *vip,
			 const char *const *eps, size_t n)
{
	size_t off = (size_t)snprintf(buf, len,
		"apiVersion: v1\nkind: Service\nmetadata: {name: %s}\n"
		"spec: {clusterIP: %s, ports: [{port: 80}]}\n---\n"
		"apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
		"metadata: {name: %s-1, labels: {kubernetes.io/service-name: %s}}\n"
		"addressType: IPv4\nports: [{port: 8080}]\nendpoints:\n", name, vip, name, name);

	for (size_t i = 0; i < n; i++)
		off += (size_t)snprintf(buf + off, len - off, "- addresses: [%s]\n", eps[i]);
}

static struct sl_svc read_svc(struct sl_maps *maps, const char *vip)
{
	struct sl_svc_key key;
	struct sl_svc v;
	struct sl_ip ip;

	memset(&key, 0, sizeof(key));
	assert_int_equal(sl_ip_parse(vip, &ip), 0);
	key.addr = ip.addr;
	key.family = ip.family;
	key.port = htons(80);
	key.proto = SL_PROTO_TCP;
	if (bpf_map_lookup_elem(maps->svc, &key, &v))
		fail_msg("no service %s: %s", vip, strerror(errno));
	return v;
}

static void test_add_change_remove(void **state)
{
	const char *three[] = { "10.1.0.1", "10.1.0.2", "10.1.0.3" };
	const char *two[] = { "10.1.0.1", "10.1.0.3" };
	struct sl_reconcile_report rep;
	struct sl_svc before, after;
	struct sl_maps maps;
	struct sl_state st;
	struct sl_err err;
	char yaml[4096];

	(void)state;
	fixture_maps_create(&maps, 16, 16, 64);
	assert_int_equal(sl_state_load(&st, &maps, &err), 0);

	service_yaml(yaml, sizeof(yaml), "web", "10.96.0.1", three, 3);
	reconcile_text(&st, yaml, &rep);
	assert_int_equal(rep.fe_added, 1);
	assert_int_equal(rep.be_added, 3);
	before = read_svc(&maps, "10.96.0.1");
	assert_int_equal(before.n_members, 3);
	assert_int_equal(before.n_slots, 3);
	assert_int_equal(fixture_count(maps.slot, sizeof(struct sl_slot_key)), 3);

	/* The same configuration writes nothing. */
	reconcile_text(&st, yaml, &rep);
	assert_int_equal(rep.fe_unchanged, 1);
	assert_int_equal(rep.fe_added + rep.fe_updated + rep.be_added + rep.be_removed, 0);
	after = read_svc(&maps, "10.96.0.1");
	assert_int_equal(after.rev, before.rev);

	/* Removing an endpoint switches the service to a new revision whose
	 * tables no longer hold it, and deletes the old revision. */
	service_yaml(yaml, sizeof(yaml), "web", "10.96.0.1", two, 2);
	reconcile_text(&st, yaml, &rep);
	assert_int_equal(rep.fe_updated, 1);
	assert_int_equal(rep.be_removed, 1);
	after = read_svc(&maps, "10.96.0.1");
	assert_int_equal(after.id, before.id);
	assert_int_not_equal(after.rev, before.rev);
	assert_int_equal(after.n_slots, 2);
	assert_int_equal(fixture_count(maps.slot, sizeof(struct sl_slot_key)), 2);
	assert_int_equal(fixture_count(maps.member, sizeof(struct sl_member_key)), 2);
	assert_int_equal(fixture_count(maps.backend, 4), 2);
	for (uint32_t i = 0; i < after.n_slots; i++) {
		struct sl_slot_key k = { after.id, after.rev, i };
		struct sl_slot slot;
		struct sl_backend be;

		assert_int_equal(bpf_map_lookup_elem(maps.slot, &k, &slot), 0);
		assert_int_equal(bpf_map_lookup_elem(maps.backend, &slot.backend_id, &be), 0);
		assert_int_not_equal(be.addr.a[0], inet_addr("10.1.0.2"));
	}

	/* An empty configuration removes everything. */
	reconcile_text(&st, "", &rep);
	assert_int_equal(rep.fe_removed, 1);
	assert_int_equal(fixture_count(maps.svc, sizeof(struct sl_svc_key)), 0);
	assert_int_equal(fixture_count(maps.slot, sizeof(struct sl_slot_key)), 0);
	assert_int_equal(fixture_count(maps.backend, 4), 0);
	assert_int_equal(fixture_count(maps.svc_info, 4), 0);
	sl_state_free(&st);
	sl_maps_close(&maps);
}

/* A frontend that shrinks, followed by others in the same update: the
 * capacity check once wrapped the count in 32 bits and refused it. */
static void test_shrink_then_more_frontends(void **state)
{
	const char *three[] = { "10.1.0.1", "10.1.0.2", "10.1.0.3" };
	const char *one[] = { "10.1.0.1" };
	const char *four[] = { "10.1.0.1", "10.1.0.2", "10.1.0.3", "10.1.0.4" };
	struct sl_reconcile_report rep;
	struct sl_maps maps;
	struct sl_state st;
	struct sl_err err;
	char a[2048], b[2048], yaml[4200];

	(void)state;
	fixture_maps_create(&maps, 16, 16, 64);
	assert_int_equal(sl_state_load(&st, &maps, &err), 0);
	service_yaml(a, sizeof(a), "a", "10.96.0.1", three, 3);
	service_yaml(b, sizeof(b), "b", "10.96.0.2", three, 3);
	snprintf(yaml, sizeof(yaml), "%s---\n%s", a, b);
	reconcile_text(&st, yaml, &rep);
	service_yaml(a, sizeof(a), "a", "10.96.0.1", one, 1);
	service_yaml(b, sizeof(b), "b", "10.96.0.2", four, 4);
	snprintf(yaml, sizeof(yaml), "%s---\n%s", a, b);
	reconcile_text(&st, yaml, &rep);
	assert_int_equal(rep.fe_updated, 2);
	assert_int_equal(read_svc(&maps, "10.96.0.1").n_members, 1);
	sl_state_free(&st);
	sl_maps_close(&maps);
}

static void test_full_map_refused_before_any_write(void **state)
{
	const char *eps[] = { "10.1.0.1", "10.1.0.2", "10.1.0.3", "10.1.0.4" };
	struct sl_reconcile_report rep;
	struct sl_maps maps;
	struct sl_state st;
	struct sl_model m;
	struct sl_err err;
	char yaml[4096];

	(void)state;
	fixture_maps_create(&maps, 16, 3, 64);
	assert_int_equal(sl_state_load(&st, &maps, &err), 0);
	service_yaml(yaml, sizeof(yaml), "web", "10.96.0.1", eps, 2);
	reconcile_text(&st, yaml, &rep);

	service_yaml(yaml, sizeof(yaml), "web", "10.96.0.1", eps, 4);
	build_model(yaml, &m);
	assert_int_equal(sl_reconcile(&st, &m, &rep, &err), -1);
	assert_contains(err.msg, "sluice_backend is full");
	assert_int_equal(read_svc(&maps, "10.96.0.1").n_members, 2);
	assert_int_equal(fixture_count(maps.backend, 4), 2);
	sl_model_free(&m);
	/* The refusal left the agent's view of the maps intact. */
	service_yaml(yaml, sizeof(yaml), "web", "10.96.0.1", eps, 2);
	reconcile_text(&st, yaml, &rep);
	assert_int_equal(rep.fe_unchanged, 1);
	assert_int_equal(rep.be_added + rep.be_removed, 0);

	/* Slots: a new table is written next to the old one before the
	 * switch, so the peak counts both. */
	service_yaml(yaml, sizeof(yaml), "web", "10.96.0.1", &eps[1], 2);
	sl_state_free(&st);
	sl_maps_close(&maps);
	fixture_maps_create(&maps, 16, 16, 3);
	assert_int_equal(sl_state_load(&st, &maps, &err), 0);
	reconcile_text(&st, yaml, &rep);
	service_yaml(yaml, sizeof(yaml), "web", "10.96.0.1", eps, 2);
	build_model(yaml, &m);
	assert_int_equal(sl_reconcile(&st, &m, &rep, &err), -1);
	assert_contains(err.msg, "is full");
	sl_model_free(&m);
	sl_state_free(&st);
	sl_maps_close(&maps);
}

/* A restarted agent rebuilds its state from the maps: same ids, nothing
 * rewritten, and orphans of an interrupted update swept away. */
static void test_state_recovered_from_maps(void **state)
{
	const char *eps[] = { "10.1.0.1", "10.1.0.2" };
	struct sl_reconcile_report rep;
	struct sl_slot_key orphan = { 7, 999, 0 };
	struct sl_slot slot = { 0 };
	struct sl_maps maps;
	struct sl_state st, st2;
	struct sl_err err;
	char yaml[4096];

	(void)state;
	fixture_maps_create(&maps, 16, 16, 64);
	assert_int_equal(sl_state_load(&st, &maps, &err), 0);
	service_yaml(yaml, sizeof(yaml), "web", "10.96.0.1", eps, 2);
	reconcile_text(&st, yaml, &rep);
	assert_int_equal(bpf_map_update_elem(maps.slot, &orphan, &slot, BPF_ANY), 0);

	assert_int_equal(sl_state_load(&st2, &maps, &err), 0);
	assert_int_equal(st2.n_fe, 1);
	assert_int_equal(st2.n_be, 2);
	assert_int_equal(st2.fe[0].id, st.fe[0].id);
	assert_false(st2.fe[0].dirty);
	assert_int_equal(bpf_map_lookup_elem(maps.slot, &orphan, &slot), -ENOENT);
	reconcile_text(&st2, yaml, &rep);
	assert_int_equal(rep.fe_unchanged, 1);
	assert_int_equal(rep.be_added + rep.be_removed + rep.fe_updated, 0);
	sl_state_free(&st);
	sl_state_free(&st2);
	sl_maps_close(&maps);
}

/* Backends shared by services keep one id; weights reach the tables. */
static void test_shared_backend_and_weights(void **state)
{
	const char *yaml =
		"apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: a}\n"
		"spec: {hosts: [a], addresses: [10.96.0.1, 10.96.0.2], resolution: STATIC,\n"
		"  ports: [{number: 80, name: http}],\n"
		"  endpoints: [{address: 10.1.0.1, weight: 1}, {address: 10.1.0.2, weight: 3}]}\n";
	struct sl_reconcile_report rep;
	struct sl_maps maps;
	struct sl_state st;
	struct sl_err err;
	struct sl_svc v;
	uint32_t count[16] = { 0 };

	(void)state;
	fixture_maps_create(&maps, 16, 16, 64);
	assert_int_equal(sl_state_load(&st, &maps, &err), 0);
	reconcile_text(&st, yaml, &rep);
	assert_int_equal(rep.fe_added, 2);
	assert_int_equal(rep.be_added, 2);
	v = read_svc(&maps, "10.96.0.2");
	assert_int_equal(v.n_slots, 4);
	for (uint32_t i = 0; i < v.n_slots; i++) {
		struct sl_slot_key k = { v.id, v.rev, i };
		struct sl_slot s;

		assert_int_equal(bpf_map_lookup_elem(maps.slot, &k, &s), 0);
		count[s.backend_id]++;
	}
	for (uint32_t i = 0; i < v.n_members; i++) {
		struct sl_member_key k = { v.id, v.rev, i };
		struct sl_member mem;

		assert_int_equal(bpf_map_lookup_elem(maps.member, &k, &mem), 0);
		assert_int_equal(count[mem.backend_id], mem.weight);
		assert_int_equal(mem.n_slots, mem.weight);
	}
	sl_state_free(&st);
	sl_maps_close(&maps);
}

static void reconcile_at(struct sl_state *st, const char *yaml, const char *node,
			 struct sl_reconcile_report *rep)
{
	struct sl_locality loc;
	struct sl_config cfg;
	struct sl_model m;
	struct sl_err err;

	assert_null(sl_locality_parse(node, &loc));
	if (load_yaml(yaml, &cfg, &err) < 0 || sl_model_build_at(&cfg, &loc, &m, &err) < 0)
		fail_msg("%s", err.msg);
	sl_config_free(&cfg);
	if (sl_reconcile(st, &m, rep, &err) < 0)
		fail_msg("reconcile: %s", err.msg);
	sl_model_free(&m);
}

/* The backend of every slot in [lo, hi), as the last octet of its address. */
static void slot_hosts(struct sl_maps *maps, const struct sl_svc *v, uint32_t lo,
		       uint32_t hi, uint32_t hits[8])
{
	memset(hits, 0, 8 * sizeof(*hits));
	for (uint32_t i = lo; i < hi; i++) {
		struct sl_slot_key k = { v->id, v->rev, i };
		struct sl_slot slot;
		struct sl_backend be;

		assert_int_equal(bpf_map_lookup_elem(maps->slot, &k, &slot), 0);
		assert_int_equal(bpf_map_lookup_elem(maps->backend, &slot.backend_id, &be), 0);
		hits[ntohl(be.addr.a[0]) & 7]++;
	}
}

/* Locality priorities are laid out as one table each, end to end, with
 * the members' priorities in the member table; unchanged, they write
 * nothing, also after a restart; another node locality rewrites them. */
static void test_locality_tiers(void **state)
{
	char yaml[2048];
	const char *fmt =
		"apiVersion: v1\nkind: Service\nmetadata: {name: web}\n"
		"spec: {clusterIP: 10.96.0.1, ports: [{port: 80}]}\n---\n"
		"apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
		"metadata: {name: web-1, labels: {kubernetes.io/service-name: web}}\n"
		"addressType: IPv4\nports: [{port: 8080}]\nendpoints:\n"
		"- {addresses: [10.1.0.1], zone: a}\n- {addresses: [10.1.0.2], zone: a}\n"
		"- {addresses: [10.1.0.3], zone: b}\n---\n"
		"apiVersion: networking.istio.io/v1\nkind: DestinationRule\n"
		"metadata: {name: web}\nspec: {host: web, trafficPolicy: {%s"
		"outlierDetection: {}}}\n";
	struct sl_reconcile_report rep;
	struct sl_member mem;
	struct sl_maps maps;
	struct sl_state st;
	struct sl_err err;
	uint32_t hits[8];
	struct sl_svc v;

	(void)state;
	fixture_maps_create(&maps, 16, 16, 65536);
	assert_int_equal(sl_state_load(&st, &maps, &err), 0);
	snprintf(yaml, sizeof(yaml), fmt, "");
	reconcile_at(&st, yaml, "r/a", &rep);
	v = read_svc(&maps, "10.96.0.1");
	assert_int_equal(v.n_tiers, 2);
	assert_int_equal(v.tier_end[0], 2);
	assert_int_equal(v.tier_end[1], 3);
	assert_int_equal(v.n_slots, 3);
	slot_hosts(&maps, &v, 0, 2, hits);
	assert_true(hits[1] == 1 && hits[2] == 1);
	slot_hosts(&maps, &v, 2, 3, hits);
	assert_int_equal(hits[3], 1);
	for (uint32_t i = 0; i < 3; i++) {
		struct sl_member_key k = { v.id, v.rev, i };

		assert_int_equal(bpf_map_lookup_elem(maps.member, &k, &mem), 0);
		assert_int_equal(mem.tier, i == 2 ? 1u : 0u);
	}

	reconcile_at(&st, yaml, "r/a", &rep);
	assert_int_equal(rep.fe_unchanged, 1);
	sl_state_free(&st);
	assert_int_equal(sl_state_load(&st, &maps, &err), 0);
	reconcile_at(&st, yaml, "r/a", &rep);
	assert_int_equal(rep.fe_unchanged, 1);
	assert_int_equal(read_svc(&maps, "10.96.0.1").rev, v.rev);

	/* The node moves to zone b: b preferred. */
	reconcile_at(&st, yaml, "r/b", &rep);
	assert_int_equal(rep.fe_updated, 1);
	v = read_svc(&maps, "10.96.0.1");
	assert_int_equal(v.tier_end[0], 1);
	slot_hosts(&maps, &v, 0, 1, hits);
	assert_int_equal(hits[3], 1);

	/* Maglev: one prime table per priority. */
	snprintf(yaml, sizeof(yaml), fmt,
		 "loadBalancer: {consistentHash: {useSourceIp: true, maglev: {tableSize: 31}}}, ");
	reconcile_at(&st, yaml, "r/a", &rep);
	v = read_svc(&maps, "10.96.0.1");
	assert_int_equal(v.n_tiers, 2);
	assert_int_equal(v.tier_end[0], 31);
	assert_int_equal(v.n_slots, 62);
	slot_hosts(&maps, &v, 0, 31, hits);
	assert_int_equal(hits[1] + hits[2], 31);
	assert_true(hits[1] >= 14 && hits[2] >= 14);
	slot_hosts(&maps, &v, 31, 62, hits);
	assert_int_equal(hits[3], 31);

	/* Only the table size changes: the service is written again, with
	 * tables of the new size (same members, weights and tiers). */
	snprintf(yaml, sizeof(yaml), fmt,
		 "loadBalancer: {consistentHash: {useSourceIp: true, maglev: {tableSize: 61}}}, ");
	reconcile_at(&st, yaml, "r/a", &rep);
	assert_int_equal(rep.fe_updated, 1);
	v = read_svc(&maps, "10.96.0.1");
	assert_int_equal(v.tier_end[0], 61);
	assert_int_equal(v.n_slots, 122);
	sl_state_free(&st);
	sl_maps_close(&maps);
}

/* connectTimeout and the ejection percentages reach sluice_svc, are read
 * back by a restarted agent, and a change of one of them alone rewrites
 * the service. */
static void test_timeouts_and_ejection_limits_written(void **state)
{
	static const char *fmt =
		"apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: a}\n"
		"spec: {hosts: [a], addresses: [10.96.0.1], resolution: STATIC,\n"
		"  ports: [{number: 80, name: http}], endpoints: [{address: 10.1.0.1}]}\n---\n"
		"apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: a}\n"
		"spec:\n  host: a\n  trafficPolicy:\n"
		"    connectionPool: {tcp: {connectTimeout: %s}}\n"
		"    outlierDetection: {maxEjectionPercent: 30, minHealthPercent: %d}\n";
	struct sl_reconcile_report rep;
	struct sl_maps maps;
	struct sl_state st, st2;
	struct sl_err err;
	struct sl_svc v;
	char yaml[1024];

	(void)state;
	fixture_maps_create(&maps, 16, 16, 64);
	assert_int_equal(sl_state_load(&st, &maps, &err), 0);
	snprintf(yaml, sizeof(yaml), fmt, "2s", 40);
	reconcile_text(&st, yaml, &rep);
	v = read_svc(&maps, "10.96.0.1");
	assert_int_equal(v.connect_ms, 2000);
	assert_int_equal(v.eject_max_pct, 30);
	assert_int_equal(v.min_health_pct, 40);
	assert_int_equal(v.eject_after, 5);

	assert_int_equal(sl_state_load(&st2, &maps, &err), 0);
	assert_int_equal(st2.fe[0].connect_ms, 2000);
	assert_int_equal(st2.fe[0].eject_max_pct, 30);
	assert_int_equal(st2.fe[0].min_health_pct, 40);
	reconcile_text(&st2, yaml, &rep);
	assert_int_equal(rep.fe_unchanged, 1);
	snprintf(yaml, sizeof(yaml), fmt, "2s", 0);
	reconcile_text(&st2, yaml, &rep);
	assert_int_equal(rep.fe_updated, 1);
	assert_int_equal(read_svc(&maps, "10.96.0.1").min_health_pct, 0);
	snprintf(yaml, sizeof(yaml), fmt, "500ms", 0);
	reconcile_text(&st2, yaml, &rep);
	assert_int_equal(rep.fe_updated, 1);
	assert_int_equal(read_svc(&maps, "10.96.0.1").connect_ms, 500);
	sl_state_free(&st);
	sl_state_free(&st2);
	sl_maps_close(&maps);
}

/* A frontend whose member or last slot is missing from the maps is found
 * incomplete when the state is read back, and rewritten; the entries of
 * another revision are swept. */
static void test_incomplete_tables_found_at_load(void **state)
{
	const char *eps[] = { "10.1.0.1", "10.1.0.2", "10.1.0.3" };
	struct sl_reconcile_report rep;
	struct sl_member stale = { 0 };
	struct sl_maps maps;
	struct sl_state st, st2, st3;
	struct sl_err err;
	struct sl_svc v;
	char yaml[4096];

	(void)state;
	fixture_maps_create(&maps, 16, 16, 64);
	assert_int_equal(sl_state_load(&st, &maps, &err), 0);
	service_yaml(yaml, sizeof(yaml), "web", "10.96.0.1", eps, 3);
	reconcile_text(&st, yaml, &rep);
	v = read_svc(&maps, "10.96.0.1");
	{
		struct sl_member_key gone = { v.id, v.rev, 1 };
		struct sl_member_key other = { v.id, v.rev + 7, 0 };

		assert_int_equal(bpf_map_delete_elem(maps.member, &gone), 0);
		assert_int_equal(bpf_map_update_elem(maps.member, &other, &stale, BPF_ANY), 0);
	}
	assert_int_equal(sl_state_load(&st2, &maps, &err), 0);
	assert_int_equal(st2.n_fe, 1);
	assert_true(st2.fe[0].dirty);
	assert_int_equal(st2.n_member_entries, 2);
	assert_int_equal(fixture_count(maps.member, sizeof(struct sl_member_key)), 2);
	reconcile_text(&st2, yaml, &rep);
	assert_int_equal(rep.fe_updated, 1);
	assert_int_equal(fixture_count(maps.member, sizeof(struct sl_member_key)), 3);

	/* Complete again: read back as it is. */
	assert_int_equal(sl_state_load(&st3, &maps, &err), 0);
	assert_false(st3.fe[0].dirty);
	assert_int_equal(st3.n_slot_entries, 3);
	assert_int_equal(st3.fe[0].members[2].backend_id, st2.fe[0].members[2].backend_id);
	sl_state_free(&st);
	sl_state_free(&st2);
	sl_state_free(&st3);
	sl_maps_close(&maps);
}

/* From the previous model: frontends the same in both are left alone
 * unbuilt, a changed one is rewritten, and the ids of what was written
 * are marked; a frontend found incomplete in the maps is rewritten even
 * when the models agree. */
static void test_reconcile_from_previous_model(void **state)
{
	const char *a_eps[] = { "10.1.0.1", "10.1.0.2" }, *b_eps[] = { "10.2.0.1" };
	const char *b2_eps[] = { "10.2.0.2" };
	struct sl_reconcile_report rep;
	struct sl_model m1, m2;
	struct sl_maps maps;
	struct sl_state st;
	struct sl_err err;
	char a[2048], b[2048], yaml[4200];
	uint8_t touched[16] = { 0 };
	uint32_t id_a, id_b;

	(void)state;
	fixture_maps_create(&maps, 16, 16, 64);
	assert_int_equal(sl_state_load(&st, &maps, &err), 0);
	service_yaml(a, sizeof(a), "a", "10.96.0.1", a_eps, 2);
	service_yaml(b, sizeof(b), "b", "10.96.0.2", b_eps, 1);
	snprintf(yaml, sizeof(yaml), "%s---\n%s", a, b);
	build_model(yaml, &m1);
	assert_int_equal(sl_reconcile_from(&st, &m1, NULL, &rep, &err), 0);
	id_a = read_svc(&maps, "10.96.0.1").id;
	id_b = read_svc(&maps, "10.96.0.2").id;

	service_yaml(b, sizeof(b), "b", "10.96.0.2", b2_eps, 1);
	snprintf(yaml, sizeof(yaml), "%s---\n%s", a, b);
	build_model(yaml, &m2);
	assert_int_equal(sl_reconcile_touched(&st, &m2, &m1, touched, &rep, &err), 0);
	assert_int_equal(rep.fe_unchanged, 1);
	assert_int_equal(rep.fe_updated, 1);
	assert_int_equal(rep.be_added, 1);
	assert_int_equal(rep.be_removed, 1);
	assert_false(touched[id_a]);
	assert_true(touched[id_b]);

	/* Tables found incomplete: rewritten although the models agree. */
	st.fe[0].dirty = true;
	assert_int_equal(sl_reconcile_from(&st, &m2, &m2, &rep, &err), 0);
	assert_int_equal(rep.fe_updated, 1);
	assert_int_equal(rep.fe_unchanged, 1);
	sl_model_free(&m1);
	sl_model_free(&m2);
	sl_state_free(&st);
	sl_maps_close(&maps);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_change_remove),
		cmocka_unit_test(test_shrink_then_more_frontends),
		cmocka_unit_test(test_full_map_refused_before_any_write),
		cmocka_unit_test(test_state_recovered_from_maps),
		cmocka_unit_test(test_shared_backend_and_weights),
		cmocka_unit_test(test_locality_tiers),
		cmocka_unit_test(test_timeouts_and_ejection_limits_written),
		cmocka_unit_test(test_reconcile_from_previous_model),
		cmocka_unit_test(test_incomplete_tables_found_at_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
