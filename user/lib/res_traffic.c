// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * DestinationRule trafficPolicy and its portLevelSettings: connectionPool.
 * tcp, loadBalancer (simple, consistentHash, localityLbSetting) and
 * outlierDetection, as far as an L4 dataplane can carry them out. Every
 * other field is valid Istio and reported by name as not implemented yet.
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "maglev.h"

static int not_yet(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	(void)obj;
	sl_y_warn(ctx, node, "not implemented by Sluice yet; without effect");
	return 0;
}

static int max_connections(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return sl_y_uint(ctx, node, 1, 1u << 30,
			 &((struct sl_traffic_policy *)obj)->max_connections);
}

/* A protobuf Duration as Istio writes it: "10s", "1.5s", "250ms", "1m",
 * "1h", "500us"; at least 1 ms and at most 24 days here. */
static int duration_ms(struct sl_yctx *ctx, yaml_node_t *node, uint32_t *out)
{
	static const struct { const char *unit; double ms; } units[] = {
		{ "ms", 1 }, { "us", 0.001 }, { "ns", 0.000001 }, { "s", 1000 },
		{ "m", 60000 }, { "h", 3600000 },
	};
	const char *v = sl_y_scalar(ctx, node);
	char *end;
	double n;

	if (!v)
		return -1;
	n = strtod(v, &end);
	for (size_t i = 0; end != v && i < sizeof(units) / sizeof(units[0]); i++) {
		double ms;

		if (strcmp(end, units[i].unit))
			continue;
		ms = n * units[i].ms;
		if (ms < 1 || ms > 2e9)
			return sl_y_fail(ctx, node, "\"%s\" is out of range 1ms-24d", v);
		*out = (uint32_t)(ms + 0.5);
		return 0;
	}
	return sl_y_fail(ctx, node, "\"%s\" is not a duration (e.g. \"30s\", "
			 "\"250ms\", \"1h\")", v);
}

static int idle_timeout(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return duration_ms(ctx, node, &((struct sl_traffic_policy *)obj)->idle_ms);
}

static int max_duration(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return duration_ms(ctx, node, &((struct sl_traffic_policy *)obj)->max_age_ms);
}

/* Keepalive times are whole seconds, as the socket options take them. */
static int seconds(struct sl_yctx *ctx, yaml_node_t *node, uint32_t *out)
{
	uint32_t ms;

	if (duration_ms(ctx, node, &ms) < 0)
		return -1;
	if (ms < 1000 || ms > 32767000)
		return sl_y_fail(ctx, node, "keepalive times are whole seconds, 1s-32767s");
	*out = (ms + 500) / 1000;
	return 0;
}

static int ka_time(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return seconds(ctx, node, &((struct sl_traffic_policy *)obj)->ka_time_s);
}

static int ka_interval(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return seconds(ctx, node, &((struct sl_traffic_policy *)obj)->ka_interval_s);
}

static int ka_probes(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return sl_y_uint(ctx, node, 1, 127, &((struct sl_traffic_policy *)obj)->ka_probes);
}

static const struct sl_yfield ka_fields[] = {
	{ "time", SL_YF_DECODE, ka_time },
	{ "interval", SL_YF_DECODE, ka_interval },
	{ "probes", SL_YF_DECODE, ka_probes },
	{ NULL, 0, NULL },
};

/* tcpKeepalive: set on each client socket as it connects (sockops); the
 * kernel's defaults stand in for what is not given, as in Envoy. */
static int tcp_keepalive(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	struct sl_traffic_policy *dr = obj;

	if (sl_y_map(ctx, node, ka_fields, obj) < 0)
		return -1;
	if (!dr->ka_time_s)
		dr->ka_time_s = 7200;		/* the kernel's tcp_keepalive_time */
	return 0;
}

/* connectTimeout bounds the TCP handshake (sockops: TCP_USER_TIMEOUT
 * while in SYN_SENT, and the first SYN's retransmission timeout when it
 * is shorter than the kernel's one second). */
