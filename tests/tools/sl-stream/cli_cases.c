// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The client side of each case, run on a connected socket whose header is
 * already sent. A case returns 0 or -1 with j->io.why set, and records the
 * bytes it verified (or that the server confirmed) and their checksums.
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

#define SMALL_READ	1500
#define BIG_WRITE	(4 * MIB)
#define MID_WRITE	(256 * KIB)
#define PEEK_WRITE	(16 * KIB)
#define SPLICE_MAX	(64 * KIB)
#define FILE_BLOCK	(1 * MIB)
#define SALT_CLI	0x636c69ull
/* Gives the server time to be asleep in recv() when the reset comes. */
#define RST_PAUSE_NS	(50 * NS_PER_MS)

static void *xmalloc(size_t len)
{
	void *p = malloc(len ? len : 1);

	if (!p)
		die("malloc");
	return p;
}

static void job_stream(struct job *j, struct stream *st, enum dir d,
		       uint64_t len, const char *name)
{
	stream_init(st, j->seed, d, len, name);
	if (d == DIR_UP)
		st->corrupt_at = j->o->corrupt_up;
}

/* A stream of our own the server verified: its "OK <n> <csum>" must agree
 * with what we sent, and then comes EOF. */
static int read_reply(struct job *j, const struct stream *up)
{
	unsigned long long n, cs;
	char line[LINE_MAX_LEN];
	struct stream none;

	if (sio_recv_line(&j->io, line, sizeof(line))) {
		sio_note(&j->io, " (waiting for the server's reply)");
		return -1;
	}
	if (!strncmp(line, "FAIL ", 5)) {
		j->have_server = true;
		return sio_fail(&j->io, "server: %s", line + 5);
	}
	if (sscanf(line, "OK %llu %llx", &n, &cs) != 2)
		return sio_fail(&j->io, "bad reply '%s'", line);
	if (n != up->len || cs != csum_value(&up->cs))
		return sio_fail(&j->io, "server verified %llu bytes csum %016llx, sent %llu csum %016llx",
				n, cs, (unsigned long long)up->len,
				(unsigned long long)csum_value(&up->cs));
	j->up_ok += n;
	j->csum += cs;
	stream_init(&none, j->seed, DIR_DOWN, 0, "reply");
	return stream_expect_eof(&j->io, &none);
}

static int send_and_reply(struct job *j, size_t lo, size_t hi)
{
	struct stream up;
	struct rng r;

	job_stream(j, &up, DIR_UP, j->n, "up");
	rng_init(&r, j->seed, SALT_CLI);
	if (stream_send(&j->io, &up, up.len, &r, lo, hi) ||
	    sio_shutdown_wr(&j->io))
		return -1;
	return read_reply(j, &up);
}

/* One send() per 4 MiB block: the largest messages a redirect must split. */
static int cli_upload(struct job *j)
{
	return send_and_reply(j, BIG_WRITE, BIG_WRITE);
}

/* Ordinary sends; the server splices them out of the socket. */
static int cli_splice_recv(struct job *j)
{
	return send_and_reply(j, 1, MID_WRITE);
}

/* Smallish sends, so that the server's peeks straddle their boundaries. */
static int cli_peek(struct job *j)
{
	return send_and_reply(j, 1, PEEK_WRITE);
}

static int cli_download(struct job *j)
{
	struct stream down;
	struct rng r;

	job_stream(j, &down, DIR_DOWN, j->n, "down");
	rng_init(&r, j->seed, SALT_CLI);
	if (stream_recv(&j->io, &down, down.len, &r, 1, SMALL_READ) ||
	    stream_expect_eof(&j->io, &down))
		return -1;
	j->down_ok += down.off;
	j->csum += csum_value(&down.cs);
	return 0;
}

/* The file is unlinked at once: the descriptor keeps it, and nothing is
 * left in /tmp however the tool ends. */
static int make_file(struct job *j, struct stream *up, int *fdp)
{
	char path[] = "/tmp/sl-stream.XXXXXX";
	uint8_t *buf = xmalloc(FILE_BLOCK);
	uint64_t off;
	int fd = mkstemp(path);

	if (fd < 0) {
		free(buf);
		return sio_fail(&j->io, "mkstemp: %s", errname(errno));
	}
	unlink(path);
	for (off = 0; off < up->len; off += FILE_BLOCK) {
		size_t k = up->len - off < FILE_BLOCK ? up->len - off : FILE_BLOCK;

		stream_fill(up, off, buf, k);
		csum_add(&up->cs, buf, k);
		if (pwrite(fd, buf, k, (off_t)off) != (ssize_t)k) {
			free(buf);
			close(fd);
			return sio_fail(&j->io, "write tmpfile: %s", errname(errno));
		}
	}
	free(buf);
	*fdp = fd;
	return 0;
}

