// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * DestinationRule trafficPolicy. Implemented: connectionPool.tcp
 * (maxConnections, timeouts, keepalive), loadBalancer (simple,
 * consistentHash, localityLbSetting) and outlierDetection. Every other
 * field is valid Istio and reported by name as not implemented yet.
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "locality.h"
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
			 &((struct sl_destination_rule *)obj)->max_connections);
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
	return duration_ms(ctx, node, &((struct sl_destination_rule *)obj)->idle_ms);
}

static int max_duration(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return duration_ms(ctx, node, &((struct sl_destination_rule *)obj)->max_age_ms);
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
	return seconds(ctx, node, &((struct sl_destination_rule *)obj)->ka_time_s);
}

static int ka_interval(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return seconds(ctx, node, &((struct sl_destination_rule *)obj)->ka_interval_s);
}

static int ka_probes(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return sl_y_uint(ctx, node, 1, 127, &((struct sl_destination_rule *)obj)->ka_probes);
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
	struct sl_destination_rule *dr = obj;

	if (sl_y_map(ctx, node, ka_fields, obj) < 0)
		return -1;
	if (!dr->ka_time_s)
		dr->ka_time_s = 7200;		/* the kernel's tcp_keepalive_time */
	return 0;
}

static const struct sl_yfield tcp_fields[] = {
	{ "maxConnections", SL_YF_DECODE, max_connections },
	{ "connectTimeout", SL_YF_DECODE, not_yet },
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
	((struct sl_destination_rule *)obj)->lb_flags = flags[i];
	return 0;
}

static int maglev_size(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	struct sl_destination_rule *dr = obj;
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
	struct sl_destination_rule *dr = obj;

	if (sl_y_map(ctx, node, ch_fields, obj) < 0)
		return -1;
	dr->lb_flags = SL_SVC_F_LB_HASH;
	if (!dr->maglev_size)
		dr->maglev_size = SL_MAGLEV_DEFAULT_SIZE;
	return 0;
}

/* A locality pattern of distribute, validated as Istio does. */
static int locality_pattern(struct sl_yctx *ctx, yaml_node_t *node, const char **out)
{
	const char *why;

	if (sl_y_str(ctx, node, out) < 0)
		return -1;
	why = sl_locality_check_pattern(*out);
	return why ? sl_y_fail(ctx, node, "\"%s\": %s", *out, why) : 0;
}

static int dist_from(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return locality_pattern(ctx, node, &((struct sl_locality_distribute *)obj)->from);
}

/* to: {pattern: percent}: each in 1-100, summing to 100 (Istio's rule). */
static int dist_to(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	struct sl_locality_distribute *d = obj;
	uint32_t sum = 0;

	if (sl_y_expect_map(ctx, node) < 0)
		return -1;
	for (yaml_node_pair_t *p = node->data.mapping.pairs.start;
	     p < node->data.mapping.pairs.top; p++) {
		yaml_node_t *k = sl_y_node(ctx, p->key);
		yaml_node_t *v = sl_y_node(ctx, p->value);
		struct sl_locality_weight w;
		size_t mark;
		int ret;

		if (locality_pattern(ctx, k, &w.locality) < 0)
			return -1;
		for (size_t i = 0; i < d->n_to; i++)
			if (!strcmp(d->to[i].locality, w.locality))
				return sl_y_fail(ctx, k, "locality \"%s\" given twice",
						 w.locality);
		mark = sl_y_push(ctx, ".%s", w.locality);
		ret = sl_y_uint(ctx, v, 1, 100, &w.percent);
		sl_y_pop(ctx, mark);
		if (ret < 0)
			return -1;
		sum += w.percent;
		sl_arena_grow(ctx->arena, (void **)&d->to, &d->cap_to, d->n_to + 1,
			      sizeof(*d->to));
		d->to[d->n_to++] = w;
	}
	if (sum != 100)
		return sl_y_fail(ctx, node, "the percentages sum to %u; they must sum to 100",
				 sum);
	return 0;
}