static int connect_timeout(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return duration_ms(ctx, node, &((struct sl_traffic_policy *)obj)->connect_ms);
}

static const struct sl_yfield tcp_fields[] = {
	{ "maxConnections", SL_YF_DECODE, max_connections },
	{ "connectTimeout", SL_YF_DECODE, connect_timeout },
	{ "tcpKeepalive", SL_YF_DECODE, tcp_keepalive },
	{ "maxConnectionDuration", SL_YF_DECODE, max_duration },
	{ "idleTimeout", SL_YF_DECODE, idle_timeout },
	{ NULL, 0, NULL },
};

static int pool_tcp(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return sl_y_map(ctx, node, tcp_fields, obj);
}

static int pool_http(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	(void)obj;
	sl_y_warn(ctx, node, "HTTP connection pools need L7 and are not implemented "
		  "by Sluice; without effect");
	return 0;
}

static const struct sl_yfield pool_fields[] = {
	{ "tcp", SL_YF_DECODE, pool_tcp },
	{ "http", SL_YF_DECODE, pool_http },
	{ NULL, 0, NULL },
};

static int connection_pool(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	((struct sl_traffic_policy *)obj)->pool = true;
	return sl_y_map(ctx, node, pool_fields, obj);
}

/* loadBalancer.simple; warmup comes later. UNSPECIFIED and ROUND_ROBIN are what Sluice does by default;
 * LEAST_CONN is Istio's deprecated name of LEAST_REQUEST; PASSTHROUGH
 * would bypass balancing, which a VIP cannot do. */
static int lb_simple(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	static const char *const names[] = { "UNSPECIFIED", "ROUND_ROBIN", "RANDOM",
					     "LEAST_REQUEST", "LEAST_CONN",
					     "PASSTHROUGH", NULL };
	static const uint32_t flags[] = { 0, 0, SL_SVC_F_LB_RANDOM, SL_SVC_F_LB_LEAST,
					  SL_SVC_F_LB_LEAST, 0 };
	int i;

	if (sl_y_enum(ctx, node, names, false, &i) < 0)
		return -1;
	if (!strcmp(names[i], "PASSTHROUGH"))
		return sl_y_fail(ctx, node, "PASSTHROUGH is not supported: a VIP has no "
				 "original destination to pass through to");
	((struct sl_traffic_policy *)obj)->lb_flags = flags[i];
	return 0;
}

static int maglev_size(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	struct sl_traffic_policy *dr = obj;
	uint32_t m;

	if (sl_y_uint(ctx, node, 2, UINT32_MAX, &m) < 0)
		return -1;
	if (!sl_maglev_is_prime(m))
		return sl_y_fail(ctx, node, "%u is not a prime (Maglev needs one)", m);
	if (m > SL_MAGLEV_MAX_SIZE) {
		sl_y_warn(ctx, node, "%u is larger than a Sluice table can be; %u is used",
			  m, SL_MAGLEV_MAX_SIZE);
		m = SL_MAGLEV_MAX_SIZE;
	}
	dr->maglev_size = m;
	return 0;
}

static const struct sl_yfield maglev_fields[] = {
	{ "tableSize", SL_YF_DECODE, maglev_size },
	{ NULL, 0, NULL },
};

static int ch_maglev(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return sl_y_map(ctx, node, maglev_fields, obj);
}

static int ch_source_ip(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	bool on;

	(void)obj;
	if (sl_y_bool(ctx, node, &on) < 0)
		return -1;
	if (!on)
		return sl_y_fail(ctx, node, "consistentHash needs a key: useSourceIp: true "
				 "is the one an L4 dataplane has");
	return 0;
}

static int ch_l7_key(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	(void)obj;
	sl_y_warn(ctx, node, "hashing on HTTP needs L7; the client's address is the "
		  "key instead");
	return 0;
}

static int ch_ring(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	(void)obj;
	sl_y_warn(ctx, node, "ring hash is implemented as Maglev, which has the same "
		  "stickiness with better balance");
	return 0;
}

