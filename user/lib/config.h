/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The configuration as decoded from YAML: Kubernetes and Istio resources,
 * validated field by field, before they are joined into the model.
 */
#ifndef SLUICE_CONFIG_H
#define SLUICE_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "arena.h"
#include "err.h"
#include "ydec.h"

struct sl_label {
	const char *key;
	const char *value;
};

/* First member of every resource struct, so that the shared metadata
 * decoder can fill it whatever the kind. */
struct sl_meta {
	const char *namespace;	/* "default" when absent */
	const char *name;
	struct sl_loc loc;	/* the document's first line */
	struct sl_label *labels;
	size_t n_labels, cap_labels;
	bool no_redirect;	/* annotation sluice.dev/redirect: "false" */
	bool keep_on_removal;	/* sluice.dev/reset-on-endpoint-removal: "false" */
	bool dry_run;		/* annotation istio.io/dry-run: "true" */
	/* Lines of those annotations in loc.file, 0: not given (every
	 * object kept carries a meta: lines, not whole locations). */
	unsigned int reset_line, redirect_line, dry_run_line;
	/* kubernetes.io/egress-bandwidth, kubernetes.io/ingress-bandwidth
	 * (meaningful on Pods): bits per second, 0: none. */
	uint64_t egress_bps, ingress_bps;
};

/* v1 Service */
struct sl_svc_port {
	const char *name;	/* "" when unnamed */
	uint16_t port;
	uint8_t proto;		/* 0: a protocol Sluice does not serve */
	struct sl_loc loc;
};

struct sl_service {
	struct sl_meta meta;
	struct sl_ip cluster_ips[2];
	size_t n_cluster_ips;	/* 0: headless or ExternalName, not balanced */
	struct sl_svc_port *ports;
	size_t n_ports, cap_ports;
	bool client_ip_affinity;	/* spec.sessionAffinity: ClientIP */
};

/* discovery.k8s.io/v1 EndpointSlice */
struct sl_slice_port {
	const char *name;	/* "" when unnamed */
	uint16_t port;		/* 0: not given */
	uint8_t proto;
};

/* 64 bytes: 100,000 of them are kept at scale. */
struct sl_slice_endpoint {
	struct sl_ip addr;	/* the first of addresses[] */
	bool ready, serving, terminating;
	uint32_t n_addrs;
	uint32_t line;		/* where it is, in its slice's file (meta.loc) */
	struct sl_ip *addrs;	/* every address (at most 100 by the API) */
	const char *zone;
	const char *pod_namespace;	/* targetRef of kind Pod, else NULL */
	const char *pod_name;
};

struct sl_endpoint_slice {
	struct sl_meta meta;
	const char *service_name;	/* label kubernetes.io/service-name */
	uint8_t family;			/* 0: FQDN, not balanced */
	struct sl_slice_port *ports;
	size_t n_ports, cap_ports;
	struct sl_slice_endpoint *endpoints;
	size_t n_endpoints, cap_endpoints;
};

/* networking.istio.io ServiceEntry */
struct sl_se_port {
	const char *name;
	uint16_t number;
	uint16_t target_port;	/* 0: same as number */
	uint8_t proto;
	struct sl_loc loc;
};

struct sl_se_endpoint_port {
	const char *name;
	uint16_t number;
};

struct sl_se_endpoint {
	struct sl_ip addr;
	uint32_t weight;
	const char *service_account;	/* NULL: "default" of the namespace */
	const char *locality;
	struct sl_se_endpoint_port *ports;
	size_t n_ports, cap_ports;
	struct sl_label *labels;
	size_t n_labels, cap_labels;
	struct sl_loc loc;
};

struct sl_service_entry {
	struct sl_meta meta;
	const char **hosts;		/* spec.hosts */
	size_t n_hosts, cap_hosts;
	bool balanced;		/* resolution STATIC with addresses */
	struct sl_ip *addresses;
	size_t n_addresses, cap_addresses;
	struct sl_se_port *ports;
	size_t n_ports, cap_ports;
	struct sl_se_endpoint *endpoints;
	size_t n_endpoints, cap_endpoints;
};

/* networking.istio.io WorkloadEntry: a workload outside Kubernetes. */
struct sl_workload_entry {
	struct sl_meta meta;
	struct sl_ip addr;
	const char *service_account;	/* "default" when absent */
	struct sl_label *labels;	/* spec.labels, what selectors match */
	size_t n_labels, cap_labels;
};

