// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The flow log's unix socket: clients, their requests and their streams,
 * on the agent's poll loop (see flowlog.h).
 *
 * Why a cursor per client rather than a queue: every client reads the
 * one shared ring, at its own pace, through a buffer of at most
 * SL_FLOWS_CLIENT_BUF bytes. A client that stops reading costs that
 * buffer and nothing else; it loses records only when the ring has gone
 * round past it, and each lost record that matched its filter is counted
 * and reported to it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>

#include "flowlog.h"
#include "log.h"
#include "sys.h"

/* A client that has not sent its request by then is closed. */
#define REQUEST_TIMEOUT_MS 5000

struct sl_flow_client {
	int fd;
	bool started;			/* request read */
	bool finishing;			/* close once the buffer is sent */
	bool read_eof;			/* its input ended: poll it no more */
	int64_t accepted_ms;
	char in[SL_FLOW_REQUEST_LEN];
	size_t in_len;
	struct sl_flow_filter filter;
	uint64_t next_seq;		/* next ring record to consider */
	uint64_t end_seq;		/* without follow: the ring's head at the request */
	uint64_t dropped, dropped_sent;
	size_t out_len, out_off;
	char out[SL_FLOWS_CLIENT_BUF];
};

/* A socket file left by an agent that died is replaced; one another
 * process still answers on is not. */
static int take_path(const char *path, struct sockaddr_un *sa, struct sl_err *err)
{
	struct stat st;
	int fd;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : sl_errf(err, "--flows-socket %s: %s", path,
						     strerror(errno));
	if (!S_ISSOCK(st.st_mode))
		return sl_errf(err, "--flows-socket %s: exists and is not a socket", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)sa, sizeof(*sa)) == 0) {
		close(fd);
		return sl_errf(err, "--flows-socket %s: another process serves it", path);
	}
	if (fd >= 0)
		close(fd);
	if (unlink(path) < 0)
		return sl_errf(err, "--flows-socket %s: %s", path, strerror(errno));
	return 0;
}

static int bind_private(int fd, const char *path, struct sockaddr_un *sa, struct sl_err *err)
{
	mode_t old = umask(0177);	/* born 0600: no moment open to others */
	int ret = bind(fd, (struct sockaddr *)sa, sizeof(*sa));
	int e = errno;

	umask(old);
	if (ret < 0)
		return sl_errf(err, "--flows-socket %s: bind: %s", path, strerror(e));
	if (chmod(path, 0600) < 0 || listen(fd, 16) < 0)
		return sl_errf(err, "--flows-socket %s: %s", path, strerror(errno));
	return 0;
}

int sl_flowsrv_listen(struct sl_flowlog *fl, const char *path, struct sl_err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[sizeof(fl->path)];
	struct stat st;
	int fd;

	if (path[0] != '/' || strlen(path) >= sizeof(sa.sun_path) ||
	    strlen(path) >= sizeof(fl->path))
		return sl_errf(err, "--flows-socket %s: an absolute path shorter than %zu "
			       "bytes", path, sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path) + 1);
	snprintf(fl->path, sizeof(fl->path), "%s", path);
	snprintf(dir, sizeof(dir), "%s", path);
	if (sl_mkdir_p(dirname(dir), 0755, err) < 0 || take_path(path, &sa, err) < 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return sl_errf(err, "--flows-socket %s: socket: %s", path, strerror(errno));
	if (bind_private(fd, path, &sa, err) < 0 || stat(path, &st) < 0) {
		close(fd);
		return -1;
	}
	fl->listen_fd = fd;
	fl->dev = st.st_dev;
	fl->ino = st.st_ino;
	return 0;
}

