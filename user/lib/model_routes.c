// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * VirtualService tcp routes: a connection to a service's VIP goes to the
 * route's destinations in proportion to their weights (a 90/10 canary, a
 * 0/100 blue-green switch), each destination being a service's endpoints,
 * or those of a DestinationRule subset (by label). This is compiled into
 * the frontend's own member weights, so the kernel's smooth weighted
 * round-robin carries it out exactly and a weight change is one atomic
 * frontend update: new connections move at once, open ones stay.
 *
 * A member's weight is its destination's share times its own weight within
 * the destination: weight = route weight x 10,000 x endpoint weight / sum
 * of the destination's endpoint weights (rounded, at least 1); the slot
 * builder reduces by the common divisor.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "model.h"

struct svc_name {
	const char *namespace;
	const char *name;
};

static bool se_has_host(const struct sl_service_entry *se, const char *host)
{
	for (size_t i = 0; i < se->n_hosts; i++)
		if (!strcmp(se->hosts[i], host))
			return true;
	return false;
}

static bool ends_with(const char *s, const char *suffix, size_t *stem)
{
	size_t n = strlen(s), k = strlen(suffix);

	if (n <= k || strcmp(s + n - k, suffix))
		return false;
	*stem = n - k;
	return true;
}

/* Istio's host names: a ServiceEntry host (the VirtualService's namespace
 * first), else a Kubernetes service as NAME, NAME.NS, NAME.NS.svc or
 * NAME.NS.svc.cluster.local. */
static int resolve_host(struct sl_model *m, const struct sl_config *cfg, const char *host,
			const char *ns, struct svc_name *out)
{
	char buf[256];
	size_t stem = strlen(host);
	char *dot;

	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < cfg->n_entries; i++) {
			const struct sl_service_entry *se = &cfg->entries[i];

			if ((pass || !strcmp(se->meta.namespace, ns)) && se_has_host(se, host)) {
				*out = (struct svc_name){ se->meta.namespace, se->meta.name };
				return 0;
			}
		}
	if (!ends_with(host, ".svc.cluster.local", &stem))
		ends_with(host, ".svc", &stem);
	if (stem >= sizeof(buf))
		return -1;
	memcpy(buf, host, stem);
	buf[stem] = '\0';
	dot = strchr(buf, '.');
	if (dot) {
		*dot = '\0';
		if (strchr(dot + 1, '.'))
			return -1;	/* a name that is no service of ours */
		out->namespace = sl_arena_strdup(&m->arena, dot + 1);
	} else {
		out->namespace = ns;
	}
	out->name = sl_arena_strdup(&m->arena, buf);
	return 0;
}

bool sl_model_host_is(struct sl_model *m, const struct sl_config *cfg, const char *host,
		      const char *ns, const char *svc_ns, const char *svc_name)
{
	struct svc_name svc;

	return resolve_host(m, cfg, host, ns, &svc) == 0 && !strcmp(svc.namespace, svc_ns) &&
	       !strcmp(svc.name, svc_name);
}

static bool same_svc(const struct svc_name *a, const struct svc_name *b)
{
	return !strcmp(a->namespace, b->namespace) && !strcmp(a->name, b->name);
}

static const struct sl_dr_subset *find_subset(struct sl_model *m,
					      const struct sl_config *cfg,
					      const struct svc_name *svc, const char *name)
{
	for (size_t i = 0; i < cfg->n_drules; i++) {
		const struct sl_destination_rule *dr = &cfg->drules[i];
		struct svc_name target;

		if (resolve_host(m, cfg, dr->host, dr->meta.namespace, &target) < 0 ||
		    !same_svc(&target, svc))
			continue;
		for (size_t j = 0; j < dr->n_subsets; j++)
			if (!strcmp(dr->subsets[j].name, name))
				return &dr->subsets[j];
	}
	return NULL;
}

