/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The desired state: every frontend (VIP, port, protocol) with the
 * endpoints it balances over, built from the decoded configuration. Owns
 * its memory, so it outlives the configuration it came from.
 */
#ifndef SLUICE_MODEL_H
#define SLUICE_MODEL_H

#include <stdbool.h>
#include <stdint.h>
#include <sluice/abi.h>

#include "arena.h"
#include "config.h"
#include "err.h"

/* 56 bytes: one per endpoint of every frontend, 100,000 of
 * them at scale in the model kept. */
struct sl_model_member {
	struct sl_ip ip;
	uint16_t port;		/* host order */
	uint8_t proto;
	bool usable;		/* receives new connections */
	uint32_t weight;	/* >= 1 */
	uint16_t flags;		/* SL_MEMBER_F_* */
	bool zone_only;		/* locality is an EndpointSlice zone */
	uint32_t tier;		/* locality priority, 0: preferred (model_locality.c) */
	/* The endpoint's labels, for subsets; valid only while the model is
	 * built (they belong to the configuration), NULL afterwards. */
	uint32_t n_labels;
	const char *locality;
	const struct sl_label *labels;
};

struct sl_frontend {
	struct sl_svc_key key;
	const char *namespace;
	const char *name;
	const char *port_name;
	const char *host;	/* a ServiceEntry's first spec.hosts, else NULL */
	uint32_t kind;		/* SL_KIND_* */
	uint32_t flags;		/* SL_SVC_F_* */
	uint32_t max_conn;	/* DestinationRule maxConnections, 0: none */
	uint32_t idle_ms;	/* ... idleTimeout, 0: none */
	uint32_t max_age_ms;	/* ... maxConnectionDuration, 0: none */
	uint32_t maglev_size;	/* ... consistentHash table size (prime) */
	uint16_t ka_time_s;	/* ... tcpKeepalive, 0: none */
	uint16_t ka_interval_s;
	uint32_t ka_probes;
	uint32_t eject_after;	/* ... outlierDetection, 0: none */
	uint32_t eject_ms;
	uint32_t eject_max_pct;	/* ... maxEjectionPercent */
	uint32_t min_health_pct;	/* ... minHealthPercent, 0: off */
	uint32_t connect_ms;	/* ... connectTimeout, 0: the kernel's */
	uint32_t conn_rate;	/* TrafficLimit connectionsPerSecond, 0: none */
	uint32_t conn_burst;
	const struct sl_traffic_limit *limit;	/* that set them */
	/* With SL_SVC_F_LIMIT_SOURCES: the client addresses the rate limit
	 * applies to (shared by the limit's frontends). */
	const struct sl_ip *limit_src;
	size_t n_limit_src;
	struct sl_loc loc;	/* of the resource that defines it */
	/* Its DestinationRule, valid only while the model is built (it
	 * belongs to the configuration), NULL afterwards. */
	const struct sl_destination_rule *dr;
	struct sl_model_member *members;	/* sorted by address, port */
	size_t n_members;
};

/* A workload address with a bandwidth limit; both ways in bits per
 * second, 0: none. The lower one wins when several sources set one. */
struct sl_bw_limit {
	struct sl_ip ip;
	uint64_t egress_bps;
	uint64_t ingress_bps;
	const char *egress_from;	/* "Pod ns/name", "TrafficLimit ns/name" */
	const char *ingress_from;
};

struct sl_model {
	struct sl_arena arena;
	struct sl_frontend *fe;	/* sorted by key */
	size_t n_fe, cap_fe;
	size_t n_members;	/* over all frontends */
	struct sl_bw_limit *bw;	/* sorted by address */
	size_t n_bw, cap_bw;
	size_t n_replaced;	/* members left in the arena by sl_model_patch */
};

struct sl_locality;

int sl_model_build(const struct sl_config *cfg, struct sl_model *model,
		   struct sl_err *err);
