// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Decoders for networking.istio.io DestinationRule (subsets) and
 * VirtualService (tcp routes): what an L4 dataplane can do of Istio's
 * routing. Hosts and subsets are kept as written; the model resolves them,
 * since only it sees every namespace. The rest of both APIs is reported by
 * name.
 */
#include <string.h>

#include "config.h"

static int decode_host(struct sl_yctx *ctx, yaml_node_t *node, const char **out)
{
	if (sl_y_str(ctx, node, out) < 0)
		return -1;
	if (!(*out)[0])
		return sl_y_fail(ctx, node, "a host must not be empty");
	return 0;
}

static bool seq_is_empty(yaml_node_t *node)
{
	return node->data.sequence.items.start == node->data.sequence.items.top;
}

/* ---- DestinationRule ---- */

static int subset_name(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	struct sl_dr_subset *s = obj;

	if (sl_y_str(ctx, node, &s->name) < 0)
		return -1;
	return sl_check_dns_label(ctx, node, s->name, 63);
}

static int subset_labels(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	struct sl_dr_subset *s = obj;

	return sl_decode_labels(ctx, node, &s->labels, &s->n_labels, &s->cap_labels);
}

static int subset_traffic_policy(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	(void)obj;
	if (sl_y_expect_map(ctx, node) < 0)
		return -1;
	sl_y_warn(ctx, node, "subset trafficPolicy is not implemented by Sluice yet; "
		  "the subset is balanced by endpoint weight");
	return 0;
}

static const struct sl_yfield subset_fields[] = {
	{ "name", SL_YF_DECODE, subset_name },
	{ "labels", SL_YF_DECODE, subset_labels },
	{ "trafficPolicy", SL_YF_DECODE, subset_traffic_policy },
	{ NULL, 0, NULL },
};

/* A route names a subset; two of one name would make it ambiguous. */
static int subset_item(struct sl_yctx *ctx, yaml_node_t *item, size_t index,
		       void *obj)
{
	struct sl_destination_rule *dr = obj;
	struct sl_dr_subset s = { .loc = sl_y_loc(ctx, item) };

	(void)index;
	if (sl_y_map(ctx, item, subset_fields, &s) < 0)
		return -1;
	if (!s.name)
		return sl_y_fail(ctx, item, "missing field name");
	for (size_t i = 0; i < dr->n_subsets; i++) {
		size_t mark;

		if (strcmp(dr->subsets[i].name, s.name))
			continue;
		mark = sl_y_push(ctx, ".name");
		sl_y_fail(ctx, sl_y_get(ctx, item, "name"), "subset \"%s\" is "
			  "defined twice (also at line %u)", s.name,
			  dr->subsets[i].loc.line);
		sl_y_pop(ctx, mark);
		return -1;
	}
	sl_arena_grow(ctx->arena, (void **)&dr->subsets, &dr->cap_subsets,
		      dr->n_subsets + 1, sizeof(s));
	dr->subsets[dr->n_subsets++] = s;
	return 0;
}

static int dr_subsets(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return sl_y_seq(ctx, node, subset_item, obj);
}

static int dr_host(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return decode_host(ctx, node, &((struct sl_destination_rule *)obj)->host);
}

static int dr_workload_selector(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	(void)obj;
	if (sl_y_expect_map(ctx, node) < 0)
		return -1;
	sl_y_warn(ctx, node, "workloadSelector is not implemented by Sluice yet; "
		  "the rule applies to every client");
	return 0;
}

static const struct sl_yfield dr_spec_fields[] = {
	{ "host", SL_YF_DECODE, dr_host },
	{ "subsets", SL_YF_DECODE, dr_subsets },
	{ "trafficPolicy", SL_YF_DECODE, sl_decode_traffic_policy },
	{ "exportTo", SL_YF_DECODE, sl_decode_export_to },
	{ "workloadSelector", SL_YF_DECODE, dr_workload_selector },
	{ NULL, 0, NULL },
};

static int dr_spec(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return sl_y_map(ctx, node, dr_spec_fields, obj);
}

static const struct sl_yfield dr_fields[] = {
	{ "apiVersion", SL_YF_ACCEPT, NULL },
	{ "kind", SL_YF_ACCEPT, NULL },
	{ "metadata", SL_YF_DECODE, sl_decode_meta },
	{ "spec", SL_YF_DECODE, dr_spec },
	{ "status", SL_YF_ACCEPT, NULL },
	{ NULL, 0, NULL },
};

