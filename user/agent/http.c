// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * /healthz, /readyz and /metrics over libmicrohttpd, on the event loop.
 *
 * Why no thread: libmicrohttpd in external mode with epoll hands out one
 * fd, which the agent's poll() watches beside the signal, inotify and ring
 * buffer fds; MHD_run() then does only what is ready, on non-blocking
 * sockets. Requests are answered between the loop's other jobs, so a
 * scrape reads the applier's state and walks the maps while nothing else
 * changes them: no lock, no copy published for another thread, and no
 * walk racing with the agent's own deletions. /healthz answering at all
 * proves the loop turns. The price: a scrape waits for a configuration
 * being applied, and the loop waits for a scrape to be rendered (a few
 * milliseconds per thousand frontends; map counts are cached, see
 * metrics_maps.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <microhttpd.h>

#include "http.h"
#include "log.h"

/* A scraper, a probe or two and someone with curl. */
#define MAX_CONNECTIONS 32
/* Seconds an idle or stalled client keeps its connection. */
#define IDLE_TIMEOUT_S 10

static int parse_port(const char *text, uint16_t *port)
{
	unsigned long n;
	char *end;

	errno = 0;
	n = strtoul(text, &end, 10);
	if (errno || *end || !text[0] || text[0] == '-' || text[0] == '+' || n == 0 ||
	    n > 65535)
		return -1;
	*port = (uint16_t)n;
	return 0;
}

int sl_http_parse_addr(const char *text, struct sockaddr_storage *ss, socklen_t *len,
		       struct sl_err *err)
{
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	const char *colon = strrchr(text, ':');
	char host[INET6_ADDRSTRLEN + 2];
	size_t hlen = colon ? (size_t)(colon - text) : 0;
	uint16_t port;

	memset(ss, 0, sizeof(*ss));
	if (!colon || hlen == 0 || hlen >= sizeof(host) || parse_port(colon + 1, &port) < 0)
		return sl_errf(err, "\"%s\" is not HOST:PORT (an IP address and a port "
			       "1-65535, IPv6 in brackets)", text);
	memcpy(host, text, hlen);
	host[hlen] = '\0';
	if (host[0] == '[' && host[hlen - 1] == ']') {
		host[hlen - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) != 1)
			return sl_errf(err, "\"%s\": \"%s\" is not an IPv6 address", text,
				       host + 1);
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		*len = sizeof(*s6);
		return 0;
	}
	if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
		return sl_errf(err, "\"%s\": \"%s\" is not an IPv4 address (IPv6 goes in "
			       "brackets: [::1]:9464)", text, host);
	s4->sin_family = AF_INET;
	s4->sin_port = htons(port);
	*len = sizeof(*s4);
	return 0;
}

/* Our own socket, so that a bind error says exactly what failed. */
static int listen_on(const char *addr, struct sl_err *err)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1, e;

	if (sl_http_parse_addr(addr, &ss, &len, err) < 0)
		return -1;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return sl_errf(err, "metrics listener %s: socket: %s", addr, strerror(errno));
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (ss.ss_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)) {
		e = errno;
		close(fd);
		return sl_errf(err, "metrics listener %s: setsockopt: %s", addr, strerror(e));
	}
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 64) < 0) {
		e = errno;
		close(fd);
		return sl_errf(err, "cannot listen for metrics on %s: %s", addr, strerror(e));
	}
	return fd;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned int status,
			     const char *type, char *body, size_t len, bool owned)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, body, owned ? MHD_RESPMEM_MUST_FREE :
					    MHD_RESPMEM_MUST_COPY);
	if (!r) {
		if (owned)
			free(body);
		return MHD_NO;
	}
	if (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type) != MHD_YES) {
		MHD_destroy_response(r);
		return MHD_NO;
	}
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result text(struct MHD_Connection *c, unsigned int status, const char *msg)
{
	return reply(c, status, "text/plain; charset=utf-8", (char *)msg, strlen(msg), false);
}