static int cli_sendfile(struct job *j)
{
	struct stream up;
	off_t off = 0;
	int fd = -1, rc = 0;

	job_stream(j, &up, DIR_UP, j->n, "up");
	if (make_file(j, &up, &fd))
		return -1;
	while (!rc && (uint64_t)off < up.len) {
		uint64_t left = up.len - (uint64_t)off;
		uint64_t most = j->io.chunk ? j->io.chunk : (1ul << 30);
		ssize_t n = sio_sendfile(&j->io, fd, &off, left < most ? left : most);

		if (n < 0)
			sio_note(&j->io, " dir=up at=%llu", (unsigned long long)off);
		if (n == 0)
			sio_fail(&j->io, "sendfile sent nothing at=%llu",
				 (unsigned long long)off);
		rc = n <= 0 ? -1 : 0;
	}
	close(fd);
	if (rc)
		return -1;
	up.off = up.len;
	if (sio_shutdown_wr(&j->io))
		return -1;
	return read_reply(j, &up);
}

/* Each chunk is written into an empty pipe (so the write never blocks),
 * then spliced from the pipe into the socket. */
static int splice_chunk(struct job *j, struct stream *up, int p[2],
			uint8_t *buf, size_t k)
{
	size_t moved = 0;

	stream_fill(up, up->off, buf, k);
	if (write(p[1], buf, k) != (ssize_t)k)
		return sio_fail(&j->io, "write pipe: %s", errname(errno));
	while (moved < k) {
		ssize_t n = sio_splice(&j->io, p[0], j->io.fd, k - moved, POLLOUT);

		if (n <= 0) {
			sio_fail(&j->io, "splice moved nothing");
			sio_note(&j->io, " dir=up at=%llu",
				 (unsigned long long)(up->off + moved));
			return -1;
		}
		moved += (size_t)n;
	}
	csum_add(&up->cs, buf, k);
	up->off += k;
	return 0;
}

static int cli_splice_send(struct job *j)
{
	uint8_t *buf = xmalloc(SPLICE_MAX);
	struct stream up;
	struct rng r;
	int p[2], rc = 0;

	job_stream(j, &up, DIR_UP, j->n, "up");
	rng_init(&r, j->seed, SALT_CLI);
	if (pipe2(p, O_CLOEXEC)) {
		free(buf);
		return sio_fail(&j->io, "pipe: %s", errname(errno));
	}
	while (!rc && up.off < up.len) {
		size_t k = rng_range(&r, 1, SPLICE_MAX);

		if (j->io.chunk && k > j->io.chunk)
			k = j->io.chunk;
		if (k > up.len - up.off)
			k = (size_t)(up.len - up.off);
		rc = splice_chunk(j, &up, p, buf, k);
	}
	close(p[0]);
	close(p[1]);
	free(buf);
	if (rc || sio_shutdown_wr(&j->io))
		return -1;
	return read_reply(j, &up);
}

/* Our FIN after n bytes; the server's n bytes after it saw our FIN; its
 * FIN after those. The server's verdict says whether its side held. */
static int cli_halfclose(struct job *j)
{
	struct stream up, down;
	struct rng r;

	job_stream(j, &up, DIR_UP, j->n, "up");
	job_stream(j, &down, DIR_DOWN, j->n, "down");
	rng_init(&r, j->seed, SALT_CLI);
	if (stream_send(&j->io, &up, up.len, &r, 1, MID_WRITE) ||
	    sio_shutdown_wr(&j->io))
		return -1;
	j->up_claim = up.len;
	if (stream_recv(&j->io, &down, down.len, &r, 1, SMALL_READ) ||
	    stream_expect_eof(&j->io, &down))
		return -1;
	j->down_ok += down.off;
	j->csum += csum_value(&up.cs) + csum_value(&down.cs);
	return 0;
}

/* n bytes, the server's "GOT n", then an abortive close (RST) while the
 * server sleeps in recv(). Whether it woke up is the server's verdict. */
