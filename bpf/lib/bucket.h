/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Token bucket arithmetic, in plain C so that the unit tests run the very
 * code the kernel runs. The caller holds the bucket's lock.
 *
 * Tokens are kept in nano-tokens: a connection costs SL_TOKEN, time adds
 * rate nano-tokens per nanosecond, up to burst * SL_TOKEN. After 10 s of
 * silence the bucket is simply full, so dt * rate cannot overflow (rate is
 * at most 10^6). A changed rate or burst starts a full bucket.
 */
#ifndef SLUICE_BPF_BUCKET_H
#define SLUICE_BPF_BUCKET_H

#include <stdbool.h>
#include <sluice/abi.h>

static __always_inline int sl_bucket_take(struct sl_conn_bucket *b, __u64 now,
					  __u32 rate, __u32 burst)
{
	__u64 cap = (__u64)burst * SL_TOKEN, dt;

	if (b->conn_rate != rate || b->conn_burst != burst) {
		b->conn_rate = rate;
		b->conn_burst = burst;
		b->tokens = cap;
		b->last_ns = now;
	}
	dt = now - b->last_ns;
	b->last_ns = now;
	if (dt > 10 * SL_TOKEN)
		b->tokens = cap;
	else
		b->tokens += dt * rate;
	if (b->tokens > cap)
		b->tokens = cap;
	if (b->tokens < SL_TOKEN)
		return 0;
	b->tokens -= SL_TOKEN;
	return 1;
}

/*
 * A bucket of bytes (one direction of sluice_bw). Tokens are nano-bytes:
 * time adds rate of them per nanosecond, up to burst bytes' worth. A
 * refill covers at most one second, so dt * rate stays below 2^64 for
 * rates up to SL_BW_MAX_RATE. A clock read on another CPU just before a
 * newer refill (dt "negative") adds nothing. keep_half leaves half the
 * bucket to others: the shortcut must not leave TCP, which takes over
 * when the shortcut's share is spent, an empty bucket to start from (its
 * first flight would be dropped and wait for a retransmission timeout).
 */
static __always_inline int sl_bytes_take(struct sl_bw_dir *d, __u64 now, __u64 len,
					  bool keep_half)
{
	__u64 cap = d->burst * SL_NSEC, need = len * SL_NSEC, dt = 0;

	if (!d->last_ns) {
		d->tokens = cap;
		d->last_ns = now;
	}
	if (now > d->last_ns) {
		dt = now - d->last_ns;
		d->last_ns = now;
	}
	if (dt > SL_NSEC)
		dt = SL_NSEC;
	d->tokens += dt * d->rate;
	if (d->tokens > cap)
		d->tokens = cap;
	if (d->tokens < need + (keep_half ? cap / 2 : 0))
		return 0;
	d->tokens -= need;
	return 1;
}

#endif /* SLUICE_BPF_BUCKET_H */
