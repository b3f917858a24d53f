// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Joining resources into frontends: a Service with the EndpointSlices that
 * name it, a ServiceEntry with its own endpoints.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "maglev.h"
#include "model.h"

_Static_assert(sizeof(struct sl_model_member) == 56, "members are kept by the 100,000");

int sl_svc_key_cmp(const struct sl_svc_key *a, const struct sl_svc_key *b)
{
	return memcmp(a, b, sizeof(*a));
}

int sl_member_cmp(const struct sl_model_member *a,
		  const struct sl_model_member *b)
{
	int c = sl_ip_cmp(&a->ip, &b->ip);

	if (c)
		return c;
	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	return (int)a->proto - (int)b->proto;
}

static bool same_str(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static bool same_member(const struct sl_model_member *a, const struct sl_model_member *b)
{
	return !sl_member_cmp(a, b) && a->usable == b->usable && a->weight == b->weight &&
	       a->flags == b->flags && a->tier == b->tier;
}

bool sl_frontend_same(const struct sl_frontend *a, const struct sl_frontend *b)
{
	if (sl_svc_key_cmp(&a->key, &b->key) || a->kind != b->kind || a->flags != b->flags ||
	    a->max_conn != b->max_conn || a->idle_ms != b->idle_ms ||
	    a->max_age_ms != b->max_age_ms || a->maglev_size != b->maglev_size ||
	    a->ka_time_s != b->ka_time_s || a->ka_interval_s != b->ka_interval_s ||
	    a->ka_probes != b->ka_probes || a->eject_after != b->eject_after ||
	    a->eject_ms != b->eject_ms || a->eject_max_pct != b->eject_max_pct ||
	    a->min_health_pct != b->min_health_pct || a->connect_ms != b->connect_ms ||
	    a->conn_rate != b->conn_rate || a->conn_burst != b->conn_burst ||
	    a->n_members != b->n_members || !same_str(a->namespace, b->namespace) ||
	    !same_str(a->name, b->name) || !same_str(a->port_name, b->port_name))
		return false;
	for (size_t i = 0; i < a->n_members; i++)
		if (!same_member(&a->members[i], &b->members[i]))
			return false;
	return true;
}

static int cmp_member_qsort(const void *a, const void *b)
{
	return sl_member_cmp(a, b);
}

static int cmp_fe_qsort(const void *a, const void *b)
{
	return sl_svc_key_cmp(&((const struct sl_frontend *)a)->key,
			      &((const struct sl_frontend *)b)->key);
}

struct member_list {
	struct sl_model_member *v;
	size_t n, cap;
};

static void member_push(struct sl_model *m, struct member_list *l,
			const struct sl_model_member *mem)
{
	sl_arena_grow(&m->arena, (void **)&l->v, &l->cap, l->n + 1, sizeof(*mem));
	l->v[l->n++] = *mem;
}

/* Sorts, merges duplicates (the same endpoint listed by two slices while
 * the controller moves it) and decides who receives traffic: the ready
 * endpoints, or, when none is ready, those serving while terminating, as
 * kube-proxy does so that a rollout's last pods still drain gracefully. */
static void members_finish(struct member_list *l)
{
	size_t out = 0;
	bool any_ready = false;

	if (l->n)
		qsort(l->v, l->n, sizeof(*l->v), cmp_member_qsort);
	for (size_t i = 0; i < l->n; i++) {
		if (out && !sl_member_cmp(&l->v[out - 1], &l->v[i])) {
			struct sl_model_member *keep = &l->v[out - 1];

			if (l->v[i].flags & SL_MEMBER_F_READY)
				keep->flags = l->v[i].flags;
			continue;
		}
		l->v[out++] = l->v[i];
	}
	l->n = out;
	for (size_t i = 0; i < l->n; i++)
		any_ready |= !!(l->v[i].flags & SL_MEMBER_F_READY);
	for (size_t i = 0; i < l->n; i++) {
		uint32_t f = l->v[i].flags;

		l->v[i].usable = any_ready ? !!(f & SL_MEMBER_F_READY) :
			(f & SL_MEMBER_F_SERVING) && (f & SL_MEMBER_F_TERMINATING);
	}
}

static void fe_push(struct sl_model *m, const struct sl_meta *meta,
		    uint32_t kind, const char *port_name, const struct sl_ip *vip,
		    uint16_t port, uint8_t proto, struct member_list *members)
{
	struct sl_frontend *fe;

	sl_arena_grow(&m->arena, (void **)&m->fe, &m->cap_fe, m->n_fe + 1, sizeof(*fe));
	fe = &m->fe[m->n_fe++];
	memset(fe, 0, sizeof(*fe));
	fe->key.addr = vip->addr;
	fe->key.family = vip->family;
	fe->key.port = htons(port);
	fe->key.proto = proto;
	fe->namespace = sl_arena_strdup(&m->arena, meta->namespace);
	fe->name = sl_arena_strdup(&m->arena, meta->name);
	fe->port_name = sl_arena_strdup(&m->arena, port_name);
	fe->kind = kind;
	fe->flags = (meta->no_redirect ? SL_SVC_F_NO_REDIRECT : 0) |
		    (meta->keep_on_removal ? SL_SVC_F_KEEP_ON_REMOVAL : 0);
	fe->loc.file = sl_arena_strdup(&m->arena, meta->loc.file);
	fe->loc.line = meta->loc.line;
	members_finish(members);
	fe->members = members->v;
	fe->n_members = members->n;
	m->n_members += members->n;
}

static int cmp_slice_ptr(const void *a, const void *b)
{
	const struct sl_endpoint_slice *x = *(const struct sl_endpoint_slice *const *)a;
	const struct sl_endpoint_slice *y = *(const struct sl_endpoint_slice *const *)b;
	int c = strcmp(x->meta.namespace, y->meta.namespace);

	return c ? c : strcmp(x->service_name, y->service_name);
}

/* The labels of the Pod an endpoint's targetRef names, for subsets. */
static const struct sl_pod *endpoint_pod(const struct sl_pod_index *pods,
					 const struct sl_slice_endpoint *e)
{
	if (!e->pod_name)
		return NULL;
	return sl_pod_index_find(pods, e->pod_namespace, e->pod_name);
}

static void slice_members(struct sl_model *m, const struct sl_pod_index *pods,
			  const struct sl_endpoint_slice *s, const struct sl_svc_port *sp,
			  struct member_list *out)
{
	const struct sl_slice_port *port = NULL;
	const char *zone = NULL;	/* the copy of the last endpoint's zone */

	/* Kubernetes matches a slice port to a service port by name (both
	 * empty for a single unnamed port) and protocol. */
	for (size_t i = 0; i < s->n_ports && !port; i++)
		if (!strcmp(s->ports[i].name, sp->name) && s->ports[i].proto == sp->proto &&
		    s->ports[i].port)
			port = &s->ports[i];
	if (!port)
		return;
	for (size_t i = 0; i < s->n_endpoints; i++) {
		const struct sl_slice_endpoint *e = &s->endpoints[i];
		struct sl_model_member mem = {
			.ip = e->addr,
			.port = port->port,
			.proto = sp->proto,
			.weight = 1,
			.zone_only = true,
		};

		const struct sl_pod *pod = endpoint_pod(pods, e);

		/* A slice's endpoints mostly share a zone: one copy. */
		if (!zone || strcmp(zone, e->zone))
			zone = sl_arena_strdup(&m->arena, e->zone);
		mem.locality = zone;

		mem.flags = (e->ready ? SL_MEMBER_F_READY : 0) |
			    (e->serving ? SL_MEMBER_F_SERVING : 0) |
			    (e->terminating ? SL_MEMBER_F_TERMINATING : 0);
		if (pod) {
			mem.labels = pod->meta.labels;
			mem.n_labels = pod->meta.n_labels;
		}
		member_push(m, out, &mem);
	}
}

/* Room for every endpoint of the service's slices at once: grown one by
 * one, the arena keeps each smaller copy (three times the list). */
static void reserve_members(struct sl_model *m, struct member_list *l,
			    const struct sl_endpoint_slice *const *slices, size_t lo,
			    size_t n_slices, const struct sl_service *svc)
{
	size_t n = 0;

	for (size_t s = lo; s < n_slices; s++) {
		if (strcmp(slices[s]->meta.namespace, svc->meta.namespace) ||
		    strcmp(slices[s]->service_name, svc->meta.name))
			break;
		n += slices[s]->n_endpoints;
	}
	if (n)
		sl_arena_grow(&m->arena, (void **)&l->v, &l->cap, n, sizeof(*l->v));
}

static void build_service(struct sl_model *m, const struct sl_pod_index *pods,
			  const struct sl_service *svc,
			  const struct sl_endpoint_slice *const *slices,
			  size_t n_slices)
{
	/* The slices of this service form one run in the sorted array. */
	size_t lo = 0, hi = n_slices;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(slices[mid]->meta.namespace, svc->meta.namespace);

		if (!c)
			c = strcmp(slices[mid]->service_name, svc->meta.name);
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t ip = 0; ip < svc->n_cluster_ips; ip++) {
		const struct sl_ip *vip = &svc->cluster_ips[ip];

		for (size_t p = 0; p < svc->n_ports; p++) {
			const struct sl_svc_port *sp = &svc->ports[p];
			struct member_list members = { 0 };

			if (!sp->proto)
				continue;
			reserve_members(m, &members, slices, lo, n_slices, svc);
			for (size_t s = lo; s < n_slices; s++) {
				const struct sl_endpoint_slice *sl = slices[s];

				if (strcmp(sl->meta.namespace, svc->meta.namespace) ||
				    strcmp(sl->service_name, svc->meta.name))
					break;
				if (sl->family == vip->family)
					slice_members(m, pods, sl, sp, &members);
			}
			fe_push(m, &svc->meta, SL_KIND_SERVICE, sp->name, vip, sp->port,
				sp->proto, &members);
			/* ClientIP affinity: a client keeps its endpoint while
			 * it stays, which consistent hashing by its address
			 * gives without a per-client table. */
			if (svc->client_ip_affinity) {
				m->fe[m->n_fe - 1].flags |= SL_SVC_F_LB_HASH;
				m->fe[m->n_fe - 1].maglev_size = SL_MAGLEV_DEFAULT_SIZE;
			}
		}
	}
}

