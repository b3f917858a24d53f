/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The Kubernetes source: lists, then watches, every resource Sluice
 * applies (Services, EndpointSlices, Pods, the Istio kinds, TrafficLimits)
 * and this node's Node, over libcurl driven by the agent's poll loop.
 *
 * Each resource keeps its position (resourceVersion): a watch that ends
 * resumes from it, bookmarks move it on, a 410 Gone (position compacted
 * away) lists again, replacing that resource's objects in one sweep, and
 * failures retry with exponential backoff. Objects are decoded once as
 * they arrive (kstore.h); nothing is applied until every resource has been
 * listed once, so a restarted agent never applies a partial view (which
 * would remove endpoints and reset their connections).
 */
#ifndef SLUICE_KUBE_H
#define SLUICE_KUBE_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <curl/curl.h>
#include <json-c/json.h>

#include "authz_maps.h"
#include "err.h"
#include "kstore.h"
#include "strtab.h"
#include "kubeconfig.h"
#include "locality.h"

#define SL_KUBE_POLLFDS 24
#define SL_KUBE_RESOURCES 10
#define SL_KUBE_LATENCY_BUCKETS 20
#define SL_KUBE_LATENCY_UNIT_S 1e-4

enum sl_kube_phase {
	SL_KUBE_LISTING,
	SL_KUBE_WATCHING,
	SL_KUBE_BACKOFF,	/* waiting to retry */
	SL_KUBE_ABSENT,		/* not served (a CRD not installed): looked for again later */
};

struct sl_kube_buf {
	char *data;
	size_t len, cap;
};

struct sl_kube;

struct sl_kube_watch {
	struct sl_kube *kube;
	const struct sl_kube_resource *res;
	unsigned int index;
	unsigned int version;		/* which of res->versions is served */
	enum sl_kube_phase phase;
	enum sl_kube_phase retry;	/* what to do when the backoff is over */
	CURL *easy;			/* the request in flight, or NULL */
	struct curl_slist *headers;
	struct sl_kube_buf body;	/* a list page, or a watch's unfinished line */
	char *rv;			/* position: the last resourceVersion seen */
	char *cont;			/* the next list page's continue token */
	bool synced;			/* listed once */
	bool gone;			/* the watch said 410: list again */
	bool absent;			/* last seen not served */
	int64_t retry_at;		/* ms, monotonic */
	int64_t started_at;
	unsigned int backoff_ms;
	uint64_t n_events, n_lists, n_errors;
	uint64_t events_at_start;	/* n_events when the watch began */
	unsigned int bytes_per_node;	/* decoded size estimate (kobj.h) */
	long retry_after_s;		/* the server's Retry-After, 0: none */
};

#define SL_KUBE_TEXTS_MAX (4u << 20)

struct sl_kube {
	struct sl_kubeconfig kc;
	const char *node_name;		/* NULL: no Node watched */
	CURLM *multi;
	struct sl_kube_watch watches[SL_KUBE_RESOURCES];
	size_t n_watches;
	struct sl_kstore store;
	/* Label keys and values the store's objects share (strtab.h), at
	 * most SL_KUBE_TEXTS_MAX bytes: 20,000 pods' labels repeat. */
	struct sl_strtab texts;
	bool texts_full_said;
	struct pollfd socks[SL_KUBE_POLLFDS];
	size_t n_socks;
	int64_t curl_due;		/* libcurl's timer, ms monotonic, -1: none */
	char *token;			/* bearer token in use */
	int64_t token_at;
	/* For the agent: */
	/* The store's kinds the source looks at itself (SL_KSTORE_KINDS: not
	 * watched). */
	unsigned int kind_pod, kind_slice, kind_service, kind_policy;
	bool changed;			/* the store changed since last taken */
	/* What changed since then, for an apply of just that (kube_delta.c):
	 * the Services ("namespace/name") whose EndpointSlices alone
	 * changed, or full when anything else did. */
	bool delta_full;
	char **delta_services;
	size_t n_delta_services, cap_delta_services;
	/* Addresses of EndpointSlice endpoints that are no Pod of the store
	 * ("bare": authorization names them), with how many list each,
	 * sorted; rebuilt when needed after a change not noted in parts
	 * (Pods may have come or gone). And those the changes since the
	 * last apply listed or unlisted. */
	struct sl_kube_bare *bare;
	size_t n_bare, cap_bare;
	bool bare_counted;		/* else counted again when needed */
	struct sl_ip *touched;
	size_t n_touched, cap_touched;
	int64_t changed_at_ns;		/* when the oldest change not applied arrived */
	bool has_locality;		/* the Node's topology labels */
	bool node_listed;		/* the Node was in the list being taken */
	struct sl_locality locality;
	/* Pods the API places on this node (running, with an address, not
	 * hostNetwork): found in a pod network namespace, or not. */
	size_t node_pods_meshed, node_pods_missing;
	/* From a change's arrival to its apply's last map write: log2
	 * buckets of 100 us (bucket i: below 2^i * 100 us). */
	uint64_t latency[SL_KUBE_LATENCY_BUCKETS];
	double latency_sum_s;
};

