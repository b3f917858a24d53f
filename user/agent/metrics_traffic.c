// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Istio's standard TCP metrics from sluice_traffic. The kernel counts per
 * (reporter, client address, endpoint address and port, service dialled);
 * at scrape time the per-CPU values are summed, the addresses turned into
 * Istio's labels with the applier's workload table and state, and entries
 * with the same labels (the pods of one workload) summed into one series.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ep_service.h"
#include "metrics.h"
#include "wltable.h"

#define N_COUNTERS (sizeof(struct sl_traffic) / sizeof(uint64_t))

/* traffic.sent_bytes here is always server to client (Istio's "sent
 * during response") and received_bytes client to server, whichever side
 * reported: the kernel counts them as the reporter's socket saw them. */
struct tr_row {
	char *labels;
	struct sl_traffic t;
};

struct tr_rows {
	struct tr_row *v;
	size_t n, cap;
};

/* The service of a key: the one dialled, else the one the endpoint
 * belongs to (the server side never sees the VIP). */
struct tr_svc {
	char host[SL_METRICS_HOST_LEN];
	const char *name, *namespace;
};

/* What a scrape names services with, built once for all its keys. */
struct tr_lookup {
	const struct sl_applied_fe **by_id;	/* frontends by service id */
	struct sl_ep_services eps;		/* endpoint -> its one service */
};

static void key_service(const struct sl_metrics *m, const struct tr_lookup *lk,
			const struct sl_traffic_key *k, struct tr_svc *s)
{
	const struct sl_applied_fe *fe = NULL;
	struct sl_ip ip = { k->dst, k->family };

	if (k->svc_id && k->svc_id <= m->maps->max_services)
		fe = lk->by_id[k->svc_id - 1];
	if (!fe)
		fe = sl_ep_service(&lk->eps, &ip, k->dst_port);
	if (!fe) {
		snprintf(s->host, sizeof(s->host), "%s", SL_WL_UNKNOWN);
		s->name = s->namespace = SL_WL_UNKNOWN;
		return;
	}
	sl_metrics_fe_host(m->applier, fe, s->host, sizeof(s->host));
	s->name = fe->name;
	s->namespace = fe->namespace;
}

static const struct sl_wl_labels *wl_of(const struct sl_metrics *m, const struct sl_addr *a,
					uint8_t family)
{
	struct sl_ip ip = { *a, family };
	const struct sl_wl_labels *l = sl_wltable_addr(&m->applier->workloads, &ip);

	return l ? l : sl_wl_unknown();
}

static void side_labels(struct sl_prom *l, const char *side, const struct sl_wl_labels *w,
			const struct tr_svc *svc)
{
	static const char *const names[] = { "workload", "workload_namespace", "principal",
					     "app", "version" };
	const char *values[] = { w->workload, w->namespace, w->principal, w->app, w->version };
	char name[64];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(name, sizeof(name), "%s_%s", side, names[i]);
		sl_prom_label(l, name, values[i]);
	}
	if (svc) {
		sl_prom_label(l, "destination_service", svc->host);
		sl_prom_label(l, "destination_service_name", svc->name);
		sl_prom_label(l, "destination_service_namespace", svc->namespace);
	}
	snprintf(name, sizeof(name), "%s_canonical_service", side);
	sl_prom_label(l, name, w->canonical_service);
	snprintf(name, sizeof(name), "%s_canonical_revision", side);
	sl_prom_label(l, name, w->canonical_revision);
	snprintf(name, sizeof(name), "%s_cluster", side);
	sl_prom_label(l, name, w->cluster);
}

/* Istio's labels, in Istio's order. Sluice encrypts nothing: the server
 * side says "none" (plaintext), the client side "unknown", as Istio's
 * client proxies do. */