/* The same, for a node at locality `node` (NULL: unknown, and locality
 * load balancing has no effect). */
int sl_model_build_at(const struct sl_config *cfg, const struct sl_locality *node,
		      struct sl_model *model, struct sl_err *err);
void sl_model_free(struct sl_model *model);

/* Part of sl_model_build (model_routes.c): VirtualService tcp routes turn
 * a frontend's members into the weighted union of its destinations'
 * endpoints (DestinationRule subsets selecting by label). */
int sl_model_apply_routes(struct sl_model *m, const struct sl_config *cfg,
			  struct sl_err *err);

/* Part of sl_model_build (model_limits.c): bandwidth limits of workloads
 * from Pod annotations and TrafficLimits, after routes and limits. */
int sl_model_apply_bandwidth(struct sl_model *m, const struct sl_config *cfg,
			     struct sl_err *err);

/* Part of sl_model_build (model_locality.c): DestinationRule
 * localityLbSetting turns the members' localities, seen from the node,
 * into weights (distribute) or priorities (failover). */
void sl_model_apply_locality(struct sl_model *m, const struct sl_config *cfg,
			     const struct sl_locality *node);

/* The client addresses a TrafficLimit's spec.sources match (model_limits.c),
 * in the model's arena. */
const struct sl_ip *sl_model_limit_sources(struct sl_model *m, const struct sl_config *cfg,
					   const struct sl_traffic_limit *tl, size_t *n);

/* Parts of sl_model_build (model.c): the frontends of cfg's Services with
 * their EndpointSlices' endpoints, appended unsorted; the frontends
 * sorted by key; labels and rules forgotten (they belong to cfg). */
void sl_model_add_services(struct sl_model *m, const struct sl_config *cfg);
void sl_model_sort(struct sl_model *m);
void sl_model_forget_labels(struct sl_model *m);

/* Part of sl_model_apply_routes (model_routes.c): each DestinationRule's
 * policy on its service's frontends. */
void sl_model_apply_pools(struct sl_model *m, const struct sl_config *cfg);
/* Does host, written in namespace ns, name the service svc_ns/svc_name
 * (Istio's resolution, ServiceEntries of cfg first)? */
bool sl_model_host_is(struct sl_model *m, const struct sl_config *cfg, const char *host,
		      const char *ns, const char *svc_ns, const char *svc_name);

/* The frontends of the Services in part whose EndpointSlices alone
 * changed, exactly as a full build would make them, with what no
 * EndpointSlice decides (limits) taken from prev, the model in force
 * (model_delta.c). part holds those Services with every EndpointSlice of
 * theirs, and every DestinationRule, VirtualService and ServiceEntry.
 * 1: *out holds just those frontends, sorted; 0: the change reaches
 * beyond them (a route to or from one of them, frontends that differ
 * from prev's) and only a full build is exact. */
int sl_model_delta(const struct sl_model *prev, const struct sl_config *part,
		   const struct sl_locality *node, struct sl_model *out);
/* Replaces prev's frontends by delta's (same keys), members copied into
 * prev's arena. */
void sl_model_patch(struct sl_model *prev, const struct sl_model *delta);

/* Do two models give the same frontends, members and localities? If not,
 * where names the first difference. */
bool sl_model_same(const struct sl_model *a, const struct sl_model *b, char *where,
		   size_t len);

/* Part of sl_model_build (model_compact.c): the model copied into an arena
 * of exact sizes, as the applier keeps it until the next apply. */
void sl_model_compact(struct sl_model *m);

int sl_svc_key_cmp(const struct sl_svc_key *a, const struct sl_svc_key *b);
/* Do two frontends give the same map entries (service, members, slots)?
 * Members' localities are not compared: they label backends, not the
 * frontend. */
bool sl_frontend_same(const struct sl_frontend *a, const struct sl_frontend *b);
int sl_member_cmp(const struct sl_model_member *a,
		  const struct sl_model_member *b);

#endif