static bool labels_match(const struct sl_dr_subset *sub, const struct sl_model_member *mem)
{
	for (size_t i = 0; sub && i < sub->n_labels; i++) {
		bool found = false;

		for (size_t j = 0; j < mem->n_labels && !found; j++)
			found = !strcmp(mem->labels[j].key, sub->labels[i].key) &&
				!strcmp(mem->labels[j].value, sub->labels[i].value);
		if (!found)
			return false;
	}
	return true;
}

static struct sl_frontend *find_fe(struct sl_model *m, const struct svc_name *svc,
				   uint8_t family, uint8_t proto, uint16_t port)
{
	for (size_t i = 0; i < m->n_fe; i++) {
		struct sl_frontend *fe = &m->fe[i];

		if (fe->key.family == family && fe->key.proto == proto &&
		    ntohs(fe->key.port) == port && !strcmp(fe->namespace, svc->namespace) &&
		    !strcmp(fe->name, svc->name))
			return fe;
	}
	return NULL;
}

static const struct sl_vs_tcp_route *route_for(const struct sl_virtual_service *vs,
					       uint16_t port)
{
	for (size_t i = 0; i < vs->n_tcp; i++) {
		const struct sl_vs_tcp_route *r = &vs->tcp[i];

		if (r->match_any || !r->n_match_ports)
			return r;
		for (size_t j = 0; j < r->n_match_ports; j++)
			if (r->match_ports[j] == port)
				return r;
	}
	return NULL;
}

/* The members a frontend gets from its route, built from the members the
 * destinations had before any route was applied. */
struct routed {
	struct sl_frontend *fe;
	struct sl_model_member *v;
	size_t n, cap;
};

static int add_destination(struct sl_model *m, const struct sl_config *cfg,
			   const struct sl_virtual_service *vs, struct routed *out,
			   const struct sl_vs_destination *d, struct sl_err *err)
{
	const struct sl_frontend *fe = out->fe, *dfe;
	const struct sl_dr_subset *sub = NULL;
	struct svc_name svc;
	uint64_t sum = 0;

	if (resolve_host(m, cfg, d->host, vs->meta.namespace, &svc) < 0)
		return sl_errf(err, "%s:%u: VirtualService %s/%s: destination host %s is no "
			       "service Sluice knows", d->loc.file, d->loc.line,
			       vs->meta.namespace, vs->meta.name, d->host);
	if (d->subset && !(sub = find_subset(m, cfg, &svc, d->subset)))
		return sl_errf(err, "%s:%u: VirtualService %s/%s: subset %s of %s is defined "
			       "by no DestinationRule", d->loc.file, d->loc.line,
			       vs->meta.namespace, vs->meta.name, d->subset, d->host);
	dfe = find_fe(m, &svc, fe->key.family, fe->key.proto,
		      d->port ? d->port : ntohs(fe->key.port));
	if (!dfe) {
		sl_warn("%s:%u: VirtualService %s/%s: %s/%s has no port %u for this "
			"frontend's family and protocol; its %u%% share goes to the other "
			"destinations", d->loc.file, d->loc.line, vs->meta.namespace,
			vs->meta.name, svc.namespace, svc.name,
			d->port ? d->port : ntohs(fe->key.port), d->weight);
		return 0;
	}
	for (size_t i = 0; i < dfe->n_members; i++)
		if (dfe->members[i].usable && labels_match(sub, &dfe->members[i]))
			sum += dfe->members[i].weight;
	for (size_t i = 0; i < dfe->n_members && sum; i++) {
		struct sl_model_member mem = dfe->members[i];
		uint64_t w;

		if (!mem.usable || !labels_match(sub, &mem))
			continue;
		w = ((uint64_t)d->weight * 10000 * mem.weight + sum / 2) / sum;
		mem.weight = w ? (uint32_t)w : 1;
		sl_arena_grow(&m->arena, (void **)&out->v, &out->cap, out->n + 1, sizeof(mem));
		out->v[out->n++] = mem;
	}
	return 0;
}