/* kubeconfig NULL: in-cluster. node_name NULL: no locality, no local pods. */
int sl_kube_init(struct sl_kube *k, const char *kubeconfig, const char *node_name,
		 struct sl_err *err);
void sl_kube_free(struct sl_kube *k);
/* The sockets to poll (at most SL_KUBE_POLLFDS) and the poll timeout
 * capped by what is due. */
size_t sl_kube_pollfds(struct sl_kube *k, struct pollfd *fds);
int sl_kube_timeout(struct sl_kube *k, int timeout);
/* Moves every transfer on whose socket is ready or whose time is due. */
void sl_kube_run(struct sl_kube *k, const struct pollfd *fds, size_t n);
/* Every resource listed once (absent ones count as listed, empty). */
bool sl_kube_synced(const struct sl_kube *k);
/* The first resource not listed yet, for /readyz; NULL when synced. */
const struct sl_kube_watch *sl_kube_waiting(const struct sl_kube *k);
/* Records how long an apply took to reach the maps since its change came. */
void sl_kube_latency(struct sl_kube *k, double seconds);

struct sl_netns_watch;
/* kube_pods.c: checks the pods the API places on this node against the
 * pod network namespaces found; a pod not found for 30 s is warned about
 * once (a wrong --cgroup, or a pod outside it). */
void sl_kube_check_pods(struct sl_kube *k, const struct sl_netns_watch *n);

/* kube_http.c: the multi handle and its hooks; one request of w with the
 * kubeconfig's credentials, its data to on_data, the whole bounded by
 * timeout_s (a list page; a watch a little past its timeoutSeconds, so a
 * server that ignores it cannot hold it). */
int sl_kube_http_init(struct sl_kube *k, struct sl_err *err);
void sl_kube_request(struct sl_kube *k, struct sl_kube_watch *w, const char *url,
		     long timeout_s, curl_write_callback on_data);
void sl_kube_buf_add(struct sl_kube_buf *b, const char *data, size_t n);

/* kube.c: "apiVersion" of a watch's served version. */
void sl_kube_api_version(const struct sl_kube_watch *w, char *buf, size_t len);
/* kube_events.c: what is applied changed (a re-list swept objects); the
 * Node is gone (no locality). */
void sl_kube_changed(struct sl_kube *k);
void sl_kube_node_gone(struct sl_kube *k);
/* kube_events.c: one object of a list or watch event into the store. */
void sl_kube_object(struct sl_kube *k, struct sl_kube_watch *w, const char *type,
		    struct json_object *obj);
/* Leaves out of the next configurations the object an error of the model
 * names first (its origin); false if it names none of the store's. */
bool sl_kube_exclude(struct sl_kube *k, const char *error);

/* kube_delta.c: an EndpointSlice's change, old and new version (NULL:
 * none), noted for an apply of its Services alone; anything else marks
 * the next apply full. */
void sl_kube_slice_changed(struct sl_kube *k, const struct sl_config *old,
			   const struct sl_config *now);
void sl_kube_full_change(struct sl_kube *k);
struct sl_kube_bare {
	struct sl_ip ip;
	uint32_t count;
};

/* 1: *part holds the changed Services with every EndpointSlice of
 * theirs, and every DestinationRule, VirtualService and ServiceEntry
 * (what can name them), and *names (malloc'd) the names of bare
 * endpoints' addresses that change; 0: only a full configuration is
 * exact. */
int sl_kube_delta_config(struct sl_kube *k, struct sl_config *part,
			 struct sl_authz_name **names, size_t *n_names);
/* The store's index of a resource's kind (SL_KSTORE_KINDS: none). */
unsigned int sl_kube_kind_index(const struct sl_kube *k, const char *kind);
/* kube_bare.c: is the endpoint no Pod of the store? Its slice's bare
 * endpoints' addresses noted as listed (delta 1) or unlisted (-1); how
 * many bare endpoints list an address (counted again first if stale). */
bool sl_kube_is_bare(struct sl_kube *k, const struct sl_slice_endpoint *e);
void sl_kube_bare_note(struct sl_kube *k, const struct sl_endpoint_slice *s, int delta);
uint32_t sl_kube_bare_count(struct sl_kube *k, const struct sl_ip *ip);
void sl_kube_bare_free(struct sl_kube *k);
/* The changes were taken by an apply. */
void sl_kube_delta_reset(struct sl_kube *k);
/* The digest of the configuration assembled from the store. */
uint64_t sl_kube_digest(const struct sl_kube *k);
/* The group an EndpointSlice is kept in: its Service's "namespace/name". */
const char *sl_kube_slice_group(const struct sl_config *cfg, char *buf, size_t len);

struct sl_kube_resource {
	const char *group;		/* "" for the core group */
	const char *const *versions;	/* tried in order while not served */
	const char *plural;
	const char *kind;
	bool optional;			/* a CRD: may not be installed */
	bool node;			/* this node's Node, not configuration */
};

#endif