static uint16_t se_endpoint_port(const struct sl_se_endpoint *ep,
				 const struct sl_se_port *sp)
{
	for (size_t i = 0; i < ep->n_ports; i++)
		if (sp->name[0] && !strcmp(ep->ports[i].name, sp->name))
			return ep->ports[i].number;
	return sp->target_port ? sp->target_port : sp->number;
}

static void build_service_entry(struct sl_model *m,
				const struct sl_service_entry *se)
{
	if (!se->balanced)
		return;
	for (size_t a = 0; a < se->n_addresses; a++) {
		const struct sl_ip *vip = &se->addresses[a];

		for (size_t p = 0; p < se->n_ports; p++) {
			const struct sl_se_port *sp = &se->ports[p];
			struct member_list members = { 0 };

			for (size_t e = 0; e < se->n_endpoints; e++) {
				const struct sl_se_endpoint *ep = &se->endpoints[e];
				struct sl_model_member mem = {
					.ip = ep->addr,
					.port = se_endpoint_port(ep, sp),
					.proto = sp->proto,
					.weight = ep->weight ? ep->weight : 1,
					.flags = SL_MEMBER_F_READY | SL_MEMBER_F_SERVING,
					.locality = sl_arena_strdup(&m->arena, ep->locality),
					.labels = ep->labels,
					.n_labels = ep->n_labels,
				};

				if (ep->addr.family == vip->family)
					member_push(m, &members, &mem);
			}
			fe_push(m, &se->meta, SL_KIND_SERVICE_ENTRY, sp->name, vip,
				sp->number, sp->proto, &members);
			/* What Istio's metrics call the destination service;
			 * the maps have no room for it. */
			m->fe[m->n_fe - 1].host = sl_arena_strdup(&m->arena, se->hosts[0]);
		}
	}
}

