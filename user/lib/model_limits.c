// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * What TrafficLimits (and pod annotations) need from the workloads.
 *
 * The clients a connection rate limit with spec.sources applies to: the
 * addresses of the Pods and WorkloadEntries whose namespace and principal
 * one of the sources matches.
 *
 * Bandwidth limits per workload address: the Kubernetes bandwidth
 * plugin's pod annotations, and TrafficLimit spec.bandwidth for the
 * workloads its selector picks (Pods and WorkloadEntries of its
 * namespace) or else for every endpoint of the services it names. Where
 * several apply to one address, the lower limit of each direction wins.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authz.h"
#include "log.h"
#include "model.h"

static bool list_matches(const struct sl_strlist *l, const char *value)
{
	if (!l->n)
		return true;	/* not given: any */
	for (size_t i = 0; i < l->n; i++) {
		const char *pat = l->v[i];

		if (!strncmp(pat, "spiffe://", 9))
			pat += 9;
		if (sl_authz_str_match(pat, value))
			return true;
	}
	return false;
}

static bool source_matches(const struct sl_traffic_limit *tl, const char *ns, const char *sa)
{
	char principal[SL_NAMESPACE_LEN + SL_NAME_LEN + 64];

	snprintf(principal, sizeof(principal), "%s/ns/%s/sa/%s", SL_TRUST_DOMAIN, ns,
		 sa ? sa : "default");
	for (size_t i = 0; i < tl->n_sources; i++)
		if (list_matches(&tl->sources[i].namespaces, ns) &&
		    list_matches(&tl->sources[i].principals, principal))
			return true;
	return false;
}

static void add_ip(struct sl_model *m, struct sl_ip **v, size_t *n, size_t *cap,
		   const struct sl_ip *ip)
{
	sl_arena_grow(&m->arena, (void **)v, cap, *n + 1, sizeof(**v));
	(*v)[(*n)++] = *ip;
}

const struct sl_ip *sl_model_limit_sources(struct sl_model *m, const struct sl_config *cfg,
					   const struct sl_traffic_limit *tl, size_t *n)
{
	struct sl_ip *v = NULL;
	size_t cap = 0;

	*n = 0;
	for (size_t i = 0; i < cfg->n_pods; i++) {
		const struct sl_pod *p = &cfg->pods[i];

		if (source_matches(tl, p->meta.namespace, p->service_account))
			for (size_t k = 0; k < p->n_ips; k++)
				add_ip(m, &v, n, &cap, &p->ips[k]);
	}
	for (size_t i = 0; i < cfg->n_workload_entries; i++) {
		const struct sl_workload_entry *we = &cfg->workload_entries[i];

		if (source_matches(tl, we->meta.namespace, we->service_account))
			add_ip(m, &v, n, &cap, &we->addr);
	}
	return v;
}

/* One entry per (address, source); merged after sorting. */
static void limit(struct sl_model *m, const struct sl_ip *ip, uint64_t egress,
		  uint64_t ingress, const char *kind, const struct sl_meta *meta)
{
	char who[SL_NAMESPACE_LEN + SL_NAME_LEN + 32];
	struct sl_bw_limit *e;

	sl_arena_grow(&m->arena, (void **)&m->bw, &m->cap_bw, m->n_bw + 1, sizeof(*m->bw));
	e = &m->bw[m->n_bw++];
	snprintf(who, sizeof(who), "%s %s/%s", kind, meta->namespace, meta->name);
	e->ip = *ip;
	e->egress_bps = egress;
	e->ingress_bps = ingress;
	e->egress_from = egress ? sl_arena_strdup(&m->arena, who) : NULL;
	e->ingress_from = ingress ? sl_arena_strdup(&m->arena, who) : NULL;
}

static void lower(uint64_t *have, const char **from, uint64_t want, const char *want_from)
{
	if (want && (!*have || want < *have)) {
		*have = want;
		*from = want_from;
	}
}