/* v1 Pod: only what identity needs. */
struct sl_pod {
	struct sl_meta meta;		/* metadata.labels are what selectors match */
	const char *service_account;	/* spec.serviceAccountName, "default" */
	const char *node_name;		/* spec.nodeName, "" when absent */
	struct sl_ip ips[2];		/* status.podIPs (or status.podIP) */
	size_t n_ips;
};

/* Pods by (namespace, name): an EndpointSlice endpoint names its Pod,
 * and a scan of every Pod per endpoint is quadratic (10^10 comparisons
 * at 100,000 of each). */
struct sl_pod_index {
	const struct sl_pod **v;	/* sorted by namespace, name */
	size_t n;
};

void sl_pod_index_build(struct sl_pod_index *ix, const struct sl_pod *pods, size_t n);
const struct sl_pod *sl_pod_index_find(const struct sl_pod_index *ix, const char *ns,
				       const char *name);
void sl_pod_index_free(struct sl_pod_index *ix);

/* security.istio.io AuthorizationPolicy */
enum sl_authz_action {
	SL_AUTHZ_ALLOW,
	SL_AUTHZ_DENY,
	SL_AUTHZ_AUDIT,
};

struct sl_strlist {
	const char **v;		/* Istio's string match: exact, "abc*", "*abc", "*" */
	size_t n, cap;
};

struct sl_cidr {
	struct sl_ip ip;	/* host bits cleared */
	uint8_t plen;
};

struct sl_cidrlist {
	struct sl_cidr *v;
	size_t n, cap;
};

struct sl_portlist {
	uint16_t *v;		/* host order, 1..65535 */
	size_t n, cap;
};

/* rules[].from[].source; remoteIpBlocks count as ipBlocks: with no proxy
 * in between, the remote address is the peer's. */
struct sl_authz_source {
	struct sl_strlist principals, not_principals;
	struct sl_strlist namespaces, not_namespaces;
	struct sl_cidrlist ip_blocks, not_ip_blocks;
	const char *l7_field;	/* first field that needs L7 (requestPrincipals,
				 * notRequestPrincipals), NULL if none */
};

/* rules[].to[].operation */
struct sl_authz_operation {
	struct sl_portlist ports, not_ports;
	const char *l7_field;	/* hosts, notHosts, methods, notMethods, paths,
				 * notPaths: NULL if none */
};

/* rules[].when[] with an L4 key; other keys set l7_field of the rule. */
enum sl_authz_when_key {
	SL_WHEN_SOURCE_IP,		/* source.ip and remote.ip: CIDRs */
	SL_WHEN_SOURCE_NAMESPACE,
	SL_WHEN_SOURCE_PRINCIPAL,
	SL_WHEN_DESTINATION_PORT,
};

struct sl_authz_when {
	enum sl_authz_when_key key;
	struct sl_strlist values, not_values;		/* namespace, principal */
	struct sl_cidrlist cidrs, not_cidrs;		/* source.ip */
	struct sl_portlist ports, not_ports;		/* destination.port */
};

struct sl_authz_rule {
	struct sl_authz_source *from;	/* OR; none given: any source */
	size_t n_from, cap_from;
	struct sl_authz_operation *to;	/* OR; none given: any operation */
	size_t n_to, cap_to;
	struct sl_authz_when *when;	/* AND */
	size_t n_when, cap_when;
	const char *l7_field;	/* a when key that needs L7, NULL if none */
	struct sl_loc loc;
};

struct sl_authz_policy {
	struct sl_meta meta;
	enum sl_authz_action action;	/* ALLOW when absent */
	bool dry_run;			/* annotation istio.io/dry-run: "true" */
	bool has_selector;		/* spec.selector given */
	struct sl_label *match_labels;	/* spec.selector.matchLabels */
	size_t n_match_labels, cap_match_labels;
	struct sl_authz_rule *rules;	/* none: the policy matches nothing */
	size_t n_rules, cap_rules;
};

/* DestinationRule loadBalancer.localityLbSetting.distribute[]: from a
 * node matching `from`, each `to` pattern's endpoints get its percentage
 * of new connections (in the order written: an endpoint counts for the
 * first pattern it matches); endpoints no pattern matches get none. */
