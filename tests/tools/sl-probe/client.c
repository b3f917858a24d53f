// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sl-probe client side: one request to a 'serve' port and its outcome, as
 * an errno or the name of the server that answered. dial and crr share it,
 * so a functional test and a benchmark count success and failure alike.
 * Every step has a deadline: a dropped SYN or datagram must surface as
 * ETIMEDOUT, not hang the test.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

static int wait_fd(int fd, short events, uint64_t deadline)
{
	for (;;) {
		uint64_t now = now_ns();
		struct pollfd p = { .fd = fd, .events = events };
		int n;

		if (now >= deadline)
			return ETIMEDOUT;
		n = poll(&p, 1, (int)((deadline - now + 999999) / 1000000));
		if (n < 0 && errno != EINTR)
			return errno;
		if (n > 0)
			return 0;
	}
}

struct sockaddr_storage tcp_source;
socklen_t tcp_source_len;

int tcp_connect(const struct sockaddr_storage *dst, socklen_t len,
		uint64_t deadline, int *fdp)
{
	socklen_t elen = sizeof(int);
	int fd, err = 0;

	fd = socket(dst->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	if (tcp_source_len && bind(fd, (const struct sockaddr *)&tcp_source, tcp_source_len)) {
		err = errno;
		close(fd);
		return err;
	}
	if (connect(fd, (const struct sockaddr *)dst, len) < 0) {
		if (errno != EINPROGRESS && errno != EINTR)
			err = errno;
		else if (!(err = wait_fd(fd, POLLOUT, deadline)) &&
			 getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
			err = errno;
	}
	if (err) {
		close(fd);
		return err;
	}
	*fdp = fd;
	return 0;
}

static int send_all(int fd, const char *p, size_t len, uint64_t deadline)
{
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		int err;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if ((err = wait_fd(fd, POLLOUT, deadline)))
				return err;
			continue;
		}
		if (n < 0)
			return errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads up to and including the first newline; the server answers each
 * request with exactly one line, so nothing past it is lost. */
static int read_line(int fd, char *buf, size_t cap, uint64_t deadline)
{
	size_t len = 0;

	while (len < cap - 1) {
		ssize_t n = recv(fd, buf + len, cap - 1 - len, 0);
		int err;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if ((err = wait_fd(fd, POLLIN, deadline)))
				return err;
			continue;
		}
		if (n < 0)
			return errno;
		if (n == 0)
			return SL_EEOF;
		len += (size_t)n;
		buf[len] = '\0';
		if (strchr(buf, '\n'))
			return 0;
	}
	return EBADMSG;
}

/* The server's name is the first word of its reply. */
static int reply_name(const char *line, char *name)
{
	size_t n = strcspn(line, " \r\n");

	if (!n || n > NAME_MAX_LEN)
		return EBADMSG;
	memcpy(name, line, n);
	name[n] = '\0';
	return 0;
}

static int tcp_attempt(const struct sockaddr_storage *dst, socklen_t dlen,
		       uint64_t deadline, bool peername, struct attempt *a)
{
	char buf[512];
	socklen_t plen = sizeof(a->peer);
	int fd, err;

	if ((err = tcp_connect(dst, dlen, deadline, &fd)))
		return err;
	if (peername && !getpeername(fd, (struct sockaddr *)&a->peer, &plen))
		a->have_peer = true;
	if (!(err = send_all(fd, "ping\n", 5, deadline)) &&
	    !(err = read_line(fd, buf, sizeof(buf), deadline)))
		err = reply_name(buf, a->name);
	close(fd);
	return err;
}

static int udp_attempt(const struct sockaddr_storage *dst, socklen_t dlen,
		       uint64_t deadline, bool connected, bool peername,
		       struct attempt *a)
{
	socklen_t plen = sizeof(a->peer), flen;
	char buf[512];
	ssize_t n;
	int fd, err = 0;

	fd = socket(dst->ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	if (connected) {
		if (connect(fd, (const struct sockaddr *)dst, dlen) < 0) {
			err = errno;
			goto out;
		}
		if (peername &&
		    !getpeername(fd, (struct sockaddr *)&a->peer, &plen))
			a->have_peer = true;
		n = send(fd, "ping\n", 5, 0);
	} else {
		n = sendto(fd, "ping\n", 5, 0, (const struct sockaddr *)dst, dlen);
	}
	if (n < 0) {
		err = errno;
		goto out;
	}
	for (;;) {
		flen = sizeof(a->from);
		n = recvfrom(fd, buf, sizeof(buf) - 1, 0,
			     (struct sockaddr *)&a->from, &flen);
		if (n >= 0)
			break;
		if (errno != EAGAIN && errno != EINTR) {
			err = errno;
			goto out;
		}
		if ((err = wait_fd(fd, POLLIN, deadline)))
			goto out;
	}
	buf[n] = '\0';
	a->have_from = !connected;
	err = reply_name(buf, a->name);
out:
	close(fd);
	return err;
}

int do_attempt(enum mode mode, const struct sockaddr_storage *dst,
	       socklen_t dlen, unsigned long timeout_ms, bool peername,
	       struct attempt *a)
{
	uint64_t deadline = now_ns() + timeout_ms * 1000000ull;

	memset(a, 0, sizeof(*a));
	if (mode == M_TCP)
		return tcp_attempt(dst, dlen, deadline, peername, a);
	return udp_attempt(dst, dlen, deadline, mode == M_UDP_CONNECTED,
			   peername, a);
}
