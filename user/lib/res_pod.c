// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Decoder for v1 Pod, and for references to Pods. A Pod gives a workload
 * its identity: namespace, service account, labels and the addresses its
 * connections come from. The rest of the Pod API is accepted unread, so
 * that the output of `kubectl get pod -o yaml` loads as it is.
 */
#include <string.h>

#include "config.h"

struct pod_decode {
	struct sl_pod pod;		/* first: see sl_decode_meta */
	const char *deprecated_sa;	/* spec.serviceAccount */
	bool host_network;
	struct sl_ip pod_ip;		/* status.podIP */
	yaml_node_t *pod_ip_node;
	struct sl_ip ips[2];		/* status.podIPs */
	size_t n_ips;
};

/* Kubernetes fills in both names, "" meaning unset as everywhere in the
 * API; they are object names, so DNS subdomains. */
static int name_field(struct sl_yctx *ctx, yaml_node_t *node, const char **out)
{
	const char *v;

	if (sl_y_str(ctx, node, &v) < 0)
		return -1;
	if (!v[0])
		return 0;
	*out = v;
	return sl_check_dns_subdomain(ctx, node, v);
}

static int spec_sa_name(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return name_field(ctx, node, &((struct pod_decode *)obj)->pod.service_account);
}

static int spec_sa_deprecated(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return name_field(ctx, node, &((struct pod_decode *)obj)->deprecated_sa);
}

static int spec_node_name(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return name_field(ctx, node, &((struct pod_decode *)obj)->pod.node_name);
}

static int spec_host_network(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return sl_y_bool(ctx, node, &((struct pod_decode *)obj)->host_network);
}

/* PodSpec as of Kubernetes 1.31, plus later additions marked. */
static const struct sl_yfield spec_fields[] = {
	{ "serviceAccountName", SL_YF_DECODE, spec_sa_name },
	{ "serviceAccount", SL_YF_DECODE, spec_sa_deprecated },
	{ "nodeName", SL_YF_DECODE, spec_node_name },
	{ "hostNetwork", SL_YF_DECODE, spec_host_network },
	/* What runs and how it is scheduled: nothing to an L4 dataplane. */
	{ "activeDeadlineSeconds", SL_YF_ACCEPT, NULL },
	{ "affinity", SL_YF_ACCEPT, NULL },
	{ "automountServiceAccountToken", SL_YF_ACCEPT, NULL },
	{ "containers", SL_YF_ACCEPT, NULL },
	{ "dnsConfig", SL_YF_ACCEPT, NULL },
	{ "dnsPolicy", SL_YF_ACCEPT, NULL },
	{ "enableServiceLinks", SL_YF_ACCEPT, NULL },
	{ "ephemeralContainers", SL_YF_ACCEPT, NULL },
	{ "hostAliases", SL_YF_ACCEPT, NULL },
	{ "hostIPC", SL_YF_ACCEPT, NULL },
	{ "hostPID", SL_YF_ACCEPT, NULL },
	{ "hostUsers", SL_YF_ACCEPT, NULL },
	{ "hostname", SL_YF_ACCEPT, NULL },
	{ "hostnameOverride", SL_YF_ACCEPT, NULL },	/* 1.34 */
	{ "imagePullSecrets", SL_YF_ACCEPT, NULL },
	{ "initContainers", SL_YF_ACCEPT, NULL },
	{ "nodeSelector", SL_YF_ACCEPT, NULL },
	{ "os", SL_YF_ACCEPT, NULL },
	{ "overhead", SL_YF_ACCEPT, NULL },
	{ "preemptionPolicy", SL_YF_ACCEPT, NULL },
	{ "priority", SL_YF_ACCEPT, NULL },
	{ "priorityClassName", SL_YF_ACCEPT, NULL },
	{ "readinessGates", SL_YF_ACCEPT, NULL },
	{ "resourceClaims", SL_YF_ACCEPT, NULL },
	{ "resources", SL_YF_ACCEPT, NULL },		/* 1.32 */
	{ "restartPolicy", SL_YF_ACCEPT, NULL },
	{ "runtimeClassName", SL_YF_ACCEPT, NULL },
	{ "schedulerName", SL_YF_ACCEPT, NULL },
	{ "schedulingGates", SL_YF_ACCEPT, NULL },
	{ "securityContext", SL_YF_ACCEPT, NULL },
	{ "setHostnameAsFQDN", SL_YF_ACCEPT, NULL },
	{ "shareProcessNamespace", SL_YF_ACCEPT, NULL },
	{ "subdomain", SL_YF_ACCEPT, NULL },
	{ "terminationGracePeriodSeconds", SL_YF_ACCEPT, NULL },
	{ "tolerations", SL_YF_ACCEPT, NULL },
	{ "topologySpreadConstraints", SL_YF_ACCEPT, NULL },
	{ "volumes", SL_YF_ACCEPT, NULL },
	{ NULL, 0, NULL },
};

