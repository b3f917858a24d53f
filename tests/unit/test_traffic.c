// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* DestinationRule trafficPolicy: connectTimeout, maxEjectionPercent,
 * minHealthPercent and portLevelSettings, decoded and in the model. */
#include <arpa/inet.h>

#include "helpers.h"

static void load_ok(const char *text, struct sl_config *cfg)
{
	struct sl_err err;

	if (load_yaml(text, cfg, &err) < 0) {
		sl_config_free(cfg);
		fail_msg("unexpected error: %s", err.msg);
	}
}

#define DR_HEAD "apiVersion: networking.istio.io/v1\nkind: DestinationRule\n" \
		"metadata: {name: web, namespace: shop}\n"

static void test_connect_timeout_decoded(void **state)
{
	struct sl_config cfg;

	(void)state;
	load_ok(DR_HEAD "spec:\n  host: web\n"
		"  trafficPolicy: {connectionPool: {tcp: {connectTimeout: 250ms}}}\n", &cfg);
	assert_int_equal(cfg.warnings.n, 0);
	assert_true(cfg.drules[0].policy.pool);
	assert_int_equal(cfg.drules[0].policy.connect_ms, 250);
	assert_false(cfg.drules[0].policy.outlier);
	sl_config_free(&cfg);
	load_ok(DR_HEAD "spec:\n  host: web\n"
		"  trafficPolicy: {connectionPool: {tcp: {connectTimeout: 1.5s}}}\n", &cfg);
	assert_int_equal(cfg.drules[0].policy.connect_ms, 1500);
	sl_config_free(&cfg);
	expect_error(DR_HEAD "spec:\n  host: web\n"
		     "  trafficPolicy: {connectionPool: {tcp: {connectTimeout: 10}}}\n",
		     "test.yaml:6:58: spec.trafficPolicy.connectionPool.tcp.connectTimeout: "
		     "\"10\" is not a duration");
	expect_error(DR_HEAD "spec:\n  host: web\n"
		     "  trafficPolicy:\n    connectionPool:\n      tcp: {connectTimeout: 0s}\n",
		     "test.yaml:8:29: spec.trafficPolicy.connectionPool.tcp.connectTimeout: "
		     "\"0s\" is out of range");
}

static void test_ejection_percentages(void **state)
{
	struct sl_config cfg;

	(void)state;
	/* Istio's defaults: 10% may be ejected; no panic threshold. */
	load_ok(DR_HEAD "spec:\n  host: web\n"
		"  trafficPolicy: {outlierDetection: {consecutive5xxErrors: 2}}\n", &cfg);
	assert_int_equal(cfg.warnings.n, 0);
	assert_int_equal(cfg.drules[0].policy.eject_max_pct, 10);
	assert_int_equal(cfg.drules[0].policy.min_health_pct, 0);
	sl_config_free(&cfg);
	load_ok(DR_HEAD "spec:\n  host: web\n  trafficPolicy:\n    outlierDetection:\n"
		"      maxEjectionPercent: 50\n      minHealthPercent: 30\n", &cfg);
	assert_int_equal(cfg.warnings.n, 0);
	assert_int_equal(cfg.drules[0].policy.eject_max_pct, 50);
	assert_int_equal(cfg.drules[0].policy.min_health_pct, 30);
	sl_config_free(&cfg);
	/* Istio's 0 is "not set". */
	load_ok(DR_HEAD "spec:\n  host: web\n"
		"  trafficPolicy: {outlierDetection: {maxEjectionPercent: 0}}\n", &cfg);
	assert_int_equal(cfg.drules[0].policy.eject_max_pct, 10);
	sl_config_free(&cfg);
	expect_error(DR_HEAD "spec:\n  host: web\n  trafficPolicy:\n    outlierDetection:\n"
		     "      maxEjectionPercent: 101\n",
		     "test.yaml:8:27: spec.trafficPolicy.outlierDetection.maxEjectionPercent:");
	expect_error(DR_HEAD "spec:\n  host: web\n  trafficPolicy:\n    outlierDetection:\n"
		     "      minHealthPercent: -5\n",
		     "test.yaml:8:25: spec.trafficPolicy.outlierDetection.minHealthPercent:");
}

