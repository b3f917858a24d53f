/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Bandwidth limits (sluice_bw): the buckets shared by the TC policer, the
 * sk_msg shortcut and the sockops pacing, so a workload's bytes count
 * once whichever way they leave.
 */
#ifndef SLUICE_BPF_BANDWIDTH_H
#define SLUICE_BPF_BANDWIDTH_H

#include <stdbool.h>

#include "bucket.h"
#include "maps.h"

/* TCP is paced this far below the limit: the policer counts IP bytes,
 * pacing counts payload, and headers add 2-4% to paced segments; the
 * bucket's depth absorbs what is left over for many seconds. */
#define SL_BW_PACE_PERCENT 97

static __always_inline bool sl_bw_configured(void)
{
	struct sl_settings *cfg = sl_settings();

	return cfg && cfg->bandwidth;
}

static __always_inline struct sl_bw *sl_bw_of(const struct sl_addr *addr, __u8 family)
{
	struct sl_workload_key key = {};

	key.addr = *addr;
	key.family = family;
	return bpf_map_lookup_elem(&sluice_bw, &key);
}

/* Takes len bytes from one direction of a workload's limit: 1 when they
 * fit (or there is no limit), 0 when they do not. A refusal is a drop for
 * TC and a message sent through TCP instead for sk_msg. dir must be a
 * constant. */
static __always_inline int sl_bw_take(struct sl_bw *bw, int dir, __u64 len, bool drop)
{
	struct sl_bw_dir *d = &bw->dir[dir];
	__u64 now;
	int ok;

	if (!d->rate)
		return 1;
	now = bpf_ktime_get_ns();	/* no helper call under the lock */
	bpf_spin_lock(&bw->lock);
	ok = sl_bytes_take(d, now, len, !drop);
	if (ok) {
		d->passed_bytes += len;
	} else if (drop) {
		d->dropped_bytes += len;
		d->dropped_pkts++;
	} else {
		d->deferred_msgs++;
	}
	bpf_spin_unlock(&bw->lock);
	return ok;
}

/* Bytes per second a TCP sender at local may send to remote: the lower of
 * local's egress and remote's ingress limit (remote counts only when it
 * is a workload of this node); 0 when neither is limited. */
static __always_inline __u64 sl_bw_send_rate(const struct sl_addr *local,
					     const struct sl_addr *remote, __u8 family)
{
	struct sl_bw *bw;
	__u64 rate = 0, r;

	bw = sl_bw_of(local, family);
	if (bw)
		rate = bw->dir[SL_BW_EGRESS].rate;
	bw = sl_bw_of(remote, family);
	if (bw) {
		r = bw->dir[SL_BW_INGRESS].rate;
		if (r && (!rate || r < rate))
			rate = r;
	}
	return rate;
}

#endif /* SLUICE_BPF_BANDWIDTH_H */