static int cmp_member(const void *a, const void *b)
{
	return sl_member_cmp(a, b);
}

/* One endpoint reached through two destinations gets both shares. */
static void merge(struct routed *r)
{
	size_t k = 0;

	if (r->n)
		qsort(r->v, r->n, sizeof(*r->v), cmp_member);
	for (size_t i = 0; i < r->n; i++) {
		if (k && !sl_member_cmp(&r->v[k - 1], &r->v[i])) {
			r->v[k - 1].weight += r->v[i].weight;
			continue;
		}
		r->v[k++] = r->v[i];
	}
	r->n = k;
}

/* The service's own endpoints that no destination reaches stay members,
 * without traffic: a route change is not an endpoint leaving its service,
 * so their open connections are left alone. */
static void keep_unrouted(struct sl_model *m, struct routed *r)
{
	const struct sl_frontend *fe = r->fe;
	size_t n = r->n;

	for (size_t i = 0; i < fe->n_members; i++) {
		struct sl_model_member mem = fe->members[i];

		if (n && bsearch(&mem, r->v, n, sizeof(mem), cmp_member))
			continue;
		mem.usable = false;
		sl_arena_grow(&m->arena, (void **)&r->v, &r->cap, r->n + 1, sizeof(mem));
		r->v[r->n++] = mem;
	}
	if (r->n)
		qsort(r->v, r->n, sizeof(*r->v), cmp_member);
}

static int route_frontends(struct sl_model *m, const struct sl_config *cfg,
			   const struct sl_virtual_service *vs, struct routed **out,
			   size_t *n, size_t *cap, struct sl_err *err)
{
	for (size_t h = 0; h < vs->n_hosts; h++) {
		struct svc_name svc;
		size_t hits = 0;

		if (resolve_host(m, cfg, vs->hosts[h], vs->meta.namespace, &svc) < 0)
			continue;
		for (size_t i = 0; i < m->n_fe; i++) {
			struct sl_frontend *fe = &m->fe[i];
			const struct sl_vs_tcp_route *r;
			struct routed *rt;

			if (strcmp(fe->namespace, svc.namespace) || strcmp(fe->name, svc.name))
				continue;
			hits++;
			r = route_for(vs, ntohs(fe->key.port));
			if (!r)
				continue;
			sl_arena_grow(&m->arena, (void **)out, cap, *n + 1, sizeof(**out));
			rt = &(*out)[(*n)++];
			memset(rt, 0, sizeof(*rt));
			rt->fe = fe;
			for (size_t d = 0; d < r->n_route; d++)
				if (r->route[d].weight &&
				    add_destination(m, cfg, vs, rt, &r->route[d], err) < 0)
					return -1;
			merge(rt);
			keep_unrouted(m, rt);
		}
		if (!hits)
			sl_warn("VirtualService %s/%s: host %s is no service Sluice balances "
				"(yet); its routes apply once it is", vs->meta.namespace,
				vs->meta.name, vs->hosts[h]);
	}
	return 0;
}

/* The policy of one service port: each section the port's
 * portLevelSettings give replaces the rule's own section as a whole, as
 * Istio merges them (a port's connectionPool without maxConnections has no
 * cap, whatever the rule's says). */
static struct sl_traffic_policy port_policy(const struct sl_destination_rule *dr,
					    uint16_t port)
{
	struct sl_traffic_policy tp = dr->policy;

	for (size_t i = 0; i < dr->n_ports; i++) {
		const struct sl_traffic_policy *p = &dr->ports[i].policy;

		if (dr->ports[i].port != port)
			continue;
		if (p->pool) {
			tp.pool = true;
			tp.max_connections = p->max_connections;
			tp.connect_ms = p->connect_ms;
			tp.idle_ms = p->idle_ms;
			tp.max_age_ms = p->max_age_ms;
			tp.ka_time_s = p->ka_time_s;
			tp.ka_interval_s = p->ka_interval_s;
			tp.ka_probes = p->ka_probes;
		}
		if (p->lb) {
			tp.lb = true;
			tp.lb_flags = p->lb_flags;
			tp.maglev_size = p->maglev_size;
		}
		if (p->outlier) {
			tp.outlier = true;
			tp.eject_after = p->eject_after;
			tp.eject_ms = p->eject_ms;
			tp.eject_max_pct = p->eject_max_pct;
			tp.min_health_pct = p->min_health_pct;
		}
		break;
	}
	return tp;
}