static void test_port_level_settings_decoded(void **state)
{
	struct sl_config cfg;
	const struct sl_destination_rule *dr;

	(void)state;
	load_ok(DR_HEAD "spec:\n  host: web\n  trafficPolicy:\n"
		"    connectionPool: {tcp: {maxConnections: 10}}\n"
		"    portLevelSettings:\n"
		"    - port: {number: 81}\n"			/* 9 */
		"      connectionPool: {tcp: {maxConnections: 2, connectTimeout: 2s}}\n"
		"      loadBalancer: {simple: RANDOM}\n"
		"    - port: {number: 82}\n"			/* 12 */
		"      outlierDetection: {consecutiveGatewayErrors: 3, maxEjectionPercent: 40}\n"
		"      tls: {mode: ISTIO_MUTUAL}\n", &cfg);
	dr = &cfg.drules[0];
	assert_int_equal(dr->policy.max_connections, 10);
	assert_int_equal(dr->n_ports, 2);
	assert_int_equal(dr->ports[0].port, 81);
	assert_int_equal(dr->ports[0].loc.line, 9);
	assert_true(dr->ports[0].policy.pool && dr->ports[0].policy.lb);
	assert_false(dr->ports[0].policy.outlier);
	assert_int_equal(dr->ports[0].policy.max_connections, 2);
	assert_int_equal(dr->ports[0].policy.connect_ms, 2000);
	assert_int_equal(dr->ports[0].policy.lb_flags, SL_SVC_F_LB_RANDOM);
	assert_int_equal(dr->ports[1].port, 82);
	assert_int_equal(dr->ports[1].loc.line, 12);
	assert_true(dr->ports[1].policy.outlier);
	assert_int_equal(dr->ports[1].policy.eject_after, 3);
	assert_int_equal(dr->ports[1].policy.eject_max_pct, 40);
	assert_int_equal(cfg.warnings.n, 1);
	assert_true(warnings_contain(&cfg, "test.yaml:14:12: spec.trafficPolicy."
				     "portLevelSettings[1].tls: not implemented by Sluice yet"));
	sl_config_free(&cfg);
}

static void test_port_level_settings_errors(void **state)
{
	(void)state;
	expect_error(DR_HEAD "spec:\n  host: web\n  trafficPolicy:\n"
		     "    portLevelSettings:\n    - connectionPool: {tcp: {maxConnections: 2}}\n",
		     "test.yaml:8:7: spec.trafficPolicy.portLevelSettings[0]: missing field "
		     "port.number");
	expect_error(DR_HEAD "spec:\n  host: web\n  trafficPolicy:\n"
		     "    portLevelSettings:\n    - port: {number: 70000}\n",
		     "test.yaml:8:22: spec.trafficPolicy.portLevelSettings[0].port.number:");
	expect_error(DR_HEAD "spec:\n  host: web\n  trafficPolicy:\n"
		     "    portLevelSettings:\n    - port: {name: http}\n",
		     "test.yaml:8:14: spec.trafficPolicy.portLevelSettings[0].port.name: "
		     "unknown field");
	expect_error(DR_HEAD "spec:\n  host: web\n  trafficPolicy:\n    portLevelSettings:\n"
		     "    - port: {number: 80}\n      loadBalancer: {simple: RANDOM}\n"
		     "    - port: {number: 80}\n      loadBalancer: {simple: LEAST_REQUEST}\n",
		     "test.yaml:10:22: spec.trafficPolicy.portLevelSettings[1].port.number: "
		     "port 80 has settings twice (also at line 8)");
	expect_error(DR_HEAD "spec:\n  host: web\n  trafficPolicy:\n    portLevelSettings:\n"
		     "    - port: {number: 80}\n"
		     "      connectionPool: {tcp: {connectTimeout: soon}}\n",
		     "test.yaml:9:46: spec.trafficPolicy.portLevelSettings[0].connectionPool."
		     "tcp.connectTimeout: \"soon\" is not a duration");
}

/* One ServiceEntry with three ports, and a rule whose port-level settings
 * replace whole sections of its own for two of them. */
static const char *three_ports =
	"apiVersion: networking.istio.io/v1\nkind: ServiceEntry\n"
	"metadata: {name: web, namespace: shop}\n"
	"spec:\n  hosts: [web.shop.internal]\n  addresses: [10.96.0.7]\n"
	"  resolution: STATIC\n"
	"  ports: [{number: 80, name: a}, {number: 81, name: b}, {number: 82, name: c}]\n"
	"  endpoints: [{address: 10.1.0.1}, {address: 10.1.0.2}]\n---\n"
	DR_HEAD "spec:\n  host: web.shop.internal\n  trafficPolicy:\n"
	"    connectionPool: {tcp: {maxConnections: 10, connectTimeout: 3s, idleTimeout: 1m}}\n"
	"    loadBalancer: {simple: LEAST_REQUEST}\n"
	"    outlierDetection: {consecutive5xxErrors: 4, maxEjectionPercent: 25, minHealthPercent: 50}\n"
	"    portLevelSettings:\n"
	"    - port: {number: 81}\n"
	"      connectionPool: {tcp: {connectTimeout: 500ms}}\n"
	"      loadBalancer: {simple: RANDOM}\n"
	"    - port: {number: 82}\n"
	"      outlierDetection: {consecutiveGatewayErrors: 2}\n"
	"    - port: {number: 9999}\n"
	"      loadBalancer: {simple: RANDOM}\n";

