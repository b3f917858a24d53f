// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "addr.h"
#include "events.h"
#include "log.h"

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

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

static int on_event(void *ctx, void *data, size_t size)
{
	static const char *const what[] = { "?", "denied", "would deny (dry-run)",
					    "audited" };
	struct sl_events *e = ctx;
	const struct sl_event *ev = data;
	char src[SL_ADDR_STR_LEN], dst[SL_ADDR_STR_LEN], sid[340], did[340], pol[400];
	int64_t now = mono_ms();

	if (size < sizeof(*ev))
		return 0;
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

int sl_events_open(struct sl_events *e, struct sl_maps *maps, struct sl_err *err)
{
	memset(e, 0, sizeof(*e));
	e->maps = maps;
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
