// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The Kubernetes source as metrics: per resource, objects kept, events,
 * lists and failed requests, whether it is watched now; objects refused;
 * how long changes took from their arrival to the maps.
 */
#include <stdio.h>

#include "kube.h"
#include "metrics.h"

bool sl_metrics_kube_ready(const struct sl_metrics *m, char *why, size_t len)
{
	const struct sl_kube_watch *w = m->kube ? sl_kube_waiting(m->kube) : NULL;

	if (!w)
		return true;
	snprintf(why, len, "waiting for the Kubernetes API: %s not listed yet (%llu "
		 "failed requests)", w->res->plural, (unsigned long long)w->n_errors);
	return false;
}

struct kube_family {
	const char *name;
	const char *type;
	const char *help;
	uint64_t (*value)(const struct sl_kube *k, const struct sl_kube_watch *w);
};

static uint64_t objects(const struct sl_kube *k, const struct sl_kube_watch *w)
{
	return w->index < SL_KSTORE_KINDS ? k->store.n_by_kind[w->index] : 0;
}

static uint64_t events(const struct sl_kube *k, const struct sl_kube_watch *w)
{
	(void)k;
	return w->n_events;
}

static uint64_t lists(const struct sl_kube *k, const struct sl_kube_watch *w)
{
	(void)k;
	return w->n_lists;
}

static uint64_t errors(const struct sl_kube *k, const struct sl_kube_watch *w)
{
	(void)k;
	return w->n_errors;
}

static uint64_t watching(const struct sl_kube *k, const struct sl_kube_watch *w)
{
	(void)k;
	return w->phase == SL_KUBE_WATCHING;
}

static const struct kube_family families[] = {
	{ "sluice_kubernetes_objects", "gauge",
	  "Objects of a resource the agent keeps (the Node's is not counted).", objects },
	{ "sluice_kubernetes_watch_events_total", "counter",
	  "Watch events received, bookmarks and errors included.", events },
	{ "sluice_kubernetes_lists_total", "counter",
	  "Full lists taken: the first, and one after every 410 Gone.", lists },
	{ "sluice_kubernetes_request_errors_total", "counter",
	  "Lists and watches that failed (connection, HTTP status, malformed data).",
	  errors },
	{ "sluice_kubernetes_watching", "gauge",
	  "1 while the resource's watch is open, 0 while listing, backing off or not "
	  "served.", watching },
};

void sl_metrics_kube(struct sl_metrics *m, struct sl_prom *p)
{
	const struct sl_kube *k = m->kube;
	char labels[128];

	if (!k)
		return;
	for (size_t f = 0; f < sizeof(families) / sizeof(families[0]); f++) {
		sl_prom_family(p, families[f].name, families[f].type, families[f].help);
		for (size_t i = 0; i < k->n_watches; i++) {
			const struct sl_kube_watch *w = &k->watches[i];

			if (w->res->node && families[f].value == objects)
				continue;
			snprintf(labels, sizeof(labels), "resource=\"%s\"", w->res->plural);
			sl_prom_u64(p, families[f].name, labels, families[f].value(k, w));
		}
	}
	sl_prom_family(p, "sluice_kubernetes_synced", "gauge",
		       "1 once every resource was listed (nothing is applied before).");
	sl_prom_u64(p, "sluice_kubernetes_synced", NULL, sl_kube_synced(k));
	if (k->node_name) {
		sl_prom_family(p, "sluice_kubernetes_node_pods", "gauge",
			       "Pods the API places on this node (running, with an address, "
			       "not hostNetwork), by whether their network namespace was found "
			       "(a process of theirs in the --cgroup subtree).");
		sl_prom_u64(p, "sluice_kubernetes_node_pods", "state=\"meshed\"",
			    k->node_pods_meshed);
		sl_prom_u64(p, "sluice_kubernetes_node_pods", "state=\"not_found\"",
			    k->node_pods_missing);
	}
	sl_prom_family(p, "sluice_kubernetes_refused_objects", "gauge",
		       "Objects whose newest version the agent refuses (the version "
		       "before stays in force); the log and sluicectl status say why.");
	sl_prom_u64(p, "sluice_kubernetes_refused_objects", NULL, k->store.n_refused);
	sl_prom_family(p, "sluice_kubernetes_excluded_objects", "gauge",
		       "Objects left out of the configuration applied because an error "
		       "across objects names them (a VIP claimed twice, a route to an "
		       "unknown host); tried again with the next change.");
	sl_prom_u64(p, "sluice_kubernetes_excluded_objects", NULL, k->store.n_excluded);
	sl_prom_family(p, "sluice_kubernetes_change_to_maps_seconds", "histogram",
		       "From the arrival of a change (the first of those applied together) "
		       "to the last map write of its apply.");
	sl_prom_log2_histogram(p, "sluice_kubernetes_change_to_maps_seconds", NULL, k->latency,
			       SL_KUBE_LATENCY_BUCKETS, SL_KUBE_LATENCY_UNIT_S, k->latency_sum_s);
}
