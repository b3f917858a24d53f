// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Readiness and the agent's own, service and endpoint metrics. Frontends
 * and endpoints come from the agent's mirror of the maps (struct
 * sl_state, exact after every write and rebuilt from the pins at start),
 * their counters from the kernel's arrays at scrape time.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "addr.h"
#include "links.h"
#include "log.h"
#include "metrics.h"
#include "sys.h"

#ifndef SL_VERSION
#define SL_VERSION "unknown"
#endif

/* Istio names a Kubernetes Service by its host in the cluster's domain. */
#define CLUSTER_DOMAIN "svc.cluster.local"

int sl_metrics_init(struct sl_metrics *m, struct sl_applier *applier,
		    struct sl_maps *maps, const char *bpffs, uint64_t cgroup_id,
		    struct sl_err *err)
{
	struct timespec ts;

	if (sl_n_map_descs > SL_METRICS_MAX_MAPS)
		return sl_errf(err, "metrics: %zu maps, room for %d", sl_n_map_descs,
			       SL_METRICS_MAX_MAPS);
	memset(m, 0, sizeof(*m));
	m->applier = applier;
	m->maps = maps;
	m->bpffs = bpffs;
	m->cgroup_id = cgroup_id;
	clock_gettime(CLOCK_REALTIME, &ts);
	m->start_time = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	return 0;
}

static bool link_in_place(const struct sl_metrics *m, const struct sl_link_desc *d,
			  const struct sl_link_state *l, uint32_t sockhash_id)
{
	if (!l->attached)
		return false;
	switch (d->kind) {
	case SL_LINK_CGROUP:
		return l->cgroup_id == m->cgroup_id;
	case SL_LINK_SOCKMAP:
		return l->map_id == sockhash_id;
	case SL_LINK_TRACEPOINT:
	case SL_LINK_RAW_TP:
		return true;
	}
	return false;
}

/* The hooks `sluicectl status` expects, and the first one that is not
 * where the agent put it (NULL: none, or the maps could not be read and
 * none is expected). */
static const char *count_hooks(const struct sl_metrics *m, unsigned *attached,
			       unsigned *expected)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info), zero = 0;
	struct sl_settings set = { 0 };
	const char *missing = NULL;

	*attached = *expected = 0;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(m->maps->sockhash, &info, &len) ||
	    bpf_map_lookup_elem(m->maps->settings, &zero, &set))
		return NULL;	/* and nothing expected: not ready */
	for (size_t i = 0; i < sl_n_link_descs; i++) {
		const struct sl_link_desc *d = &sl_link_descs[i];
		struct sl_link_state l;

		if (d->accel && !set.redirect)
			continue;
		sl_link_inspect(m->bpffs, d, &l);
		(*expected)++;
		if (link_in_place(m, d, &l, info.id))
			(*attached)++;
		else if (!missing)
			missing = d->name;
	}
	return missing;
}

bool sl_metrics_ready(struct sl_metrics *m, char *why, size_t len)
{
	const char *missing;
	unsigned attached, expected;
	struct sl_status st;
	struct sl_err err;

	if (!sl_metrics_kube_ready(m, why, len))
		return false;
	if (!m->applier->have_applied) {
		if (sl_status_read(m->maps, &st, &err) < 0)
			snprintf(why, len, "no configuration applied yet (%s)", err.msg);
		else if (st.result == SL_RESULT_REJECTED && m->applier->n_rejected)
			snprintf(why, len, "configuration rejected, nothing applied yet: %s",
				 st.error);
		else
			snprintf(why, len, "no configuration applied yet");
		return false;
	}
	missing = count_hooks(m, &attached, &expected);
	if (!expected) {
		snprintf(why, len, "cannot read sluice_settings or sluice_sockhash");
		return false;
	}
	if (missing) {
		snprintf(why, len, "%u of %u hooks attached; %s is not", attached, expected,
			 missing);
		return false;
	}
	return true;
}

static void gauge(struct sl_prom *p, const char *name, const char *help, double v)
{
	sl_prom_family(p, name, "gauge", help);
	sl_prom_f64(p, name, NULL, v);
}

