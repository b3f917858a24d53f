/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What the agent's HTTP listener serves: readiness, and the counters the
 * maps hold, rendered as Prometheus metrics at scrape time. Nothing is
 * counted per packet for this; the kernel's counters are read as they are.
 *
 * Cardinality is bounded by the configuration: one series per frontend,
 * endpoint, policy, bandwidth-limited workload direction and map, never
 * per connection or client. Istio's TCP metrics have one per (reporter,
 * client workload, server workload, service) seen on this node, at most
 * one per sluice_traffic entry (an LRU map of --max-traffic).
 */
#ifndef SLUICE_METRICS_H
#define SLUICE_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "apply.h"
#include "err.h"
#include "maps.h"
#include "prom.h"

#define SL_METRICS_MAX_MAPS 48

/* A hash map's entries, counted by walking its keys. */
struct sl_map_fill {
	uint32_t entries;
	int64_t at_ms;		/* monotonic time of the count; 0: never */
	bool ok;
};

struct sl_kube;

struct sl_metrics {
	struct sl_applier *applier;	/* its workload table is built on demand */
	const struct sl_kube *kube;	/* the Kubernetes source, NULL: files */
	struct sl_maps *maps;
	const char *bpffs;
	uint64_t cgroup_id;	/* where the cgroup hooks must be attached */
	double start_time;	/* unix time, seconds */
	struct sl_map_fill fill[SL_METRICS_MAX_MAPS];	/* by sl_map_descs index */
};

int sl_metrics_init(struct sl_metrics *m, struct sl_applier *applier,
		    struct sl_maps *maps, const char *bpffs, uint64_t cgroup_id,
		    struct sl_err *err);
/* The whole exposition in p (check p->oom). */
void sl_metrics_render(struct sl_metrics *m, struct sl_prom *p);
/* true when the first configuration is applied and every hook attached;
 * else false with the reason in why. */
bool sl_metrics_ready(struct sl_metrics *m, char *why, size_t len);

/* Parts of sl_metrics_render (metrics_maps.c): map fill levels, policies,
 * same-node acceleration and bandwidth, read from the maps. */
void sl_metrics_maps(struct sl_metrics *m, struct sl_prom *p);
void sl_metrics_policies(struct sl_metrics *m, struct sl_prom *p);
void sl_metrics_same_node(struct sl_metrics *m, struct sl_prom *p);
void sl_metrics_bandwidth(struct sl_metrics *m, struct sl_prom *p);
/* The Kubernetes source's state (metrics_kube.c); nothing with files. */
void sl_metrics_kube(struct sl_metrics *m, struct sl_prom *p);
/* false, with why, while the Kubernetes source has not listed everything. */
bool sl_metrics_kube_ready(const struct sl_metrics *m, char *why, size_t len);

/* Istio's TCP metrics and Sluice's connection histograms from
 * sluice_traffic, and the event counters (metrics_traffic.c). */
void sl_metrics_traffic(struct sl_metrics *m, struct sl_prom *p);

/* The host Istio names a frontend's service by: NAME.NS.svc.cluster.local,
 * a ServiceEntry's first host, "unknown" when not known. */
#define SL_METRICS_HOST_LEN (SL_NAME_LEN + SL_NAMESPACE_LEN + 32)
void sl_metrics_fe_host(const struct sl_applier *a, const struct sl_applied_fe *fe,
			char *buf, size_t len);

#endif
