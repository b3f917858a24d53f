// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Decoders for v1 Service and discovery.k8s.io/v1 EndpointSlice. */
#include <string.h>

#include "config.h"

/* ---- Service ---- */

struct svc_decode {
	struct sl_service svc;	/* first: the metadata decoder needs it there */
	const char *cluster_ip;
	yaml_node_t *cluster_ip_node;
	yaml_node_t *cluster_ips_node;
	struct sl_ip ips[2];
	size_t n_ips;
	bool headless;
	bool external_name;
};

static int svc_port_name(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	struct sl_svc_port *port = obj;

	if (sl_y_str(ctx, node, &port->name) < 0)
		return -1;
	return port->name[0] ? sl_check_dns_label(ctx, node, port->name, 63) : 0;
}

static int svc_port_number(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	struct sl_svc_port *port = obj;
	uint32_t v;

	if (sl_y_uint(ctx, node, 1, 65535, &v) < 0)
		return -1;
	port->port = (uint16_t)v;
	return 0;
}

static int svc_port_proto(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return sl_decode_k8s_proto(ctx, node, &((struct sl_svc_port *)obj)->proto);
}

/* targetPort is resolved by the endpoints controller into the slices'
 * ports; only its shape is checked here. */
static int svc_target_port(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	const char *v = sl_y_scalar(ctx, node);
	uint32_t n;

	(void)obj;
	if (!v)
		return -1;
	if (node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && v[0] >= '0' && v[0] <= '9')
		return sl_y_uint(ctx, node, 1, 65535, &n);
	return sl_check_dns_label(ctx, node, v, 15);
}

static const struct sl_yfield svc_port_fields[] = {
	{ "name", SL_YF_DECODE, svc_port_name },
	{ "port", SL_YF_DECODE, svc_port_number },
	{ "protocol", SL_YF_DECODE, svc_port_proto },
	{ "targetPort", SL_YF_DECODE, svc_target_port },
	{ "appProtocol", SL_YF_ACCEPT, NULL },
	/* Covered by the warning on spec.type. */
	{ "nodePort", SL_YF_ACCEPT, NULL },
	{ NULL, 0, NULL },
};

static int svc_port_item(struct sl_yctx *ctx, yaml_node_t *item, size_t index,
			 void *obj)
{
	struct sl_service *svc = obj;
	struct sl_svc_port port = { .name = "", .proto = SL_PROTO_TCP };

	(void)index;
	port.loc = sl_y_loc(ctx, item);
	if (sl_y_map(ctx, item, svc_port_fields, &port) < 0)
		return -1;
	if (!port.port)
		return sl_y_fail(ctx, item, "missing field port");
	for (size_t i = 0; i < svc->n_ports; i++) {
		const struct sl_svc_port *o = &svc->ports[i];

		if (port.name[0] && !strcmp(o->name, port.name))
			return sl_y_fail(ctx, item, "port name \"%s\" is used twice", port.name);
		if (o->port == port.port && o->proto == port.proto && port.proto)
			return sl_y_fail(ctx, item, "port %u/%s is given twice", port.port,
					 sl_proto_name(port.proto));
	}
	sl_arena_grow(ctx->arena, (void **)&svc->ports, &svc->cap_ports,
		      svc->n_ports + 1, sizeof(port));
	svc->ports[svc->n_ports++] = port;
	return 0;
}

static int svc_ports(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	struct svc_decode *d = obj;

	if (sl_y_seq(ctx, node, svc_port_item, &d->svc) < 0)
		return -1;
	if (d->svc.n_ports > 1) {
		for (size_t i = 0; i < d->svc.n_ports; i++)
			if (!d->svc.ports[i].name[0])
				return sl_y_fail(ctx, node, "a Service with several ports "
						 "must name every port (port %u has no name)",
						 d->svc.ports[i].port);
	}
	return 0;
}

static int svc_cluster_ip(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	struct svc_decode *d = obj;

	d->cluster_ip_node = node;
	return sl_y_str(ctx, node, &d->cluster_ip);
}

