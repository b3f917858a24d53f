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
	struct sl_loc redirect_loc;	/* where that annotation is, if given */
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
};

/* discovery.k8s.io/v1 EndpointSlice */
struct sl_slice_port {
	const char *name;	/* "" when unnamed */
	uint16_t port;		/* 0: not given */
	uint8_t proto;
};

struct sl_slice_endpoint {
	struct sl_ip addr;
	bool ready, serving, terminating;
	const char *zone;
	struct sl_loc loc;
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
	const char *locality;
	struct sl_se_endpoint_port *ports;
	size_t n_ports, cap_ports;
	struct sl_label *labels;
	size_t n_labels, cap_labels;
	struct sl_loc loc;
};

struct sl_service_entry {
	struct sl_meta meta;
	bool balanced;		/* resolution STATIC with addresses */
	struct sl_ip *addresses;
	size_t n_addresses, cap_addresses;
	struct sl_se_port *ports;
	size_t n_ports, cap_ports;
	struct sl_se_endpoint *endpoints;
	size_t n_endpoints, cap_endpoints;
};

struct sl_config {
	struct sl_arena arena;
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

/* Loads a YAML file, or every *.yaml / *.yml file of a directory (names
 * starting with '.' skipped, symlinks followed, as Kubernetes ConfigMap
 * volumes lay them out). On error nothing is returned but the message. */
int sl_config_load(const char *path, struct sl_config *cfg, struct sl_err *err);
/* Same, from a buffer; `name` stands for the file in messages. */
int sl_config_load_buffer(const char *name, const char *data, size_t len,
			  struct sl_config *cfg, struct sl_err *err);
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

/* Shared by the decoders: the "metadata" field of any resource whose
 * struct starts with struct sl_meta; then sl_meta_finish() checks that a
 * name was given and fills defaults. */
int sl_decode_meta(struct sl_yctx *ctx, yaml_node_t *node, void *resource);
int sl_meta_finish(struct sl_yctx *ctx, yaml_node_t *root, struct sl_meta *meta);
const char *sl_meta_label(const struct sl_meta *meta, const char *key);
/* A label map into *labels. */
int sl_decode_labels(struct sl_yctx *ctx, yaml_node_t *node,
		     struct sl_label **labels, size_t *n, size_t *cap);
/* "TCP" / "UDP" etc. for a Kubernetes protocol field. */
int sl_decode_k8s_proto(struct sl_yctx *ctx, yaml_node_t *node, uint8_t *proto);
/* A DNS-1123 label, as Kubernetes requires of port names. */
int sl_check_dns_label(struct sl_yctx *ctx, yaml_node_t *node, const char *v,
		       size_t max_len);

#endif
