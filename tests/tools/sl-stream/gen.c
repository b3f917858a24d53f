// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The payload generator. Byte o of a stream is byte (o % 8) of the
 * little-endian word W(o / 8), W(i) = splitmix64(key + (i + 1) * golden):
 * counter-based rather than a running PRNG, so any offset costs one hash
 * and the receiver never needs the sender's chunking to verify. The key
 * mixes the run seed, the connection index and the direction, so bytes
 * that land in the wrong connection or the wrong direction fail too.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <string.h>

#include "common.h"

#define GOLDEN	0x9e3779b97f4a7c15ull
/* How far from a bad byte gen_locate() looks for where the data came from. */
#define LOCATE_WINDOW	(4 * MIB)

uint64_t mix64(uint64_t x)
{
	x += GOLDEN;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

uint64_t conn_seed(uint64_t run_seed, uint64_t idx)
{
	return mix64(run_seed ^ mix64(idx));
}

uint64_t stream_key(uint64_t cseed, enum dir d)
{
	return mix64(cseed ^ (d == DIR_UP ? 0x7570ull : 0x646f776eull));
}

static inline uint64_t gen_word(uint64_t key, uint64_t i)
{
	return mix64(key + i * GOLDEN);
}

uint8_t gen_byte(uint64_t key, uint64_t off)
{
	return (uint8_t)(gen_word(key, off >> 3) >> ((off & 7) * 8));
}

void gen_fill(uint64_t key, uint64_t off, void *buf, size_t len)
{
	uint8_t *p = buf;

	for (; len && (off & 7); len--)
		*p++ = gen_byte(key, off++);
	for (; len >= 8; len -= 8, off += 8, p += 8) {
		uint64_t w = htole64(gen_word(key, off >> 3));

		memcpy(p, &w, 8);
	}
	for (; len; len--)
		*p++ = gen_byte(key, off++);
}

/* Returns the index of the first byte that differs, or len. */
size_t gen_check(uint64_t key, uint64_t off, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint8_t want[4096];
	size_t done = 0;

	while (done < len) {
		size_t k = len - done < sizeof(want) ? len - done : sizeof(want);
		size_t i;

		gen_fill(key, off + done, want, k);
		if (memcmp(want, p + done, k)) {
			for (i = 0; want[i] == p[done + i]; i++)
				;
			return done + i;
		}
		done += k;
	}
	return len;
}

/* The 8 stream bytes starting at 8 * q + r, as a little-endian word. */
static inline uint64_t window_at(uint64_t lo, uint64_t hi, unsigned int r)
{
	return r ? (lo >> (8 * r)) | (hi << (64 - 8 * r)) : lo;
}

/*
 * Bad data at offset 'at' is usually good data from elsewhere in the same
 * stream: from before 'at' if bytes were delivered twice, from after it if
 * bytes were lost. Finding where turns "corrupt" into "lost 4096 bytes".
 * Needs 16 received bytes: 8 to search with, the rest to confirm.
 */
bool gen_locate(uint64_t key, uint64_t at, const void *buf, size_t len,
		uint64_t *where)
{
	uint64_t start = at > LOCATE_WINDOW ? at - LOCATE_WINDOW : 0;
	uint64_t q, lo, hi, v;
	size_t cmp = len < 64 ? len : 64;
	unsigned int r;

	if (len < 16)
		return false;
	memcpy(&v, buf, 8);
	v = le64toh(v);
	lo = gen_word(key, start >> 3);
	for (q = start >> 3; q <= (at + LOCATE_WINDOW) >> 3; q++, lo = hi) {
		hi = gen_word(key, q + 1);
		for (r = 0; r < 8; r++) {
			uint64_t y = q * 8 + r;

			if (y == at || window_at(lo, hi, r) != v)
				continue;
			if (gen_check(key, y, buf, cmp) == cmp) {
				*where = y;
				return true;
			}
		}
	}
	return false;
}

/* Fletcher-style: order-sensitive, and independent of how the bytes were
 * split into reads, so both ends of a stream compute the same value. */
void csum_add(struct csum *c, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t a = c->a, b = c->b;
	size_t i;

	for (i = 0; i < len; i++) {
		a += p[i];
		b += a;
	}
	c->a = a;
	c->b = b;
}

uint64_t csum_value(const struct csum *c)
{
	return mix64(c->a) ^ c->b;
}

/* xorshift64*: the chunk and read sizes. Seeded from the connection, so a
 * failing run replays with the same split of the stream into calls. */
void rng_init(struct rng *r, uint64_t seed, uint64_t salt)
{
	r->s = mix64(seed ^ mix64(salt)) | 1;
}

uint64_t rng_next(struct rng *r)
{
	uint64_t x = r->s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	r->s = x;
	return x * 0x2545f4914f6cdd1dull;
}

size_t rng_range(struct rng *r, size_t lo, size_t hi)
{
	return lo + (size_t)(rng_next(r) % (hi - lo + 1));
}

/* rr and churn: both ends draw the same request and response sizes from
 * the same generator, so no framing bytes are needed on the wire. */
#define RR_SALT	0x7272ull
#define RR_MAX	100

void rr_sizes(struct rng *r, size_t *req, size_t *resp)
{
	*req = rng_range(r, 1, RR_MAX);
	*resp = rng_range(r, 1, RR_MAX);
}

void rr_init(struct rng *r, uint64_t cseed)
{
	rng_init(r, cseed, RR_SALT);
}

void rr_totals(uint64_t cseed, uint64_t rounds, uint64_t *up, uint64_t *down)
{
	struct rng r;
	size_t req, resp;

	rr_init(&r, cseed);
	*up = *down = 0;
	while (rounds--) {
		rr_sizes(&r, &req, &resp);
		*up += req;
		*down += resp;
	}
}