static int pod_spec(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return sl_y_map(ctx, node, spec_fields, obj);
}

static int status_pod_ip(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	struct pod_decode *d = obj;
	const char *v = sl_y_scalar(ctx, node);

	if (!v)
		return -1;
	if (!v[0])
		return 0;
	if (sl_y_ip(ctx, node, &d->pod_ip) < 0)
		return -1;
	d->pod_ip_node = node;
	return 0;
}

static int pod_ip_ip(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return sl_y_ip(ctx, node, obj);
}

static const struct sl_yfield pod_ip_fields[] = {
	{ "ip", SL_YF_DECODE, pod_ip_ip },
	{ NULL, 0, NULL },
};

static int pod_ips_item(struct sl_yctx *ctx, yaml_node_t *item, size_t index,
			void *obj)
{
	struct pod_decode *d = obj;
	struct sl_ip ip = { .family = 0 };

	if (index >= 2)
		return sl_y_fail(ctx, item, "at most two pod IPs (one per family)");
	if (sl_y_map(ctx, item, pod_ip_fields, &ip) < 0)
		return -1;
	if (!ip.family)
		return sl_y_fail(ctx, item, "missing field ip");
	if (sl_ip_is_unspecified(&ip))
		return sl_y_fail(ctx, item, "the unspecified address cannot be a pod IP");
	if (index == 1 && ip.family == d->ips[0].family)
		return sl_y_fail(ctx, item, "the two pod IPs must be of different families");
	d->ips[index] = ip;
	d->n_ips = index + 1;
	return 0;
}

static int status_pod_ips(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return sl_y_seq(ctx, node, pod_ips_item, obj);
}

/* PodStatus as of Kubernetes 1.31, plus later additions marked. */
static const struct sl_yfield status_fields[] = {
	{ "podIP", SL_YF_DECODE, status_pod_ip },
	{ "podIPs", SL_YF_DECODE, status_pod_ips },
	/* The node's addresses and the life of the containers. */
	{ "conditions", SL_YF_ACCEPT, NULL },
	{ "containerStatuses", SL_YF_ACCEPT, NULL },
	{ "ephemeralContainerStatuses", SL_YF_ACCEPT, NULL },
	{ "extendedResourceClaimStatus", SL_YF_ACCEPT, NULL },	/* 1.34 */
	{ "hostIP", SL_YF_ACCEPT, NULL },
	{ "hostIPs", SL_YF_ACCEPT, NULL },
	{ "initContainerStatuses", SL_YF_ACCEPT, NULL },
	{ "message", SL_YF_ACCEPT, NULL },
	{ "nominatedNodeName", SL_YF_ACCEPT, NULL },
	{ "observedGeneration", SL_YF_ACCEPT, NULL },		/* 1.33 */
	{ "phase", SL_YF_ACCEPT, NULL },
	{ "qosClass", SL_YF_ACCEPT, NULL },
	{ "reason", SL_YF_ACCEPT, NULL },
	{ "resize", SL_YF_ACCEPT, NULL },
	{ "resourceClaimStatuses", SL_YF_ACCEPT, NULL },
	{ "startTime", SL_YF_ACCEPT, NULL },
	{ NULL, 0, NULL },
};

static int pod_status(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return sl_y_map(ctx, node, status_fields, obj);
}