int sl_decode_destination_rule(struct sl_yctx *ctx, yaml_node_t *root,
			       struct sl_config *cfg)
{
	struct sl_destination_rule dr;

	memset(&dr, 0, sizeof(dr));
	if (sl_y_map(ctx, root, dr_fields, &dr) < 0)
		return -1;
	if (sl_meta_finish(ctx, root, &dr.meta) < 0 ||
	    sl_meta_no_redirect_here(ctx, root, &dr.meta, "DestinationRule") < 0)
		return -1;
	if (!dr.host) {
		yaml_node_t *spec = sl_y_get(ctx, root, "spec");

		return sl_y_fail(ctx, spec ? spec : root, "missing field spec.host");
	}
	sl_arena_grow(&cfg->arena, (void **)&cfg->drules, &cfg->cap_drules,
		      cfg->n_drules + 1, sizeof(dr));
	cfg->drules[cfg->n_drules++] = dr;
	return 0;
}

/* ---- VirtualService: shared ---- */

static int gateway_item(struct sl_yctx *ctx, yaml_node_t *item, size_t index,
			void *obj)
{
	const char *v = sl_y_scalar(ctx, item);

	(void)index;
	if (!v)
		return -1;
	if (strcmp(v, "mesh"))
		*(bool *)obj = true;
	return 0;
}

/* "mesh" stands for the sidecars, whose place Sluice takes; other gateways
 * are proxies Sluice does not run. Used for spec.gateways and for
 * tcp[].match[].gateways alike. */
static int vs_gateways(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	bool other = false;

	(void)obj;
	if (sl_y_seq(ctx, node, gateway_item, &other) < 0)
		return -1;
	if (other)
		sl_y_warn(ctx, node, "gateways are not implemented by Sluice; the "
			  "routes apply to the mesh");
	return 0;
}

/* ---- VirtualService: tcp[].match[] ---- */

struct match_decode {
	struct sl_vs_tcp_route *r;
	uint32_t port;			/* 0: not given */
};

static int match_port(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return sl_y_uint(ctx, node, 1, 65535, &((struct match_decode *)obj)->port);
}

static void match_not_yet(struct sl_yctx *ctx, yaml_node_t *node, const char *field)
{
	sl_y_warn(ctx, node, "%s is not implemented by Sluice yet; the match is by "
		  "port only", field);
}

static int match_subnets(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	(void)obj;
	if (sl_y_expect_seq(ctx, node) < 0)
		return -1;
	match_not_yet(ctx, node, "destinationSubnets");
	return 0;
}

static int match_source_labels(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	(void)obj;
	if (sl_y_expect_map(ctx, node) < 0)
		return -1;
	match_not_yet(ctx, node, "sourceLabels");
	return 0;
}

static int match_source_namespace(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	(void)obj;
	if (!sl_y_scalar(ctx, node))
		return -1;
	match_not_yet(ctx, node, "sourceNamespace");
	return 0;
}

static const struct sl_yfield match_fields[] = {
	{ "port", SL_YF_DECODE, match_port },
	{ "destinationSubnets", SL_YF_DECODE, match_subnets },
	{ "sourceLabels", SL_YF_DECODE, match_source_labels },
	{ "sourceNamespace", SL_YF_DECODE, match_source_namespace },
	{ "gateways", SL_YF_DECODE, vs_gateways },
	{ NULL, 0, NULL },
};

/* Match items are ORed: one without a port matches every port. */
static int match_item(struct sl_yctx *ctx, yaml_node_t *item, size_t index,
		      void *obj)
{
	struct match_decode d = { .r = obj };
	struct sl_vs_tcp_route *r = d.r;

	(void)index;
	if (sl_y_map(ctx, item, match_fields, &d) < 0)
		return -1;
	if (!d.port) {
		r->match_any = true;
		return 0;
	}
	for (size_t i = 0; i < r->n_match_ports; i++)
		if (r->match_ports[i] == d.port)
			return 0;
	sl_arena_grow(ctx->arena, (void **)&r->match_ports, &r->cap_match_ports,
		      r->n_match_ports + 1, sizeof(*r->match_ports));
	r->match_ports[r->n_match_ports++] = (uint16_t)d.port;
	return 0;
}

