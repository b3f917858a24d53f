// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The client side of 'echo': both directions busy at once on one
 * non-blocking socket. One poll() loop sends chunks of 1 B..256 KiB while
 * it reads and verifies the echo; never blocking in one direction is what
 * keeps the two sides from deadlocking on full buffers.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <stdlib.h>

#include "common.h"

#define ECHO_CHUNK_MAX	(256 * KIB)
#define SALT_ECHO	0x6563686full

struct echo_tx {
	struct stream st;
	struct rng r;
	uint8_t *buf;
	size_t cap;
	size_t chunk, sent;	/* the chunk at st.off, and how much is out */
};

static int echo_send(struct job *j, struct echo_tx *t)
{
	ssize_t n;

	if (t->sent == t->chunk) {
		t->chunk = rng_range(&t->r, 1, t->cap);
		if (t->chunk > t->st.len - t->st.off)
			t->chunk = (size_t)(t->st.len - t->st.off);
		t->sent = 0;
		stream_fill(&t->st, t->st.off, t->buf, t->chunk);
	}
	n = sio_try_send(&j->io, t->buf + t->sent, t->chunk - t->sent);
	if (n == SIO_AGAIN)
		return 0;
	if (n < 0) {
		sio_note(&j->io, " dir=up at=%llu",
			 (unsigned long long)(t->st.off + t->sent));
		return -1;
	}
	t->sent += (size_t)n;
	if (t->sent == t->chunk) {
		csum_add(&t->st.cs, t->buf, t->chunk);
		t->st.off += t->chunk;
	}
	return 0;
}

static int echo_recv(struct job *j, struct stream *rx, uint8_t *buf,
		     size_t cap)
{
	ssize_t n = sio_try_recv(&j->io, buf, cap);

	if (n == SIO_AGAIN)
		return 0;
	if (n < 0) {
		sio_note(&j->io, " dir=echo at=%llu", (unsigned long long)rx->off);
		return -1;
	}
	if (n == 0)
		return sio_fail(&j->io, "early_eof dir=echo at=%llu want=%llu",
				(unsigned long long)rx->off,
				(unsigned long long)rx->len);
	return stream_take(&j->io, rx, buf, (size_t)n);
}

/* Until the whole echo is back; our FIN goes out as soon as our last byte
 * has, while the echo is still streaming in. */
static int echo_loop(struct job *j, struct echo_tx *t, struct stream *rx,
		     uint8_t *rbuf)
{
	bool shut = false;
	int rc = 0;

	while (!rc) {
		short ev = POLLIN, rev = 0;

		if (t->st.off == t->st.len && !shut) {
			rc = sio_shutdown_wr(&j->io);
			shut = true;
		}
		if (rc || rx->off == rx->len)
			break;
		if (!shut)
			ev |= POLLOUT;
		rc = sio_wait(&j->io, ev, &rev, "poll");
		if (!rc && !shut && (rev & POLLOUT))
			rc = echo_send(j, t);
		if (!rc && (rev & (POLLIN | POLLHUP | POLLERR)))
			rc = echo_recv(j, rx, rbuf, t->cap);
	}
	if (rc)
		sio_note(&j->io, " (sent %llu, echo received %llu of %llu)",
			 (unsigned long long)t->st.off,
			 (unsigned long long)rx->off,
			 (unsigned long long)rx->len);
	return rc;
}

int cli_echo(struct job *j)
{
	struct echo_tx t = { .cap = j->n < ECHO_CHUNK_MAX ? j->n : ECHO_CHUNK_MAX };
	struct stream rx;
	uint8_t *rbuf;
	int rc;

	if (!t.cap)
		t.cap = 1;
	stream_init(&t.st, j->seed, DIR_UP, j->n, "up");
	t.st.corrupt_at = j->o->corrupt_up;
	stream_init(&rx, j->seed, DIR_UP, j->n, "echo");
	rng_init(&t.r, j->seed, SALT_ECHO);
	t.buf = malloc(t.cap);
	rbuf = malloc(t.cap);
	if (!t.buf || !rbuf)
		die("malloc");
	rc = echo_loop(j, &t, &rx, rbuf);
	if (!rc)
		rc = stream_expect_eof(&j->io, &rx);
	free(t.buf);
	free(rbuf);
	if (rc)
		return -1;
	/* The server echoes raw bytes: a good echo proves both legs. */
	j->up_ok += rx.off;
	j->down_ok += rx.off;
	j->csum += csum_value(&rx.cs);
	return 0;
}