struct sl_locality_weight {
	const char *locality;		/* a pattern: "*" may stand for a last part */
	uint32_t percent;		/* 1-100; a distribute's sum to 100 */
};

struct sl_locality_distribute {
	const char *from;		/* a pattern */
	struct sl_locality_weight *to;
	size_t n_to, cap_to;
	struct sl_loc loc;
};

/* ... failover[]: regions. */
struct sl_locality_failover {
	const char *from;
	const char *to;
	struct sl_loc loc;
};

/* networking.istio.io DestinationRule: subsets (the rest comes later). */
struct sl_dr_subset {
	const char *name;
	struct sl_label *labels;
	size_t n_labels, cap_labels;
	struct sl_loc loc;
};

/* A DestinationRule trafficPolicy, or one of its portLevelSettings. Each
 * section given replaces the same section of the level above as a whole,
 * as in Istio: a port's connectionPool without maxConnections has none. */
struct sl_traffic_policy {
	bool pool;			/* connectionPool given */
	bool lb;			/* loadBalancer given */
	bool outlier;			/* outlierDetection given */
	/* connectionPool.tcp.maxConnections: active connections to each
	 * endpoint from this node; 0: no cap. */
	uint32_t max_connections;
	uint32_t connect_ms;		/* connectionPool.tcp.connectTimeout */
	uint32_t idle_ms;		/* connectionPool.tcp.idleTimeout */
	uint32_t max_age_ms;		/* connectionPool.tcp.maxConnectionDuration */
	uint32_t ka_time_s;		/* connectionPool.tcp.tcpKeepalive */
	uint32_t ka_interval_s;
	uint32_t ka_probes;
	uint32_t lb_flags;		/* loadBalancer: SL_SVC_F_LB_* */
	uint32_t maglev_size;		/* consistentHash.maglev.tableSize */
	uint32_t eject_after;		/* outlierDetection: consecutive failures */
	uint32_t eject_ms;		/* outlierDetection.baseEjectionTime */
	uint32_t eject_max_pct;		/* outlierDetection.maxEjectionPercent */
	uint32_t min_health_pct;	/* outlierDetection.minHealthPercent */
	/* loadBalancer.localityLbSetting: enabled (default true, as Istio's
	 * mesh-wide default), distribute or failover (never both). Used from
	 * the rule's policy only; a port's is warned. */
	bool locality_given;
	bool locality_off;
	struct sl_locality_distribute *distribute;
	size_t n_distribute, cap_distribute;
	struct sl_locality_failover *failover;
	size_t n_failover, cap_failover;
	struct sl_loc locality_loc;	/* of localityLbSetting, if given */
};

/* trafficPolicy.portLevelSettings[]: the policy of one service port. */
struct sl_port_policy {
	uint16_t port;			/* port.number */
	struct sl_traffic_policy policy;
	struct sl_loc loc;
};

struct sl_destination_rule {
	struct sl_meta meta;
	const char *host;		/* spec.host, as written */
	struct sl_dr_subset *subsets;
	size_t n_subsets, cap_subsets;
	struct sl_traffic_policy policy;	/* spec.trafficPolicy */
	struct sl_port_policy *ports;		/* ... .portLevelSettings */
	size_t n_ports, cap_ports;
};

/* networking.istio.io VirtualService: tcp routes. */
struct sl_vs_destination {
	const char *host;		/* as written */
	const char *subset;		/* NULL: every endpoint */
	uint16_t port;			/* destination.port.number, 0: the port dialled */
	uint32_t weight;		/* 0-100; 0 when the route has one destination
					 * without weight means 100 */
	bool weight_given;
	struct sl_loc loc;
};

struct sl_vs_tcp_route {
	uint16_t *match_ports;		/* match[].port; none: every port */
	size_t n_match_ports, cap_match_ports;
	bool match_any;			/* a match item without port */
	struct sl_vs_destination *route;
	size_t n_route, cap_route;
	struct sl_loc loc;
};

struct sl_virtual_service {
	struct sl_meta meta;
	const char **hosts;		/* spec.hosts, as written */
	size_t n_hosts, cap_hosts;
	struct sl_vs_tcp_route *tcp;
	size_t n_tcp, cap_tcp;
};