static char *key_labels(const struct sl_metrics *m, const struct tr_lookup *lk,
			const struct sl_traffic_key *k)
{
	bool source = k->reporter == SL_REPORTER_SOURCE;
	struct sl_prom l;
	struct tr_svc svc;
	char *text;

	key_service(m, lk, k, &svc);
	sl_prom_init(&l);
	sl_prom_label(&l, "reporter", source ? "source" : "destination");
	side_labels(&l, "source", wl_of(m, &k->src, k->family), NULL);
	side_labels(&l, "destination", wl_of(m, &k->dst, k->family), &svc);
	sl_prom_label(&l, "request_protocol", "tcp");
	sl_prom_label(&l, "response_flags", "-");
	sl_prom_label(&l, "connection_security_policy", source ? "unknown" : "none");
	text = l.oom ? NULL : strdup(sl_prom_text(&l));
	sl_prom_free(&l);
	return text;
}

/* The per-CPU values of one entry, summed; bytes turned to Istio's sense. */
static void sum_cpus(const struct sl_traffic *per_cpu, int n_cpus, uint8_t reporter,
		     struct sl_traffic *out)
{
	uint64_t *o = (uint64_t *)out, tmp;

	memset(out, 0, sizeof(*out));
	for (int c = 0; c < n_cpus; c++) {
		const uint64_t *v = (const uint64_t *)&per_cpu[c];

		for (size_t i = 0; i < N_COUNTERS; i++)
			o[i] += v[i];
	}
	if (reporter == SL_REPORTER_SOURCE) {
		tmp = out->sent_bytes;
		out->sent_bytes = out->received_bytes;
		out->received_bytes = tmp;
	}
}

static int add_row(struct tr_rows *r, char *labels, const struct sl_traffic *t)
{
	if (!labels)
		return -1;
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		struct tr_row *v = realloc(r->v, cap * sizeof(*v));

		if (!v) {
			free(labels);
			return -1;
		}
		r->v = v;
		r->cap = cap;
	}
	r->v[r->n++] = (struct tr_row){ labels, *t };
	return 0;
}

/* Frontends by service id, for the keys' svc_id. */
static const struct sl_applied_fe **fe_by_id(const struct sl_metrics *m)
{
	const struct sl_state *st = &m->applier->state;
	const struct sl_applied_fe **by_id = calloc(m->maps->max_services + 1,
						    sizeof(*by_id));

	for (size_t i = 0; by_id && i < st->n_fe; i++)
		if (st->fe[i].id < m->maps->max_services)
			by_id[st->fe[i].id] = &st->fe[i];
	return by_id;
}

static int read_rows(const struct sl_metrics *m, struct tr_rows *r)
{
	int n_cpus = libbpf_num_possible_cpus(), fd = m->maps->traffic, ret = 0;
	struct tr_lookup lk = { .by_id = fe_by_id(m) };
	struct sl_traffic_key key, prev;
	struct sl_traffic *per_cpu = NULL, sum;
	bool first = true;

	if (n_cpus > 0)
		per_cpu = calloc((size_t)n_cpus, sizeof(*per_cpu));
	if (!lk.by_id || !per_cpu || sl_ep_services_build(&lk.eps, &m->applier->state) < 0) {
		ret = -1;
		goto out;
	}
	while (bpf_map_get_next_key(fd, first ? NULL : &prev, &key) == 0) {
		prev = key;
		first = false;
		if (bpf_map_lookup_elem(fd, &key, per_cpu))
			continue;	/* evicted meanwhile */
		sum_cpus(per_cpu, n_cpus, key.reporter, &sum);
		if (add_row(r, key_labels(m, &lk, &key), &sum) < 0) {
			ret = -1;
			break;
		}
	}
out:
	sl_ep_services_free(&lk.eps);
	free(lk.by_id);
	free(per_cpu);
	return ret;
}

static int row_cmp(const void *a, const void *b)
{
	return strcmp(((const struct tr_row *)a)->labels, ((const struct tr_row *)b)->labels);
}

/* Sorted by labels, each label set once with the sums of its entries. */
static void merge_rows(struct tr_rows *r)
{
	size_t out = 0;

	if (r->n)
		qsort(r->v, r->n, sizeof(*r->v), row_cmp);
	for (size_t i = 0; i < r->n; i++) {
		struct tr_row *prev = out ? &r->v[out - 1] : NULL;

		if (prev && !strcmp(prev->labels, r->v[i].labels)) {
			uint64_t *o = (uint64_t *)&prev->t;
			const uint64_t *v = (const uint64_t *)&r->v[i].t;

			for (size_t k = 0; k < N_COUNTERS; k++)
				o[k] += v[k];
			free(r->v[i].labels);
			continue;
		}
		r->v[out++] = r->v[i];
	}
	r->n = out;
}

