// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * DestinationRule loadBalancer.localityLbSetting, validated as Istio does:
 * distribute (weights by locality) or failover (region priorities), never
 * both; enabled; failoverPriority warned.
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "locality.h"

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
	struct sl_traffic_policy *dr = obj;
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
	struct sl_traffic_policy *dr = obj;
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
	struct sl_traffic_policy *dr = obj;
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
int sl_decode_locality_lb(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	struct sl_traffic_policy *dr = obj;
	size_t mark;
	int ret;

	dr->locality_loc = sl_y_loc(ctx, node);
	dr->locality_given = true;
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