static const char *kind_name(uint32_t kind)
{
	return kind == SL_KIND_SERVICE ? "Service" : "ServiceEntry";
}

static int check_conflicts(const struct sl_model *m, struct sl_err *err)
{
	for (size_t i = 1; i < m->n_fe; i++) {
		const struct sl_frontend *a = &m->fe[i - 1], *b = &m->fe[i];
		char vip[SL_ADDR_STR_LEN];

		if (sl_svc_key_cmp(&a->key, &b->key))
			continue;
		sl_ip_port_format(&b->key.addr, b->key.family, b->key.port, vip, sizeof(vip));
		return sl_errf(err, "%s:%u: %s %s/%s claims %s/%s, already served by "
			       "%s %s/%s (%s:%u)", b->loc.file, b->loc.line,
			       kind_name(b->kind), b->namespace, b->name, vip,
			       sl_proto_name(b->key.proto), kind_name(a->kind),
			       a->namespace, a->name, a->loc.file, a->loc.line);
	}
	return 0;
}

/* Every frontend of each service a TrafficLimit names gets its limit; one
 * service limited twice is a contradiction. A limit naming no service is
 * kept for when the service appears, and said so. */
static int apply_limits(struct sl_model *m, const struct sl_config *cfg, struct sl_err *err)
{
	for (size_t i = 0; i < cfg->n_limits; i++) {
		const struct sl_traffic_limit *tl = &cfg->limits[i];
		const struct sl_ip *src = NULL;
		size_t n_src = 0;

		if (tl->conn_rate && tl->n_sources)
			src = sl_model_limit_sources(m, cfg, tl, &n_src);
		for (size_t j = 0; tl->conn_rate && j < tl->n_services; j++) {
			const struct sl_service_ref *ref = &tl->services[j];
			size_t hits = 0;

			for (size_t k = 0; k < m->n_fe; k++) {
				struct sl_frontend *fe = &m->fe[k];

				if (strcmp(fe->namespace, ref->namespace) ||
				    strcmp(fe->name, ref->name))
					continue;
				if (fe->limit && fe->limit != tl)
					return sl_errf(err, "%s:%u: TrafficLimit %s/%s limits "
						       "service %s/%s, which TrafficLimit "
						       "%s/%s (%s:%u) limits already",
						       ref->loc.file, ref->loc.line,
						       tl->meta.namespace, tl->meta.name,
						       ref->namespace, ref->name,
						       fe->limit->meta.namespace,
						       fe->limit->meta.name,
						       fe->limit->meta.loc.file,
						       fe->limit->meta.loc.line);
				fe->limit = tl;
				fe->conn_rate = tl->conn_rate;
				fe->conn_burst = tl->conn_burst;
				if (tl->n_sources) {
					fe->flags |= SL_SVC_F_LIMIT_SOURCES;
					fe->limit_src = src;
					fe->n_limit_src = n_src;
				}
				hits++;
			}
			if (!hits)
				sl_warn("%s:%u: TrafficLimit %s/%s: no service %s/%s (yet); the "
					"limit applies once it exists", ref->loc.file,
					ref->loc.line, tl->meta.namespace, tl->meta.name,
					ref->namespace, ref->name);
		}
	}
	return 0;
}