static int tcp_match(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return sl_y_seq(ctx, node, match_item, obj);
}

/* ---- VirtualService: tcp[].route[] ---- */

static int port_number(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	uint32_t v;

	if (sl_y_uint(ctx, node, 1, 65535, &v) < 0)
		return -1;
	((struct sl_vs_destination *)obj)->port = (uint16_t)v;
	return 0;
}

static const struct sl_yfield port_fields[] = {
	{ "number", SL_YF_DECODE, port_number },
	{ NULL, 0, NULL },
};

static int dest_port(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	if (sl_y_map(ctx, node, port_fields, obj) < 0)
		return -1;
	if (!((struct sl_vs_destination *)obj)->port)
		return sl_y_fail(ctx, node, "missing field number");
	return 0;
}

static int dest_host(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return decode_host(ctx, node, &((struct sl_vs_destination *)obj)->host);
}

/* "" is proto3's unset value: every endpoint of the host. */
static int dest_subset(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	const char *v;

	if (sl_y_str(ctx, node, &v) < 0)
		return -1;
	((struct sl_vs_destination *)obj)->subset = v[0] ? v : NULL;
	return 0;
}

static const struct sl_yfield dest_fields[] = {
	{ "host", SL_YF_DECODE, dest_host },
	{ "subset", SL_YF_DECODE, dest_subset },
	{ "port", SL_YF_DECODE, dest_port },
	{ NULL, 0, NULL },
};

static int route_destination(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	if (sl_y_map(ctx, node, dest_fields, obj) < 0)
		return -1;
	if (!((struct sl_vs_destination *)obj)->host)
		return sl_y_fail(ctx, node, "missing field host");
	return 0;
}

static int route_weight(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	struct sl_vs_destination *d = obj;

	if (sl_y_uint(ctx, node, 0, 100, &d->weight) < 0)
		return -1;
	d->weight_given = true;
	return 0;
}

static const struct sl_yfield route_fields[] = {
	{ "destination", SL_YF_DECODE, route_destination },
	{ "weight", SL_YF_DECODE, route_weight },
	{ NULL, 0, NULL },
};

static int route_item(struct sl_yctx *ctx, yaml_node_t *item, size_t index,
		      void *obj)
{
	struct sl_vs_tcp_route *r = obj;
	struct sl_vs_destination d = { .loc = sl_y_loc(ctx, item) };

	(void)index;
	if (sl_y_map(ctx, item, route_fields, &d) < 0)
		return -1;
	if (!d.host)	/* route_destination checked the host if given */
		return sl_y_fail(ctx, item, "missing field destination");
	sl_arena_grow(ctx->arena, (void **)&r->route, &r->cap_route, r->n_route + 1,
		      sizeof(d));
	r->route[r->n_route++] = d;
	return 0;
}

static int tcp_route(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return sl_y_seq(ctx, node, route_item, obj);
}

static const struct sl_yfield tcp_fields[] = {
	{ "match", SL_YF_DECODE, tcp_match },
	{ "route", SL_YF_DECODE, tcp_route },
	{ NULL, 0, NULL },
};

/* Istio's rules: a lone destination takes everything, whatever its weight;
 * several must each carry a weight and the weights must sum to 100, so a
 * split never silently sends the remainder nowhere. */
static int tcp_check_weights(struct sl_yctx *ctx, yaml_node_t *route,
			     struct sl_vs_tcp_route *r)
{
	uint32_t sum = 0;

	if (r->n_route == 1) {
		r->route[0].weight = 100;
		return 0;
	}
	for (size_t i = 0; i < r->n_route; i++) {
		if (!r->route[i].weight_given) {
			yaml_node_t *item = sl_y_node(ctx, route->data.sequence.items.start[i]);
			size_t mark = sl_y_push(ctx, "[%zu]", i);

			sl_y_fail(ctx, item, "missing field weight (needed when a route "
				  "has several destinations)");
			sl_y_pop(ctx, mark);
			return -1;
		}
		sum += r->route[i].weight;
	}
	if (sum != 100)
		return sl_y_fail(ctx, route, "weights sum to %u, not 100", sum);
	return 0;
}

