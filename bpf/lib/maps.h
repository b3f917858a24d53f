/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Map definitions shared by every Sluice BPF object. Each map is pinned by
 * name under the agent's bpffs directory, so objects loaded separately (and
 * a restarted agent) share one instance. Sizes here are placeholders: the
 * agent sets every capacity before load from its command line.
 */
#ifndef SLUICE_BPF_MAPS_H
#define SLUICE_BPF_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <sluice/abi.h>

/* Maps written only by the agent are not preallocated: an update then
 * replaces the element under RCU, so a program that already holds the old
 * value keeps reading a consistent copy. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, SL_DEFAULT_MAX_SERVICES);
	__type(key, struct sl_svc_key);
	__type(value, struct sl_svc);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_svc SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, SL_DEFAULT_MAX_SLOTS);
	__type(key, struct sl_slot_key);
	__type(value, struct sl_slot);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_slot SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, SL_DEFAULT_MAX_SLOTS);
	__type(key, struct sl_member_key);
	__type(value, struct sl_member);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_member SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, SL_DEFAULT_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct sl_backend);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_backend SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SL_DEFAULT_MAX_REVNAT);
	__type(key, struct sl_revnat_key);
	__type(value, struct sl_revnat);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_revnat SEC(".maps") __weak;

/* Per socket: exact (nothing is ever evicted while the socket lives) and
 * freed by the kernel with the socket, so no close hook is needed. */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct sl_sock_vip);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_sock_vip SEC(".maps") __weak;

/* Counters are shared (not per-CPU) arrays updated with atomic adds once
 * per connection: per-CPU copies of 262,144 backends would cost gigabytes
 * on large machines, and a connection is rare next to a packet. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SL_DEFAULT_MAX_SERVICES);
	__type(key, __u32);
	__type(value, struct sl_svc_state);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_svc_state SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SL_DEFAULT_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct sl_backend_state);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_backend_state SEC(".maps") __weak;

/* Read only by userspace; defined here so that they are pinned with the
 * rest and the CLI finds everything in one directory. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, SL_DEFAULT_MAX_SERVICES);
	__type(key, __u32);
	__type(value, struct sl_svc_info);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_svc_info SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, SL_DEFAULT_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct sl_backend_info);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_backend_info SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sl_status);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_status SEC(".maps") __weak;

/* Same-node acceleration (bpf/sockops.bpf.c, bpf/redir.bpf.c). */
struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, SL_DEFAULT_MAX_SOCKETS);
	__type(key, struct sl_sock_key);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_sockhash SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SL_DEFAULT_MAX_SOCKETS);
	__type(key, struct sl_sock_key);
	__type(value, struct sl_flow);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_flow SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SL_DEFAULT_MAX_LOCAL_ADDRS);
	__type(key, struct sl_local_addr_key);
	__type(value, struct sl_local_addr);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_local_addr SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SL_DEFAULT_MAX_READERS);
	__type(key, struct sl_reader_key);
	__type(value, struct sl_reader);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_reader SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SL_DEFAULT_MAX_SHORT_PAIRS);
	__type(key, struct sl_sock_key);
	__type(value, struct sl_short_pair);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_short_pair SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sl_redir_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_redir_stats SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sl_settings);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_settings SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SL_DEFAULT_MAX_SERVICES);
	__type(key, __u32);
	__type(value, struct sl_conn_bucket);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_conn_bucket SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, SL_DEFAULT_MAX_IPCACHE / 2);
	__type(key, struct sl_workload_key);
	__type(value, struct sl_bw);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_bw SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, SL_DEFAULT_MAX_IPCACHE / 2);
	__type(key, struct sl_limit_src_key);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_limit_src SEC(".maps") __weak;

/* Connection telemetry (see include/sluice/abi.h). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, SL_DEFAULT_MAX_TRAFFIC);
	__type(key, struct sl_traffic_key);
	__type(value, struct sl_traffic);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_traffic SEC(".maps") __weak;

/* A zeroed value to create sluice_traffic entries from: one is too large
 * for the BPF stack. Never written. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sl_traffic);
} sluice_traffic_zero SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct sl_conn);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_conn SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sl_event_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_event_stats SEC(".maps") __weak;

/* Identity and authorization (see include/sluice/abi.h). */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, SL_DEFAULT_MAX_IPCACHE);
	__type(key, struct sl_ipcache_key);
	__type(value, struct sl_ipcache);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_ipcache SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, SL_DEFAULT_MAX_NETNS);
	__type(key, __u64);
	__type(value, struct sl_netns_addr);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_netns_addr SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, SL_DEFAULT_MAX_POLICY);
	__type(key, struct sl_policy_key);
	__type(value, struct sl_policy_verdict);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_policy SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, SL_DEFAULT_MAX_POLICY_SETS);
	__type(key, struct sl_policy_set_key);
	__type(value, struct sl_policy_verdict);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_policy_set SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SL_DEFAULT_MAX_POLICIES);
	__type(key, __u32);
	__type(value, struct sl_policy_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_policy_stats SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, SL_DEFAULT_MAX_POLICIES);
	__type(key, __u32);
	__type(value, struct sl_policy_info);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_policy_info SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, SL_DEFAULT_MAX_IDENTITIES);
	__type(key, __u32);
	__type(value, struct sl_identity_info);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_identity_info SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, SL_DEFAULT_MAX_IPCACHE);
	__type(key, struct sl_workload_key);
	__type(value, struct sl_workload_info);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_workload_info SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SL_DEFAULT_MAX_UDP_PEERS);
	__type(key, struct sl_udp_peer_key);
	__type(value, struct sl_udp_peer);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_udp_peer SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, SL_DEFAULT_MAX_DOOMED);
	__type(key, struct sl_doomed_key);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_doomed SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, SL_EVENTS_BYTES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_events SEC(".maps") __weak;

/* The agent's settings; NULL only if the array were empty. */
static __always_inline struct sl_settings *sl_settings(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&sluice_settings, &zero);
}

/* A zeroed, time-stamped event from the ring buffer, or NULL when it is
 * full; either way counted in sluice_event_stats. */
static __always_inline struct sl_event *sl_event_reserve(__u32 type)
{
	struct sl_event *e = bpf_ringbuf_reserve(&sluice_events, sizeof(*e), 0);
	__u32 zero = 0;
	struct sl_event_stats *st = bpf_map_lookup_elem(&sluice_event_stats, &zero);

	if (st) {
		if (e)
			st->written++;
		else
			st->dropped++;
	}
	if (!e)
		return NULL;
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = bpf_ktime_get_ns();
	e->type = type;
	return e;
}

/* Submit without waking the reader unless enough is waiting. */
static __always_inline void sl_event_submit(void *e)
{
	__u64 waiting = bpf_ringbuf_query(&sluice_events, BPF_RB_AVAIL_DATA);

	bpf_ringbuf_submit(e, waiting >= SL_EVENTS_WAKEUP_BYTES ? BPF_RB_FORCE_WAKEUP :
			   BPF_RB_NO_WAKEUP);
}

#endif /* SLUICE_BPF_MAPS_H */