static int svc_cluster_ips_item(struct sl_yctx *ctx, yaml_node_t *item,
				size_t index, void *obj)
{
	struct svc_decode *d = obj;
	const char *v = sl_y_scalar(ctx, item);

	if (!v)
		return -1;
	if (index >= 2)
		return sl_y_fail(ctx, item, "at most two cluster IPs (one per family)");
	if (!strcmp(v, "None")) {
		if (index)
			return sl_y_fail(ctx, item, "\"None\" must be the only cluster IP");
		d->headless = true;
		return 0;
	}
	if (sl_y_ip(ctx, item, &d->ips[index]) < 0)
		return -1;
	if (sl_ip_is_unspecified(&d->ips[index]))
		return sl_y_fail(ctx, item, "the unspecified address cannot be a cluster IP");
	if (index == 1 && d->ips[0].family == d->ips[1].family)
		return sl_y_fail(ctx, item, "the two cluster IPs must be of different families");
	d->n_ips = index + 1;
	return 0;
}

static int svc_cluster_ips(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	struct svc_decode *d = obj;

	d->cluster_ips_node = node;
	return sl_y_seq(ctx, node, svc_cluster_ips_item, d);
}

static int svc_type(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	static const char *const types[] = { "ClusterIP", "NodePort",
					     "LoadBalancer", "ExternalName", NULL };
	struct svc_decode *d = obj;
	int t;

	if (sl_y_enum(ctx, node, types, false, &t) < 0)
		return -1;
	if (t == 1 || t == 2)
		sl_y_warn(ctx, node, "type %s: node ports and load balancers are not "
			  "implemented by Sluice; only the cluster IP is served", types[t]);
	d->external_name = t == 3;
	return 0;
}

static int svc_external_ips(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	(void)obj;
	if (sl_y_expect_seq(ctx, node) < 0)
		return -1;
	if (node->data.sequence.items.top != node->data.sequence.items.start)
		sl_y_warn(ctx, node, "external IPs are not implemented by Sluice; "
			  "they are not served");
	return 0;
}

static int svc_session_affinity(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	static const char *const kinds[] = { "None", "ClientIP", NULL };
	int k;

	if (sl_y_enum(ctx, node, kinds, false, &k) < 0)
		return -1;
	((struct svc_decode *)obj)->svc.client_ip_affinity = k == 1;
	return 0;
}

static int svc_traffic_policy(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	static const char *const kinds[] = { "Cluster", "Local", NULL };
	int k;

	(void)obj;
	if (sl_y_enum(ctx, node, kinds, false, &k) < 0)
		return -1;
	if (k == 1)
		sl_y_warn(ctx, node, "Local is not implemented by Sluice; endpoints "
			  "on every node are used");
	return 0;
}

static int svc_traffic_distribution(struct sl_yctx *ctx, yaml_node_t *node,
				    void *obj)
{
	(void)obj;
	if (!sl_y_scalar(ctx, node))
		return -1;
	sl_y_warn(ctx, node, "traffic distribution is not implemented by Sluice; "
		  "endpoints in every zone are used alike");
	return 0;
}

static int check_enum_item(struct sl_yctx *ctx, yaml_node_t *item,
			   size_t index, void *obj)
{
	int i;

	(void)index;
	return sl_y_enum(ctx, item, obj, false, &i);
}

static int svc_ip_families(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	static const char *const families[] = { "IPv4", "IPv6", NULL };

	(void)obj;
	return sl_y_seq(ctx, node, check_enum_item, (void *)families);
}

static int svc_ip_family_policy(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	static const char *const policies[] = { "SingleStack", "PreferDualStack",
						"RequireDualStack", NULL };
	int i;

	(void)obj;
	return sl_y_enum(ctx, node, policies, false, &i);
}