static int tcp_item(struct sl_yctx *ctx, yaml_node_t *item, size_t index,
		    void *obj)
{
	struct sl_virtual_service *vs = obj;
	struct sl_vs_tcp_route r = { .loc = sl_y_loc(ctx, item) };
	yaml_node_t *route;
	size_t mark;
	int ret;

	(void)index;
	if (sl_y_map(ctx, item, tcp_fields, &r) < 0)
		return -1;
	route = sl_y_get(ctx, item, "route");
	mark = sl_y_push(ctx, ".route");
	if (!r.n_route)
		ret = sl_y_fail(ctx, route ? route : item, "at least one destination "
				"is required");
	else
		ret = tcp_check_weights(ctx, route, &r);
	sl_y_pop(ctx, mark);
	if (ret < 0)
		return -1;
	sl_arena_grow(ctx->arena, (void **)&vs->tcp, &vs->cap_tcp, vs->n_tcp + 1,
		      sizeof(r));
	vs->tcp[vs->n_tcp++] = r;
	return 0;
}

/* ---- VirtualService: spec ---- */

static int vs_tcp(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return sl_y_seq(ctx, node, tcp_item, obj);
}

static int vs_host_item(struct sl_yctx *ctx, yaml_node_t *item, size_t index,
			void *obj)
{
	struct sl_virtual_service *vs = obj;
	const char *host;

	(void)index;
	if (decode_host(ctx, item, &host) < 0)
		return -1;
	sl_arena_grow(ctx->arena, (void **)&vs->hosts, &vs->cap_hosts,
		      vs->n_hosts + 1, sizeof(*vs->hosts));
	vs->hosts[vs->n_hosts++] = host;
	return 0;
}

static int vs_hosts(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return sl_y_seq(ctx, node, vs_host_item, obj);
}

/* Reported once per field: the routes themselves are not looked into. */
static int vs_l7_routes(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	(void)obj;
	if (sl_y_expect_seq(ctx, node) < 0)
		return -1;
	if (!seq_is_empty(node))
		sl_y_warn(ctx, node, "HTTP/TLS routes need L7 and are not implemented "
			  "by Sluice; only tcp routes apply");
	return 0;
}

static const struct sl_yfield vs_spec_fields[] = {
	{ "hosts", SL_YF_DECODE, vs_hosts },
	{ "gateways", SL_YF_DECODE, vs_gateways },
	{ "tcp", SL_YF_DECODE, vs_tcp },
	{ "http", SL_YF_DECODE, vs_l7_routes },
	{ "tls", SL_YF_DECODE, vs_l7_routes },
	{ "exportTo", SL_YF_DECODE, sl_decode_export_to },
	{ NULL, 0, NULL },
};

static int vs_spec(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return sl_y_map(ctx, node, vs_spec_fields, obj);
}

static const struct sl_yfield vs_fields[] = {
	{ "apiVersion", SL_YF_ACCEPT, NULL },
	{ "kind", SL_YF_ACCEPT, NULL },
	{ "metadata", SL_YF_DECODE, sl_decode_meta },
	{ "spec", SL_YF_DECODE, vs_spec },
	{ "status", SL_YF_ACCEPT, NULL },
	{ NULL, 0, NULL },
};

int sl_decode_virtual_service(struct sl_yctx *ctx, yaml_node_t *root,
			      struct sl_config *cfg)
{
	struct sl_virtual_service vs;

	memset(&vs, 0, sizeof(vs));
	if (sl_y_map(ctx, root, vs_fields, &vs) < 0)
		return -1;
	if (sl_meta_finish(ctx, root, &vs.meta) < 0 ||
	    sl_meta_no_redirect_here(ctx, root, &vs.meta, "VirtualService") < 0)
		return -1;
	if (!vs.n_hosts) {
		yaml_node_t *spec = sl_y_get(ctx, root, "spec");

		return sl_y_fail(ctx, spec ? spec : root, "spec.hosts: at least one "
				 "host is required");
	}
	sl_arena_grow(&cfg->arena, (void **)&cfg->vservices, &cfg->cap_vservices,
		      cfg->n_vservices + 1, sizeof(vs));
	cfg->vservices[cfg->n_vservices++] = vs;
	return 0;
}