#define F(name, field, help) { name, offsetof(struct sl_traffic, field), help }
static const struct {
	const char *name;
	size_t off;
	const char *help;
} counters[] = {
	F("istio_tcp_connections_opened_total", opened,
	  "TCP connections established, by the side that reported them."),
	F("istio_tcp_connections_closed_total", closed, "TCP connections closed."),
	F("istio_tcp_sent_bytes_total", sent_bytes,
	  "Bytes sent during response: server to client, on closed connections."),
	F("istio_tcp_received_bytes_total", received_bytes,
	  "Bytes received during request: client to server, on closed connections."),
	F("sluice_tcp_connections_failed_total", failed,
	  "Connects through a service that never got established (refused, reset, "
	  "timed out)."),
	F("sluice_tcp_connections_redirected_total", redirected,
	  "Connections that took the same-node shortcut."),
};
#undef F

static void render_rows(struct sl_prom *p, const struct tr_rows *r)
{
	for (size_t f = 0; f < sizeof(counters) / sizeof(counters[0]); f++) {
		sl_prom_family(p, counters[f].name, "counter", counters[f].help);
		for (size_t i = 0; i < r->n; i++)
			sl_prom_u64(p, counters[f].name, r->v[i].labels,
				    *(const uint64_t *)((const char *)&r->v[i].t +
							counters[f].off));
	}
	sl_prom_family(p, "sluice_tcp_connection_duration_seconds", "histogram",
		       "Closed TCP connections by how long they were established.");
	for (size_t i = 0; i < r->n; i++)
		sl_prom_log2_histogram(p, "sluice_tcp_connection_duration_seconds",
				       r->v[i].labels,
				       (const uint64_t *)r->v[i].t.duration_ms, SL_HIST_BUCKETS,
				       1e-3, (double)r->v[i].t.duration_ms_sum / 1e3);
	sl_prom_family(p, "sluice_tcp_rtt_seconds", "histogram",
		       "Smoothed round-trip time of closed TCP connections at their close "
		       "(0 on the same-node shortcut).");
	for (size_t i = 0; i < r->n; i++)
		sl_prom_log2_histogram(p, "sluice_tcp_rtt_seconds", r->v[i].labels,
				       (const uint64_t *)r->v[i].t.rtt_us, SL_HIST_BUCKETS, 1e-6,
				       (double)r->v[i].t.rtt_us_sum / 1e6);
}

static void render_events(struct sl_metrics *m, struct sl_prom *p)
{
	int n_cpus = libbpf_num_possible_cpus();
	struct sl_event_stats *s = n_cpus > 0 ? calloc((size_t)n_cpus, sizeof(*s)) : NULL;
	uint64_t written = 0, dropped = 0;
	__u32 zero = 0;

	if (!s || bpf_map_lookup_elem(m->maps->event_stats, &zero, s)) {
		free(s);
		return;
	}
	for (int c = 0; c < n_cpus; c++) {
		written += s[c].written;
		dropped += s[c].dropped;
	}
	free(s);
	sl_prom_family(p, "sluice_events_written_total", "counter",
		       "Events written to the sluice_events ring buffer.");
	sl_prom_u64(p, "sluice_events_written_total", NULL, written);
	sl_prom_family(p, "sluice_events_dropped_total", "counter",
		       "Events lost to a full sluice_events ring buffer.");
	sl_prom_u64(p, "sluice_events_dropped_total", NULL, dropped);
}

void sl_metrics_traffic(struct sl_metrics *m, struct sl_prom *p)
{
	struct tr_rows r = { 0 };

	if (read_rows(m, &r) < 0)
		p->oom = true;
	merge_rows(&r);
	render_rows(p, &r);
	for (size_t i = 0; i < r.n; i++)
		free(r.v[i].labels);
	free(r.v);
	render_events(m, p);
}
