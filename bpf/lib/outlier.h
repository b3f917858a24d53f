/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Outlier detection's state machine, per endpoint (sl_backend_state), in
 * plain C so that the unit tests run the very code the kernel runs:
 *
 *   connect failed   -> failures + 1; at eject_after in a row the streak
 *                       starts again and the endpoint is due for ejection
 *   connect succeeded -> failures = 0
 *   ejection         -> ejected for eject_ms x the ejections so far, at
 *                       most 10 x (Envoy's baseEjectionTime rule)
 *
 * and the service-wide limits, decided from a census of its members:
 * maxEjectionPercent (the first ejection is always allowed, as Envoy's)
 * and minHealthPercent (below it, ejection is ignored: Envoy's panic).
 */
#ifndef SLUICE_BPF_OUTLIER_H
#define SLUICE_BPF_OUTLIER_H

#include <stdbool.h>
#include <sluice/abi.h>

#define SL_OD_MAX_MULTIPLIER 10

static __always_inline bool sl_od_is_ejected(const struct sl_backend_state *b, __u64 now)
{
	return now < b->ejected_until_ns;
}

/* One connect outcome; true when it completes a streak of eject_after
 * failures (the caller then decides whether the ejection may happen). */
static __always_inline bool sl_od_outcome(struct sl_backend_state *b, bool failed,
					  __u32 eject_after)
{
	if (!failed) {
		if (b->failures)
			b->failures = 0;
		return false;
	}
	if (__sync_fetch_and_add(&b->failures, 1) + 1 < eject_after)
		return false;
	b->failures = 0;
	return true;
}

static __always_inline void sl_od_eject(struct sl_backend_state *b, __u64 now, __u32 eject_ms)
{
	__u32 n = __sync_fetch_and_add(&b->ejections, 1) + 1;

	if (n > SL_OD_MAX_MULTIPLIER)
		n = SL_OD_MAX_MULTIPLIER;
	b->ejected_until_ns = now + (__u64)eject_ms * 1000000 * n;
}

/* maxEjectionPercent: one more ejected must not pass max_pct of the
 * members, except the first. */
static __always_inline bool sl_od_may_eject(__u32 members, __u32 ejected, __u32 max_pct)
{
	return max_pct >= 100 || !ejected ||
	       (__u64)(ejected + 1) * 100 <= (__u64)max_pct * members;
}

/* minHealthPercent: fewer healthy members than min_pct of them. */
static __always_inline bool sl_od_panicking(__u32 members, __u32 ejected, __u32 min_pct)
{
	return min_pct && (__u64)(members - ejected) * 100 < (__u64)min_pct * members;
}

#endif /* SLUICE_BPF_OUTLIER_H */
