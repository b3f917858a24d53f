// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "kobj.h"
#include "kube.h"
#include "log.h"
#include "sys.h"

/* Items per list page: the page's json-c tree (39 KB per EndpointSlice
 * of 10 endpoints, 19.5 MB a page of 500) is held while its items are
 * decoded; pages of 500 left 13.8 MB of heap between the objects kept. */
#define PAGE_LIMIT 100
/* The server ends a watch after timeoutSeconds; a random one spreads the
 * reconnects of thousands of nodes, as client-go does (5-10 minutes). */
#define WATCH_MIN_S 300
#define BACKOFF_FIRST_MS 250
#define BACKOFF_MAX_MS 30000
/* A resource not served (CRD not installed) is looked for this often. */
#define ABSENT_RETRY_MS 60000
#define LIST_TIMEOUT_S 60L
#define MAX_LINE (64u << 20)

static const char *const core_v1[] = { "v1", NULL };
static const char *const istio_versions[] = { "v1", "v1beta1", NULL };
static const char *const sluice_v1alpha1[] = { "v1alpha1", NULL };

static const struct sl_kube_resource resources[] = {
	{ "", core_v1, "services", "Service", false, false },
	{ "discovery.k8s.io", core_v1, "endpointslices", "EndpointSlice", false, false },
	{ "", core_v1, "pods", "Pod", false, false },
	{ "networking.istio.io", istio_versions, "serviceentries", "ServiceEntry", true, false },
	{ "networking.istio.io", istio_versions, "workloadentries", "WorkloadEntry", true, false },
	{ "networking.istio.io", istio_versions, "destinationrules", "DestinationRule", true, false },
	{ "networking.istio.io", istio_versions, "virtualservices", "VirtualService", true, false },
	{ "security.istio.io", istio_versions, "authorizationpolicies", "AuthorizationPolicy",
	  true, false },
	{ "sluice.dev", sluice_v1alpha1, "trafficlimits", "TrafficLimit", true, false },
	{ "", core_v1, "nodes", "Node", false, true },
};

/* "apiVersion" of a resource's served version. */
void sl_kube_api_version(const struct sl_kube_watch *w, char *buf, size_t len)
{
	const char *v = w->res->versions[w->version];

	if (w->res->group[0])
		snprintf(buf, len, "%s/%s", w->res->group, v);
	else
		snprintf(buf, len, "%s", v);
}

static void collection_url(struct sl_kube *k, const struct sl_kube_watch *w, char *buf,
			   size_t len)
{
	char api[128];

	sl_kube_api_version(w, api, sizeof(api));
	snprintf(buf, len, "%s/%s%s/%s", k->kc.server, w->res->group[0] ? "apis/" : "api/",
		 api, w->res->plural);
}

static size_t on_data(char *data, size_t size, size_t n, void *arg);

/* "&fieldSelector=metadata.name=NODE" for the Node's watch, escaped. */
static void node_selector(const struct sl_kube *k, const struct sl_kube_watch *w, char *url,
			  size_t len)
{
	char *p;
	size_t off = strlen(url);

	if (!w->res->node)
		return;
	p = curl_easy_escape(NULL, k->node_name, 0);
	snprintf(url + off, len - off, "&fieldSelector=metadata.name%%3D%s", p ? p : "");
	curl_free(p);
}

static void start_list(struct sl_kube *k, struct sl_kube_watch *w)
{
	char url[4096], *p;
	size_t off;

	collection_url(k, w, url, sizeof(url));
	off = strlen(url);
	snprintf(url + off, sizeof(url) - off, "?limit=%d", PAGE_LIMIT);
	node_selector(k, w, url, sizeof(url));
	off = strlen(url);
	if (w->cont) {
		p = curl_easy_escape(NULL, w->cont, 0);
		snprintf(url + off, sizeof(url) - off, "&continue=%s", p);
		curl_free(p);
	} else {
		/* A new list: what it does not hold is gone (sweep at the end);
		 * the Node is not kept in the store. */
		if (w->res->node)
			k->node_listed = false;
		else
			sl_kstore_mark(&k->store, w->index);
		w->n_lists++;
	}
	w->phase = SL_KUBE_LISTING;
	sl_kube_request(k, w, url, LIST_TIMEOUT_S, on_data);
}

