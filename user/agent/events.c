// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "addr.h"
#include "authz.h"
#include "events.h"
#include "flowlog.h"
#include "log.h"
#include "sys.h"

static void identity_name(struct sl_maps *m, uint32_t id, char *buf, size_t len)
{
	struct sl_identity_info info;

	if (!id || bpf_map_lookup_elem(m->identity_info, &id, &info))
		snprintf(buf, len, "no identity");
	else
		snprintf(buf, len, "%s/%s", info.namespace, info.service_account);
}

static void policy_name(struct sl_maps *m, uint32_t id, uint32_t rule, char *buf,
			size_t len)
{
	struct sl_policy_info info;

	if (!id)
		snprintf(buf, len, "no ALLOW policy matched");
	else if (bpf_map_lookup_elem(m->policy_info, &id, &info))
		snprintf(buf, len, "policy #%u rule %u", id, rule);
	else
		snprintf(buf, len, "policy %s/%s rule %u", info.namespace, info.name, rule);
}

/* A connection refused by a limit: the id is the service's. */
static void log_limit(struct sl_maps *m, const struct sl_event *ev)
{
	struct sl_svc_info info;
	char dst[SL_ADDR_STR_LEN];

	sl_ip_port_format(&ev->dst, ev->family, ev->dst_port, dst, sizeof(dst));
	if (bpf_map_lookup_elem(m->svc_info, &ev->policy, &info))
		snprintf(info.namespace, sizeof(info.namespace), "?");
	sl_info("limit: refused %s connection to %s (service %s/%s): %s",
		sl_proto_name(ev->proto), dst, info.namespace,
		info.namespace[0] == '?' ? "?" : info.name,
		ev->type == SL_EVENT_RATE_LIMITED ?
		"over its TrafficLimit connectionsPerSecond" :
		"every endpoint tried is at its DestinationRule maxConnections");
}

/* An endpoint ejected by outlier detection: rule holds the ejections. */
static void log_eject(struct sl_maps *m, const struct sl_event *ev)
{
	struct sl_svc_info info;
	char dst[SL_ADDR_STR_LEN];

	sl_ip_port_format(&ev->dst, ev->family, ev->dst_port, dst, sizeof(dst));
	if (bpf_map_lookup_elem(m->svc_info, &ev->policy, &info))
		snprintf(info.name, sizeof(info.name), "?");
	sl_info("outlier: ejected endpoint %s of service %s/%s (ejection %u)", dst,
		info.name[0] == '?' ? "?" : info.namespace, info.name, ev->rule);
}

/* ---- flow records ---- */

/* The kernel stamps events with the monotonic clock; a record shows wall
 * clock time. */
static uint64_t wall_ms(uint64_t ts_ns)
{
	struct timespec mono, real;
	uint64_t now_ns, age_ns;

	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &real);
	now_ns = (uint64_t)mono.tv_sec * 1000000000ULL + (uint64_t)mono.tv_nsec;
	age_ns = now_ns > ts_ns ? now_ns - ts_ns : 0;
	return ((uint64_t)real.tv_sec * 1000000000ULL + (uint64_t)real.tv_nsec - age_ns) /
	       1000000;
}

/* Workload names from the address; the identity from the event (policy
 * events) or else the workload's. */
static void flow_end(struct sl_maps *m, const struct sl_addr *addr, uint8_t family,
		     __be16 port, uint32_t identity, struct sl_flow_end *out)
{
	struct sl_workload_key k = { .addr = *addr, .family = family };
	struct sl_identity_info id;
	struct sl_workload_info w;

	out->addr = *addr;
	out->port = ntohs(port);
	if (!bpf_map_lookup_elem(m->workload_info, &k, &w)) {
		snprintf(out->namespace, sizeof(out->namespace), "%.*s",
			 (int)sizeof(w.namespace) - 1, w.namespace);
		snprintf(out->name, sizeof(out->name), "%.*s", (int)sizeof(w.name) - 1, w.name);
		if (!identity)
			identity = w.identity;
	}
	if (identity && !bpf_map_lookup_elem(m->identity_info, &identity, &id))
		snprintf(out->principal, sizeof(out->principal), "spiffe://%s/ns/%.*s/sa/%.*s",
			 SL_TRUST_DOMAIN, (int)sizeof(id.namespace) - 1, id.namespace,
			 (int)sizeof(id.service_account) - 1, id.service_account);
}

static void flow_service(struct sl_maps *m, uint32_t svc_id, struct sl_flowrec *r)
{
	struct sl_svc_info info;

	if (bpf_map_lookup_elem(m->svc_info, &svc_id, &info))
		return;
	snprintf(r->svc_namespace, sizeof(r->svc_namespace), "%.*s",
		 (int)sizeof(info.namespace) - 1, info.namespace);
	snprintf(r->svc_name, sizeof(r->svc_name), "%.*s", (int)sizeof(info.name) - 1,
		 info.name);
}

