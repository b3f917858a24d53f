// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sluicectl top: the busiest services and endpoints of this node. The
 * counters are read twice, --interval apart, and shown as rates: what
 * changed, not what accumulated since the agent started.
 *
 * Services come from sluice_svc_state (connections balanced, attempts
 * refused) and the client side of sluice_traffic (bytes, failed
 * connects, connections open); endpoints from sluice_traffic alone, from
 * the server's side when the server is on this node (it sees every
 * client) and from the clients' side otherwise, so no connection counts
 * twice.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ctl.h"
#include "snapshot.h"
#include "table.h"
#include "sys.h"

#define OPT_INTERVAL 0
#define OPT_N 1
#define CELL (SL_NAMESPACE_LEN + SL_NAME_LEN + 8)

const char *const ctl_top_opts[] = { "interval", "n", NULL };

const char ctl_top_help[] =
	"Options:\n"
	"  --interval SEC  time between the two reads (default 1, at most 3600)\n"
	"  -n N            rows of each table (default 10)\n\n"
	"Rates are per second over the interval: new connections (balanced by\n"
	"the service; established, for an endpoint), bytes both ways of the\n"
	"connections that closed, failures (connects that never got\n"
	"established, and for a service the attempts it refused). ACTIVE is the\n"
	"connections open at the second read. Sorted by connection rate.\n";

/* Connection counters of a service or an endpoint at one read. */
struct top_sum {
	uint64_t opened, closed, failed, bytes;
};

/* An endpoint: sluice_traffic summed over clients and services. */
struct top_ep {
	struct sl_addr addr;
	__be16 port;
	uint8_t family;
	uint8_t reporter;
	struct top_sum s;
};

struct top_read {
	struct snapshot snap;
	struct top_sum *svc;		/* by service id */
	struct top_ep *ep;		/* sorted */
	size_t n_ep, cap_ep;
	double at;
};

struct top_row {
	const struct snap_fe *fe;	/* services */
	const struct top_ep *ep;	/* endpoints */
	double conn_rate, byte_rate, fail_rate;
	uint64_t active;
};

static void sum_add(struct top_sum *s, const struct sl_traffic *t)
{
	s->opened += t->opened;
	s->closed += t->closed;
	s->failed += t->failed;
	s->bytes += t->sent_bytes + t->received_bytes;
}

static int ep_cmp(const void *a, const void *b)
{
	const struct top_ep *x = a, *y = b;

	if (x->family != y->family)
		return x->family - y->family;
	if (memcmp(&x->addr, &y->addr, sizeof(x->addr)))
		return memcmp(&x->addr, &y->addr, sizeof(x->addr));
	if (x->port != y->port)
		return ntohs(x->port) - ntohs(y->port);
	return x->reporter - y->reporter;
}

static void ep_add(struct top_read *r, const struct sl_traffic_key *k, const struct sl_traffic *t)
{
	struct top_ep *e;

	if (r->n_ep == r->cap_ep) {
		r->cap_ep = r->cap_ep ? r->cap_ep * 2 : 256;
		r->ep = ctl_xrealloc(r->ep, r->cap_ep * sizeof(*r->ep));
	}
	e = &r->ep[r->n_ep++];
	memset(e, 0, sizeof(*e));
	e->addr = k->dst;
	e->port = k->dst_port;
	e->family = k->family;
	e->reporter = k->reporter;
	sum_add(&e->s, t);
}

/* Entries of one endpoint and reporter, one row each. */
static void ep_merge(struct top_read *r)
{
	size_t out = 0;

	if (r->n_ep)
		qsort(r->ep, r->n_ep, sizeof(*r->ep), ep_cmp);
	for (size_t i = 0; i < r->n_ep; i++) {
		struct top_ep *prev = out ? &r->ep[out - 1] : NULL;

		if (prev && !ep_cmp(prev, &r->ep[i])) {
			prev->s.opened += r->ep[i].s.opened;
			prev->s.closed += r->ep[i].s.closed;
			prev->s.failed += r->ep[i].s.failed;
			prev->s.bytes += r->ep[i].s.bytes;
			continue;
		}
		r->ep[out++] = r->ep[i];
	}
	r->n_ep = out;
}