/* Labels and rules belong to the configuration, which the model outlives. */
void sl_model_forget_labels(struct sl_model *m)
{
	for (size_t i = 0; i < m->n_fe; i++) {
		m->fe[i].dr = NULL;
		for (size_t j = 0; j < m->fe[i].n_members; j++) {
			m->fe[i].members[j].labels = NULL;
			m->fe[i].members[j].n_labels = 0;
		}
	}
}

int sl_model_build(const struct sl_config *cfg, struct sl_model *model,
		   struct sl_err *err)
{
	return sl_model_build_at(cfg, NULL, model, err);
}

void sl_model_add_services(struct sl_model *model, const struct sl_config *cfg)
{
	const struct sl_endpoint_slice **slices;
	struct sl_pod_index pods;
	size_t n_slices = 0;

	slices = calloc(cfg->n_slices + 1, sizeof(*slices));
	if (!slices)
		abort();
	for (size_t i = 0; i < cfg->n_slices; i++)
		if (cfg->slices[i].service_name)
			slices[n_slices++] = &cfg->slices[i];
	if (n_slices)
		qsort(slices, n_slices, sizeof(*slices), cmp_slice_ptr);
	sl_pod_index_build(&pods, cfg->pods, cfg->n_pods);
	/* One frontend per Service port at least: the array is not copied
	 * over and over while it grows. */
	sl_arena_grow(&model->arena, (void **)&model->fe, &model->cap_fe,
		      model->n_fe + cfg->n_services + 1, sizeof(*model->fe));
	for (size_t i = 0; i < cfg->n_services; i++)
		build_service(model, &pods, &cfg->services[i], slices, n_slices);
	sl_pod_index_free(&pods);
	free(slices);
}

void sl_model_sort(struct sl_model *model)
{
	if (model->n_fe)
		qsort(model->fe, model->n_fe, sizeof(*model->fe), cmp_fe_qsort);
}

int sl_model_build_at(const struct sl_config *cfg, const struct sl_locality *node,
		      struct sl_model *model, struct sl_err *err)
{
	memset(model, 0, sizeof(*model));
	sl_model_add_services(model, cfg);
	for (size_t i = 0; i < cfg->n_entries; i++)
		build_service_entry(model, &cfg->entries[i]);
	sl_model_sort(model);
	if (check_conflicts(model, err) < 0 || sl_model_apply_routes(model, cfg, err) < 0 ||
	    apply_limits(model, cfg, err) < 0 || sl_model_apply_bandwidth(model, cfg, err) < 0) {
		sl_model_free(model);
		return -1;
	}
	sl_model_apply_locality(model, cfg, node);
	sl_model_forget_labels(model);
	sl_model_compact(model);
	return 0;
}

void sl_model_free(struct sl_model *model)
{
	sl_arena_free(&model->arena);
	memset(model, 0, sizeof(*model));
}