static const struct sl_yfield svc_spec_fields[] = {
	{ "ports", SL_YF_DECODE, svc_ports },
	{ "clusterIP", SL_YF_DECODE, svc_cluster_ip },
	{ "clusterIPs", SL_YF_DECODE, svc_cluster_ips },
	{ "type", SL_YF_DECODE, svc_type },
	{ "externalIPs", SL_YF_DECODE, svc_external_ips },
	{ "sessionAffinity", SL_YF_DECODE, svc_session_affinity },
	{ "internalTrafficPolicy", SL_YF_DECODE, svc_traffic_policy },
	{ "trafficDistribution", SL_YF_DECODE, svc_traffic_distribution },
	{ "ipFamilies", SL_YF_DECODE, svc_ip_families },
	{ "ipFamilyPolicy", SL_YF_DECODE, svc_ip_family_policy },
	/* Endpoints come from EndpointSlices, which the selector produced. */
	{ "selector", SL_YF_ACCEPT, NULL },
	{ "publishNotReadyAddresses", SL_YF_ACCEPT, NULL },
	/* A DNS name only: kube-proxy does not balance ExternalName either. */
	{ "externalName", SL_YF_ACCEPT, NULL },
	/* Only meaningful with type NodePort / LoadBalancer, warned above. */
	{ "sessionAffinityConfig", SL_YF_ACCEPT, NULL },
	{ "externalTrafficPolicy", SL_YF_ACCEPT, NULL },
	{ "healthCheckNodePort", SL_YF_ACCEPT, NULL },
	{ "loadBalancerIP", SL_YF_ACCEPT, NULL },
	{ "loadBalancerSourceRanges", SL_YF_ACCEPT, NULL },
	{ "loadBalancerClass", SL_YF_ACCEPT, NULL },
	{ "allocateLoadBalancerNodePorts", SL_YF_ACCEPT, NULL },
	{ NULL, 0, NULL },
};

static int svc_spec(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return sl_y_map(ctx, node, svc_spec_fields, obj);
}

static const struct sl_yfield svc_fields[] = {
	{ "apiVersion", SL_YF_ACCEPT, NULL },
	{ "kind", SL_YF_ACCEPT, NULL },
	{ "metadata", SL_YF_DECODE, sl_decode_meta },
	{ "spec", SL_YF_DECODE, svc_spec },
	{ "status", SL_YF_ACCEPT, NULL },
	{ NULL, 0, NULL },
};

/* clusterIPs wins over clusterIP, as in the API server, which requires
 * clusterIP to equal clusterIPs[0] when both are set. */
static int svc_resolve_ips(struct sl_yctx *ctx, yaml_node_t *root,
			   struct svc_decode *d)
{
	struct sl_service *svc = &d->svc;
	struct sl_ip single;

	if (d->cluster_ip && !strcmp(d->cluster_ip, "None"))
		d->headless = true;
	if (d->cluster_ip && !d->headless && d->cluster_ip[0]) {
		size_t mark = sl_y_push(ctx, "spec.clusterIP");

		if (sl_ip_parse(d->cluster_ip, &single) < 0)
			return sl_y_fail(ctx, d->cluster_ip_node,
					 "\"%s\" is not an IPv4 or IPv6 address",
					 d->cluster_ip);
		if (d->n_ips && sl_ip_cmp(&single, &d->ips[0]))
			return sl_y_fail(ctx, d->cluster_ip_node, "clusterIP must "
					 "equal clusterIPs[0]");
		sl_y_pop(ctx, mark);
		if (!d->n_ips) {
			d->ips[0] = single;
			d->n_ips = 1;
		}
	}
	if (d->headless || d->external_name)
		return 0;
	if (!d->n_ips)
		sl_y_warn(ctx, root, "Service %s/%s has no cluster IP; nothing to "
			  "balance", svc->meta.namespace, svc->meta.name);
	memcpy(svc->cluster_ips, d->ips, sizeof(d->ips));
	svc->n_cluster_ips = d->n_ips;
	return 0;
}

int sl_decode_service(struct sl_yctx *ctx, yaml_node_t *root,
		      struct sl_config *cfg)
{
	struct svc_decode d;

