// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The pods of this node, as the API says (spec.nodeName) and as found
 * (their processes in the --cgroup subtree, netns.c). Pods are joined to
 * their network namespaces by their processes, which also covers pods
 * that ran before the agent; the API says which ones should be there, so
 * a pod never found (a --cgroup that misses the pods, a runtime that puts
 * them elsewhere) is named rather than silently left out of the mesh.
 */
#include <string.h>

#include "kube.h"
#include "log.h"
#include "netns.h"
#include "sys.h"

#define MISSING_GRACE_MS 30000

struct check {
	struct sl_kube *k;
	const struct sl_netns_watch *n;
	int64_t now;
	size_t meshed, missing;
};

static bool addr_found(const struct sl_netns_watch *n, const struct sl_ip *ip)
{
	for (size_t i = 0; i < n->n_pods; i++) {
		const struct sl_netns_addr *a = &n->pods[i].addrs;

		if (ip->family == SL_AF_INET && a->has4 &&
		    !memcmp(&a->addr4, &ip->addr, sizeof(ip->addr)))
			return true;
		if (ip->family == SL_AF_INET6 && a->has6 &&
		    !memcmp(&a->addr6, &ip->addr, sizeof(ip->addr)))
			return true;
	}
	return false;
}

static void check_pod(struct sl_kstore_obj *o, void *arg)
{
	struct check *c = arg;
	const struct sl_pod *pod;
	struct sl_config v;

	sl_kept_view(&o->value, &v);
	if (v.n_pods != 1)
		return;
	pod = &v.pods[0];
	if (!pod->n_ips)
		return;
	if (addr_found(c->n, &pod->ips[0])) {
		c->meshed++;
		o->missing_since_ms = 0;
		o->missing_reported = false;
		return;
	}
	c->missing++;
	if (!o->missing_since_ms)
		o->missing_since_ms = c->now;
	if (!o->missing_reported && c->now - o->missing_since_ms >= MISSING_GRACE_MS) {
		char ip[64];

		sl_ip_format(&pod->ips[0].addr, pod->ips[0].family, ip, sizeof(ip));
		sl_warn("kubernetes: pod %s/%s (%s) runs on this node but none of its "
			"processes is in the --cgroup subtree: it is not meshed",
			pod->meta.namespace, pod->meta.name, ip);
		o->missing_reported = true;
	}
}

void sl_kube_check_pods(struct sl_kube *k, const struct sl_netns_watch *n)
{
	struct check c = { .k = k, .n = n, .now = sl_mono_ms() };

	if (!k->node_name || !sl_kube_synced(k))
		return;
	/* Pods are kept grouped by their spec.nodeName (kube_events.c). */
	sl_kstore_group_each(&k->store, k->kind_pod, k->node_name, check_pod, &c);
	k->node_pods_meshed = c.meshed;
	k->node_pods_missing = c.missing;
}