static void start_watch(struct sl_kube *k, struct sl_kube_watch *w)
{
	int timeout = WATCH_MIN_S + rand() % WATCH_MIN_S;
	char url[4096];
	size_t off;

	collection_url(k, w, url, sizeof(url));
	off = strlen(url);
	snprintf(url + off, sizeof(url) - off,
		 "?watch=true&allowWatchBookmarks=true&resourceVersion=%s"
		 "&timeoutSeconds=%d", w->rv ? w->rv : "", timeout);
	node_selector(k, w, url, sizeof(url));
	w->phase = SL_KUBE_WATCHING;
	w->gone = false;
	w->events_at_start = w->n_events;
	sl_kube_request(k, w, url, timeout + 60L, on_data);
}

static void back_off(struct sl_kube_watch *w, enum sl_kube_phase then)
{
	unsigned int jitter;

	w->backoff_ms = w->backoff_ms ? w->backoff_ms * 2 : BACKOFF_FIRST_MS;
	if (w->backoff_ms > BACKOFF_MAX_MS)
		w->backoff_ms = BACKOFF_MAX_MS;
	jitter = (unsigned int)rand() % (w->backoff_ms / 4 + 1);
	w->retry_at = sl_mono_ms() + w->backoff_ms + jitter;
	/* A server that says when (429, 503) is taken at its word. */
	if (w->retry_after_s > 0 && w->retry_after_s < 3600 &&
	    w->retry_at < sl_mono_ms() + w->retry_after_s * 1000)
		w->retry_at = sl_mono_ms() + w->retry_after_s * 1000;
	w->phase = SL_KUBE_BACKOFF;
	w->retry = then;
}

static void begin(struct sl_kube *k, struct sl_kube_watch *w, enum sl_kube_phase what)
{
	if (what == SL_KUBE_WATCHING && w->rv)
		start_watch(k, w);
	else
		start_list(k, w);
}

/* ---- what the server sends ---- */

static const char *status_message(struct json_object *status, long *code)
{
	struct json_object *v;

	*code = json_object_object_get_ex(status, "code", &v) ? json_object_get_int(v) : 0;
	return json_object_object_get_ex(status, "message", &v) ? json_object_get_string(v) :
								   "(no message)";
}

/* One line of a watch: an event. Returns -1 to end the watch. */
static int watch_event(struct sl_kube *k, struct sl_kube_watch *w, const char *line)
{
	struct json_object *ev = json_tokener_parse(line), *type_v, *obj;
	const char *type, *rv;
	long code;
	int ret = 0;

	if (!ev || !json_object_object_get_ex(ev, "type", &type_v) ||
	    !json_object_object_get_ex(ev, "object", &obj)) {
		sl_error("kubernetes: %s watch: not an event: %.200s", w->res->plural, line);
		json_object_put(ev);
		return -1;
	}
	type = json_object_get_string(type_v);
	w->n_events++;
	if (!strcmp(type, "ERROR")) {
		const char *msg = status_message(obj, &code);

		w->gone = code == 410;
		if (w->gone)
			sl_info("kubernetes: %s: %s; listing again", w->res->plural, msg);
		else
			sl_error("kubernetes: %s watch: error %ld: %s", w->res->plural, code, msg);
		ret = -1;
	} else if (!strcmp(type, "ADDED") || !strcmp(type, "MODIFIED") ||
		   !strcmp(type, "DELETED")) {
		sl_kube_object(k, w, type, obj);
	} else if (strcmp(type, "BOOKMARK")) {
		sl_warn("kubernetes: %s watch: unknown event type %s", w->res->plural, type);
	}
	/* Every event moves the position on, bookmarks included. */
	rv = sl_kobj_meta(obj, "resourceVersion");
	if (rv && ret == 0)
		sl_xstrset(&w->rv, rv);
	json_object_put(ev);
	return ret;
}

