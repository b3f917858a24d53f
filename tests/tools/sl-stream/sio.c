// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Socket I/O with a deadline on every call, because a stuck transfer must
 * be reported as "timeout", never hang the tool.
 *
 * Blocking sockets sleep in the kernel with SO_RCVTIMEO/SO_SNDTIMEO set to
 * what is left of the deadline, not to a short tick: a retry loop with a
 * short tick would paper over a missed wakeup (bytes queued, reader asleep)
 * and turn exactly the bug we hunt into mere slowness. Non-blocking sockets
 * wait in poll() with the same rule, which tests the other wakeup path.
 * The first failure is kept, in words, in s->why.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/time.h>
#include <unistd.h>

#include "common.h"

/* Re-arm the socket timeouts at most this often: a call that starts later
 * than this after arming may overrun the deadline by at most this much. */
#define ARM_SLACK_NS	(100 * NS_PER_MS)

void sio_init(struct sio *s, int fd, uint64_t deadline, bool blocking)
{
	memset(s, 0, sizeof(*s));
	s->fd = fd;
	s->deadline = deadline;
	s->blocking = blocking;
}

int sio_fail(struct sio *s, const char *fmt, ...)
{
	va_list ap;

	if (s->why[0])
		return -1;
	va_start(ap, fmt);
	vsnprintf(s->why, sizeof(s->why), fmt, ap);
	va_end(ap);
	return -1;
}

/* Adds context ("dir=up at=123") to the failure already recorded. */
void sio_note(struct sio *s, const char *fmt, ...)
{
	size_t used = strlen(s->why);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->why + used, sizeof(s->why) - used, fmt, ap);
	va_end(ap);
}

static int sio_errno(struct sio *s, int err, const char *what)
{
	if (!s->why[0])
		s->err = err;
	return sio_fail(s, "%s: %s", what, errname(err));
}

static int sio_timeout(struct sio *s, const char *what)
{
	if (!s->why[0])
		s->err = ETIMEDOUT;
	return sio_fail(s, "timeout in %s", what);
}

int sio_set_blocking(struct sio *s, bool blocking)
{
	int fl = fcntl(s->fd, F_GETFL);

	if (fl < 0)
		return sio_errno(s, errno, "fcntl");
	fl = blocking ? fl & ~O_NONBLOCK : fl | O_NONBLOCK;
	if (fcntl(s->fd, F_SETFL, fl) < 0)
		return sio_errno(s, errno, "fcntl");
	s->blocking = blocking;
	s->armed_at = 0;
	return 0;
}

/* Before each call: past the deadline is a timeout; a blocking socket gets
 * its kernel timeouts cut down to what is left. */
static int sio_arm(struct sio *s, const char *what)
{
	uint64_t now = now_ns(), left;
	struct timeval tv;

	if (now >= s->deadline)
		return sio_timeout(s, what);
	if (!s->blocking || (s->armed_at && now - s->armed_at < ARM_SLACK_NS))
		return 0;
	left = s->deadline - now;
	tv.tv_sec = (time_t)(left / NS_PER_SEC);
	tv.tv_usec = (suseconds_t)((left % NS_PER_SEC) / 1000);
	if (!tv.tv_sec && !tv.tv_usec)
		tv.tv_usec = 1;	/* zero would mean "wait forever" */
	if (setsockopt(s->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(s->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)))
		return sio_errno(s, errno, "setsockopt timeo");
	s->armed_at = now;
	return 0;
}

static int sio_poll(struct sio *s, short events, const char *what)
{
	short revents;

	/* POLLERR and POLLHUP too: the next call reports them. */
	return sio_wait(s, events, &revents, what);
}

/* After a call failed: 0 means try again, -1 give up (why is set). */
static int sio_again(struct sio *s, short events, const char *what)
{
	int err = errno;

	if (err == EINTR)
		return 0;
	if (err != EAGAIN && err != EWOULDBLOCK)
		return sio_errno(s, err, what);
	if (!s->blocking)
		return sio_poll(s, events, what);
	/* A kernel timeout: the deadline decides, with the re-armed timeo. */
	return now_ns() < s->deadline ? 0 : sio_timeout(s, what);
}

