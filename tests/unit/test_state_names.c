// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The frontends' names in the state: truncated as sluice_svc_info holds
 * them, kept across a rewrite and a restart, and an arena that churn
 * cannot grow without bound. */
#include <errno.h>

#include "helpers.h"
#include "maps_fixture.h"
#include "reconcile.h"
#include "state.h"

/* A service with one endpoint; port is its port's name. */
static void service_yaml(char *buf, size_t len, const char *name, const char *port,
			 const char *ep)
{
	snprintf(buf, len,
		 "apiVersion: v1\nkind: Service\nmetadata: {name: %s}\n"
		 "spec: {clusterIP: 10.96.0.1, ports: [{name: %s, port: 80}]}\n---\n"
		 "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
		 "metadata: {name: s-1, labels: {kubernetes.io/service-name: %s}}\n"
		 "addressType: IPv4\nports: [{name: %s, port: 8080}]\n"
		 "endpoints:\n- addresses: [%s]\n", name, port, name, port, ep);
}

static struct sl_svc_info map_info(const struct sl_state *st)
{
	struct sl_svc_info info;

	assert_int_equal(st->n_fe, 1);
	if (bpf_map_lookup_elem(st->maps->svc_info, &st->fe[0].id, &info))
		fail_msg("no sluice_svc_info: %s", strerror(errno));
	return info;
}

static void restart(struct sl_state *st, struct sl_maps *maps)
{
	struct sl_err err;

	sl_state_free(st);
	assert_int_equal(sl_state_load(st, maps, &err), 0);
}

static void test_names_kept_across_rewrite_and_restart(void **state)
{
	struct sl_reconcile_report rep;
	struct sl_svc_info info;
	struct sl_maps maps;
	struct sl_state st;
	struct sl_err err;
	const char *name;
	char yaml[2048];
	size_t used;

	(void)state;
	fixture_maps_create(&maps, 16, 16, 64);
	assert_int_equal(sl_state_load(&st, &maps, &err), 0);
	service_yaml(yaml, sizeof(yaml), "web", "http", "10.1.0.1");
	reconcile_text(&st, yaml, &rep);
	assert_string_equal(st.fe[0].namespace, "default");
	assert_string_equal(st.fe[0].name, "web");
	assert_string_equal(st.fe[0].port_name, "http");
	assert_int_equal(st.fe[0].kind, SL_KIND_SERVICE);
	info = map_info(&st);
	assert_string_equal(info.name, "web");
	assert_string_equal(info.port_name, "http");

	/* A new endpoint rewrites the tables, not the names. */
	name = st.fe[0].name;
	used = st.names.used;
	service_yaml(yaml, sizeof(yaml), "web", "http", "10.1.0.2");
	reconcile_text(&st, yaml, &rep);
	assert_int_equal(rep.fe_updated, 1);
	assert_ptr_equal(st.fe[0].name, name);
	assert_int_equal(st.names.used, used);

	restart(&st, &maps);
	assert_string_equal(st.fe[0].namespace, "default");
	assert_string_equal(st.fe[0].name, "web");
	assert_string_equal(st.fe[0].port_name, "http");
	assert_int_equal(st.fe[0].kind, SL_KIND_SERVICE);
	reconcile_text(&st, yaml, &rep);
	assert_int_equal(rep.fe_unchanged, 1);

	/* A renamed port is written to the map. */
	service_yaml(yaml, sizeof(yaml), "web", "grpc", "10.1.0.2");
	reconcile_text(&st, yaml, &rep);
	assert_int_equal(rep.fe_updated, 1);
	assert_string_equal(st.fe[0].port_name, "grpc");
	assert_string_equal(map_info(&st).port_name, "grpc");
	sl_state_free(&st);
	sl_maps_close(&maps);
}

/* The model of yaml with its frontend's name and port name replaced:
 * the configuration refuses names as long as the map's arrays. */