static size_t on_data(char *data, size_t size, size_t n, void *arg)
{
	struct sl_kube_watch *w = arg;
	struct sl_kube *k = w->kube;
	size_t len = size * n;
	long code = 0;
	char *nl;

	sl_kube_buf_add(&w->body, data, len);
	if (w->body.len > MAX_LINE)
		return 0;
	curl_easy_getinfo(w->easy, CURLINFO_RESPONSE_CODE, &code);
	if (w->phase != SL_KUBE_WATCHING || code != 200)
		return len;	/* a list page or an error: read whole */
	while ((nl = memchr(w->body.data, '\n', w->body.len))) {
		size_t line = (size_t)(nl - w->body.data) + 1;

		*nl = '\0';
		if (line > 1 && watch_event(k, w, w->body.data) < 0)
			return 0;	/* aborts the transfer */
		memmove(w->body.data, w->body.data + line, w->body.len - line);
		w->body.len -= line;
	}
	return len;
}

/* A whole list page: its items into the store. Returns the page's
 * continue token (NULL on the last page) or sets *bad. */
static char *list_page(struct sl_kube *k, struct sl_kube_watch *w, bool *bad)
{
	struct json_object *list = w->body.len ? json_tokener_parse(w->body.data) : NULL;
	struct json_object *items;
	const char *rv, *cont;
	char *next = NULL;

	*bad = !list || !json_object_object_get_ex(list, "items", &items) ||
	       !json_object_is_type(items, json_type_array);
	if (*bad) {
		sl_error("kubernetes: list %s: not a list: %.200s", w->res->plural,
			 w->body.data ? w->body.data : "");
		json_object_put(list);
		return NULL;
	}
	/* Each item freed once kept: the objects kept take the place of
	 * the text they came from, not a place of their own beyond it. */
	for (size_t i = 0; i < json_object_array_length(items); i++) {
		sl_kube_object(k, w, NULL, json_object_array_get_idx(items, i));
		json_object_array_put_idx(items, i, NULL);
	}
	rv = sl_kobj_meta(list, "resourceVersion");
	cont = sl_kobj_meta(list, "continue");
	if (rv)
		sl_xstrset(&w->rv, rv);
	if (cont && cont[0])
		next = sl_xstrdup(cont);
	json_object_put(list);
	return next;
}

static void list_done(struct sl_kube *k, struct sl_kube_watch *w)
{
	size_t gone = w->res->node ? 0 : sl_kstore_sweep(&k->store, w->index);

	if (gone)
		sl_kube_changed(k);
	/* The Node went while no watch saw it go. */
	if (w->res->node && !k->node_listed)
		sl_kube_node_gone(k);
	if (!w->synced)
		sl_info("kubernetes: %s listed (resourceVersion %s)", w->res->plural,
			w->rv ? w->rv : "?");
	/* A page of 500 objects can take megabytes; a watch's lines do not. */
	free(w->body.data);
	w->body = (struct sl_kube_buf){ 0 };
	w->synced = true;
	w->backoff_ms = 0;
	start_watch(k, w);
}

/* Not served: the next version, or absent (and nothing of it kept). */
static void not_served(struct sl_kube *k, struct sl_kube_watch *w, long code)
{
	if (w->res->versions[w->version + 1]) {
		w->version++;
		sl_xstrset(&w->cont, NULL);
		start_list(k, w);
		return;
	}
	w->version = 0;
	sl_xstrset(&w->cont, NULL);
	if (!w->res->optional) {
		sl_error("kubernetes: %s: HTTP %ld; retrying", w->res->plural, code);
		back_off(w, SL_KUBE_LISTING);
		return;
	}
	if (!w->absent)
		sl_info("kubernetes: %s not served (HTTP %ld: CRD not installed or not "
			"readable): none applied, looked for again every %d s", w->res->plural,
			code, ABSENT_RETRY_MS / 1000);
	sl_kstore_mark(&k->store, w->index);
	if (sl_kstore_sweep(&k->store, w->index))
		sl_kube_changed(k);
	sl_xstrset(&w->rv, NULL);
	w->absent = true;
	w->synced = true;
	w->phase = SL_KUBE_ABSENT;
	w->retry = SL_KUBE_LISTING;
	w->retry_at = sl_mono_ms() + ABSENT_RETRY_MS;
}

