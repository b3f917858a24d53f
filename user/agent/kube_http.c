// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The Kubernetes source's HTTP: libcurl's multi-socket interface driven by
 * the agent's poll loop (its sockets and timer handed to poll), requests
 * with the kubeconfig's TLS and bearer token (re-read as it rotates).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kube.h"
#include "log.h"
#include "sys.h"

#define TOKEN_REREAD_MS 60000


static void buf_reset(struct sl_kube_buf *b)
{
	b->len = 0;
}

void sl_kube_buf_add(struct sl_kube_buf *b, const char *data, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;

		while (cap < b->len + n + 1)
			cap *= 2;
		b->data = sl_xrealloc(b->data, cap);
		b->cap = cap;
	}
	memcpy(b->data + b->len, data, n);
	b->len += n;
	b->data[b->len] = '\0';
}

/* ---- libcurl's event hooks ---- */

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct sl_kube *k = userp;
	size_t i;

	(void)easy;
	(void)socketp;
	for (i = 0; i < k->n_socks && k->socks[i].fd != fd; i++)
		;
	if (what == CURL_POLL_REMOVE) {
		if (i < k->n_socks)
			k->socks[i] = k->socks[--k->n_socks];
		return 0;
	}
	if (i == k->n_socks) {
		if (k->n_socks == SL_KUBE_POLLFDS) {
			sl_error("kubernetes: more than %d sockets", SL_KUBE_POLLFDS);
			return -1;
		}
		k->n_socks++;
	}
	k->socks[i].fd = fd;
	k->socks[i].events = (short)(((what & CURL_POLL_IN) ? POLLIN : 0) |
				     ((what & CURL_POLL_OUT) ? POLLOUT : 0));
	return 0;
}

static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct sl_kube *k = userp;

	(void)multi;
	k->curl_due = timeout_ms < 0 ? -1 : sl_mono_ms() + timeout_ms;
	return 0;
}

/* ---- requests ---- */

static void refresh_token(struct sl_kube *k)
{
	struct sl_err err;
	char *t;

	if (k->token && sl_mono_ms() - k->token_at < TOKEN_REREAD_MS)
		return;
	t = sl_kubeconfig_token(&k->kc, &err);
	k->token_at = sl_mono_ms();
	if (!t && k->kc.token_file) {
		sl_error("kubernetes: %s; keeping the token read before", err.msg);
		return;
	}
	free(k->token);
	k->token = t;
}

static void set_tls(struct sl_kube *k, CURL *e)
{
	const struct sl_kubeconfig *kc = &k->kc;

	if (kc->insecure) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (kc->ca_file) {
		curl_easy_setopt(e, CURLOPT_CAINFO, kc->ca_file);
	} else if (kc->ca_data.data) {
		struct curl_blob b = { kc->ca_data.data, kc->ca_data.len, CURL_BLOB_NOCOPY };

		curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &b);
	}
	if (kc->cert_file)
		curl_easy_setopt(e, CURLOPT_SSLCERT, kc->cert_file);
	if (kc->key_file)
		curl_easy_setopt(e, CURLOPT_SSLKEY, kc->key_file);
	if (kc->cert_data.data) {
		struct curl_blob b = { kc->cert_data.data, kc->cert_data.len, CURL_BLOB_NOCOPY };

		curl_easy_setopt(e, CURLOPT_SSLCERT_BLOB, &b);
	}
	if (kc->key_data.data) {
		struct curl_blob b = { kc->key_data.data, kc->key_data.len, CURL_BLOB_NOCOPY };

		curl_easy_setopt(e, CURLOPT_SSLKEY_BLOB, &b);
	}
}

void sl_kube_request(struct sl_kube *k, struct sl_kube_watch *w, const char *url,
		     long timeout_s, curl_write_callback on_data)
{
	char auth[8192];
	CURL *e = curl_easy_init();

	if (!e)
		abort();
	refresh_token(k);
	w->headers = curl_slist_append(NULL, "Accept: application/json");
	if (k->token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", k->token);
		w->headers = curl_slist_append(w->headers, auth);
	}
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, w->headers);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "sluiced");
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, timeout_s);
	/* A watch may be quiet for minutes; a peer gone without a FIN (a
	 * partition, a dead API server) is found by keepalive in about two. */
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, 30L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, 10L);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, w);
	curl_easy_setopt(e, CURLOPT_PRIVATE, w);
	set_tls(k, e);
	buf_reset(&w->body);
	w->easy = e;
	w->started_at = sl_mono_ms();
	curl_multi_add_handle(k->multi, e);
}

int sl_kube_http_init(struct sl_kube *k, struct sl_err *err)
{
	k->multi = curl_multi_init();
	if (!k->multi)
		return sl_errf(err, "libcurl: cannot create a multi handle");
	curl_multi_setopt(k->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(k->multi, CURLMOPT_SOCKETDATA, k);
	curl_multi_setopt(k->multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(k->multi, CURLMOPT_TIMERDATA, k);
	return 0;
}

size_t sl_kube_pollfds(struct sl_kube *k, struct pollfd *fds)
{
	for (size_t i = 0; i < k->n_socks; i++)
		fds[i] = (struct pollfd){ k->socks[i].fd, k->socks[i].events, 0 };
	return k->n_socks;
}