/* sluice.dev/v1alpha1 TrafficLimit: what the Istio APIs lack. */
struct sl_service_ref {
	const char *namespace;		/* default: the TrafficLimit's */
	const char *name;
	struct sl_loc loc;
};

/* TrafficLimit spec.sources[]: the clients a connection rate limit
 * applies to; each given list must match (Istio's string match). */
struct sl_limit_source {
	struct sl_strlist namespaces;
	struct sl_strlist principals;	/* "cluster.local/ns/NS/sa/SA" */
	struct sl_loc loc;
};

struct sl_traffic_limit {
	struct sl_meta meta;
	struct sl_service_ref *services;	/* spec.services */
	size_t n_services, cap_services;
	uint32_t conn_rate;		/* spec.connectionsPerSecond, 0: none */
	uint32_t conn_burst;		/* spec.burst, default conn_rate */
	uint64_t egress_bps;		/* spec.bandwidth.egress, bits/s, 0: none */
	uint64_t ingress_bps;		/* spec.bandwidth.ingress */
	struct sl_limit_source *sources;	/* none: every client */
	size_t n_sources, cap_sources;
	bool has_selector;		/* spec.selector: the workloads limited */
	struct sl_label *match_labels;	/* spec.selector.matchLabels */
	size_t n_match_labels, cap_match_labels;
};

struct sl_config {
	struct sl_arena arena;
	struct sl_destination_rule *drules;
	size_t n_drules, cap_drules;
	struct sl_virtual_service *vservices;
	size_t n_vservices, cap_vservices;
	struct sl_traffic_limit *limits;
	size_t n_limits, cap_limits;
	struct sl_workload_entry *workload_entries;
	size_t n_workload_entries, cap_workload_entries;
	struct sl_pod *pods;
	size_t n_pods, cap_pods;
	struct sl_authz_policy *policies;
	size_t n_policies, cap_policies;
	struct sl_service *services;
	size_t n_services, cap_services;
	struct sl_endpoint_slice *slices;
	size_t n_slices, cap_slices;
	struct sl_service_entry *entries;
	size_t n_entries, cap_entries;
	struct sl_warnings warnings;
	size_t n_files;
	uint64_t digest;	/* of every file's name and bytes */
};

/* A regular file's bytes, NUL-terminated (at most 256 MiB). */
int sl_read_file(const char *path, char **data, size_t *len, struct sl_err *err);

/* Loads a YAML file, or every *.yaml / *.yml file of a directory (names
 * starting with '.' skipped, symlinks followed, as Kubernetes ConfigMap
 * volumes lay them out). On error nothing is returned but the message. */
int sl_config_load(const char *path, struct sl_config *cfg, struct sl_err *err);
/* Same, from a buffer; `name` stands for the file in messages. */
int sl_config_load_buffer(const char *name, const char *data, size_t len,
			  struct sl_config *cfg, struct sl_err *err);
/* One document (or a v1 List of them), dispatched on apiVersion and kind. */
int sl_config_decode(struct sl_yctx *ctx, yaml_node_t *root, struct sl_config *cfg);
/* Checks across documents (one name per kind and namespace); part of
 * sl_config_load, separate for callers of sl_config_load_buffer. */
int sl_config_check(const struct sl_config *cfg, struct sl_err *err);
void sl_config_free(struct sl_config *cfg);

/* Per-kind decoders, called with the document's root mapping. */
int sl_decode_service(struct sl_yctx *ctx, yaml_node_t *root,
		      struct sl_config *cfg);
int sl_decode_endpoint_slice(struct sl_yctx *ctx, yaml_node_t *root,
			     struct sl_config *cfg);
int sl_decode_service_entry(struct sl_yctx *ctx, yaml_node_t *root,
			    struct sl_config *cfg);
int sl_decode_workload_entry(struct sl_yctx *ctx, yaml_node_t *root,
			     struct sl_config *cfg);
int sl_decode_pod(struct sl_yctx *ctx, yaml_node_t *root, struct sl_config *cfg);
/* An object reference (EndpointSlice targetRef): sets *name and, if given,
 * *namespace when it refers to a Pod; leaves both NULL for other kinds.
 * A namespace equal to same_ns is that string, not a copy. */
int sl_decode_pod_ref(struct sl_yctx *ctx, yaml_node_t *node, const char *same_ns,
		      const char **namespace, const char **name);