/* The Status of a failed request, for the log. */
static const char *failure(struct sl_kube_watch *w, CURLcode res, long code, char *buf,
			   size_t len)
{
	struct json_object *st;
	long status_code;

	if (res != CURLE_OK && res != CURLE_WRITE_ERROR)
		return curl_easy_strerror(res);
	st = w->body.len ? json_tokener_parse(w->body.data) : NULL;
	snprintf(buf, len, "HTTP %ld: %s", code,
		 st ? status_message(st, &status_code) : "(no Status)");
	json_object_put(st);
	return buf;
}

static void list_finished(struct sl_kube *k, struct sl_kube_watch *w, CURLcode res, long code)
{
	char why[512];
	bool bad;

	if (res == CURLE_OK && (code == 404 || (code == 403 && w->res->optional))) {
		not_served(k, w, code);
		return;
	}
	if (res == CURLE_OK && code == 410 && w->cont) {
		/* The continue token expired: the list starts over. */
		sl_xstrset(&w->cont, NULL);
		start_list(k, w);
		return;
	}
	if (res != CURLE_OK || code != 200) {
		sl_error("kubernetes: list %s: %s", w->res->plural,
			 failure(w, res, code, why, sizeof(why)));
		w->n_errors++;
		sl_xstrset(&w->cont, NULL);
		back_off(w, SL_KUBE_LISTING);
		return;
	}
	w->absent = false;
	free(w->cont);
	w->cont = list_page(k, w, &bad);
	if (bad) {
		w->n_errors++;
		back_off(w, SL_KUBE_LISTING);
	} else if (w->cont) {
		start_list(k, w);
	} else {
		list_done(k, w);
	}
}

static void watch_finished(struct sl_kube *k, struct sl_kube_watch *w, CURLcode res, long code)
{
	bool quiet = w->n_events == w->events_at_start;
	char why[512];

	if (w->gone || (res == CURLE_OK && code == 410)) {
		sl_xstrset(&w->rv, NULL);
		start_list(k, w);
		return;
	}
	if (res == CURLE_OK && code == 404) {
		not_served(k, w, code);
		return;
	}
	/* The server's timeoutSeconds: resume at once, unless it keeps
	 * ending watches as soon as they start. */
	if (res == CURLE_OK && code == 200 && (!quiet || sl_mono_ms() - w->started_at > 1000)) {
		w->backoff_ms = 0;
		start_watch(k, w);
		return;
	}
	if (res != CURLE_OK || code != 200)
		sl_warn("kubernetes: watch %s: %s; resuming from resourceVersion %s",
			w->res->plural, failure(w, res, code, why, sizeof(why)),
			w->rv ? w->rv : "?");
	w->n_errors++;
	if (!quiet)
		w->backoff_ms = 0;
	back_off(w, SL_KUBE_WATCHING);
}

static void finished(struct sl_kube *k, CURL *e, CURLcode res)
{
	struct sl_kube_watch *w = NULL;
	long code = 0;

	curl_off_t retry_after = 0;

	curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&w);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_getinfo(e, CURLINFO_RETRY_AFTER, &retry_after);
	w->retry_after_s = (long)retry_after;
	curl_multi_remove_handle(k->multi, e);
	curl_easy_cleanup(e);
	curl_slist_free_all(w->headers);
	w->headers = NULL;
	w->easy = NULL;
	if (w->phase == SL_KUBE_LISTING)
		list_finished(k, w, res, code);
	else
		watch_finished(k, w, res, code);
}

/* ---- the agent's side ---- */

int sl_kube_init(struct sl_kube *k, const char *kubeconfig, const char *node_name,
		 struct sl_err *err)
{
	memset(k, 0, sizeof(*k));
	k->curl_due = -1;
	k->node_name = node_name;
	sl_strtab_init(&k->texts, SL_KUBE_TEXTS_MAX);
	if (curl_global_init(CURL_GLOBAL_DEFAULT))
		return sl_errf(err, "libcurl: cannot initialise");
	if (sl_kubeconfig_load(kubeconfig, NULL, &k->kc, err) < 0 ||
	    sl_kstore_init(&k->store, err) < 0 || sl_kube_http_init(k, err) < 0) {
		sl_kube_free(k);
		return -1;
	}
	srand((unsigned int)(time(NULL) ^ getpid()));
	for (size_t i = 0; i < sizeof(resources) / sizeof(resources[0]); i++) {
		struct sl_kube_watch *w = &k->watches[k->n_watches];

		if (resources[i].node && !node_name)
			continue;
		w->kube = k;
		w->res = &resources[i];
		w->index = (unsigned int)k->n_watches++;
		start_list(k, w);
	}
	k->kind_pod = sl_kube_kind_index(k, "Pod");
	k->kind_slice = sl_kube_kind_index(k, "EndpointSlice");
	k->kind_service = sl_kube_kind_index(k, "Service");
	k->kind_policy = sl_kube_kind_index(k, "AuthorizationPolicy");
	sl_info("kubernetes: watching %zu resources on %s (%s)", k->n_watches, k->kc.server,
		k->kc.origin);
	return 0;
}