	memset(&d, 0, sizeof(d));
	if (sl_y_map(ctx, root, svc_fields, &d) < 0)
		return -1;
	if (sl_meta_finish(ctx, root, &d.svc.meta) < 0)
		return -1;
	if (sl_check_dns_label(ctx, root, d.svc.meta.name, 63) < 0)
		return sl_y_fail(ctx, root, "Service name \"%s\" must be a DNS label "
				 "(lower case letters, digits, '-', at most 63)",
				 d.svc.meta.name);
	if (svc_resolve_ips(ctx, root, &d) < 0)
		return -1;
	sl_arena_grow(&cfg->arena, (void **)&cfg->services, &cfg->cap_services,
		      cfg->n_services + 1, sizeof(d.svc));
	cfg->services[cfg->n_services++] = d.svc;
	return 0;
}

/* ---- EndpointSlice ---- */

struct ep_decode {
	struct sl_slice_endpoint ep;
	struct sl_endpoint_slice *slice;
	int ready, serving, terminating;	/* -1: not given */
	bool have_addr;
	bool one_addr;				/* addresses holds one */
	size_t cap_addrs;
};

static int ep_address_item(struct sl_yctx *ctx, yaml_node_t *item, size_t index,
			   void *obj)
{
	struct ep_decode *d = obj;
	struct sl_ip ip;

	if (!d->slice->family)
		return sl_y_scalar(ctx, item) ? 0 : -1;
	if (sl_y_ip(ctx, item, &ip) < 0)
		return -1;
	if (ip.family != d->slice->family)
		return sl_y_fail(ctx, item, "address family differs from addressType %s",
				 d->slice->family == SL_AF_INET ? "IPv4" : "IPv6");
	/* Every address of an endpoint is the same endpoint; like kube-proxy,
	 * balance to the first. All are kept: any of them may be the source
	 * of the endpoint's connections. */
	if (index == 0) {
		d->ep.addr = ip;
		d->have_addr = true;
	}
	if (d->one_addr) {
		d->ep.n_addrs = 1;	/* addrs points at addr once placed */
		return 0;
	}
	sl_arena_grow(ctx->arena, (void **)&d->ep.addrs, &d->cap_addrs, d->ep.n_addrs + 1,
		      sizeof(ip));
	d->ep.addrs[d->ep.n_addrs++] = ip;
	return 0;
}

static int ep_addresses(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	struct ep_decode *d = obj;
	size_t n = sl_y_seq_len(node);

	/* Sized once: the Kubernetes source keeps 100,000s of these, most
	 * with one address, kept in the endpoint itself. */
	d->one_addr = n == 1;
	if (n > 1)
		sl_arena_grow(ctx->arena, (void **)&d->ep.addrs, &d->cap_addrs, n,
			      sizeof(*d->ep.addrs));
	return sl_y_seq(ctx, node, ep_address_item, obj);
}

static int tri_bool(struct sl_yctx *ctx, yaml_node_t *node, int *out)
{
	bool b;

	if (sl_y_bool(ctx, node, &b) < 0)
		return -1;
	*out = b;
	return 0;
}

static int cond_ready(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return tri_bool(ctx, node, &((struct ep_decode *)obj)->ready);
}

static int cond_serving(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return tri_bool(ctx, node, &((struct ep_decode *)obj)->serving);
}

static int cond_terminating(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return tri_bool(ctx, node, &((struct ep_decode *)obj)->terminating);
}

static const struct sl_yfield cond_fields[] = {
	{ "ready", SL_YF_DECODE, cond_ready },
	{ "serving", SL_YF_DECODE, cond_serving },
	{ "terminating", SL_YF_DECODE, cond_terminating },
	{ NULL, 0, NULL },
};

static int ep_conditions(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return sl_y_map(ctx, node, cond_fields, obj);
}

/* The endpoint decoded before this one, whose strings are shared. */
static const struct sl_slice_endpoint *ep_before(const struct ep_decode *d)
{
	const struct sl_endpoint_slice *s = d->slice;

	return s->n_endpoints ? &s->endpoints[s->n_endpoints - 1] : NULL;
}

static int ep_zone(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	struct ep_decode *d = obj;
	const struct sl_slice_endpoint *before = ep_before(d);

	return sl_y_str_as(ctx, node, before ? before->zone : NULL, &d->ep.zone);
}