/* Sorted by address: each run of one address becomes one entry. */
static void merge(struct sl_model *m)
{
	size_t k = 0;

	for (size_t i = 0; i < m->n_bw; i++) {
		const struct sl_bw_limit *e = &m->bw[i];

		if (k && !sl_ip_cmp(&m->bw[k - 1].ip, &e->ip)) {
			lower(&m->bw[k - 1].egress_bps, &m->bw[k - 1].egress_from,
			      e->egress_bps, e->egress_from);
			lower(&m->bw[k - 1].ingress_bps, &m->bw[k - 1].ingress_from,
			      e->ingress_bps, e->ingress_from);
			continue;
		}
		m->bw[k++] = *e;
	}
	m->n_bw = k;
}

static bool selects(const struct sl_traffic_limit *tl, const char *ns,
		    const struct sl_label *labels, size_t n_labels)
{
	return !strcmp(ns, tl->meta.namespace) &&
	       sl_labels_select(tl->match_labels, tl->n_match_labels, labels, n_labels);
}

static size_t limit_selected(struct sl_model *m, const struct sl_config *cfg,
			     const struct sl_traffic_limit *tl)
{
	size_t hits = 0;

	for (size_t i = 0; i < cfg->n_pods; i++) {
		const struct sl_pod *p = &cfg->pods[i];

		if (!selects(tl, p->meta.namespace, p->meta.labels, p->meta.n_labels))
			continue;
		for (size_t k = 0; k < p->n_ips; k++, hits++)
			limit(m, &p->ips[k], tl->egress_bps, tl->ingress_bps, "TrafficLimit",
			      &tl->meta);
	}
	for (size_t i = 0; i < cfg->n_workload_entries; i++) {
		const struct sl_workload_entry *we = &cfg->workload_entries[i];

		if (!selects(tl, we->meta.namespace, we->labels, we->n_labels))
			continue;
		limit(m, &we->addr, tl->egress_bps, tl->ingress_bps, "TrafficLimit", &tl->meta);
		hits++;
	}
	return hits;
}

static size_t limit_endpoints(struct sl_model *m, const struct sl_traffic_limit *tl)
{
	size_t hits = 0;

	for (size_t j = 0; j < tl->n_services; j++) {
		const struct sl_service_ref *ref = &tl->services[j];

		for (size_t k = 0; k < m->n_fe; k++) {
			const struct sl_frontend *fe = &m->fe[k];

			if (strcmp(fe->namespace, ref->namespace) || strcmp(fe->name, ref->name))
				continue;
			for (size_t i = 0; i < fe->n_members; i++, hits++)
				limit(m, &fe->members[i].ip, tl->egress_bps, tl->ingress_bps,
				      "TrafficLimit", &tl->meta);
		}
	}
	return hits;
}

static int cmp_bw(const void *a, const void *b)
{
	return sl_ip_cmp(&((const struct sl_bw_limit *)a)->ip,
			 &((const struct sl_bw_limit *)b)->ip);
}

int sl_model_apply_bandwidth(struct sl_model *m, const struct sl_config *cfg,
			     struct sl_err *err)
{
	(void)err;
	for (size_t i = 0; i < cfg->n_pods; i++) {
		const struct sl_pod *p = &cfg->pods[i];

		if (!p->meta.egress_bps && !p->meta.ingress_bps)
			continue;
		for (size_t k = 0; k < p->n_ips; k++)
			limit(m, &p->ips[k], p->meta.egress_bps, p->meta.ingress_bps, "Pod",
			      &p->meta);
	}
	for (size_t i = 0; i < cfg->n_limits; i++) {
		const struct sl_traffic_limit *tl = &cfg->limits[i];
		size_t hits;

		if (!tl->egress_bps && !tl->ingress_bps)
			continue;
		hits = tl->has_selector ? limit_selected(m, cfg, tl) : limit_endpoints(m, tl);
		if (!hits)
			sl_warn("%s:%u: TrafficLimit %s/%s: no workload to limit the "
				"bandwidth of (yet)", tl->meta.loc.file, tl->meta.loc.line,
				tl->meta.namespace, tl->meta.name);
	}
	if (m->n_bw) {
		qsort(m->bw, m->n_bw, sizeof(*m->bw), cmp_bw);
		merge(m);
	}
	return 0;
}