static int read_traffic(const struct sl_maps *m, struct top_read *r)
{
	int n_cpus = libbpf_num_possible_cpus();
	struct sl_traffic_key key, prev;
	struct sl_traffic *v, sum;
	bool first = true;

	if (n_cpus <= 0)
		return -1;
	v = ctl_xrealloc(NULL, (size_t)n_cpus * sizeof(*v));
	r->svc = ctl_xrealloc(NULL, (m->max_services + 1) * sizeof(*r->svc));
	memset(r->svc, 0, (m->max_services + 1) * sizeof(*r->svc));
	while (bpf_map_get_next_key(m->traffic, first ? NULL : &prev, &key) == 0) {
		prev = key;
		first = false;
		if (bpf_map_lookup_elem(m->traffic, &key, v))
			continue;
		memset(&sum, 0, sizeof(sum));
		for (int c = 0; c < n_cpus; c++)
			for (size_t i = 0; i < sizeof(sum) / sizeof(__u64); i++)
				((__u64 *)&sum)[i] += ((__u64 *)&v[c])[i];
		if (key.reporter == SL_REPORTER_SOURCE && key.svc_id &&
		    key.svc_id <= m->max_services)
			sum_add(&r->svc[key.svc_id - 1], &sum);
		ep_add(r, &key, &sum);
	}
	free(v);
	ep_merge(r);
	return 0;
}

static int take(const struct sl_maps *m, struct top_read *r)
{
	struct sl_err err;

	memset(r, 0, sizeof(*r));
	r->at = (double)sl_mono_ns() / 1e9;
	if (snapshot_read(m, &r->snap, &err) < 0) {
		fprintf(stderr, "sluicectl: %s\n", err.msg);
		return -1;
	}
	if (read_traffic(m, r) < 0) {
		fprintf(stderr, "sluicectl: cannot read sluice_traffic\n");
		return -1;
	}
	return 0;
}

static void release(struct top_read *r)
{
	snapshot_free(&r->snap);
	free(r->svc);
	free(r->ep);
}

/* A counter's rate; one that went back (entry evicted, agent restarted
 * with new ids) counts from zero. */
static double rate(uint64_t before, uint64_t after, double dt)
{
	return (double)(after >= before ? after - before : after) / dt;
}

static uint64_t refusals(const struct sl_svc_state *s)
{
	return s->refused + s->rate_limited + s->pool_full + s->errors;
}

static const struct snap_fe *fe_by_id(const struct snapshot *s, uint32_t id)
{
	for (size_t i = 0; i < s->n_fe; i++)
		if (s->fe[i].svc.id == id)
			return &s->fe[i];
	return NULL;
}

static void service_rows(const struct top_read *a, const struct top_read *b,
			 struct top_row *rows)
{
	double dt = b->at - a->at;

	for (size_t i = 0; i < b->snap.n_fe; i++) {
		const struct snap_fe *fe = &b->snap.fe[i], *old = fe_by_id(&a->snap, fe->svc.id);
		const struct top_sum *s = &b->svc[fe->svc.id], *o = &a->svc[fe->svc.id];
		struct sl_svc_state zero = { 0 };
		const struct sl_svc_state *os = old ? &old->stats : &zero;

		rows[i] = (struct top_row){ .fe = fe };
		rows[i].conn_rate = rate(os->connects, fe->stats.connects, dt);
		rows[i].byte_rate = rate(o->bytes, s->bytes, dt);
		rows[i].fail_rate = rate(refusals(os) + o->failed, refusals(&fe->stats) + s->failed,
					 dt);
		rows[i].active = s->opened > s->closed ? s->opened - s->closed : 0;
	}
}

/* The server's view of a local endpoint, else the clients'. */
static bool ep_shown(const struct top_read *b, size_t i)
{
	const struct top_ep *e = &b->ep[i], *next = i + 1 < b->n_ep ? &b->ep[i + 1] : NULL;

	return e->reporter == SL_REPORTER_DESTINATION || !next || next->family != e->family ||
	       memcmp(&next->addr, &e->addr, sizeof(e->addr)) || next->port != e->port;
}

static size_t endpoint_rows(const struct top_read *a, const struct top_read *b,
			    struct top_row *rows)
{
	double dt = b->at - a->at;
	size_t n = 0;