static void reconcile_named(struct sl_state *st, const char *yaml, const char *name,
			    const char *port, struct sl_reconcile_report *rep)
{
	struct sl_model m;
	struct sl_err err;

	build_model(yaml, &m);
	assert_int_equal(m.n_fe, 1);
	m.fe[0].name = name;
	m.fe[0].port_name = port;
	if (sl_reconcile(st, &m, rep, &err) < 0)
		fail_msg("reconcile: %s", err.msg);
	sl_model_free(&m);
}

/* Names longer than the map's arrays: held as the map holds them, and a
 * frontend whose (long) names did not change is not rewritten. */
static void test_long_names_truncated_alike(void **state)
{
	char name[SL_NAME_LEN + 40], port[SL_PORT_NAME_LEN + 20], yaml[2048];
	struct sl_reconcile_report rep;
	struct sl_svc_info info;
	struct sl_maps maps;
	struct sl_state st;
	struct sl_err err;

	(void)state;
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	memset(port, 'p', sizeof(port) - 1);
	port[sizeof(port) - 1] = '\0';
	fixture_maps_create(&maps, 16, 16, 64);
	assert_int_equal(sl_state_load(&st, &maps, &err), 0);
	service_yaml(yaml, sizeof(yaml), "web", "http", "10.1.0.1");
	reconcile_named(&st, yaml, name, port, &rep);
	assert_int_equal(rep.fe_added, 1);
	assert_int_equal(strlen(st.fe[0].name), SL_NAME_LEN - 1);
	assert_int_equal(strlen(st.fe[0].port_name), SL_PORT_NAME_LEN - 1);
	info = map_info(&st);
	assert_string_equal(info.name, st.fe[0].name);
	assert_string_equal(info.port_name, st.fe[0].port_name);

	/* Past the arrays, a difference is none; within, it is one. */
	name[SL_NAME_LEN + 2] = 'x';
	reconcile_named(&st, yaml, name, port, &rep);
	assert_int_equal(rep.fe_unchanged, 1);
	restart(&st, &maps);
	assert_string_equal(st.fe[0].name, info.name);
	reconcile_named(&st, yaml, name, port, &rep);
	assert_int_equal(rep.fe_unchanged, 1);
	port[SL_PORT_NAME_LEN - 2] = 'x';
	reconcile_named(&st, yaml, name, port, &rep);
	assert_int_equal(rep.fe_updated, 1);
	assert_int_equal(map_info(&st).port_name[SL_PORT_NAME_LEN - 2], 'x');
	sl_state_free(&st);
	sl_maps_close(&maps);
}

/* A service renamed again and again: its old names are garbage, and the
 * arena is compacted before it holds more than twice the live ones. */
static void test_rename_churn_bounded(void **state)
{
	struct sl_reconcile_report rep;
	struct sl_maps maps;
	struct sl_state st;
	struct sl_err err;
	char yaml[2048], name[64];
	size_t peak = 0, prev = 0, n_compacted = 0;

	(void)state;
	fixture_maps_create(&maps, 16, 16, 64);
	assert_int_equal(sl_state_load(&st, &maps, &err), 0);
	for (int i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), "svc-%d", i);
		service_yaml(yaml, sizeof(yaml), name, "http", "10.1.0.1");
		reconcile_text(&st, yaml, &rep);
		assert_string_equal(st.fe[0].name, name);
		assert_int_equal(st.names_live, strlen("default") + strlen(name) + 7);
		if (st.names.used < prev)
			n_compacted++;
		prev = st.names.used;
		if (prev > peak)
			peak = prev;
	}
	assert_true(n_compacted > 0);
	assert_true(peak <= 2 * st.names_live + 16 * 1024);
	assert_string_equal(map_info(&st).name, "svc-2999");
	reconcile_text(&st, "", &rep);
	assert_int_equal(st.names_live, 0);
	sl_state_free(&st);
	sl_maps_close(&maps);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_kept_across_rewrite_and_restart),
		cmocka_unit_test(test_long_names_truncated_alike),
		cmocka_unit_test(test_rename_churn_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
