// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Decoders for networking.istio.io ServiceEntry and WorkloadEntry. */
#include <stdlib.h>
#include <string.h>

#include "config.h"

struct se_decode {
	struct sl_service_entry se;	/* first: see sl_decode_meta */
	int resolution;			/* index into se_resolutions */
	yaml_node_t *resolution_node;
	size_t n_hosts;
};

enum { SE_NONE, SE_STATIC, SE_DNS, SE_DNS_ROUND_ROBIN };
static const char *const se_resolutions[] = { "NONE", "STATIC", "DNS",
					      "DNS_ROUND_ROBIN", NULL };

static int se_host_item(struct sl_yctx *ctx, yaml_node_t *item, size_t index,
			void *obj)
{
	struct se_decode *d = obj;
	const char *v = sl_y_scalar(ctx, item);

	(void)index;
	if (!v)
		return -1;
	if (!v[0])
		return sl_y_fail(ctx, item, "a host must not be empty");
	/* VirtualServices and DestinationRules name the entry by its hosts. */
	sl_arena_grow(ctx->arena, (void **)&d->se.hosts, &d->se.cap_hosts, d->se.n_hosts + 1,
		      sizeof(*d->se.hosts));
	d->se.hosts[d->se.n_hosts++] = sl_arena_strdup(ctx->arena, v);
	d->n_hosts++;
	return 0;
}

static int se_hosts(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return sl_y_seq(ctx, node, se_host_item, obj);
}

/* Istio allows CIDR ranges as addresses; a host route (/32, /128) is a
 * plain VIP, anything wider is reported and skipped. */
static int se_address_item(struct sl_yctx *ctx, yaml_node_t *item, size_t index,
			   void *obj)
{
	struct sl_service_entry *se = obj;
	const char *v = sl_y_scalar(ctx, item);
	char buf[128];
	struct sl_ip ip;
	char *slash;

	(void)index;
	if (!v)
		return -1;
	snprintf(buf, sizeof(buf), "%s", v);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	if (sl_ip_parse(buf, &ip) < 0)
		return sl_y_fail(ctx, item, "\"%s\" is not an IP address or CIDR", v);
	if (slash) {
		char *end;
		long bits = strtol(slash + 1, &end, 10);
		long max = ip.family == SL_AF_INET ? 32 : 128;

		if (*end || end == slash + 1 || bits < 0 || bits > max)
			return sl_y_fail(ctx, item, "\"%s\" has an invalid prefix length", v);
		if (bits != max) {
			sl_y_warn(ctx, item, "CIDR address %s is not implemented by "
				  "Sluice; only single addresses are served", v);
			return 0;
		}
	}
	if (sl_ip_is_unspecified(&ip))
		return sl_y_fail(ctx, item, "the unspecified address cannot be a VIP");
	for (size_t i = 0; i < se->n_addresses; i++)
		if (!sl_ip_cmp(&se->addresses[i], &ip))
			return sl_y_fail(ctx, item, "address %s is given twice", v);
	sl_arena_grow(ctx->arena, (void **)&se->addresses, &se->cap_addresses,
		      se->n_addresses + 1, sizeof(ip));
	se->addresses[se->n_addresses++] = ip;
	return 0;
}

static int se_addresses(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return sl_y_seq(ctx, node, se_address_item, obj);
}

static int se_port_number(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	uint32_t v;

	if (sl_y_uint(ctx, node, 1, 65535, &v) < 0)
		return -1;
	((struct sl_se_port *)obj)->number = (uint16_t)v;
	return 0;
}

static int se_port_target(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	uint32_t v;

	if (sl_y_uint(ctx, node, 1, 65535, &v) < 0)
		return -1;
	((struct sl_se_port *)obj)->target_port = (uint16_t)v;
	return 0;
}

static int se_port_name(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return sl_y_str(ctx, node, &((struct sl_se_port *)obj)->name);
}

/* Istio's protocol names, matched case-insensitively as Istio does. Every
 * one but UDP runs over TCP, which is all an L4 dataplane needs. */
static int se_port_proto(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	static const char *const protos[] = { "UDP", "TCP", "HTTP", "HTTPS", "HTTP2",
					      "HTTP_PROXY", "GRPC", "GRPC-Web", "TLS",
					      "Mongo", "Redis", "MySQL", NULL };
	int i;

	if (sl_y_enum(ctx, node, protos, true, &i) < 0)
		return -1;
	((struct sl_se_port *)obj)->proto = i == 0 ? SL_PROTO_UDP : SL_PROTO_TCP;
	return 0;
}