static void render_agent(struct sl_metrics *m, struct sl_prom *p)
{
	const struct sl_applier *a = m->applier;
	unsigned attached, expected;
	struct sl_status st;
	struct sl_err err;
	struct sl_prom l;
	char abi[16];

	sl_prom_init(&l);
	snprintf(abi, sizeof(abi), "%d", SL_ABI_VERSION);
	sl_prom_label(&l, "version", SL_VERSION);
	sl_prom_label(&l, "abi_version", abi);
	sl_prom_family(p, "sluice_build_info", "gauge",
		       "Always 1; the agent's version and the BPF ABI it speaks.");
	sl_prom_u64(p, "sluice_build_info", sl_prom_text(&l), 1);
	sl_prom_free(&l);
	gauge(p, "sluice_agent_start_time_seconds",
	      "When the agent started, in seconds since the epoch.", m->start_time);
	count_hooks(m, &attached, &expected);
	gauge(p, "sluice_hooks_attached", "BPF hooks attached where the agent put them.",
	      attached);
	gauge(p, "sluice_hooks_expected", "BPF hooks the agent attaches.", expected);
	if (sl_status_read(m->maps, &st, &err) < 0) {
		sl_error("metrics: %s", err.msg);
		return;
	}
	gauge(p, "sluice_config_generation", "Configurations applied so far (pinned: "
	      "survives restarts).", (double)st.generation);
	gauge(p, "sluice_config_last_apply_success",
	      "1 if the last configuration attempt was applied, 0 if rejected or none.",
	      st.result == SL_RESULT_APPLIED);
	gauge(p, "sluice_config_last_attempt_timestamp_seconds",
	      "When the configuration was last read and checked.", (double)st.attempted_at);
	gauge(p, "sluice_config_last_success_timestamp_seconds",
	      "When a configuration was last applied.", (double)st.applied_at);
	gauge(p, "sluice_config_last_reconcile_duration_seconds",
	      "How long the last configuration attempt that was applied or rejected took, "
	      "from reading the files to the last map write.", a->last_run_s);
	gauge(p, "sluice_config_warnings",
	      "Fields of the applied configuration that Sluice does not implement.",
	      st.n_warnings);
	sl_prom_family(p, "sluice_config_attempts_total", "counter",
		       "Configuration attempts since the agent started, by result "
		       "(unchanged files are not counted).");
	sl_prom_u64(p, "sluice_config_attempts_total", "result=\"applied\"", a->n_applied);
	sl_prom_u64(p, "sluice_config_attempts_total", "result=\"rejected\"", a->n_rejected);
	sl_prom_family(p, "sluice_config_applied_by_parts_total", "counter",
		       "Of the applied attempts, those that built and wrote only the "
		       "Services whose EndpointSlices changed (Kubernetes source).");
	sl_prom_u64(p, "sluice_config_applied_by_parts_total", NULL, a->n_by_parts);
}

static const char *proto_label(uint8_t proto)
{
	return proto == SL_PROTO_UDP ? "udp" : proto == SL_PROTO_TCP ? "tcp" : "other";
}

/* A ServiceEntry's host is only in the applied model; before the first
 * configuration after a restart it is not known. */
static const char *se_host(const struct sl_applier *a, const struct sl_svc_key *key)
{
	size_t lo = 0, hi = a->have_applied ? a->applied.n_fe : 0;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = sl_svc_key_cmp(&a->applied.fe[mid].key, key);

		if (!c)
			return a->applied.fe[mid].host ? a->applied.fe[mid].host : "unknown";
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return "unknown";
}

void sl_metrics_fe_host(const struct sl_applier *a, const struct sl_applied_fe *fe,
			char *buf, size_t len)
{
	if (fe->kind == SL_KIND_SERVICE)
		snprintf(buf, len, "%s.%s." CLUSTER_DOMAIN, fe->name, fe->namespace);
	else
		snprintf(buf, len, "%s", se_host(a, &fe->key));
}