static void apply_policy(struct sl_frontend *fe, const struct sl_traffic_policy *tp)
{
	fe->max_conn = tp->max_connections;
	fe->flags |= tp->lb_flags;
	if (tp->maglev_size)
		fe->maglev_size = tp->maglev_size;
	fe->idle_ms = tp->idle_ms;
	fe->max_age_ms = tp->max_age_ms;
	fe->connect_ms = tp->connect_ms;
	fe->eject_after = tp->eject_after;
	fe->eject_ms = tp->eject_ms;
	fe->eject_max_pct = tp->eject_max_pct;
	fe->min_health_pct = tp->min_health_pct;
	fe->ka_time_s = (uint16_t)tp->ka_time_s;
	fe->ka_interval_s = (uint16_t)tp->ka_interval_s;
	fe->ka_probes = tp->ka_probes;
}

/* A service's DestinationRule: its trafficPolicy, with the port's
 * portLevelSettings over it, applies to each frontend of the service. */
void sl_model_apply_pools(struct sl_model *m, const struct sl_config *cfg)
{
	for (size_t i = 0; i < cfg->n_drules; i++) {
		const struct sl_destination_rule *dr = &cfg->drules[i];
		struct svc_name svc;

		if (resolve_host(m, cfg, dr->host, dr->meta.namespace, &svc) < 0)
			continue;
		for (size_t k = 0; k < m->n_fe; k++) {
			struct sl_traffic_policy tp;

			if (strcmp(m->fe[k].namespace, svc.namespace) ||
			    strcmp(m->fe[k].name, svc.name))
				continue;
			m->fe[k].dr = dr;	/* for localityLbSetting, later */
			tp = port_policy(dr, ntohs(m->fe[k].key.port));
			if (tp.pool || tp.lb || tp.outlier)
				apply_policy(&m->fe[k], &tp);
		}
		/* Istio ignores settings for a port the service does not have;
		 * an operator should hear of it. */
		for (size_t p = 0; p < dr->n_ports; p++) {
			bool found = false;

			for (size_t k = 0; k < m->n_fe && !found; k++)
				found = !strcmp(m->fe[k].namespace, svc.namespace) &&
					!strcmp(m->fe[k].name, svc.name) &&
					ntohs(m->fe[k].key.port) == dr->ports[p].port;
			if (!found)
				sl_warn("%s:%u: DestinationRule %s/%s: %s/%s has no port %u; "
					"its portLevelSettings apply to nothing",
					dr->ports[p].loc.file, dr->ports[p].loc.line,
					dr->meta.namespace, dr->meta.name, svc.namespace,
					svc.name, dr->ports[p].port);
		}
	}
}

int sl_model_apply_routes(struct sl_model *m, const struct sl_config *cfg,
			  struct sl_err *err)
{
	struct routed *r = NULL;
	size_t n = 0, cap = 0;

	for (size_t i = 0; i < cfg->n_vservices; i++)
		if (route_frontends(m, cfg, &cfg->vservices[i], &r, &n, &cap, err) < 0)
			return -1;
	sl_model_apply_pools(m, cfg);
	/* Only now: a route may name its own service's endpoints. */
	for (size_t i = 0; i < n; i++) {
		m->n_members -= r[i].fe->n_members;
		r[i].fe->members = r[i].v;
		r[i].fe->n_members = r[i].n;
		m->n_members += r[i].n;
	}
	return 0;
}