static const struct sl_yfield ch_fields[] = {
	{ "useSourceIp", SL_YF_DECODE, ch_source_ip },
	{ "httpHeaderName", SL_YF_DECODE, ch_l7_key },
	{ "httpCookie", SL_YF_DECODE, ch_l7_key },
	{ "httpQueryParameterName", SL_YF_DECODE, ch_l7_key },
	{ "maglev", SL_YF_DECODE, ch_maglev },
	{ "ringHash", SL_YF_DECODE, ch_ring },
	{ "minimumRingSize", SL_YF_DECODE, ch_ring },
	{ NULL, 0, NULL },
};

/* consistentHash: by the client's address, over a Maglev table. */
static int consistent_hash(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	struct sl_traffic_policy *dr = obj;

	if (sl_y_map(ctx, node, ch_fields, obj) < 0)
		return -1;
	dr->lb_flags = SL_SVC_F_LB_HASH;
	if (!dr->maglev_size)
		dr->maglev_size = SL_MAGLEV_DEFAULT_SIZE;
	return 0;
}


static const struct sl_yfield lb_fields[] = {
	{ "simple", SL_YF_DECODE, lb_simple },
	{ "consistentHash", SL_YF_DECODE, consistent_hash },
	{ "localityLbSetting", SL_YF_DECODE, sl_decode_locality_lb },
	{ "warmup", SL_YF_DECODE, not_yet },
	{ "warmupDurationSecs", SL_YF_DECODE, not_yet },
	{ NULL, 0, NULL },
};

static int load_balancer(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	((struct sl_traffic_policy *)obj)->lb = true;
	return sl_y_map(ctx, node, lb_fields, obj);
}

/* Connect failures (refused, reset, timed out) are what an L4 dataplane
 * sees of an endpoint's health: Envoy counts them as gateway errors, and
 * as 5xx when gateway errors are not configured apart. */
static int od_consecutive(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	struct sl_traffic_policy *dr = obj;
	uint32_t n;

	if (sl_y_uint(ctx, node, 0, 1u << 20, &n) < 0)
		return -1;
	if (n && (!dr->eject_after || n < dr->eject_after))
		dr->eject_after = n;
	return 0;
}

static int od_base_ejection(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return duration_ms(ctx, node, &((struct sl_traffic_policy *)obj)->eject_ms);
}

/* Percentages of the service's endpoints; Istio's 0 means "not set". */
static int od_max_ejection(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return sl_y_uint(ctx, node, 0, 100,
			 &((struct sl_traffic_policy *)obj)->eject_max_pct);
}

static int od_min_health(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return sl_y_uint(ctx, node, 0, 100,
			 &((struct sl_traffic_policy *)obj)->min_health_pct);
}

static const struct sl_yfield od_fields[] = {
	{ "consecutive5xxErrors", SL_YF_DECODE, od_consecutive },
	{ "consecutiveGatewayErrors", SL_YF_DECODE, od_consecutive },
	{ "consecutiveErrors", SL_YF_DECODE, od_consecutive },
	{ "baseEjectionTime", SL_YF_DECODE, od_base_ejection },
	{ "interval", SL_YF_ACCEPT, NULL },	/* failures are seen as they happen */
	{ "maxEjectionPercent", SL_YF_DECODE, od_max_ejection },
	{ "minHealthPercent", SL_YF_DECODE, od_min_health },
	{ "splitExternalLocalOriginErrors", SL_YF_DECODE, not_yet },
	{ "consecutiveLocalOriginFailures", SL_YF_DECODE, not_yet },
	{ NULL, 0, NULL },
};

static int outlier_detection(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	struct sl_traffic_policy *dr = obj;

	dr->outlier = true;
	if (sl_y_map(ctx, node, od_fields, obj) < 0)
		return -1;
	if (!dr->eject_after)
		dr->eject_after = 5;		/* Istio's default */
	if (!dr->eject_ms)
		dr->eject_ms = 30000;		/* Istio's default baseEjectionTime */
	if (!dr->eject_max_pct)
		dr->eject_max_pct = 10;		/* Istio's (Envoy's) default */
	return 0;
}