static const struct sl_frontend *fe_of(const struct sl_model *m, uint16_t port)
{
	for (size_t i = 0; i < m->n_fe; i++)
		if (ntohs(m->fe[i].key.port) == port)
			return &m->fe[i];
	fail_msg("no frontend for port %u", port);
	return NULL;
}

static void test_model_port_level_settings(void **state)
{
	const struct sl_frontend *fe;
	struct sl_model m;

	(void)state;
	build_model(three_ports, &m);
	assert_int_equal(m.n_fe, 3);
	/* Port 80: the rule's own policy. */
	fe = fe_of(&m, 80);
	assert_int_equal(fe->max_conn, 10);
	assert_int_equal(fe->connect_ms, 3000);
	assert_int_equal(fe->idle_ms, 60000);
	assert_int_equal(fe->flags & (SL_SVC_F_LB_LEAST | SL_SVC_F_LB_RANDOM), SL_SVC_F_LB_LEAST);
	assert_int_equal(fe->eject_after, 4);
	assert_int_equal(fe->eject_max_pct, 25);
	assert_int_equal(fe->min_health_pct, 50);
	/* Port 81: its connectionPool replaces the rule's whole section (no
	 * cap, no idle timeout), its loadBalancer the rule's; outlier
	 * detection stays the rule's. */
	fe = fe_of(&m, 81);
	assert_int_equal(fe->max_conn, 0);
	assert_int_equal(fe->connect_ms, 500);
	assert_int_equal(fe->idle_ms, 0);
	assert_int_equal(fe->flags & (SL_SVC_F_LB_LEAST | SL_SVC_F_LB_RANDOM), SL_SVC_F_LB_RANDOM);
	assert_int_equal(fe->eject_after, 4);
	assert_int_equal(fe->eject_max_pct, 25);
	/* Port 82: Istio's outlier defaults under its own section. */
	fe = fe_of(&m, 82);
	assert_int_equal(fe->max_conn, 10);
	assert_int_equal(fe->connect_ms, 3000);
	assert_int_equal(fe->flags & (SL_SVC_F_LB_LEAST | SL_SVC_F_LB_RANDOM), SL_SVC_F_LB_LEAST);
	assert_int_equal(fe->eject_after, 2);
	assert_int_equal(fe->eject_ms, 30000);
	assert_int_equal(fe->eject_max_pct, 10);
	assert_int_equal(fe->min_health_pct, 0);
	sl_model_free(&m);
}

/* Port-level settings alone, without a policy of the rule's own. */
static void test_model_port_level_only(void **state)
{
	static const char *yaml =
		"apiVersion: networking.istio.io/v1\nkind: ServiceEntry\n"
		"metadata: {name: web, namespace: shop}\n"
		"spec:\n  hosts: [web.shop.internal]\n  addresses: [10.96.0.7]\n"
		"  resolution: STATIC\n"
		"  ports: [{number: 80, name: a}, {number: 81, name: b}]\n"
		"  endpoints: [{address: 10.1.0.1}]\n---\n"
		DR_HEAD "spec:\n  host: web.shop.internal\n  trafficPolicy:\n"
		"    portLevelSettings:\n"
		"    - port: {number: 80}\n"
		"      connectionPool: {tcp: {maxConnections: 1, connectTimeout: 1s}}\n";
	struct sl_model m;

	(void)state;
	build_model(yaml, &m);
	assert_int_equal(fe_of(&m, 80)->max_conn, 1);
	assert_int_equal(fe_of(&m, 80)->connect_ms, 1000);
	assert_int_equal(fe_of(&m, 81)->max_conn, 0);
	assert_int_equal(fe_of(&m, 81)->connect_ms, 0);
	sl_model_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_connect_timeout_decoded),
		cmocka_unit_test(test_ejection_percentages),
		cmocka_unit_test(test_port_level_settings_decoded),
		cmocka_unit_test(test_port_level_settings_errors),
		cmocka_unit_test(test_model_port_level_settings),
		cmocka_unit_test(test_model_port_level_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