static const struct sl_yfield se_port_fields[] = {
	{ "number", SL_YF_DECODE, se_port_number },
	{ "protocol", SL_YF_DECODE, se_port_proto },
	{ "name", SL_YF_DECODE, se_port_name },
	{ "targetPort", SL_YF_DECODE, se_port_target },
	{ NULL, 0, NULL },
};

static int se_port_item(struct sl_yctx *ctx, yaml_node_t *item, size_t index,
			void *obj)
{
	struct sl_service_entry *se = obj;
	struct sl_se_port port = { .name = "", .proto = SL_PROTO_TCP };

	(void)index;
	port.loc = sl_y_loc(ctx, item);
	if (sl_y_map(ctx, item, se_port_fields, &port) < 0)
		return -1;
	if (!port.number)
		return sl_y_fail(ctx, item, "missing field number");
	for (size_t i = 0; i < se->n_ports; i++) {
		if (se->ports[i].number == port.number && se->ports[i].proto == port.proto)
			return sl_y_fail(ctx, item, "port %u is given twice", port.number);
		if (port.name[0] && !strcmp(se->ports[i].name, port.name))
			return sl_y_fail(ctx, item, "port name \"%s\" is used twice", port.name);
	}
	sl_arena_grow(ctx->arena, (void **)&se->ports, &se->cap_ports, se->n_ports + 1,
		      sizeof(port));
	se->ports[se->n_ports++] = port;
	return 0;
}

static int se_ports(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return sl_y_seq(ctx, node, se_port_item, obj);
}

static int se_location(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	static const char *const locations[] = { "MESH_EXTERNAL", "MESH_INTERNAL", NULL };
	int i;

	(void)obj;
	return sl_y_enum(ctx, node, locations, false, &i);
}

static int se_resolution(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	struct se_decode *d = obj;

	d->resolution_node = node;
	return sl_y_enum(ctx, node, se_resolutions, false, &d->resolution);
}

/* ---- endpoints (WorkloadEntry shape) ---- */

/* The shape shared by ServiceEntry endpoints and WorkloadEntry specs. A
 * WorkloadEntry's address is what its identity is bound to, so it must be
 * an IP where a ServiceEntry endpoint could merely be skipped. */
struct wle_decode {
	struct sl_se_endpoint ep;	/* first: the field decoders take either */
	bool workload_entry;
};

static int wle_address(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	struct wle_decode *d = obj;
	struct sl_se_endpoint *ep = &d->ep;
	const char *v = sl_y_scalar(ctx, node);

	if (!v)
		return -1;
	if (!strncmp(v, "unix://", 7)) {
		if (d->workload_entry)
			return sl_y_fail(ctx, node, "a WorkloadEntry needs an IP address: "
					 "its identity is bound to it");
		sl_y_warn(ctx, node, "unix socket endpoints are not implemented by "
			  "Sluice; this endpoint is skipped");
		return 0;
	}
	if (sl_ip_parse(v, &ep->addr) < 0)
		return sl_y_fail(ctx, node, "\"%s\" is not an IP address (%s)", v,
				 d->workload_entry ? "a WorkloadEntry's identity is "
				 "bound to its address, not to a name" :
				 "resolution STATIC needs addresses, not names");
	if (sl_ip_is_unspecified(&ep->addr))
		return sl_y_fail(ctx, node, "the unspecified address is not an endpoint");
	return 0;
}

static int wle_ports(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	struct sl_se_endpoint *ep = obj;

	if (sl_y_expect_map(ctx, node) < 0)
		return -1;
	for (yaml_node_pair_t *p = node->data.mapping.pairs.start;
	     p < node->data.mapping.pairs.top; p++) {
		yaml_node_t *k = sl_y_node(ctx, p->key), *v = sl_y_node(ctx, p->value);
		struct sl_se_endpoint_port port;
		size_t mark;
		uint32_t n;
		int ret;

		if (sl_y_str(ctx, k, &port.name) < 0)
			return -1;
		mark = sl_y_push(ctx, ".%s", port.name);
		ret = sl_y_uint(ctx, v, 1, 65535, &n);
		sl_y_pop(ctx, mark);
		if (ret < 0)
			return -1;
		port.number = (uint16_t)n;
		sl_arena_grow(ctx->arena, (void **)&ep->ports, &ep->cap_ports,
			      ep->n_ports + 1, sizeof(port));
		ep->ports[ep->n_ports++] = port;
	}
	return 0;
}

static int wle_labels(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	struct sl_se_endpoint *ep = obj;

	return sl_decode_labels(ctx, node, &ep->labels, &ep->n_labels, &ep->cap_labels);
}