	for (size_t i = 0; i < b->n_ep; i++) {
		const struct top_ep *e = &b->ep[i], *old;
		struct top_sum zero = { 0 };
		const struct top_sum *o;

		if (!ep_shown(b, i))
			continue;
		old = a->n_ep ? bsearch(e, a->ep, a->n_ep, sizeof(*e), ep_cmp) : NULL;
		o = old ? &old->s : &zero;
		rows[n] = (struct top_row){ .ep = e };
		rows[n].conn_rate = rate(o->opened, e->s.opened, dt);
		rows[n].byte_rate = rate(o->bytes, e->s.bytes, dt);
		rows[n].fail_rate = rate(o->failed, e->s.failed, dt);
		rows[n].active = e->s.opened > e->s.closed ? e->s.opened - e->s.closed : 0;
		n++;
	}
	return n;
}

/* Busiest first; ties by bytes, then as read (stable enough to read). */
static int row_cmp(const void *a, const void *b)
{
	const struct top_row *x = a, *y = b;

	if (x->conn_rate != y->conn_rate)
		return x->conn_rate < y->conn_rate ? 1 : -1;
	if (x->byte_rate != y->byte_rate)
		return x->byte_rate < y->byte_rate ? 1 : -1;
	return (x->active < y->active) - (x->active > y->active);
}

/* The first service listing the endpoint, by namespace and name. */
static const struct snap_fe *ep_service(const struct snapshot *s, const struct top_ep *e)
{
	for (size_t i = 0; i < s->n_fe; i++)
		for (uint32_t k = 0; k < s->fe[i].svc.n_members; k++) {
			const struct sl_backend *be = &s->fe[i].members[k].backend;

			if (be->family == e->family && be->port == e->port &&
			    !memcmp(&be->addr, &e->addr, sizeof(be->addr)))
				return &s->fe[i];
		}
	return NULL;
}

static json_object *row_json(const struct top_row *r, const struct snapshot *s)
{
	const struct snap_fe *fe = r->fe ? r->fe : ep_service(s, r->ep);
	json_object *o = json_object_new_object();
	char addr[SL_ADDR_STR_LEN];

	json_object_object_add(o, "namespace", fe ? json_object_new_string(fe->info.namespace) :
			       NULL);
	json_object_object_add(o, "name", fe ? json_object_new_string(fe->info.name) : NULL);
	if (r->fe) {
		sl_ip_format(&fe->key.addr, fe->key.family, addr, sizeof(addr));
		json_object_object_add(o, "vip", json_object_new_string(addr));
		json_object_object_add(o, "port", json_object_new_int(ntohs(fe->key.port)));
		json_object_object_add(o, "protocol",
				       json_object_new_string(sl_proto_name(fe->key.proto)));
	} else {
		sl_ip_format(&r->ep->addr, r->ep->family, addr, sizeof(addr));
		json_object_object_add(o, "address", json_object_new_string(addr));
		json_object_object_add(o, "port", json_object_new_int(ntohs(r->ep->port)));
		json_object_object_add(o, "reporter", json_object_new_string(
			r->ep->reporter == SL_REPORTER_SOURCE ? "source" : "destination"));
	}
	json_object_object_add(o, "connections_per_second", json_object_new_double(r->conn_rate));
	json_object_object_add(o, "bytes_per_second", json_object_new_double(r->byte_rate));
	json_object_object_add(o, "active_connections", json_object_new_uint64(r->active));
	json_object_object_add(o, "failures_per_second", json_object_new_double(r->fail_rate));
	return o;
}

static void row_cells(const struct top_row *r, const struct snapshot *s, char (*buf)[CELL],
		      const char **row)
{
	const struct snap_fe *fe = r->fe ? r->fe : ep_service(s, r->ep);

	if (fe)
		snprintf(buf[0], CELL, "%s/%s", fe->info.namespace, fe->info.name);
	else
		snprintf(buf[0], CELL, "-");
	if (r->fe)
		sl_ip_port_format(&fe->key.addr, fe->key.family, fe->key.port, buf[1], CELL);
	else
		sl_ip_port_format(&r->ep->addr, r->ep->family, r->ep->port, buf[1], CELL);
	snprintf(buf[2], CELL, "%.1f", r->conn_rate);
	snprintf(buf[3], CELL, "%.0f", r->byte_rate);
	snprintf(buf[4], CELL, "%llu", (unsigned long long)r->active);
	snprintf(buf[5], CELL, "%.1f", r->fail_rate);
	for (int i = 0; i < 6; i++)
		row[i] = buf[i];
}

