// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sluice.dev/v1alpha1 TrafficLimit: what the Kubernetes and Istio APIs do
 * not express: a connection rate limit per service (a token bucket in the
 * kernel, per node) and bandwidth limits per workload (the workloads a
 * selector picks, or else every endpoint of the services named).
 */
#include <stdbool.h>
#include <string.h>

#include "config.h"

#define SL_MAX_CONN_RATE 1000000u

static int ref_name(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return sl_y_str(ctx, node, &((struct sl_service_ref *)obj)->name);
}

static int ref_namespace(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return sl_y_str(ctx, node, &((struct sl_service_ref *)obj)->namespace);
}

static const struct sl_yfield ref_fields[] = {
	{ "name", SL_YF_DECODE, ref_name },
	{ "namespace", SL_YF_DECODE, ref_namespace },
	{ NULL, 0, NULL },
};

static int service_item(struct sl_yctx *ctx, yaml_node_t *item, size_t index, void *obj)
{
	struct sl_traffic_limit *tl = obj;
	struct sl_service_ref ref = { .loc = sl_y_loc(ctx, item) };

	(void)index;
	if (sl_y_map(ctx, item, ref_fields, &ref) < 0)
		return -1;
	if (!ref.name || !ref.name[0])
		return sl_y_fail(ctx, item, "missing field name (the service)");
	sl_arena_grow(ctx->arena, (void **)&tl->services, &tl->cap_services,
		      tl->n_services + 1, sizeof(ref));
	tl->services[tl->n_services++] = ref;
	return 0;
}

static int spec_services(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return sl_y_seq(ctx, node, service_item, obj);
}

static int spec_rate(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return sl_y_uint(ctx, node, 1, SL_MAX_CONN_RATE,
			 &((struct sl_traffic_limit *)obj)->conn_rate);
}

static int spec_burst(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return sl_y_uint(ctx, node, 1, SL_MAX_CONN_RATE,
			 &((struct sl_traffic_limit *)obj)->conn_burst);
}

static int src_namespaces(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return sl_decode_strlist(ctx, node, &((struct sl_limit_source *)obj)->namespaces);
}

static int src_principals(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return sl_decode_strlist(ctx, node, &((struct sl_limit_source *)obj)->principals);
}

static const struct sl_yfield source_fields[] = {
	{ "namespaces", SL_YF_DECODE, src_namespaces },
	{ "principals", SL_YF_DECODE, src_principals },
	{ NULL, 0, NULL },
};

static int source_item(struct sl_yctx *ctx, yaml_node_t *item, size_t index, void *obj)
{
	struct sl_traffic_limit *tl = obj;
	struct sl_limit_source src;

	(void)index;
	memset(&src, 0, sizeof(src));
	src.loc = sl_y_loc(ctx, item);
	if (sl_y_map(ctx, item, source_fields, &src) < 0)
		return -1;
	if (!src.namespaces.n && !src.principals.n)
		return sl_y_fail(ctx, item, "a source needs namespaces, principals or both");
	sl_arena_grow(ctx->arena, (void **)&tl->sources, &tl->cap_sources,
		      tl->n_sources + 1, sizeof(src));
	tl->sources[tl->n_sources++] = src;
	return 0;
}

static int spec_sources(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return sl_y_seq(ctx, node, source_item, obj);
}

static int bw_egress(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return sl_y_bandwidth(ctx, node, &((struct sl_traffic_limit *)obj)->egress_bps);
}

static int bw_ingress(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return sl_y_bandwidth(ctx, node, &((struct sl_traffic_limit *)obj)->ingress_bps);
}

static const struct sl_yfield bandwidth_fields[] = {
	{ "egress", SL_YF_DECODE, bw_egress },
	{ "ingress", SL_YF_DECODE, bw_ingress },
	{ NULL, 0, NULL },
};

static int spec_bandwidth(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	struct sl_traffic_limit *tl = obj;

	if (sl_y_map(ctx, node, bandwidth_fields, obj) < 0)
		return -1;
	if (!tl->egress_bps && !tl->ingress_bps)
		return sl_y_fail(ctx, node, "spec.bandwidth: give egress, ingress or both");
	return 0;
}