static int wle_weight(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return sl_y_uint(ctx, node, 0, UINT32_MAX, &((struct sl_se_endpoint *)obj)->weight);
}

static int wle_locality(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return sl_y_str(ctx, node, &((struct sl_se_endpoint *)obj)->locality);
}

static int wle_network(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	const char *v = sl_y_scalar(ctx, node);

	(void)obj;
	if (!v)
		return -1;
	if (v[0])
		sl_y_warn(ctx, node, "networks (east-west gateways) are not implemented "
			  "by Sluice; the endpoint is dialled directly");
	return 0;
}

/* "" is proto3's unset value: the namespace's "default" account. */
static int wle_service_account(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	struct sl_se_endpoint *ep = obj;
	const char *v;

	if (sl_y_str(ctx, node, &v) < 0)
		return -1;
	if (!v[0])
		return 0;
	ep->service_account = v;
	return sl_check_dns_subdomain(ctx, node, v);
}

static const struct sl_yfield wle_fields[] = {
	{ "address", SL_YF_DECODE, wle_address },
	{ "ports", SL_YF_DECODE, wle_ports },
	{ "labels", SL_YF_DECODE, wle_labels },
	{ "weight", SL_YF_DECODE, wle_weight },
	{ "locality", SL_YF_DECODE, wle_locality },
	{ "network", SL_YF_DECODE, wle_network },
	{ "serviceAccount", SL_YF_DECODE, wle_service_account },
	{ NULL, 0, NULL },
};

static int se_endpoint_item(struct sl_yctx *ctx, yaml_node_t *item,
			    size_t index, void *obj)
{
	struct sl_service_entry *se = obj;
	struct wle_decode d;

	(void)index;
	memset(&d, 0, sizeof(d));
	d.ep.loc = sl_y_loc(ctx, item);
	d.ep.locality = "";
	if (sl_y_map(ctx, item, wle_fields, &d) < 0)
		return -1;
	if (!d.ep.addr.family) {
		if (!sl_y_get(ctx, item, "address"))
			return sl_y_fail(ctx, item, "missing field address");
		return 0;	/* a unix socket, reported above */
	}
	sl_arena_grow(ctx->arena, (void **)&se->endpoints, &se->cap_endpoints,
		      se->n_endpoints + 1, sizeof(d.ep));
	se->endpoints[se->n_endpoints++] = d.ep;
	return 0;
}

static int se_endpoints(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return sl_y_seq(ctx, node, se_endpoint_item, obj);
}

static int se_workload_selector(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	(void)obj;
	if (sl_y_expect_map(ctx, node) < 0)
		return -1;
	sl_y_warn(ctx, node, "workloadSelector is not implemented by Sluice yet; "
		  "only spec.endpoints are used");
	return 0;
}

static int se_subject_alt_names(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	(void)obj;
	if (sl_y_expect_seq(ctx, node) < 0)
		return -1;
	sl_y_warn(ctx, node, "Sluice does not originate TLS; subjectAltNames are "
		  "not checked");
	return 0;
}

static const struct sl_yfield se_spec_fields[] = {
	{ "hosts", SL_YF_DECODE, se_hosts },
	{ "addresses", SL_YF_DECODE, se_addresses },
	{ "ports", SL_YF_DECODE, se_ports },
	{ "location", SL_YF_DECODE, se_location },
	{ "resolution", SL_YF_DECODE, se_resolution },
	{ "endpoints", SL_YF_DECODE, se_endpoints },
	{ "workloadSelector", SL_YF_DECODE, se_workload_selector },
	{ "exportTo", SL_YF_DECODE, sl_decode_export_to },
	{ "subjectAltNames", SL_YF_DECODE, se_subject_alt_names },
	{ NULL, 0, NULL },
};

static int se_spec(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return sl_y_map(ctx, node, se_spec_fields, obj);
}

static const struct sl_yfield se_fields[] = {
	{ "apiVersion", SL_YF_ACCEPT, NULL },
	{ "kind", SL_YF_ACCEPT, NULL },
	{ "metadata", SL_YF_DECODE, sl_decode_meta },
	{ "spec", SL_YF_DECODE, se_spec },
	{ "status", SL_YF_ACCEPT, NULL },
	{ NULL, 0, NULL },
};

/* An endpoint's port map must name ports of the entry: a typo there would
 * otherwise send traffic to the wrong port without a word. */