static const struct sl_yfield pod_fields[] = {
	{ "apiVersion", SL_YF_ACCEPT, NULL },
	{ "kind", SL_YF_ACCEPT, NULL },
	{ "metadata", SL_YF_DECODE, sl_decode_meta },
	{ "spec", SL_YF_DECODE, pod_spec },
	{ "status", SL_YF_DECODE, pod_status },
	{ NULL, 0, NULL },
};

/* podIPs wins over podIP, which the API server keeps equal to podIPs[0].
 * A host-network Pod holds the node's addresses: they are no identity of
 * its own, so none is recorded. */
static int pod_resolve(struct sl_yctx *ctx, struct pod_decode *d)
{
	struct sl_pod *pod = &d->pod;

	if (d->pod_ip_node) {
		size_t mark = sl_y_push(ctx, "status.podIP");

		if (d->n_ips && sl_ip_cmp(&d->pod_ip, &d->ips[0]))
			return sl_y_fail(ctx, d->pod_ip_node, "podIP must equal "
					 "podIPs[0]");
		sl_y_pop(ctx, mark);
		if (!d->n_ips) {
			d->ips[0] = d->pod_ip;
			d->n_ips = 1;
		}
	}
	if (!pod->service_account)
		pod->service_account = d->deprecated_sa ? d->deprecated_sa : "default";
	if (!pod->node_name)
		pod->node_name = "";
	if (d->host_network)
		d->n_ips = 0;
	memcpy(pod->ips, d->ips, sizeof(d->ips));
	pod->n_ips = d->n_ips;
	return 0;
}

int sl_decode_pod(struct sl_yctx *ctx, yaml_node_t *root, struct sl_config *cfg)
{
	struct pod_decode d;

	memset(&d, 0, sizeof(d));
	if (sl_y_map(ctx, root, pod_fields, &d) < 0)
		return -1;
	if (sl_meta_finish(ctx, root, &d.pod.meta) < 0 ||
	    sl_meta_no_redirect_here(ctx, root, &d.pod.meta, "Pod") < 0 ||
	    pod_resolve(ctx, &d) < 0)
		return -1;
	sl_arena_grow(&cfg->arena, (void **)&cfg->pods, &cfg->cap_pods,
		      cfg->n_pods + 1, sizeof(d.pod));
	cfg->pods[cfg->n_pods++] = d.pod;
	return 0;
}

/* ---- references to Pods ---- */

struct obj_ref {
	bool pod;			/* kind: Pod */
	const char *same_ns;		/* shared when the namespace is the same */
	const char *namespace, *name;
};

static int ref_kind(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	const char *v = sl_y_scalar(ctx, node);

	if (!v)
		return -1;
	((struct obj_ref *)obj)->pod = !strcmp(v, "Pod");
	return 0;
}

static int ref_namespace(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	struct obj_ref *ref = obj;

	return sl_y_str_as(ctx, node, ref->same_ns, &ref->namespace);
}

static int ref_name(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return sl_y_str(ctx, node, &((struct obj_ref *)obj)->name);
}

/* v1 ObjectReference */
static const struct sl_yfield ref_fields[] = {
	{ "kind", SL_YF_DECODE, ref_kind },
	{ "namespace", SL_YF_DECODE, ref_namespace },
	{ "name", SL_YF_DECODE, ref_name },
	{ "uid", SL_YF_ACCEPT, NULL },
	{ "apiVersion", SL_YF_ACCEPT, NULL },
	{ "resourceVersion", SL_YF_ACCEPT, NULL },
	{ "fieldPath", SL_YF_ACCEPT, NULL },
	{ NULL, 0, NULL },
};

int sl_decode_pod_ref(struct sl_yctx *ctx, yaml_node_t *node, const char *same_ns,
		      const char **namespace, const char **name)
{
	struct obj_ref ref = { .same_ns = same_ns };

	if (sl_y_map(ctx, node, ref_fields, &ref) < 0)
		return -1;
	if (!ref.pod)
		return 0;
	if (!ref.name || !ref.name[0])
		return sl_y_fail(ctx, node, "a reference to a Pod needs a name");
	*name = ref.name;
	*namespace = ref.namespace && ref.namespace[0] ? ref.namespace : NULL;
	return 0;
}