static int match_labels(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	struct sl_traffic_limit *tl = obj;

	return sl_decode_labels(ctx, node, &tl->match_labels, &tl->n_match_labels,
				&tl->cap_match_labels);
}

static const struct sl_yfield selector_fields[] = {
	{ "matchLabels", SL_YF_DECODE, match_labels },
	{ NULL, 0, NULL },
};

/* An empty selector selects every workload of the namespace. */
static int spec_selector(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	((struct sl_traffic_limit *)obj)->has_selector = true;
	return sl_y_map(ctx, node, selector_fields, obj);
}

static const struct sl_yfield spec_fields[] = {
	{ "services", SL_YF_DECODE, spec_services },
	{ "selector", SL_YF_DECODE, spec_selector },
	{ "connectionsPerSecond", SL_YF_DECODE, spec_rate },
	{ "burst", SL_YF_DECODE, spec_burst },
	{ "sources", SL_YF_DECODE, spec_sources },
	{ "bandwidth", SL_YF_DECODE, spec_bandwidth },
	{ NULL, 0, NULL },
};

static int tl_spec(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return sl_y_map(ctx, node, spec_fields, obj);
}

static const struct sl_yfield tl_fields[] = {
	{ "apiVersion", SL_YF_ACCEPT, NULL },
	{ "kind", SL_YF_ACCEPT, NULL },
	{ "metadata", SL_YF_DECODE, sl_decode_meta },
	{ "spec", SL_YF_DECODE, tl_spec },
	{ NULL, 0, NULL },
};

/* What the limit applies to must be said, and something must be limited. */
static int sl_check_traffic_limit(struct sl_yctx *ctx, yaml_node_t *spec,
				  const struct sl_traffic_limit *tl)
{
	bool bandwidth = tl->egress_bps || tl->ingress_bps;

	if (!tl->conn_rate && !bandwidth)
		return sl_y_fail(ctx, spec, "spec: give connectionsPerSecond, bandwidth "
				 "or both");
	if (tl->conn_burst && !tl->conn_rate)
		return sl_y_fail(ctx, spec, "spec.burst needs spec.connectionsPerSecond");
	if (tl->conn_rate && !tl->n_services)
		return sl_y_fail(ctx, spec, "spec.services: connectionsPerSecond limits "
				 "services; name at least one");
	if (bandwidth && !tl->n_services && !tl->has_selector)
		return sl_y_fail(ctx, spec, "spec: bandwidth applies to the workloads "
				 "spec.selector picks or to the endpoints of "
				 "spec.services; give one");
	if (tl->n_sources && !tl->conn_rate)
		return sl_y_fail(ctx, spec, "spec.sources narrows connectionsPerSecond, "
				 "which is not given");
	if (tl->has_selector && tl->conn_rate && !bandwidth)
		return sl_y_fail(ctx, spec, "spec.selector picks workloads for a "
				 "bandwidth limit; connectionsPerSecond limits spec.services");
	return 0;
}

int sl_decode_traffic_limit(struct sl_yctx *ctx, yaml_node_t *root, struct sl_config *cfg)
{
	struct sl_traffic_limit tl;
	yaml_node_t *spec;

	memset(&tl, 0, sizeof(tl));
	if (sl_y_map(ctx, root, tl_fields, &tl) < 0 || sl_meta_finish(ctx, root, &tl.meta) < 0)
		return -1;
	spec = sl_y_get(ctx, root, "spec");
	if (!spec)
		return sl_y_fail(ctx, root, "missing field spec");
	if (sl_check_traffic_limit(ctx, spec, &tl) < 0)
		return -1;
	if (!tl.conn_burst)
		tl.conn_burst = tl.conn_rate;
	for (size_t i = 0; i < tl.n_services; i++)
		if (!tl.services[i].namespace || !tl.services[i].namespace[0])
			tl.services[i].namespace = tl.meta.namespace;
	sl_arena_grow(&cfg->arena, (void **)&cfg->limits, &cfg->cap_limits, cfg->n_limits + 1,
		      sizeof(tl));
	cfg->limits[cfg->n_limits++] = tl;
	return 0;
}