static int se_check_endpoint_ports(struct sl_yctx *ctx, yaml_node_t *root,
				   const struct sl_service_entry *se)
{
	for (size_t i = 0; i < se->n_endpoints; i++) {
		const struct sl_se_endpoint *ep = &se->endpoints[i];

		for (size_t j = 0; j < ep->n_ports; j++) {
			bool found = false;

			for (size_t k = 0; k < se->n_ports && !found; k++)
				found = !strcmp(se->ports[k].name, ep->ports[j].name);
			if (!found)
				return sl_y_fail(ctx, root, "spec.endpoints[%zu].ports: no port "
						 "named \"%s\" in spec.ports (endpoint at "
						 "line %u)", i, ep->ports[j].name, ep->loc.line);
		}
	}
	return 0;
}

static void se_decide_balanced(struct sl_yctx *ctx, yaml_node_t *root,
			       struct se_decode *d)
{
	struct sl_service_entry *se = &d->se;

	if (d->resolution == SE_DNS || d->resolution == SE_DNS_ROUND_ROBIN) {
		sl_y_warn(ctx, d->resolution_node, "resolution %s is not implemented by "
			  "Sluice; ServiceEntry %s/%s is not served",
			  se_resolutions[d->resolution], se->meta.namespace, se->meta.name);
		return;
	}
	/* NONE passes connections through to the address dialled, which is
	 * exactly what happens when Sluice leaves them alone. */
	if (d->resolution != SE_STATIC)
		return;
	if (!se->n_addresses) {
		sl_y_warn(ctx, root, "ServiceEntry %s/%s has no spec.addresses; Sluice "
			  "balances by address and serves nothing for it",
			  se->meta.namespace, se->meta.name);
		return;
	}
	se->balanced = true;
}

int sl_decode_service_entry(struct sl_yctx *ctx, yaml_node_t *root,
			    struct sl_config *cfg)
{
	struct se_decode d;

	memset(&d, 0, sizeof(d));
	d.resolution = SE_NONE;
	if (sl_y_map(ctx, root, se_fields, &d) < 0)
		return -1;
	if (sl_meta_finish(ctx, root, &d.se.meta) < 0)
		return -1;
	if (!d.n_hosts)
		return sl_y_fail(ctx, root, "spec.hosts: at least one host is required");
	if (se_check_endpoint_ports(ctx, root, &d.se) < 0)
		return -1;
	se_decide_balanced(ctx, root, &d);
	sl_arena_grow(&cfg->arena, (void **)&cfg->entries, &cfg->cap_entries,
		      cfg->n_entries + 1, sizeof(d.se));
	cfg->entries[cfg->n_entries++] = d.se;
	return 0;
}

/* ---- WorkloadEntry ---- */

struct we_decode {
	struct sl_workload_entry we;	/* first: see sl_decode_meta */
	struct wle_decode spec;
};

static int we_spec(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	struct we_decode *d = obj;

	return sl_y_map(ctx, node, wle_fields, &d->spec);
}

static const struct sl_yfield we_fields[] = {
	{ "apiVersion", SL_YF_ACCEPT, NULL },
	{ "kind", SL_YF_ACCEPT, NULL },
	{ "metadata", SL_YF_DECODE, sl_decode_meta },
	{ "spec", SL_YF_DECODE, we_spec },
	{ "status", SL_YF_ACCEPT, NULL },
	{ NULL, 0, NULL },
};

/* ports, weight and locality are checked but not kept: they only matter to
 * a ServiceEntry selecting the entry by workloadSelector, which is reported
 * there as not implemented. */
int sl_decode_workload_entry(struct sl_yctx *ctx, yaml_node_t *root,
			     struct sl_config *cfg)
{
	struct sl_se_endpoint *ep;
	struct we_decode d;

	memset(&d, 0, sizeof(d));
	d.spec.workload_entry = true;
	if (sl_y_map(ctx, root, we_fields, &d) < 0)
		return -1;
	if (sl_meta_finish(ctx, root, &d.we.meta) < 0 ||
	    sl_meta_no_redirect_here(ctx, root, &d.we.meta, "WorkloadEntry") < 0)
		return -1;
	ep = &d.spec.ep;
	if (!ep->addr.family) {
		yaml_node_t *spec = sl_y_get(ctx, root, "spec");

		return sl_y_fail(ctx, spec ? spec : root, "missing field spec.address");
	}
	d.we.addr = ep->addr;
	d.we.service_account = ep->service_account ? ep->service_account : "default";
	d.we.labels = ep->labels;
	d.we.n_labels = ep->n_labels;
	d.we.cap_labels = ep->cap_labels;
	sl_arena_grow(&cfg->arena, (void **)&cfg->workload_entries,
		      &cfg->cap_workload_entries, cfg->n_workload_entries + 1,
		      sizeof(d.we));
	cfg->workload_entries[cfg->n_workload_entries++] = d.we;
	return 0;
}