static enum MHD_Result ready(struct sl_http *h, struct MHD_Connection *c)
{
	char why[SL_ERROR_LEN + 128], body[sizeof(why) + 2];

	if (sl_metrics_ready(h->metrics, why, sizeof(why)))
		return text(c, MHD_HTTP_OK, "ready\n");
	/* One line, whatever the error message holds. */
	for (char *p = why; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	snprintf(body, sizeof(body), "%s\n", why);
	return text(c, MHD_HTTP_SERVICE_UNAVAILABLE, body);
}

static enum MHD_Result metrics(struct sl_http *h, struct MHD_Connection *c)
{
	struct sl_prom p;
	size_t len;
	char *body;

	sl_prom_init(&p);
	sl_metrics_render(h->metrics, &p);
	body = sl_prom_take(&p, &len);
	if (!body) {
		sl_error("metrics: out of memory rendering the exposition");
		return text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	}
	return reply(c, MHD_HTTP_OK, SL_PROM_CONTENT_TYPE, body, len, true);
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version,
			      const char *upload_data, size_t *upload_data_size, void **state)
{
	struct sl_http *h = cls;

	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)state;
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD\n");
	if (!strcmp(url, "/healthz"))
		return text(c, MHD_HTTP_OK, "ok\n");
	if (!strcmp(url, "/readyz"))
		return ready(h, c);
	if (!strcmp(url, "/metrics"))
		return metrics(h, c);
	return text(c, MHD_HTTP_NOT_FOUND, "not found: try /metrics, /healthz or /readyz\n");
}

static void log_mhd(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	sl_debug("metrics listener: %s", msg);
}

int sl_http_start(struct sl_http *h, const char *addr, struct sl_metrics *metrics,
		  struct sl_err *err)
{
	unsigned int flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	int fd;

	memset(h, 0, sizeof(*h));
	snprintf(h->addr, sizeof(h->addr), "%s", addr);
	h->metrics = metrics;
	fd = listen_on(addr, err);
	if (fd < 0)
		return -1;
	if (addr[0] == '[')
		flags |= MHD_USE_IPv6;
	h->daemon = MHD_start_daemon(flags, 0, NULL, NULL, answer, h,
				     MHD_OPTION_LISTEN_SOCKET, fd,
				     MHD_OPTION_CONNECTION_LIMIT, (unsigned int)MAX_CONNECTIONS,
				     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)IDLE_TIMEOUT_S,
				     MHD_OPTION_EXTERNAL_LOGGER, log_mhd, NULL,
				     MHD_OPTION_END);
	if (!h->daemon) {
		/* MHD closes a listen socket it was given only once started. */
		if (fcntl(fd, F_GETFD) >= 0)
			close(fd);
		return sl_errf(err, "metrics listener %s: libmicrohttpd did not start", addr);
	}
	return 0;
}

int sl_http_fd(const struct sl_http *h)
{
	const union MHD_DaemonInfo *info;

	if (!h->daemon)
		return -1;
	info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_EPOLL_FD);
	return info ? info->epoll_fd : -1;
}

int sl_http_timeout(const struct sl_http *h, int timeout)
{
	MHD_UNSIGNED_LONG_LONG ms;

	if (!h->daemon || MHD_get_timeout(h->daemon, &ms) != MHD_YES)
		return timeout;
	return timeout < 0 || ms < (MHD_UNSIGNED_LONG_LONG)timeout ? (int)ms : timeout;
}

void sl_http_run(struct sl_http *h)
{
	if (h->daemon && MHD_run(h->daemon) != MHD_YES)
		sl_warn("metrics listener %s: libmicrohttpd failed a round", h->addr);
}

void sl_http_stop(struct sl_http *h)
{
	if (h->daemon)
		MHD_stop_daemon(h->daemon);
	h->daemon = NULL;
}