static int cli_rst(struct job *j)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	unsigned long long got;
	char line[LINE_MAX_LEN];
	struct stream up;
	struct rng r;

	job_stream(j, &up, DIR_UP, j->n, "up");
	rng_init(&r, j->seed, SALT_CLI);
	if (stream_send(&j->io, &up, up.len, &r, 1, PEEK_WRITE) ||
	    sio_recv_line(&j->io, line, sizeof(line)))
		return -1;
	if (sscanf(line, "GOT %llu", &got) != 1 || got != up.len)
		return sio_fail(&j->io, "bad reply '%s'", line);
	sleep_ns(RST_PAUSE_NS);
	if (setsockopt(j->io.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)))
		return sio_fail(&j->io, "SO_LINGER: %s", errname(errno));
	sio_close(&j->io);
	j->up_claim = up.len;
	j->csum += csum_value(&up.cs);
	return 0;
}

/* Read a few KiB of an endless stream, then close with data unread. */
static int cli_close_while_write(struct job *j)
{
	struct stream down;
	struct rng r;

	job_stream(j, &down, DIR_DOWN, j->n, "down");
	rng_init(&r, j->seed, SALT_CLI);
	if (stream_recv(&j->io, &down, down.len, &r, 1, SMALL_READ))
		return -1;
	sio_close(&j->io);
	j->down_ok += down.off;
	j->csum += csum_value(&down.cs);
	return 0;
}

/* n request/response rounds; one send() per request. */
static int cli_rr(struct job *j)
{
	uint64_t tup, tdown, i;
	struct stream up, down;
	struct rng r, io_r;
	size_t req, resp;

	rr_totals(j->seed, j->n, &tup, &tdown);
	job_stream(j, &up, DIR_UP, tup, "up");
	job_stream(j, &down, DIR_DOWN, tdown, "down");
	rr_init(&r, j->seed);
	rng_init(&io_r, j->seed, SALT_CLI);
	for (i = 0; i < j->n; i++) {
		rr_sizes(&r, &req, &resp);
		if (stream_send(&j->io, &up, up.off + req, &io_r, req, req) ||
		    stream_recv(&j->io, &down, down.off + resp, &io_r, 1, resp)) {
			sio_note(&j->io, " round=%llu", (unsigned long long)i);
			return -1;
		}
	}
	if (sio_shutdown_wr(&j->io) || stream_expect_eof(&j->io, &down))
		return -1;
	/* The server answers a request only after verifying it. */
	j->up_ok += up.off;
	j->down_ok += down.off;
	j->csum += csum_value(&up.cs) + csum_value(&down.cs);
	return 0;
}

const struct cli_case cli_cases[] = {
	{ "echo", cli_echo, MIB, true, false, V_ON_FAIL,
	  "client sends 1 B..256 KiB chunks while reading the echo (poll)" },
	{ "upload", cli_upload, MIB, false, true, V_ON_FAIL,
	  "one send() per 4 MiB; server reads 1..1500 B, replies OK" },
	{ "download", cli_download, MIB, false, true, V_ON_FAIL,
	  "server sends 4 MiB blocks then FIN; client reads 1..1500 B" },
	{ "sendfile", cli_sendfile, MIB, false, true, V_ON_FAIL,
	  "client sendfile()s a /tmp file; server verifies" },
	{ "splice_recv", cli_splice_recv, MIB, false, true, V_ON_FAIL,
	  "server reads with splice() socket->pipe" },
	{ "splice_send", cli_splice_send, MIB, false, true, V_ON_FAIL,
	  "client writes via splice() pipe->socket" },
	{ "peek", cli_peek, MIB, false, true, V_ON_FAIL,
	  "server: recv(MSG_PEEK) k bytes, then recv the same k" },
	{ "halfclose", cli_halfclose, MIB, false, true, V_ALWAYS,
	  "n bytes + FIN each way, strictly in order" },
	{ "rst", cli_rst, 64 * KIB, false, true, V_ALWAYS,
	  "client RSTs while the server sleeps in recv()" },
	{ "close_while_write", cli_close_while_write, 8 * KIB, false, true,
	  V_ALWAYS, "client reads n bytes and closes; server writes must fail" },
	{ "rr", cli_rr, 1000, true, true, V_ON_FAIL,
	  "N request/response rounds of 1..100 B (N = --bytes)" },
	{ "churn", cli_rr, 1, true, true, V_ON_FAIL,
	  "rr with one round per connection; use many --conns" },
};

const size_t n_cli_cases = sizeof(cli_cases) / sizeof(cli_cases[0]);