int sl_decode_authz_policy(struct sl_yctx *ctx, yaml_node_t *root,
			   struct sl_config *cfg);
/* A bandwidth in bits per second, written as a Kubernetes quantity
 * ("10M", "1.5G", "500k", "1e6"), within SL_BW_MIN_BPS..SL_BW_MAX_BPS. */
#define SL_BW_MIN_BPS 1000ULL
#define SL_BW_MAX_BPS 100000000000ULL
/* DestinationRule loadBalancer.localityLbSetting into a traffic policy
 * (res_locality.c). */
int sl_decode_locality_lb(struct sl_yctx *ctx, yaml_node_t *node, void *policy);
int sl_y_bandwidth(struct sl_yctx *ctx, yaml_node_t *node, uint64_t *bps);
int sl_decode_traffic_limit(struct sl_yctx *ctx, yaml_node_t *root,
			    struct sl_config *cfg);
/* DestinationRule spec.trafficPolicy (res_traffic.c); obj is the rule. */
int sl_decode_traffic_policy(struct sl_yctx *ctx, yaml_node_t *node, void *obj);
int sl_decode_destination_rule(struct sl_yctx *ctx, yaml_node_t *root,
			       struct sl_config *cfg);
int sl_decode_virtual_service(struct sl_yctx *ctx, yaml_node_t *root,
			      struct sl_config *cfg);

/* Shared by the decoders: the "metadata" field of any resource whose
 * struct starts with struct sl_meta; then sl_meta_finish() checks that a
 * name was given and fills defaults. */
int sl_decode_meta(struct sl_yctx *ctx, yaml_node_t *node, void *resource);
int sl_meta_finish(struct sl_yctx *ctx, yaml_node_t *root, struct sl_meta *meta);
/* Fails if the annotation sluice.dev/redirect was given on a kind it does
 * not apply to (it applies to Services and ServiceEntries). */
int sl_meta_no_redirect_here(struct sl_yctx *ctx, yaml_node_t *root,
			     const struct sl_meta *meta, const char *kind);
/* Every label of want is among have (a matchLabels selector). */
bool sl_labels_select(const struct sl_label *want, size_t n_want,
		      const struct sl_label *have, size_t n_have);
const char *sl_meta_label(const struct sl_meta *meta, const char *key);
/* A label map into *labels. */
int sl_decode_labels(struct sl_yctx *ctx, yaml_node_t *node,
		     struct sl_label **labels, size_t *n, size_t *cap);
/* An Istio exportTo list, as a field decoder (obj unused): visibility
 * narrower than "*" is warned, since Sluice applies it everywhere. */
int sl_decode_export_to(struct sl_yctx *ctx, yaml_node_t *node, void *obj);
/* AuthorizationPolicy values (res_match.c); lists are appended to. */
int sl_decode_nonempty(struct sl_yctx *ctx, yaml_node_t *node, const char **out);
int sl_decode_strlist(struct sl_yctx *ctx, yaml_node_t *node, struct sl_strlist *l);
/* Service accounts "ns/name", as the principals they stand for. */
int sl_decode_salist(struct sl_yctx *ctx, yaml_node_t *node, struct sl_strlist *l);
int sl_decode_cidrlist(struct sl_yctx *ctx, yaml_node_t *node, struct sl_cidrlist *l);
int sl_decode_portlist(struct sl_yctx *ctx, yaml_node_t *node, struct sl_portlist *l);
/* Values of a field Sluice cannot match (L7): checked, not kept. */
int sl_check_l7_list(struct sl_yctx *ctx, yaml_node_t *node);
/* Keeps in *l what also lies in *other. */
void sl_cidrlist_intersect(struct sl_arena *arena, struct sl_cidrlist *l,
			   const struct sl_cidrlist *other);
/* "TCP" / "UDP" etc. for a Kubernetes protocol field. */
int sl_decode_k8s_proto(struct sl_yctx *ctx, yaml_node_t *node, uint8_t *proto);
/* A DNS-1123 label, as Kubernetes requires of port names. */
int sl_check_dns_label(struct sl_yctx *ctx, yaml_node_t *node, const char *v,
		       size_t max_len);
/* A DNS-1123 subdomain, as Kubernetes requires of most object names. */
int sl_check_dns_subdomain(struct sl_yctx *ctx, yaml_node_t *node, const char *v);

#endif
