/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The agent's HTTP listener (libmicrohttpd): /healthz, /readyz and
 * /metrics. It runs on the agent's event loop, not in a thread of its own:
 * the loop polls the listener's epoll fd with its other fds and lets it
 * work when it is ready (see http.c).
 */
#ifndef SLUICE_HTTP_H
#define SLUICE_HTTP_H

#include <sys/socket.h>

#include "err.h"
#include "metrics.h"

#define SL_HTTP_DEFAULT_ADDR "127.0.0.1:9464"

struct MHD_Daemon;

struct sl_http {
	struct MHD_Daemon *daemon;
	struct sl_metrics *metrics;
	char addr[64];		/* as given, for messages */
};

/* "HOST:PORT" with an IPv4 literal, or "[IPv6]:PORT"; -1 with a message
 * otherwise. */
int sl_http_parse_addr(const char *text, struct sockaddr_storage *ss, socklen_t *len,
		       struct sl_err *err);
/* Binds and listens at addr; requests are answered from metrics once the
 * event loop runs. */
int sl_http_start(struct sl_http *h, const char *addr, struct sl_metrics *metrics,
		  struct sl_err *err);
/* The fd to poll for input; -1 when the listener is off. */
int sl_http_fd(const struct sl_http *h);
/* timeout (ms, -1: none) shortened to when the listener must run next. */
int sl_http_timeout(const struct sl_http *h, int timeout);
/* Accepts, reads and answers whatever is ready, without blocking. */
void sl_http_run(struct sl_http *h);
void sl_http_stop(struct sl_http *h);

#endif
