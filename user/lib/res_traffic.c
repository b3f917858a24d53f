// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * DestinationRule trafficPolicy. Implemented: connectionPool.tcp.
 * maxConnections (a cap on active connections to each endpoint from this
 * node) and loadBalancer.simple. Every other field is valid Istio and reported by name as not
 * implemented yet.
 */
#include <string.h>

#include "config.h"

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

static const struct sl_yfield tcp_fields[] = {
	{ "maxConnections", SL_YF_DECODE, max_connections },
	{ "connectTimeout", SL_YF_DECODE, not_yet },
	{ "tcpKeepalive", SL_YF_DECODE, not_yet },
	{ "maxConnectionDuration", SL_YF_DECODE, not_yet },
	{ "idleTimeout", SL_YF_DECODE, not_yet },
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

/* loadBalancer.simple; consistentHash, localityLbSetting and warmup come
 * later. UNSPECIFIED and ROUND_ROBIN are what Sluice does by default;
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

static const struct sl_yfield lb_fields[] = {
	{ "simple", SL_YF_DECODE, lb_simple },
	{ "consistentHash", SL_YF_DECODE, not_yet },
	{ "localityLbSetting", SL_YF_DECODE, not_yet },
	{ "warmup", SL_YF_DECODE, not_yet },
	{ "warmupDurationSecs", SL_YF_DECODE, not_yet },
	{ NULL, 0, NULL },
};

static int load_balancer(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return sl_y_map(ctx, node, lb_fields, obj);
}

static const struct sl_yfield policy_fields[] = {
	{ "connectionPool", SL_YF_DECODE, connection_pool },
	{ "loadBalancer", SL_YF_DECODE, load_balancer },
	{ "outlierDetection", SL_YF_DECODE, not_yet },
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