static void flow_policy(struct sl_maps *m, const struct sl_event *ev, struct sl_flowrec *r)
{
	struct sl_policy_info info;

	r->has_policy = true;
	r->policy_id = ev->policy;
	if (!ev->policy || bpf_map_lookup_elem(m->policy_info, &ev->policy, &info))
		return;
	snprintf(r->policy_namespace, sizeof(r->policy_namespace), "%.*s",
		 (int)sizeof(info.namespace) - 1, info.namespace);
	snprintf(r->policy_name, sizeof(r->policy_name), "%.*s", (int)sizeof(info.name) - 1,
		 info.name);
}

/* What `policy` holds depends on the type: a policy id (policy events), a
 * service id (limit refusals), 1 + a service id (connection events). */
static void flow_record(void *ctx, const struct sl_event *ev, struct sl_flowrec *r)
{
	struct sl_events *e = ctx;

	memset(r, 0, sizeof(*r));
	r->time_ms = wall_ms(ev->ts_ns);
	r->type = ev->type;
	r->reporter = ev->reporter;
	r->at = ev->at;
	r->proto = ev->proto;
	r->family = ev->family;
	flow_end(e->maps, &ev->src, ev->family, ev->src_port, ev->src_identity, &r->src);
	flow_end(e->maps, &ev->dst, ev->family, ev->dst_port, ev->dst_identity, &r->dst);
	if (ev->type <= SL_EVENT_AUDIT)
		flow_policy(e->maps, ev, r);
	else if (ev->type <= SL_EVENT_POOL_FULL)
		flow_service(e->maps, ev->policy, r);
	else if (ev->policy)
		flow_service(e->maps, ev->policy - 1, r);
	r->rule = ev->rule;
	r->sent_bytes = ev->sent_bytes;
	r->received_bytes = ev->received_bytes;
	r->duration_ms = ev->duration_ms;
	r->rtt_us = ev->rtt_us;
	r->redirected = ev->redirected;
}

static int on_event(void *ctx, void *data, size_t size)
{
	static const char *const what[] = { "?", "denied", "would deny (dry-run)",
					    "audited" };
	struct sl_events *e = ctx;
	const struct sl_event *ev = data;
	char src[SL_ADDR_STR_LEN], dst[SL_ADDR_STR_LEN], sid[340], did[340], pol[400];
	int64_t now = sl_mono_ms();

	if (size < sizeof(*ev))
		return 0;
	if (e->flows && sl_flow_verdict_of(ev->type) >= 0)
		sl_flowlog_add_event(e->flows, ev);
	/* Connection events are the flow log's, not the agent log's. */
	if (ev->type == SL_EVENT_OPEN || ev->type == SL_EVENT_CLOSE ||
	    ev->type == SL_EVENT_CONNECT_FAILED)
		return 0;
	if (now - e->window_start_ms >= 1000) {
		if (e->suppressed)
			sl_info("policy: %llu more events not logged in the last second",
				(unsigned long long)e->suppressed);
		e->window_start_ms = now;
		e->logged_in_window = 0;
		e->suppressed = 0;
	}
	if (e->logged_in_window++ >= SL_EVENTS_LOG_PER_SEC) {
		e->suppressed++;
		return 0;
	}
	if (ev->type == SL_EVENT_RATE_LIMITED || ev->type == SL_EVENT_POOL_FULL) {
		log_limit(e->maps, ev);
		return 0;
	}
	if (ev->type == SL_EVENT_EJECT) {
		log_eject(e->maps, ev);
		return 0;
	}
	if (ev->src_port)
		sl_ip_port_format(&ev->src, ev->family, ev->src_port, src, sizeof(src));
	else
		sl_ip_format(&ev->src, ev->family, src, sizeof(src));
	sl_ip_port_format(&ev->dst, ev->family, ev->dst_port, dst, sizeof(dst));
	identity_name(e->maps, ev->src_identity, sid, sizeof(sid));
	identity_name(e->maps, ev->dst_identity, did, sizeof(did));
	policy_name(e->maps, ev->policy, ev->rule, pol, sizeof(pol));
	sl_info("policy: %s %s %s (%s) -> %s (%s) at %s by %s",
		ev->type < 4 ? what[ev->type] : "?", sl_proto_name(ev->proto), src, sid,
		dst, did, ev->at == SL_AT_EGRESS ? "egress" : "ingress", pol);
	return 0;
}

int sl_events_open(struct sl_events *e, struct sl_maps *maps, struct sl_flowlog *flows,
		   struct sl_err *err)
{
	memset(e, 0, sizeof(*e));
	e->maps = maps;
	e->flows = flows;
	if (flows) {
		flows->resolve = flow_record;
		flows->resolve_ctx = e;
	}
	e->rb = ring_buffer__new(maps->events, on_event, e, NULL);
	if (!e->rb)
		return sl_errf(err, "opening sluice_events: %s", strerror(errno));
	return 0;
}

int sl_events_fd(const struct sl_events *e)
{
	return ring_buffer__epoll_fd(e->rb);
}

void sl_events_drain(struct sl_events *e)
{
	ring_buffer__consume(e->rb);
}

void sl_events_close(struct sl_events *e)
{
	ring_buffer__free(e->rb);
	e->rb = NULL;
}