static int ep_hints(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	(void)obj;
	if (sl_y_expect_map(ctx, node) < 0)
		return -1;
	sl_y_warn(ctx, node, "topology hints are not implemented by Sluice; "
		  "endpoints in every zone are used alike");
	return 0;
}

static int ep_target_ref(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	struct ep_decode *d = obj;
	const struct sl_slice_endpoint *before = ep_before(d);

	return sl_decode_pod_ref(ctx, node,
				 before ? before->pod_namespace : d->slice->meta.namespace,
				 &d->ep.pod_namespace, &d->ep.pod_name);
}

static const struct sl_yfield ep_fields[] = {
	{ "addresses", SL_YF_DECODE, ep_addresses },
	{ "conditions", SL_YF_DECODE, ep_conditions },
	{ "zone", SL_YF_DECODE, ep_zone },
	{ "hints", SL_YF_DECODE, ep_hints },
	{ "targetRef", SL_YF_DECODE, ep_target_ref },
	/* Names, no effect on where traffic goes. */
	{ "hostname", SL_YF_ACCEPT, NULL },
	{ "nodeName", SL_YF_ACCEPT, NULL },
	{ "deprecatedTopology", SL_YF_ACCEPT, NULL },
	{ NULL, 0, NULL },
};

/* Kubernetes: a nil ready or serving condition means true; serving is
 * ready regardless of termination; terminating defaults to false. */
static void ep_resolve_conditions(struct ep_decode *d)
{
	d->ep.ready = d->ready != 0;
	d->ep.serving = d->serving < 0 ? d->ep.ready : d->serving != 0;
	d->ep.terminating = d->terminating > 0;
}

static int slice_endpoint_item(struct sl_yctx *ctx, yaml_node_t *item,
			       size_t index, void *obj)
{
	struct sl_endpoint_slice *slice = obj;
	struct ep_decode d = { .slice = slice, .ready = -1, .serving = -1,
			       .terminating = -1 };

	(void)index;
	d.ep.line = sl_y_loc(ctx, item).line;
	d.ep.zone = "";
	if (sl_y_map(ctx, item, ep_fields, &d) < 0)
		return -1;
	if (!slice->family)
		return 0;
	if (!d.have_addr)
		return sl_y_fail(ctx, item, "missing field addresses");
	ep_resolve_conditions(&d);
	sl_arena_grow(ctx->arena, (void **)&slice->endpoints, &slice->cap_endpoints,
		      slice->n_endpoints + 1, sizeof(d.ep));
	slice->endpoints[slice->n_endpoints++] = d.ep;
	if (d.one_addr)	/* the array was sized once: it does not move */
		slice->endpoints[slice->n_endpoints - 1].addrs =
			&slice->endpoints[slice->n_endpoints - 1].addr;
	return 0;
}

static int slice_endpoints(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	struct sl_endpoint_slice *slice = obj;

	sl_arena_grow(ctx->arena, (void **)&slice->endpoints, &slice->cap_endpoints,
		      sl_y_seq_len(node), sizeof(*slice->endpoints));
	return sl_y_seq(ctx, node, slice_endpoint_item, obj);
}

static int sport_name(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	struct sl_slice_port *port = obj;

	if (sl_y_str(ctx, node, &port->name) < 0)
		return -1;
	return port->name[0] ? sl_check_dns_label(ctx, node, port->name, 63) : 0;
}

static int sport_number(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	uint32_t v;

	if (sl_y_uint(ctx, node, 1, 65535, &v) < 0)
		return -1;
	((struct sl_slice_port *)obj)->port = (uint16_t)v;
	return 0;
}

static int sport_proto(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return sl_decode_k8s_proto(ctx, node, &((struct sl_slice_port *)obj)->proto);
}

static const struct sl_yfield sport_fields[] = {
	{ "name", SL_YF_DECODE, sport_name },
	{ "port", SL_YF_DECODE, sport_number },
	{ "protocol", SL_YF_DECODE, sport_proto },
	{ "appProtocol", SL_YF_ACCEPT, NULL },
	{ NULL, 0, NULL },
};