static void print_table(const char *title, const char *what, const struct top_row *rows,
			size_t n, const struct snapshot *s)
{
	const char *header[] = { "SERVICE", what, "CONN/S", "BYTES/S", "ACTIVE", "FAILED/S" };
	char buf[6][CELL];
	const char *row[6];
	struct table t;

	printf("%s\n", title);
	table_init(&t, 6, header);
	for (size_t i = 0; i < n; i++) {
		row_cells(&rows[i], s, buf, row);
		table_row(&t, row);
	}
	table_print(&t, stdout);
	table_free(&t);
}

static int parse_opts(const struct ctl *ctl, int argc, double *interval, size_t *n)
{
	const char *iv = ctl->opt[OPT_INTERVAL], *nv = ctl->opt[OPT_N];
	char *end;

	*interval = iv ? strtod(iv, &end) : 1.0;
	if (argc > 0 || (iv && (end == iv || *end || !(*interval > 0) || *interval > 3600))) {
		fprintf(stderr, "sluicectl top: [--interval SEC] [-n N] expected, SEC in "
			"(0, 3600]\n");
		return -1;
	}
	*n = nv ? strtoul(nv, &end, 10) : 10;
	if (nv && (end == nv || *end || *n < 1 || *n > 100000)) {
		fprintf(stderr, "sluicectl top: -n \"%s\": a count from 1 expected\n", nv);
		return -1;
	}
	return 0;
}

static void output(const struct ctl *ctl, const struct top_read *a, const struct top_read *b,
		   size_t n, double interval)
{
	struct top_row *svc = ctl_xrealloc(NULL, (b->snap.n_fe + 1) * sizeof(*svc));
	struct top_row *ep = ctl_xrealloc(NULL, (b->n_ep + 1) * sizeof(*ep));
	size_t n_svc = b->snap.n_fe, n_ep = endpoint_rows(a, b, ep);
	json_object *o, *arr;

	service_rows(a, b, svc);
	qsort(svc, n_svc, sizeof(*svc), row_cmp);
	qsort(ep, n_ep, sizeof(*ep), row_cmp);
	n_svc = n_svc < n ? n_svc : n;
	n_ep = n_ep < n ? n_ep : n;
	if (!ctl->json) {
		print_table("Services", "FRONTEND", svc, n_svc, &b->snap);
		printf("\n");
		print_table("Endpoints", "ENDPOINT", ep, n_ep, &b->snap);
	} else {
		o = json_object_new_object();
		json_object_object_add(o, "interval_seconds", json_object_new_double(interval));
		arr = json_object_new_array();
		for (size_t i = 0; i < n_svc; i++)
			json_object_array_add(arr, row_json(&svc[i], &b->snap));
		json_object_object_add(o, "services", arr);
		arr = json_object_new_array();
		for (size_t i = 0; i < n_ep; i++)
			json_object_array_add(arr, row_json(&ep[i], &b->snap));
		json_object_object_add(o, "endpoints", arr);
		ctl_print_json(o);
		json_object_put(o);
	}
	free(svc);
	free(ep);
}

int cmd_top(struct ctl *ctl, int argc, char **argv)
{
	struct top_read a, b;
	struct sl_maps maps;
	double interval;
	size_t n;
	int ret = CTL_NO_STATE;

	(void)argv;
	if (parse_opts(ctl, argc, &interval, &n) < 0)
		return CTL_USAGE;
	if (ctl_open_maps(ctl, &maps) < 0)
		return CTL_NO_STATE;
	if (take(&maps, &a) == 0) {
		nanosleep(&(struct timespec){ (time_t)interval,
					      (long)((interval - (double)(time_t)interval) * 1e9) },
			  NULL);
		if (take(&maps, &b) == 0) {
			output(ctl, &a, &b, n, interval);
			ret = CTL_OK;
		}
		release(&b);
	}
	release(&a);
	sl_maps_close(&maps);
	return ret;
}