static char *fe_labels(const struct sl_applier *a, const struct sl_applied_fe *fe)
{
	char vip[SL_ADDR_STR_LEN], port[8], host[SL_METRICS_HOST_LEN];
	struct sl_prom l;
	char *text;

	sl_ip_format(&fe->key.addr, fe->key.family, vip, sizeof(vip));
	snprintf(port, sizeof(port), "%u", ntohs(fe->key.port));
	sl_metrics_fe_host(a, fe, host, sizeof(host));
	sl_prom_init(&l);
	sl_prom_label(&l, "destination_service_namespace", fe->namespace);
	sl_prom_label(&l, "destination_service_name", fe->name);
	sl_prom_label(&l, "destination_service", host);
	sl_prom_label(&l, "vip", vip);
	sl_prom_label(&l, "port", port);
	sl_prom_label(&l, "protocol", proto_label(fe->key.proto));
	text = l.oom ? NULL : strdup(sl_prom_text(&l));
	sl_prom_free(&l);
	return text;
}

static const struct sl_prom_family svc_families[] = {
	{ "sluice_service_connections_total", "counter",
	  "TCP connections and connected UDP sockets sent to an endpoint of the frontend." },
	{ "sluice_service_datagrams_total", "counter",
	  "Unconnected UDP datagrams sent to an endpoint of the frontend." },
	{ "sluice_service_refused_total", "counter",
	  "Attempts refused: the frontend had no usable endpoint." },
	{ "sluice_service_rate_limited_total", "counter",
	  "Attempts refused: over the TrafficLimit connectionsPerSecond." },
	{ "sluice_service_pool_full_total", "counter",
	  "Attempts refused: every endpoint tried was at connectionPool maxConnections." },
	{ "sluice_service_errors_total", "counter",
	  "Attempts refused because the frontend's tables were inconsistent (a bug)." },
	{ "sluice_service_idle_closed_total", "counter",
	  "Connections reset after the connectionPool idleTimeout." },
	{ "sluice_service_aged_closed_total", "counter",
	  "Connections reset after the connectionPool maxConnectionDuration." },
	{ "sluice_service_endpoints", "gauge", "Endpoints listed for the frontend." },
	{ "sluice_service_endpoints_in_use", "gauge",
	  "Endpoints that receive new connections (ready, or serving while none is)." },
};
#define N_SVC (sizeof(svc_families) / sizeof(svc_families[0]))

static void svc_row(const struct sl_applied_fe *fe, const struct sl_svc_state *s,
		    uint64_t *v)
{
	uint64_t in_use = 0;

	for (uint32_t i = 0; i < fe->n_members; i++)
		in_use += fe->members[i].n_slots > 0;
	v[0] = s->connects;
	v[1] = s->datagrams;
	v[2] = s->refused;
	v[3] = s->rate_limited;
	v[4] = s->pool_full;
	v[5] = s->errors;
	v[6] = s->idle_closed;
	v[7] = s->aged_closed;
	v[8] = fe->n_members;
	v[9] = in_use;
}

static void free_labels(char **labels, size_t n)
{
	for (size_t i = 0; labels && i < n; i++)
		free(labels[i]);
	free(labels);
}

static void render_services(struct sl_metrics *m, struct sl_prom *p)
{
	const struct sl_state *st = &m->applier->state;
	size_t n = st->n_fe;
	char **labels = calloc(n + 1, sizeof(*labels));
	uint64_t *vals = calloc(n * N_SVC + 1, sizeof(*vals));

	if (!labels || !vals) {
		p->oom = true;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const struct sl_applied_fe *fe = &st->fe[i];
		struct sl_svc_state s;

		if (bpf_map_lookup_elem(m->maps->svc_state, &fe->id, &s))
			continue;
		labels[i] = fe_labels(m->applier, fe);
		if (!labels[i])
			p->oom = true;
		svc_row(fe, &s, vals + i * N_SVC);
	}
	sl_prom_table(p, svc_families, N_SVC, labels, vals, n);
out:
	free_labels(labels, n);
	free(vals);
}