static int slice_port_item(struct sl_yctx *ctx, yaml_node_t *item, size_t index,
			   void *obj)
{
	struct sl_endpoint_slice *slice = obj;
	struct sl_slice_port port = { .name = "", .proto = SL_PROTO_TCP };

	(void)index;
	if (sl_y_map(ctx, item, sport_fields, &port) < 0)
		return -1;
	for (size_t i = 0; i < slice->n_ports; i++)
		if (!strcmp(slice->ports[i].name, port.name) &&
		    slice->ports[i].proto == port.proto)
			return sl_y_fail(ctx, item, "port name \"%s\" is used twice",
					 port.name);
	sl_arena_grow(ctx->arena, (void **)&slice->ports, &slice->cap_ports,
		      slice->n_ports + 1, sizeof(port));
	slice->ports[slice->n_ports++] = port;
	return 0;
}

static int slice_ports(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return sl_y_seq(ctx, node, slice_port_item, obj);
}

static const struct sl_yfield slice_fields[] = {
	{ "apiVersion", SL_YF_ACCEPT, NULL },
	{ "kind", SL_YF_ACCEPT, NULL },
	{ "metadata", SL_YF_DECODE, sl_decode_meta },
	/* Decoded first, by sl_decode_endpoint_slice. */
	{ "addressType", SL_YF_ACCEPT, NULL },
	{ "endpoints", SL_YF_DECODE, slice_endpoints },
	{ "ports", SL_YF_DECODE, slice_ports },
	{ NULL, 0, NULL },
};

static int slice_address_type(struct sl_yctx *ctx, yaml_node_t *root,
			      struct sl_endpoint_slice *slice)
{
	static const char *const types[] = { "IPv4", "IPv6", "FQDN", NULL };
	yaml_node_t *node = sl_y_get(ctx, root, "addressType");
	size_t mark;
	int t, ret;

	if (!node)
		return sl_y_fail(ctx, root, "missing field addressType");
	mark = sl_y_push(ctx, "addressType");
	ret = sl_y_enum(ctx, node, types, false, &t);
	sl_y_pop(ctx, mark);
	if (ret < 0)
		return -1;
	slice->family = t == 0 ? SL_AF_INET : t == 1 ? SL_AF_INET6 : 0;
	return 0;
}

int sl_decode_endpoint_slice(struct sl_yctx *ctx, yaml_node_t *root,
			     struct sl_config *cfg)
{
	struct sl_endpoint_slice slice;

	memset(&slice, 0, sizeof(slice));
	if (slice_address_type(ctx, root, &slice) < 0)
		return -1;
	if (sl_y_map(ctx, root, slice_fields, &slice) < 0)
		return -1;
	if (sl_meta_finish(ctx, root, &slice.meta) < 0)
		return -1;
	/* A targetRef without a namespace is in the slice's. */
	for (size_t i = 0; i < slice.n_endpoints; i++) {
		struct sl_slice_endpoint *ep = &slice.endpoints[i];

		if (ep->pod_name && !ep->pod_namespace)
			ep->pod_namespace = slice.meta.namespace;
	}
	if (slice.meta.redirect_line)
		return sl_y_fail(ctx, root, "metadata.annotations.sluice.dev/redirect "
				 "(line %u) applies to the Service, not its EndpointSlices",
				 slice.meta.redirect_line);
	slice.service_name = sl_meta_label(&slice.meta, "kubernetes.io/service-name");
	if (!slice.service_name)
		sl_y_warn(ctx, root, "EndpointSlice %s/%s has no label "
			  "kubernetes.io/service-name; it belongs to no Service",
			  slice.meta.namespace, slice.meta.name);
	else if (!slice.family)
		sl_y_warn(ctx, root, "EndpointSlice %s/%s: addressType FQDN is not "
			  "balanced (as in kube-proxy)", slice.meta.namespace,
			  slice.meta.name);
	sl_arena_grow(&cfg->arena, (void **)&cfg->slices, &cfg->cap_slices,
		      cfg->n_slices + 1, sizeof(slice));
	cfg->slices[cfg->n_slices++] = slice;
	return 0;
}