int sio_connect(struct sio *s, const struct sockaddr_storage *dst,
		socklen_t len)
{
	bool blocking = s->blocking;
	socklen_t elen = sizeof(int);
	int fd, err = 0;

	fd = socket(dst->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return sio_errno(s, errno, "socket");
	s->fd = fd;
	s->blocking = false;
	if (connect(fd, (const struct sockaddr *)dst, len) < 0) {
		if (errno != EINPROGRESS)
			return sio_errno(s, errno, "connect");
		if (sio_poll(s, POLLOUT, "connect"))
			return -1;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
			err = errno;
		if (err)
			return sio_errno(s, err, "connect");
	}
	return sio_set_blocking(s, blocking);
}

ssize_t sio_recv(struct sio *s, void *buf, size_t len, int flags)
{
	const char *what = flags & MSG_PEEK ? "recv(MSG_PEEK)" : "recv";
	int dontwait = s->blocking ? 0 : MSG_DONTWAIT;

	for (;;) {
		ssize_t n;

		if (sio_arm(s, what))
			return -1;
		n = recv(s->fd, buf, len, flags | dontwait);
		if (n >= 0)
			return n;
		if (sio_again(s, POLLIN, what))
			return -1;
	}
}

/* One send() call's worth: a blocking socket moves all of it unless the
 * deadline or an error cuts it short. */
ssize_t sio_send(struct sio *s, const void *buf, size_t len)
{
	int flags = MSG_NOSIGNAL | (s->blocking ? 0 : MSG_DONTWAIT);

	for (;;) {
		ssize_t n;

		if (sio_arm(s, "send"))
			return -1;
		n = send(s->fd, buf, len, flags);
		if (n >= 0)
			return n;
		if (sio_again(s, POLLOUT, "send"))
			return -1;
	}
}

int sio_send_all(struct sio *s, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = sio_send(s, p, s->chunk && len > s->chunk ? s->chunk : len);

		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* A byte at a time: a header or reply line must not swallow the payload
 * behind it, and MSG_PEEK is kept for the 'peek' case alone. */
int sio_recv_line(struct sio *s, char *buf, size_t cap)
{
	size_t i = 0;

	while (i + 1 < cap) {
		ssize_t n = sio_recv(s, buf + i, 1, 0);

		if (n < 0)
			return -1;
		if (n == 0) {
			buf[i] = '\0';
			return sio_fail(s, "early_eof in a line after %zu bytes '%s'",
					i, buf);
		}
		if (buf[i] == '\n') {
			buf[i] = '\0';
			return 0;
		}
		i++;
	}
	buf[i] = '\0';
	return sio_fail(s, "line too long");
}

/* events: how the socket end of the splice waits (POLLIN if it is 'in'). */
ssize_t sio_splice(struct sio *s, int in, int out, size_t len, short events)
{
	unsigned int flags = SPLICE_F_MOVE | (s->blocking ? 0 : SPLICE_F_NONBLOCK);

	for (;;) {
		ssize_t n;

		if (sio_arm(s, "splice"))
			return -1;
		n = splice(in, NULL, out, NULL, len, flags);
		if (n >= 0)
			return n;
		if (sio_again(s, events, "splice"))
			return -1;
	}
}

ssize_t sio_sendfile(struct sio *s, int file, off_t *off, size_t len)
{
	for (;;) {
		ssize_t n;

		if (sio_arm(s, "sendfile"))
			return -1;
		n = sendfile(s->fd, file, off, len);
		if (n >= 0)
			return n;
		if (sio_again(s, POLLOUT, "sendfile"))
			return -1;
	}
}

int sio_shutdown_wr(struct sio *s)
{
	if (shutdown(s->fd, SHUT_WR) < 0)
		return sio_errno(s, errno, "shutdown");
	return 0;
}

void sio_close(struct sio *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

/*
 * One attempt, never waiting: for a caller that polls both directions
 * itself (echo), where waiting on one would deadlock against the other.
 * SIO_AGAIN means it would block.
 */
ssize_t sio_try_send(struct sio *s, const void *buf, size_t len)
{
	ssize_t n;

	if (s->chunk && len > s->chunk)
		len = s->chunk;
	n = send(s->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);

	if (n >= 0)
		return n;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return SIO_AGAIN;
	return sio_errno(s, errno, "send");
}

ssize_t sio_try_recv(struct sio *s, void *buf, size_t len)
{
	ssize_t n = recv(s->fd, buf, len, MSG_DONTWAIT);

	if (n >= 0)
		return n;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return SIO_AGAIN;
	return sio_errno(s, errno, "recv");
}

/* poll() until something of 'events' is ready or the deadline passes. */
int sio_wait(struct sio *s, short events, short *revents, const char *what)
{
	for (;;) {
		struct pollfd p = { .fd = s->fd, .events = events };
		uint64_t now = now_ns();
		int n;

		if (now >= s->deadline)
			return sio_timeout(s, what);
		n = poll(&p, 1, (int)((s->deadline - now + NS_PER_MS - 1) / NS_PER_MS));
		if (n > 0) {
			*revents = p.revents;
			return 0;
		}
		if (n < 0 && errno != EINTR)
			return sio_errno(s, errno, "poll");
	}
}
