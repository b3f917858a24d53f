// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The server side of each case. A handler returns 0 (c->detail says what
 * was seen) or -1 (c->io.why says what went wrong); serve.c turns that
 * into a verdict, an in-band FAIL line for the cases that reply, and a
 * log line. All sockets here are blocking: the waits under test are the
 * kernel's own (see sio.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

/* Read and write sizes: 1500 is an MTU's worth, so reads split segments. */
#define SMALL_READ	1500
#define BIG_WRITE	(4 * MIB)
#define MID_WRITE	(256 * KIB)
#define ECHO_BUF	(64 * KIB)
#define PEEK_MAX	(16 * KIB)
#define SPLICE_MAX	(64 * KIB)
#define SALT_SRV	0x737276ull

static void *xmalloc(size_t len)
{
	void *p = malloc(len);

	if (!p)
		die("malloc");
	return p;
}

static void srv_stream(struct sconn *c, struct stream *st, enum dir d,
		       uint64_t len)
{
	stream_init(st, c->seed, d, len, d == DIR_UP ? "up" : "down");
	if (d == DIR_DOWN)
		st->corrupt_at = c->corrupt_at;
}

/* "OK <n> <csum>": the client compares both with what it sent. */
static int reply_ok(struct sconn *c, const struct stream *up)
{
	char line[80];

	snprintf(line, sizeof(line), "OK %llu %016llx\n",
		 (unsigned long long)up->off,
		 (unsigned long long)csum_value(&up->cs));
	snprintf(c->detail, sizeof(c->detail), "verified %llu bytes",
		 (unsigned long long)up->off);
	c->replied = true;
	return sio_send_all(&c->io, line, strlen(line));
}

/* Echoes every read at once. Verifies too, without stopping: the client
 * sees the same bad offset in the echo, and this verdict says that the
 * damage was done on the way up, not on the way back. */
static int srv_echo(struct sconn *c)
{
	uint8_t *buf = xmalloc(ECHO_BUF);
	struct stream up;
	uint64_t echoed = 0;
	bool bad = false;
	ssize_t n;

	srv_stream(c, &up, DIR_UP, c->n);
	while ((n = sio_recv(&c->io, buf, ECHO_BUF, 0)) > 0) {
		if (!bad && stream_take(&c->io, &up, buf, (size_t)n))
			bad = true;
		if (c->corrupt_at - echoed < (uint64_t)n)
			buf[c->corrupt_at - echoed] ^= 0xff;
		if (sio_send_all(&c->io, buf, (size_t)n))
			break;
		echoed += (uint64_t)n;
	}
	free(buf);
	if (!bad && n == 0 && up.off < up.len)
		sio_fail(&c->io, "early_eof dir=up at=%llu want=%llu",
			 (unsigned long long)up.off, (unsigned long long)up.len);
	snprintf(c->detail, sizeof(c->detail), "echoed %llu bytes",
		 (unsigned long long)echoed);
	if (!c->io.why[0])
		return 0;
	/* Clean up to there: damage the client saw earlier was on the way back. */
	if (!bad)
		sio_note(&c->io, " (up verified clean for %llu bytes)",
			 (unsigned long long)up.off);
	return -1;
}

/* upload, sendfile, splice_send: however the client sent it, read it back
 * in small odd pieces, then EOF. */
static int srv_upload(struct sconn *c)
{
	struct stream up;
	struct rng r;

	srv_stream(c, &up, DIR_UP, c->n);
	rng_init(&r, c->seed, SALT_SRV);
	if (stream_recv(&c->io, &up, up.len, &r, 1, SMALL_READ) ||
	    stream_expect_eof(&c->io, &up))
		return -1;
	return reply_ok(c, &up);
}