static const struct sl_prom_family be_families[] = {
	{ "sluice_endpoint_selected_total", "counter",
	  "Connections and datagrams sent to the endpoint, over all its services." },
	{ "sluice_endpoint_active_connections", "gauge",
	  "TCP connections from this node held against connectionPool maxConnections." },
	{ "sluice_endpoint_ejections_total", "counter",
	  "Times outlier detection ejected the endpoint." },
	{ "sluice_endpoint_ejected", "gauge", "1 while the endpoint is ejected." },
	{ "sluice_endpoint_consecutive_failures", "gauge",
	  "Connect failures in a row, as outlier detection counts them." },
};
#define N_BE (sizeof(be_families) / sizeof(be_families[0]))

/* An endpoint listed by several services is one backend with one set of
 * counters: it is labelled with the first of them by namespace and name. */
static uint32_t *backend_owners(const struct sl_state *st, uint32_t max_backends)
{
	uint32_t *owner = calloc(max_backends + 1, sizeof(*owner));

	for (size_t i = 0; owner && i < st->n_fe; i++) {
		const struct sl_applied_fe *fe = &st->fe[i];

		for (uint32_t k = 0; k < fe->n_members; k++) {
			uint32_t id = fe->members[k].backend_id, o;
			const struct sl_applied_fe *cur;
			int c;

			if (id >= max_backends)
				continue;
			o = owner[id];
			cur = o ? &st->fe[o - 1] : NULL;
			c = cur ? strcmp(fe->namespace, cur->namespace) : -1;
			if (cur && !c)
				c = strcmp(fe->name, cur->name);
			if (c < 0)
				owner[id] = (uint32_t)i + 1;
		}
	}
	return owner;
}

static char *be_labels(const struct sl_applied_be *be, const struct sl_applied_fe *fe)
{
	char ep[SL_ADDR_STR_LEN];
	struct sl_prom l;
	char *text;

	sl_ip_port_format(&be->be.addr, be->be.family, be->be.port, ep, sizeof(ep));
	sl_prom_init(&l);
	sl_prom_label(&l, "endpoint", ep);
	sl_prom_label(&l, "protocol", proto_label(be->be.proto));
	sl_prom_label(&l, "destination_service_namespace", fe ? fe->namespace : "");
	sl_prom_label(&l, "destination_service_name", fe ? fe->name : "");
	text = l.oom ? NULL : strdup(sl_prom_text(&l));
	sl_prom_free(&l);
	return text;
}

static void render_endpoints(struct sl_metrics *m, struct sl_prom *p)
{
	const struct sl_state *st = &m->applier->state;
	size_t n = st->n_be;
	uint32_t *owner = backend_owners(st, m->maps->max_backends);
	char **labels = calloc(n + 1, sizeof(*labels));
	uint64_t *vals = calloc(n * N_BE + 1, sizeof(*vals)), now = (uint64_t)sl_mono_ns();

	if (!owner || !labels || !vals) {
		p->oom = true;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const struct sl_applied_be *be = &st->be[i];
		uint32_t o = be->id < m->maps->max_backends ? owner[be->id] : 0;
		struct sl_backend_state s;
		uint64_t *v = vals + i * N_BE;

		if (bpf_map_lookup_elem(m->maps->backend_state, &be->id, &s))
			continue;
		labels[i] = be_labels(be, o ? &st->fe[o - 1] : NULL);
		if (!labels[i])
			p->oom = true;
		v[0] = s.selected;
		v[1] = s.active;
		v[2] = s.ejections;
		v[3] = s.ejected_until_ns > now;
		v[4] = s.failures;
	}
	sl_prom_table(p, be_families, N_BE, labels, vals, n);
out:
	free(owner);
	free_labels(labels, n);
	free(vals);
}

void sl_metrics_render(struct sl_metrics *m, struct sl_prom *p)
{
	render_agent(m, p);
	render_services(m, p);
	render_endpoints(m, p);
	sl_metrics_policies(m, p);
	sl_metrics_same_node(m, p);
	sl_metrics_bandwidth(m, p);
	sl_metrics_kube(m, p);
	sl_metrics_traffic(m, p);
	sl_metrics_maps(m, p);
}