/* Appends to the client's buffer if the whole line fits. */
static bool put(struct sl_flow_client *c, const char *line, size_t len)
{
	if (c->out_off && c->out_len + len > sizeof(c->out)) {
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	if (c->out_len + len > sizeof(c->out))
		return false;
	memcpy(c->out + c->out_len, line, len);
	c->out_len += len;
	return true;
}

static void put_dropped(struct sl_flow_client *c)
{
	char line[64];
	int n;

	if (c->dropped == c->dropped_sent)
		return;
	n = snprintf(line, sizeof(line), "{\"dropped\":%llu}\n",
		     (unsigned long long)c->dropped);
	if (put(c, line, (size_t)n))
		c->dropped_sent = c->dropped;
}

static uint64_t stream_end(const struct sl_flowlog *fl, const struct sl_flow_client *c)
{
	return c->filter.follow ? fl->head : c->end_seq;
}

/* Moves matching records from the ring into the client's buffer while
 * they fit. */
static void pump(struct sl_flowlog *fl, struct sl_flow_client *c)
{
	uint64_t end = stream_end(fl, c);

	if (!c->started || c->finishing)
		return;
	put_dropped(c);
	while (c->next_seq < end) {
		struct sl_flow_entry *e = &fl->ring[c->next_seq % fl->cap];

		if (sl_flowlog_ready(fl, e) && sl_flow_filter_match(&c->filter, e->keys) &&
		    !put(c, e->line, e->len))
			return;
		c->next_seq++;
	}
	if (!c->filter.follow) {
		put_dropped(c);
		c->finishing = true;
	}
}

void sl_flowsrv_pump_all(struct sl_flowlog *fl)
{
	for (size_t i = 0; i < SL_FLOWS_MAX_CLIENTS; i++)
		if (fl->clients[i])
			pump(fl, fl->clients[i]);
}

void sl_flowsrv_evict(struct sl_flowlog *fl, struct sl_flow_entry *e, uint64_t seq)
{
	for (size_t i = 0; i < SL_FLOWS_MAX_CLIENTS; i++) {
		struct sl_flow_client *c = fl->clients[i];

		if (!c || !c->started || c->next_seq > seq || seq >= stream_end(fl, c))
			continue;
		if (sl_flow_filter_match(&c->filter, e->keys)) {
			c->dropped++;
			fl->client_dropped++;
		}
		c->next_seq = seq + 1;
	}
}

static void drop_client(struct sl_flowlog *fl, size_t i)
{
	close(fl->clients[i]->fd);
	free(fl->clients[i]);
	fl->clients[i] = NULL;
}

static void refuse(int fd, const char *msg)
{
	char line[256];
	int n = snprintf(line, sizeof(line), "{\"error\":\"%s\"}\n", msg);

	/* Best effort: the client may be gone already. */
	if (send(fd, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		sl_debug("flow log: %s", strerror(errno));
	close(fd);
}

static void accept_clients(struct sl_flowlog *fl)
{
	int fd;

	while ((fd = accept4(fl->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		size_t i = 0;

		while (i < SL_FLOWS_MAX_CLIENTS && fl->clients[i])
			i++;
		if (i == SL_FLOWS_MAX_CLIENTS) {
			refuse(fd, "too many flow log clients");
			continue;
		}
		fl->clients[i] = calloc(1, sizeof(*fl->clients[i]));
		if (!fl->clients[i]) {
			refuse(fd, "out of memory");
			continue;
		}
		fl->clients[i]->fd = fd;
		fl->clients[i]->accepted_ms = sl_mono_ms();
	}
}

/* The request: history from the oldest record in the ring. */
static void start(struct sl_flowlog *fl, struct sl_flow_client *c)
{
	struct sl_err err;
	char line[SL_ERR_LEN + 32];
	json_object *o;

	c->in[c->in_len] = '\0';
	c->started = true;
	if (sl_flow_filter_parse(&c->filter, c->in, &err) < 0) {
		o = json_object_new_object();
		json_object_object_add(o, "error", json_object_new_string(err.msg));
		snprintf(line, sizeof(line), "%s\n", json_object_to_json_string(o));
		json_object_put(o);
		put(c, line, strlen(line));
		c->finishing = true;
		return;
	}
	c->next_seq = fl->head > fl->cap ? fl->head - fl->cap : 0;
	c->end_seq = fl->head;
	pump(fl, c);
}

/* Returns false when the client is gone. */
static bool read_request(struct sl_flowlog *fl, struct sl_flow_client *c)
{
	char buf[SL_FLOW_REQUEST_LEN];
	ssize_t n;

	while ((n = recv(c->fd, buf, sizeof(buf), 0)) > 0) {
		char *nl;

		if (c->started)
			continue;	/* nothing more is asked of a client */
		if ((size_t)n > sizeof(c->in) - 1 - c->in_len)
			n = (ssize_t)(sizeof(c->in) - 1 - c->in_len);
		memcpy(c->in + c->in_len, buf, (size_t)n);
		c->in_len += (size_t)n;
		nl = memchr(c->in, '\n', c->in_len);
		if (nl || c->in_len == sizeof(c->in) - 1) {
			c->in_len = nl ? (size_t)(nl - c->in) : c->in_len;
			start(fl, c);
		}
	}
	/* End of its input: a request never finished is an error; after a
	 * request, the client may still read. */
	if (n == 0 && !c->started)
		return false;
	if (n == 0)
		c->read_eof = true;
	return n == 0 || errno == EAGAIN || errno == EINTR;
}

/* Returns false when the client is done or gone. */
static bool flush(struct sl_flowlog *fl, struct sl_flow_client *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL);

		if (n < 0)
			return errno == EAGAIN || errno == EINTR;
		c->out_off += (size_t)n;
		if (c->out_off == c->out_len)
			c->out_off = c->out_len = 0;
		pump(fl, c);	/* room again: the rest of the history */
	}
	return !c->finishing;
}

size_t sl_flowlog_pollfds(struct sl_flowlog *fl, struct pollfd *fds)
{
	size_t n = 0;

	if (fl->listen_fd < 0)
		return 0;
	fds[n] = (struct pollfd){ fl->listen_fd, POLLIN, 0 };
	fl->poll_slot[n++] = -1;
	for (size_t i = 0; i < SL_FLOWS_MAX_CLIENTS; i++) {
		struct sl_flow_client *c = fl->clients[i];

		if (!c)
			continue;
		fds[n] = (struct pollfd){ c->fd, c->read_eof ? 0 : POLLIN, 0 };
		if (c->out_off < c->out_len)
			fds[n].events |= POLLOUT;
		fl->poll_slot[n++] = (int)i;
	}
	return n;
}

static void serve(struct sl_flowlog *fl, size_t i, short revents, int64_t now)
{
	struct sl_flow_client *c = fl->clients[i];

	if (revents & (POLLIN | POLLHUP | POLLERR)) {
		if (!read_request(fl, c) || (revents & POLLERR)) {
			drop_client(fl, i);
			return;
		}
	}
	if (!c->started && now - c->accepted_ms > REQUEST_TIMEOUT_MS) {
		drop_client(fl, i);
		return;
	}
	if (!flush(fl, c) || (revents & POLLHUP))
		drop_client(fl, i);
}

void sl_flowlog_run(struct sl_flowlog *fl, const struct pollfd *fds, size_t n)
{
	int64_t now = sl_mono_ms();

	if (fl->access)
		fflush(fl->access);
	sl_flowlog_check_losses(fl);
	for (size_t k = 0; k < n; k++) {
		int slot = fl->poll_slot[k];

		if (slot >= 0 && fl->clients[slot])
			serve(fl, (size_t)slot, fds[k].revents, now);
	}
	/* Clients with nothing polled (records added since) send too. */
	for (size_t i = 0; i < SL_FLOWS_MAX_CLIENTS; i++)
		if (fl->clients[i] && !flush(fl, fl->clients[i]))
			drop_client(fl, i);
	if (n && (fds[0].revents & POLLIN))
		accept_clients(fl);
}

void sl_flowsrv_close(struct sl_flowlog *fl)
{
	struct stat st;

	for (size_t i = 0; i < SL_FLOWS_MAX_CLIENTS; i++)
		if (fl->clients[i])
			drop_client(fl, i);
	if (fl->listen_fd < 0)
		return;
	close(fl->listen_fd);
	fl->listen_fd = -1;
	/* Not a file another agent has put there since. */
	if (!stat(fl->path, &st) && st.st_dev == fl->dev && st.st_ino == fl->ino)
		unlink(fl->path);
}