static const struct sl_yfield dist_fields[] = {
	{ "from", SL_YF_DECODE, dist_from },
	{ "to", SL_YF_DECODE, dist_to },
	{ NULL, 0, NULL },
};

static int dist_item(struct sl_yctx *ctx, yaml_node_t *item, size_t index, void *obj)
{
	struct sl_destination_rule *dr = obj;
	struct sl_locality_distribute d;

	(void)index;
	memset(&d, 0, sizeof(d));
	d.loc = sl_y_loc(ctx, item);
	if (sl_y_map(ctx, item, dist_fields, &d) < 0)
		return -1;
	if (!d.from || !d.n_to)
		return sl_y_fail(ctx, item, "from and to are required");
	for (size_t i = 0; i < dr->n_distribute; i++)
		if (!strcmp(dr->distribute[i].from, d.from))
			return sl_y_fail(ctx, item, "from \"%s\" is given twice (line %u)",
					 d.from, dr->distribute[i].loc.line);
	sl_arena_grow(ctx->arena, (void **)&dr->distribute, &dr->cap_distribute,
		      dr->n_distribute + 1, sizeof(*dr->distribute));
	dr->distribute[dr->n_distribute++] = d;
	return 0;
}

static int lb_distribute(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return sl_y_seq(ctx, node, dist_item, obj);
}

/* failover names regions only, as Istio validates. */
static int region(struct sl_yctx *ctx, yaml_node_t *node, const char **out)
{
	if (sl_y_str(ctx, node, out) < 0)
		return -1;
	if (!(*out)[0] || strchr(*out, '/') || strchr(*out, '*'))
		return sl_y_fail(ctx, node, "\"%s\": failover names a region, without "
				 "zone or \"*\"", *out);
	return 0;
}

static int fo_from(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return region(ctx, node, &((struct sl_locality_failover *)obj)->from);
}

static int fo_to(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return region(ctx, node, &((struct sl_locality_failover *)obj)->to);
}

static const struct sl_yfield fo_fields[] = {
	{ "from", SL_YF_DECODE, fo_from },
	{ "to", SL_YF_DECODE, fo_to },
	{ NULL, 0, NULL },
};

static int fo_item(struct sl_yctx *ctx, yaml_node_t *item, size_t index, void *obj)
{
	struct sl_destination_rule *dr = obj;
	struct sl_locality_failover f;

	(void)index;
	memset(&f, 0, sizeof(f));
	f.loc = sl_y_loc(ctx, item);
	if (sl_y_map(ctx, item, fo_fields, &f) < 0)
		return -1;
	if (!f.from || !f.to)
		return sl_y_fail(ctx, item, "from and to are required");
	if (!strcmp(f.from, f.to))
		return sl_y_fail(ctx, item, "from and to must be different regions");
	sl_arena_grow(ctx->arena, (void **)&dr->failover, &dr->cap_failover,
		      dr->n_failover + 1, sizeof(*dr->failover));
	dr->failover[dr->n_failover++] = f;
	return 0;
}

static int lb_failover(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return sl_y_seq(ctx, node, fo_item, obj);
}

static int lb_enabled(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	struct sl_destination_rule *dr = obj;
	bool on;

	if (sl_y_bool(ctx, node, &on) < 0)
		return -1;
	dr->locality_off = !on;
	return 0;
}

/* Label priorities compare the client's labels with each endpoint's: the
 * kernel balances for every pod of the node from one table, so it has no
 * one client's labels to compare. */
static int lb_failover_priority(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	(void)obj;
	sl_y_warn(ctx, node, "label-based priorities need the client's labels, which a "
		  "per-node table does not have; not implemented by Sluice, the "
		  "region/zone/subzone priorities apply instead");
	return 0;
}

static const struct sl_yfield locality_fields[] = {
	{ "enabled", SL_YF_DECODE, lb_enabled },
	{ "distribute", SL_YF_DECODE, lb_distribute },
	{ "failover", SL_YF_DECODE, lb_failover },
	{ "failoverPriority", SL_YF_DECODE, lb_failover_priority },
	{ NULL, 0, NULL },
};