/* ---- portLevelSettings ---- */

struct port_decode {
	struct sl_port_policy p;
	uint32_t number;		/* 0: not given */
};

static int port_number(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return sl_y_uint(ctx, node, 1, 65535, &((struct port_decode *)obj)->number);
}

static const struct sl_yfield port_selector_fields[] = {
	{ "number", SL_YF_DECODE, port_number },
	{ NULL, 0, NULL },
};

static int port_selector(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return sl_y_map(ctx, node, port_selector_fields, obj);
}

static int port_pool(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return connection_pool(ctx, node, &((struct port_decode *)obj)->p.policy);
}

static int port_lb(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return load_balancer(ctx, node, &((struct port_decode *)obj)->p.policy);
}

static int port_outlier(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return outlier_detection(ctx, node, &((struct port_decode *)obj)->p.policy);
}

static const struct sl_yfield port_fields[] = {
	{ "port", SL_YF_DECODE, port_selector },
	{ "connectionPool", SL_YF_DECODE, port_pool },
	{ "loadBalancer", SL_YF_DECODE, port_lb },
	{ "outlierDetection", SL_YF_DECODE, port_outlier },
	{ "tls", SL_YF_DECODE, not_yet },
	{ NULL, 0, NULL },
};

/* One port's settings; a second entry for the same port would leave which
 * one applies to chance, so it is an error. */
static int port_item(struct sl_yctx *ctx, yaml_node_t *item, size_t index, void *obj)
{
	struct sl_destination_rule *dr = obj;
	struct port_decode d = { .p.loc = sl_y_loc(ctx, item) };

	(void)index;
	if (sl_y_map(ctx, item, port_fields, &d) < 0)
		return -1;
	if (!d.number)
		return sl_y_fail(ctx, item, "missing field port.number");
	d.p.port = (uint16_t)d.number;
	for (size_t i = 0; i < dr->n_ports; i++) {
		size_t mark;

		if (dr->ports[i].port != d.p.port)
			continue;
		mark = sl_y_push(ctx, ".port.number");
		sl_y_fail(ctx, sl_y_get(ctx, sl_y_get(ctx, item, "port"), "number"),
			  "port %u has settings twice (also at line %u)", d.number,
			  dr->ports[i].loc.line);
		sl_y_pop(ctx, mark);
		return -1;
	}
	if (d.p.policy.locality_given)
		sl_y_warn(ctx, item, "loadBalancer.localityLbSetting of one port is not "
			  "implemented by Sluice yet; the rule's own applies to every port");
	sl_arena_grow(ctx->arena, (void **)&dr->ports, &dr->cap_ports, dr->n_ports + 1,
		      sizeof(d.p));
	dr->ports[dr->n_ports++] = d.p;
	return 0;
}

/* The rule itself is the object here: the list lives beside its policy. */
static int port_level_settings(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return sl_y_seq(ctx, node, port_item, obj);
}

static int policy_pool(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return connection_pool(ctx, node, &((struct sl_destination_rule *)obj)->policy);
}

static int policy_lb(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return load_balancer(ctx, node, &((struct sl_destination_rule *)obj)->policy);
}

static int policy_outlier(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return outlier_detection(ctx, node, &((struct sl_destination_rule *)obj)->policy);
}

static const struct sl_yfield policy_fields[] = {
	{ "connectionPool", SL_YF_DECODE, policy_pool },
	{ "loadBalancer", SL_YF_DECODE, policy_lb },
	{ "outlierDetection", SL_YF_DECODE, policy_outlier },
	{ "tls", SL_YF_DECODE, not_yet },
	{ "portLevelSettings", SL_YF_DECODE, port_level_settings },
	{ "tunnel", SL_YF_DECODE, not_yet },
	{ "proxyProtocol", SL_YF_DECODE, not_yet },
	{ NULL, 0, NULL },
};

int sl_decode_traffic_policy(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return sl_y_map(ctx, node, policy_fields, obj);
}