static int read_pipe(struct sio *s, int fd, uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t n = read(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return sio_fail(s, "read pipe: %s",
					n ? errname(errno) : "EOF");
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The socket's bytes go through a pipe before we see them: tcp_splice_read
 * reads the receive queue directly, a path a redirect must also feed. */
static int splice_in(struct sconn *c, struct stream *up, int p[2])
{
	uint8_t *buf = xmalloc(SPLICE_MAX);
	struct rng r;
	ssize_t n;
	int rc = 0;

	rng_init(&r, c->seed, SALT_SRV);
	while (!rc) {
		n = sio_splice(&c->io, c->io.fd, p[1],
			       rng_range(&r, 1, SPLICE_MAX), POLLIN);
		if (n <= 0)
			break;
		rc = read_pipe(&c->io, p[0], buf, (size_t)n) ||
		     stream_take(&c->io, up, buf, (size_t)n);
	}
	free(buf);
	if (rc)
		return -1;
	if (n < 0) {
		sio_note(&c->io, " dir=up at=%llu", (unsigned long long)up->off);
		return -1;
	}
	if (up->off < up->len)
		return sio_fail(&c->io, "early_eof dir=up at=%llu want=%llu",
				(unsigned long long)up->off,
				(unsigned long long)up->len);
	return 0;
}

static int srv_splice_recv(struct sconn *c)
{
	struct stream up;
	int p[2], rc;

	srv_stream(c, &up, DIR_UP, c->n);
	if (pipe2(p, O_CLOEXEC))
		return sio_fail(&c->io, "pipe: %s", errname(errno));
	rc = splice_in(c, &up, p);
	close(p[0]);
	close(p[1]);
	return rc ? rc : reply_ok(c, &up);
}

/* MSG_PEEK of k bytes, then a plain recv of the same bytes: both must be
 * the generator's bytes at the same offset. A peek that consumes, or a
 * recv that skips what was peeked, fails at once. */
static int peek_step(struct sconn *c, struct stream *up, uint8_t *a,
		     uint8_t *b, size_t k)
{
	struct stream probe = *up;
	ssize_t m, n;
	size_t got;

	m = sio_recv(&c->io, a, k, MSG_PEEK);
	if (m <= 0)
		return (int)m;
	if (stream_take(&c->io, &probe, a, (size_t)m)) {
		sio_note(&c->io, " (in MSG_PEEK data)");
		return -1;
	}
	for (got = 0; got < (size_t)m; got += (size_t)n) {
		n = sio_recv(&c->io, b + got, (size_t)m - got, 0);
		if (n < 0)
			sio_note(&c->io, " after MSG_PEEK saw %zd bytes at=%llu",
				 m, (unsigned long long)up->off);
		if (n == 0)
			sio_fail(&c->io, "early_eof after MSG_PEEK saw %zd bytes at=%llu",
				 m, (unsigned long long)up->off);
		if (n <= 0)
			return -1;
	}
	return stream_take(&c->io, up, b, (size_t)m) ? -1 : 1;
}

static int srv_peek(struct sconn *c)
{
	uint8_t *a = xmalloc(PEEK_MAX), *b = xmalloc(PEEK_MAX);
	struct stream up;
	struct rng r;
	int rc;

	srv_stream(c, &up, DIR_UP, c->n);
	rng_init(&r, c->seed, SALT_SRV);
	while ((rc = peek_step(c, &up, a, b, rng_range(&r, 1, PEEK_MAX))) > 0)
		;
	free(a);
	free(b);
	if (rc < 0)
		return -1;
	/* MSG_PEEK saw EOF: a plain recv must agree. */
	if (stream_expect_eof(&c->io, &up))
		return -1;
	if (up.off < up.len)
		return sio_fail(&c->io, "early_eof dir=up at=%llu want=%llu",
				(unsigned long long)up.off,
				(unsigned long long)up.len);
	return reply_ok(c, &up);
}

/* Large writes, our FIN, then the client's FIN once it has verified. */
static int srv_download(struct sconn *c)
{
	struct stream down, up;
	struct rng r;

	srv_stream(c, &down, DIR_DOWN, c->n);
	srv_stream(c, &up, DIR_UP, 0);
	rng_init(&r, c->seed, SALT_SRV);
	if (stream_send(&c->io, &down, down.len, &r, BIG_WRITE, BIG_WRITE) ||
	    sio_shutdown_wr(&c->io) || stream_expect_eof(&c->io, &up))
		return -1;
	snprintf(c->detail, sizeof(c->detail), "sent %llu bytes",
		 (unsigned long long)down.off);
	return 0;
}

/* All n bytes, then EOF -- never EOF first -- then n bytes back and close. */
static int srv_halfclose(struct sconn *c)
{
	struct stream up, down;
	struct rng r;

	srv_stream(c, &up, DIR_UP, c->n);
	srv_stream(c, &down, DIR_DOWN, c->n);
	rng_init(&r, c->seed, SALT_SRV);
	if (stream_recv(&c->io, &up, up.len, &r, 1, SMALL_READ) ||
	    stream_expect_eof(&c->io, &up) ||
	    stream_send(&c->io, &down, down.len, &r, 1, MID_WRITE))
		return -1;
	snprintf(c->detail, sizeof(c->detail),
		 "%llu bytes then EOF; sent %llu back",
		 (unsigned long long)up.off, (unsigned long long)down.off);
	return 0;
}

/* Read n bytes, say so, then sit in a blocking recv: the client's RST
 * must end it (ECONNRESET, or EOF) before the deadline. */
static int srv_rst(struct sconn *c)
{
	struct stream up;
	struct rng r;
	char line[48];
	ssize_t n;

	srv_stream(c, &up, DIR_UP, c->n);
	rng_init(&r, c->seed, SALT_SRV);
	if (stream_recv(&c->io, &up, up.len, &r, 1, SMALL_READ))
		return -1;
	snprintf(line, sizeof(line), "GOT %llu\n", (unsigned long long)up.off);
	if (sio_send_all(&c->io, line, strlen(line)))
		return -1;
	n = sio_recv(&c->io, line, sizeof(line), 0);
	if (n > 0)
		return stream_take(&c->io, &up, line, (size_t)n);
	if (n < 0 && c->io.err != ECONNRESET) {
		sio_note(&c->io, " (a blocked reader never saw the reset)");
		return -1;
	}
	snprintf(c->detail, sizeof(c->detail), "blocked recv got %s",
		 n ? "ECONNRESET" : "EOF");
	c->io.why[0] = '\0';
	return 0;
}

/* Write until the client's close makes a write fail, as it must. */
static int srv_close_while_write(struct sconn *c)
{
	struct stream down;
	struct rng r;
	int err;

	srv_stream(c, &down, DIR_DOWN, NO_OFFSET);
	rng_init(&r, c->seed, SALT_SRV);
	stream_send(&c->io, &down, NO_OFFSET, &r, ECHO_BUF, ECHO_BUF);
	err = c->io.err;
	if (err != EPIPE && err != ECONNRESET) {
		sio_note(&c->io, " (the writer was not failed by the peer's close)");
		return -1;
	}
	snprintf(c->detail, sizeof(c->detail), "%s after %llu bytes",
		 errname(err), (unsigned long long)down.off);
	c->io.why[0] = '\0';
	return 0;
}

/* n rounds: read a request, verify it, answer; sizes from rr_sizes(). */
static int srv_rr(struct sconn *c)
{
	uint64_t tup, tdown, i;
	struct stream up, down;
	struct rng r, io_r;
	size_t req, resp;

	rr_totals(c->seed, c->n, &tup, &tdown);
	srv_stream(c, &up, DIR_UP, tup);
	srv_stream(c, &down, DIR_DOWN, tdown);
	rr_init(&r, c->seed);
	rng_init(&io_r, c->seed, SALT_SRV);
	for (i = 0; i < c->n; i++) {
		rr_sizes(&r, &req, &resp);
		if (stream_recv(&c->io, &up, up.off + req, &io_r, req, req) ||
		    stream_send(&c->io, &down, down.off + resp, &io_r, resp, resp)) {
			sio_note(&c->io, " round=%llu", (unsigned long long)i);
			return -1;
		}
	}
	if (stream_expect_eof(&c->io, &up))
		return -1;
	snprintf(c->detail, sizeof(c->detail), "%llu rounds",
		 (unsigned long long)c->n);
	return 0;
}

static const struct srv_case srv_cases[] = {
	{ "echo", srv_echo, false },
	{ "upload", srv_upload, true },
	{ "sendfile", srv_upload, true },
	{ "splice_send", srv_upload, true },
	{ "splice_recv", srv_splice_recv, true },
	{ "peek", srv_peek, true },
	{ "download", srv_download, false },
	{ "halfclose", srv_halfclose, false },
	{ "rst", srv_rst, false },
	{ "close_while_write", srv_close_while_write, false },
	{ "rr", srv_rr, false },
	{ "churn", srv_rr, false },
};

const struct srv_case *srv_case_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(srv_cases) / sizeof(srv_cases[0]); i++)
		if (!strcmp(srv_cases[i].name, name))
			return &srv_cases[i];
	return NULL;
}