/* localityLbSetting: weights by locality (distribute) or priorities with
 * failover between them, applied by the model against the node's
 * --locality. Istio refuses distribute together with failover. */
static int locality_lb(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	struct sl_destination_rule *dr = obj;
	size_t mark;
	int ret;

	dr->locality_loc = sl_y_loc(ctx, node);
	if (sl_y_map(ctx, node, locality_fields, obj) < 0)
		return -1;
	if (!dr->n_distribute || !dr->n_failover)
		return 0;
	mark = sl_y_push(ctx, ".failover");
	ret = sl_y_fail(ctx, sl_y_get(ctx, node, "failover"), "distribute and failover "
			"cannot both be given (Istio sets one or the other)");
	sl_y_pop(ctx, mark);
	return ret;
}

static const struct sl_yfield lb_fields[] = {
	{ "simple", SL_YF_DECODE, lb_simple },
	{ "consistentHash", SL_YF_DECODE, consistent_hash },
	{ "localityLbSetting", SL_YF_DECODE, locality_lb },
	{ "warmup", SL_YF_DECODE, not_yet },
	{ "warmupDurationSecs", SL_YF_DECODE, not_yet },
	{ NULL, 0, NULL },
};

static int load_balancer(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return sl_y_map(ctx, node, lb_fields, obj);
}

/* Connect failures (refused, reset, timed out) are what an L4 dataplane
 * sees of an endpoint's health: Envoy counts them as gateway errors, and
 * as 5xx when gateway errors are not configured apart. */
static int od_consecutive(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	struct sl_destination_rule *dr = obj;
	uint32_t n;

	if (sl_y_uint(ctx, node, 0, 1u << 20, &n) < 0)
		return -1;
	if (n && (!dr->eject_after || n < dr->eject_after))
		dr->eject_after = n;
	return 0;
}

static int od_base_ejection(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return duration_ms(ctx, node, &((struct sl_destination_rule *)obj)->eject_ms);
}

static const struct sl_yfield od_fields[] = {
	{ "consecutive5xxErrors", SL_YF_DECODE, od_consecutive },
	{ "consecutiveGatewayErrors", SL_YF_DECODE, od_consecutive },
	{ "consecutiveErrors", SL_YF_DECODE, od_consecutive },
	{ "baseEjectionTime", SL_YF_DECODE, od_base_ejection },
	{ "interval", SL_YF_ACCEPT, NULL },	/* failures are seen as they happen */
	{ "maxEjectionPercent", SL_YF_DECODE, not_yet },
	{ "minHealthPercent", SL_YF_DECODE, not_yet },
	{ "splitExternalLocalOriginErrors", SL_YF_DECODE, not_yet },
	{ "consecutiveLocalOriginFailures", SL_YF_DECODE, not_yet },
	{ NULL, 0, NULL },
};

static int outlier_detection(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	struct sl_destination_rule *dr = obj;

	dr->outlier = true;
	if (sl_y_map(ctx, node, od_fields, obj) < 0)
		return -1;
	if (!dr->eject_after)
		dr->eject_after = 5;		/* Istio's default */
	if (!dr->eject_ms)
		dr->eject_ms = 30000;		/* Istio's default baseEjectionTime */
	return 0;
}

static const struct sl_yfield policy_fields[] = {
	{ "connectionPool", SL_YF_DECODE, connection_pool },
	{ "loadBalancer", SL_YF_DECODE, load_balancer },
	{ "outlierDetection", SL_YF_DECODE, outlier_detection },
	{ "tls", SL_YF_DECODE, not_yet },
	{ "portLevelSettings", SL_YF_DECODE, not_yet },
	{ "tunnel", SL_YF_DECODE, not_yet },
	{ "proxyProtocol", SL_YF_DECODE, not_yet },
	{ NULL, 0, NULL },
};

int sl_decode_traffic_policy(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return sl_y_map(ctx, node, policy_fields, obj);
}
