// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * One direction of a connection: the sender generates it chunk by chunk,
 * the receiver checks every byte at its offset. A failure names the
 * direction and the first bad offset, and says whether the bad bytes are
 * good bytes from elsewhere in the stream (lost or duplicated data) --
 * what a broken redirect typically produces -- or plain garbage.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "common.h"

void stream_init(struct stream *st, uint64_t cseed, enum dir d, uint64_t len,
		 const char *name)
{
	memset(st, 0, sizeof(*st));
	st->key = stream_key(cseed, d);
	st->len = len;
	st->corrupt_at = NO_OFFSET;
	st->name = name;
}

/* What the sender puts on the wire, test hook included. */
void stream_fill(const struct stream *st, uint64_t off, void *buf, size_t len)
{
	gen_fill(st->key, off, buf, len);
	if (st->corrupt_at >= off && st->corrupt_at - off < len)
		((uint8_t *)buf)[st->corrupt_at - off] ^= 0xff;
}

static int stream_bad(struct sio *s, const struct stream *st,
		      const uint8_t *buf, size_t bad, size_t len)
{
	uint64_t at = st->off + bad, from;

	sio_fail(s, "corrupt dir=%s at=%llu want=0x%02x got=0x%02x", st->name,
		 (unsigned long long)at, gen_byte(st->key, at), buf[bad]);
	if (!gen_locate(st->key, at, buf + bad, len - bad, &from))
		return -1;
	if (from < at)
		sio_note(s, " (bytes of offset %llu again: %llu duplicated)",
			 (unsigned long long)from, (unsigned long long)(at - from));
	else
		sio_note(s, " (bytes of offset %llu: %llu skipped, lost or reordered)",
			 (unsigned long long)from, (unsigned long long)(from - at));
	return -1;
}

/* Verifies the next len received bytes. Bytes past the stream's end are
 * an error too: that is how duplication at the very end shows. */
int stream_take(struct sio *s, struct stream *st, const void *buf, size_t len)
{
	size_t fit = len, bad;

	if (st->len - st->off < len)
		fit = (size_t)(st->len - st->off);
	bad = gen_check(st->key, st->off, buf, fit);
	if (bad < fit)
		return stream_bad(s, st, buf, bad, fit);
	csum_add(&st->cs, buf, fit);
	st->off += fit;
	if (fit < len)
		return sio_fail(s, "extra dir=%s at=%llu (%zu bytes past the end)",
				st->name, (unsigned long long)st->len, len - fit);
	return 0;
}

static void *xmalloc(size_t len)
{
	void *p = malloc(len ? len : 1);

	if (!p)
		die("malloc");
	return p;
}

static size_t clip(size_t want, uint64_t left)
{
	return left < want ? (size_t)left : want;
}

/*
 * Sends the stream up to offset 'until' in chunks of lo..hi bytes, each
 * chunk one send() call on a blocking socket: large calls are what
 * stresses a redirect that must split a message.
 */
int stream_send(struct sio *s, struct stream *st, uint64_t until,
		struct rng *r, size_t lo, size_t hi)
{
	uint8_t *buf;

	if (st->off >= until)
		return 0;
	if (s->chunk && hi > s->chunk)
		hi = s->chunk;
	if (lo > hi)
		lo = hi;
	buf = xmalloc(clip(hi, until - st->off));
	while (st->off < until) {
		size_t k = clip(rng_range(r, lo, hi), until - st->off);

		stream_fill(st, st->off, buf, k);
		if (sio_send_all(s, buf, k)) {
			sio_note(s, " dir=%s chunk at=%llu/%llu", st->name,
				 (unsigned long long)st->off,
				 (unsigned long long)st->len);
			free(buf);
			return -1;
		}
		csum_add(&st->cs, buf, k);
		st->off += k;
	}
	free(buf);
	return 0;
}

/* Receives and verifies up to offset 'until', with reads of lo..hi bytes:
 * small odd reads split every segment and message at odd places. */
int stream_recv(struct sio *s, struct stream *st, uint64_t until,
		struct rng *r, size_t lo, size_t hi)
{
	uint8_t *buf;
	int rc = 0;

	if (st->off >= until)
		return 0;
	if (s->chunk && hi > s->chunk)
		hi = s->chunk;
	if (lo > hi)
		lo = hi;
	buf = xmalloc(clip(hi, until - st->off));
	while (!rc && st->off < until) {
		size_t k = clip(rng_range(r, lo, hi), until - st->off);
		ssize_t n = sio_recv(s, buf, k, 0);

		if (n < 0) {
			sio_note(s, " dir=%s at=%llu/%llu", st->name,
				 (unsigned long long)st->off,
				 (unsigned long long)st->len);
			rc = -1;
		} else if (n == 0) {
			rc = sio_fail(s, "early_eof dir=%s at=%llu want=%llu",
				      st->name, (unsigned long long)st->off,
				      (unsigned long long)st->len);
		} else {
			rc = stream_take(s, st, buf, (size_t)n);
		}
	}
	free(buf);
	return rc;
}

/* After the whole stream: the next read must be EOF (a FIN), not more
 * data and not a reset. */
int stream_expect_eof(struct sio *s, struct stream *st)
{
	uint8_t buf[512];
	ssize_t n = sio_recv(s, buf, sizeof(buf), 0);

	if (n < 0) {
		sio_note(s, " instead of eof dir=%s at=%llu", st->name,
			 (unsigned long long)st->off);
		return -1;
	}
	if (n > 0)
		return stream_take(s, st, buf, (size_t)n);
	return 0;
}

/* The warm-up streams are separate from the case's: their own keys. */
static uint64_t warm_key(uint64_t cseed, enum dir d)
{
	return stream_key(mix64(cseed ^ 0x5741524d), d);
}

static int warm_turn(struct sio *s, uint64_t send_key, uint64_t recv_key,
		     uint64_t off, bool send_first)
{
	uint8_t out[WARM_MSG], in[WARM_MSG];
	size_t got = 0;

	gen_fill(send_key, off, out, sizeof(out));
	if (send_first && sio_send_all(s, out, sizeof(out)))
		return -1;
	while (got < sizeof(in)) {
		ssize_t n = sio_recv(s, in + got, sizeof(in) - got, 0);

		if (n <= 0)
			return n < 0 ? -1 : sio_fail(s, "EOF in warm-up at=%llu",
						     (unsigned long long)off);
		got += (size_t)n;
	}
	if (gen_check(recv_key, off, in, sizeof(in)) != sizeof(in))
		return sio_fail(s, "corrupt warm-up turn at=%llu", (unsigned long long)off);
	if (!send_first && sio_send_all(s, out, sizeof(out)))
		return -1;
	return 0;
}

int warmup_client(struct sio *s, uint64_t cseed, uint64_t turns)
{
	for (uint64_t i = 0; i < turns; i++)
		if (warm_turn(s, warm_key(cseed, DIR_UP), warm_key(cseed, DIR_DOWN),
			      i * WARM_MSG, true))
			return -1;
	return 0;
}

int warmup_server(struct sio *s, uint64_t cseed, uint64_t turns)
{
	for (uint64_t i = 0; i < turns; i++)
		if (warm_turn(s, warm_key(cseed, DIR_DOWN), warm_key(cseed, DIR_UP),
			      i * WARM_MSG, false))
			return -1;
	return 0;
}