void sl_kube_free(struct sl_kube *k)
{
	for (size_t i = 0; i < k->n_watches; i++) {
		struct sl_kube_watch *w = &k->watches[i];

		if (w->easy) {
			curl_multi_remove_handle(k->multi, w->easy);
			curl_easy_cleanup(w->easy);
		}
		curl_slist_free_all(w->headers);
		free(w->body.data);
		free(w->rv);
		free(w->cont);
	}
	if (k->multi)
		curl_multi_cleanup(k->multi);
	if (k->store.buckets)
		sl_kstore_free(&k->store);
	sl_strtab_free(&k->texts);	/* after the objects that point into it */
	sl_kubeconfig_free(&k->kc);
	free(k->token);
	sl_kube_delta_reset(k);
	free(k->delta_services);
	sl_kube_bare_free(k);
	curl_global_cleanup();
	memset(k, 0, sizeof(*k));
}

int sl_kube_timeout(struct sl_kube *k, int timeout)
{
	int64_t now = sl_mono_ms(), due = k->curl_due;

	for (size_t i = 0; i < k->n_watches; i++) {
		const struct sl_kube_watch *w = &k->watches[i];

		if ((w->phase == SL_KUBE_BACKOFF || w->phase == SL_KUBE_ABSENT) &&
		    (due < 0 || w->retry_at < due))
			due = w->retry_at;
	}
	if (due < 0)
		return timeout;
	if (due <= now)
		return 0;
	return timeout >= 0 && timeout < due - now ? timeout : (int)(due - now);
}

void sl_kube_run(struct sl_kube *k, const struct pollfd *fds, size_t n)
{
	struct CURLMsg *msg;
	int running, left;

	for (size_t i = 0; i < n; i++) {
		int mask = 0;

		if (!fds[i].revents)
			continue;
		if (fds[i].revents & POLLIN)
			mask |= CURL_CSELECT_IN;
		if (fds[i].revents & POLLOUT)
			mask |= CURL_CSELECT_OUT;
		if (fds[i].revents & (POLLERR | POLLHUP))
			mask |= CURL_CSELECT_ERR;
		curl_multi_socket_action(k->multi, fds[i].fd, mask, &running);
	}
	if (k->curl_due >= 0 && sl_mono_ms() >= k->curl_due) {
		k->curl_due = -1;
		curl_multi_socket_action(k->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	}
	while ((msg = curl_multi_info_read(k->multi, &left)))
		if (msg->msg == CURLMSG_DONE)
			finished(k, msg->easy_handle, msg->data.result);
	for (size_t i = 0; i < k->n_watches; i++) {
		struct sl_kube_watch *w = &k->watches[i];

		if ((w->phase == SL_KUBE_BACKOFF || w->phase == SL_KUBE_ABSENT) &&
		    sl_mono_ms() >= w->retry_at)
			begin(k, w, w->retry);
	}
}

const struct sl_kube_watch *sl_kube_waiting(const struct sl_kube *k)
{
	for (size_t i = 0; i < k->n_watches; i++)
		if (!k->watches[i].synced)
			return &k->watches[i];
	return NULL;
}

bool sl_kube_synced(const struct sl_kube *k)
{
	return !sl_kube_waiting(k);
}

void sl_kube_latency(struct sl_kube *k, double seconds)
{
	size_t i = 0;

	while (i + 1 < SL_KUBE_LATENCY_BUCKETS &&
	       seconds >= (double)(1u << i) * SL_KUBE_LATENCY_UNIT_S)
		i++;
	k->latency[i]++;
	k->latency_sum_s += seconds;
}
