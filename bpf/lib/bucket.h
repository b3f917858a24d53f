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

#endif /* SLUICE_BPF_BUCKET_H */
