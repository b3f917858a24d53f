/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The ABI between Sluice's BPF programs and its userspace (agent and CLI).
 *
 * Everything that crosses the kernel boundary is defined here and only here:
 * map names, key and value layouts, flags and limits. BPF code and userspace
 * include this file; neither defines its own copy of any of these shapes.
 *
 * Addresses are stored in network byte order in a 16-byte field whatever the
 * family; an IPv4 address occupies addr[0] and the rest is zero, so a key
 * never carries uninitialised bytes.
 */
#ifndef SLUICE_ABI_H
#define SLUICE_ABI_H

#include <linux/types.h>
#include <linux/bpf.h>	/* struct bpf_spin_lock */

/* Bumped whenever a pinned map's layout or meaning changes. An agent refuses
 * to adopt pins written by a different ABI version. */
#define SL_ABI_VERSION 5

/* Address families as stored in keys: the kernel's AF_INET / AF_INET6. */
#define SL_AF_INET 2
#define SL_AF_INET6 10

#define SL_PROTO_TCP 6
#define SL_PROTO_UDP 17

/* Default map capacities; every one can be changed on the agent's command
 * line. The arrays indexed by service or backend id have exactly as many
 * entries as there are ids. */
#define SL_DEFAULT_MAX_SERVICES 65536
#define SL_DEFAULT_MAX_BACKENDS 262144
#define SL_DEFAULT_MAX_SLOTS 1048576
#define SL_DEFAULT_MAX_REVNAT 131072

/* A service's slot table never exceeds this many entries: weights are
 * reduced by their common divisor, then scaled down if still larger. */
#define SL_MAX_SLOTS_PER_SERVICE 65536

#define SL_NAMESPACE_LEN 64
#define SL_NAME_LEN 256
#define SL_PORT_NAME_LEN 64
#define SL_LOCALITY_LEN 128
#define SL_ERROR_LEN 512
#define SL_PATH_LEN 256
#define SL_WARNINGS_LEN 1024

struct sl_addr {
	__be32 a[4];
};

/* sluice_svc: frontend (VIP, port, protocol) -> the endpoint set in force. */
struct sl_svc_key {
	struct sl_addr addr;
	__be16 port;
	__u8 proto;
	__u8 family;
};

/* The whole value is replaced in one map update, so a connection sees
 * either the old (rev, counts) or the new ones, never a mix. Entries of
 * revision rev in sluice_slot and sluice_member are written before the
 * value that points at them and deleted after it no longer does. */
/* The service opted out of same-node redirection (annotation
 * sluice.dev/redirect: "false"). */
#define SL_SVC_F_NO_REDIRECT (1U << 0)
/* DestinationRule loadBalancer.simple: RANDOM picks a random slot;
 * LEAST_REQUEST takes the next two slots' endpoints and the one with
 * fewer active connections from this node (counted like connection pool
 * places). Neither: ROUND_ROBIN over the weighted slots. */
#define SL_SVC_F_LB_RANDOM (1U << 1)
#define SL_SVC_F_LB_LEAST (1U << 2)
/* Annotation sluice.dev/reset-on-endpoint-removal: "false": connections to
 * an endpoint that leaves the service are left open. */
#define SL_SVC_F_KEEP_ON_REMOVAL (1U << 3)
/* loadBalancer.consistentHash (useSourceIp): the slots are a Maglev table
 * and the client's address picks the slot, so a client keeps its endpoint
 * while that endpoint stays (and almost always when others change). */
#define SL_SVC_F_LB_HASH (1U << 4)
/* The connection rate limit applies only to the clients listed in
 * sluice_limit_src (TrafficLimit spec.sources). */
#define SL_SVC_F_LIMIT_SOURCES (1U << 5)

/* Locality priorities (DestinationRule localityLbSetting failover) a slot
 * table holds at most: same subzone, zone, region, failover region, rest. */
#define SL_MAX_TIERS 5

struct sl_svc {
	__u32 id;		/* index into sluice_svc_state and sluice_svc_info */
	__u32 rev;		/* revision of the slot and member tables */
	__u32 n_members;	/* entries of sluice_member in this revision */
	__u32 n_slots;		/* entries of sluice_slot; 0: no endpoint, refuse */
	__u32 flags;		/* SL_SVC_F_* */
	__u32 conn_rate;	/* new connections per second, 0: no limit */
	__u32 conn_burst;	/* token bucket depth */
	__u32 max_conn;		/* active TCP connections per endpoint from this
				 * node (DestinationRule connectionPool), 0: none */
	__u32 idle_ms;		/* connectionPool.tcp.idleTimeout, 0: none */
	__u32 max_age_ms;	/* connectionPool.tcp.maxConnectionDuration */
	__u32 eject_after;	/* outlierDetection: consecutive connect failures
				 * that eject an endpoint, 0: no detection */
	__u32 eject_ms;		/* baseEjectionTime (times the ejections so far) */
	__u16 ka_time_s;	/* connectionPool.tcp.tcpKeepalive, 0: none */
	__u16 ka_interval_s;
	__u32 ka_probes;
	/* Locality priorities: the slot table is priority 0's slots, then
	 * priority 1's, ...; priority t holds slots [tier_end[t - 1],
	 * tier_end[t]). New connections go to priority 0; the next priority
	 * is tried only when the one chosen and those looked at after it are
	 * all ejected by outlier detection. n_tiers 0: one table, as before. */
	__u32 n_tiers;
	__u32 tier_end[SL_MAX_TIERS];
	__u32 connect_ms;	/* connectionPool.tcp.connectTimeout, 0: the
				 * kernel's SYN retries (about 127 s) */
	__u8 eject_max_pct;	/* outlierDetection.maxEjectionPercent: an
				 * ejection that would make more of the
				 * members ejected at once is refused (one is
				 * always allowed) */
	__u8 min_health_pct;	/* outlierDetection.minHealthPercent: below
				 * this share of members not ejected, ejected
				 * ones are used too (Envoy's panic); 0: off */
	__u16 pad2;
};

/* sluice_slot: (service, revision, slot) -> backend. The agent lays slots
 * out as a smooth weighted round-robin sequence, so walking them in order
 * with a cursor gives each backend its weight's share of new connections
 * over any window of n_slots connections. */
struct sl_slot_key {
	__u32 svc_id;
	__u32 rev;
	__u32 slot;
};

struct sl_slot {
	__u32 backend_id;
};

/* sluice_member: (service, revision, index) -> one endpoint of the service
 * with its configured weight and conditions, for the CLI and for selection
 * policies that look at every endpoint. */
struct sl_member_key {
	__u32 svc_id;
	__u32 rev;
	__u32 idx;
};

#define SL_MEMBER_F_READY (1U << 0)
#define SL_MEMBER_F_SERVING (1U << 1)
#define SL_MEMBER_F_TERMINATING (1U << 2)

struct sl_member {
	__u32 backend_id;
	__u32 weight;
	__u32 flags;		/* SL_MEMBER_F_* */
	__u32 n_slots;		/* slots this member holds in the slot table */
	__u32 tier;		/* its locality priority (sl_svc.tier_end) */
};

/* sluice_backend: backend id -> where to send the connection. An id always
 * names the same (address, port, protocol) while it is in use. */
struct sl_backend {
	struct sl_addr addr;
	__be16 port;
	__u8 proto;
	__u8 family;
	__u32 flags;
};

/* sluice_sock_vip: socket-local storage of a connected socket (TCP, or UDP
 * after connect()) that was sent to a backend instead of the VIP it
 * dialled. Read by getpeername and recvmsg so that the application keeps
 * seeing the address it dialled; freed with the socket. */
struct sl_sock_vip {
	struct sl_addr backend;
	struct sl_addr vip;
	__be16 backend_port;
	__be16 vip_port;
	__u8 family;
	__u8 pad[3];
	__u32 svc_id;
	__u32 svc_flags;	/* SL_SVC_F_* of the service at connect time */
	__u32 pooled;		/* 1 + the backend id whose active count this
				 * connection holds; 0: none */
	__u64 start_ns;		/* bpf_ktime_get_ns() at connect */
	__u32 idle_ms;		/* the service's timeouts at connect time */
	__u32 max_age_ms;
	__u32 backend_id;	/* the endpoint chosen */
	__u32 eject_after;	/* the service's outlier detection at connect */
	__u32 eject_ms;
	__u16 ka_time_s;	/* the service's tcpKeepalive at connect */
	__u16 ka_interval_s;
	__u32 connect_ms;	/* the service's connectTimeout at connect */
	__u32 user_timeout;	/* 1 + the application's own TCP_USER_TIMEOUT,
				 * replaced by connect_ms during the handshake
				 * and given back when it is established; 0:
				 * untouched */
	__u32 ka_probes;
	__u32 joined;		/* the client joined the same-node shortcut */
	__u64 established_ns;	/* telemetry: when it was established, 0: not
				 * (yet); such a socket needs no sluice_conn */
	__u64 shortcut_sent;	/* as in struct sl_conn */
	__u64 shortcut_received;
	__be16 sport;		/* the client's port once established (the
				 * kernel clears it from the socket at close) */
	__u16 pad4[3];
};

/* sluice_revnat: (socket, backend) -> VIP, for unconnected UDP sockets,
 * which may send to many VIPs and backends: recvmsg turns each reply's
 * source back into the VIP the datagram was sent to. */
struct sl_revnat_key {
	__u64 cookie;
	struct sl_addr addr;
	__be16 port;
	__u8 proto;
	__u8 family;
	__u32 pad;
};

struct sl_revnat {
	struct sl_addr addr;
	__be16 port;
	__u8 family;
	__u8 pad;
	__u32 svc_id;
};

/* sluice_svc_state: array indexed by service id. The cursor advances once
 * per new connection or datagram; counters are cumulative. */
struct sl_svc_state {
	__u32 cursor;
	__u32 pad;
	__u64 connects;		/* TCP/UDP connects translated */
	__u64 datagrams;	/* unconnected UDP sends translated */
	__u64 refused;		/* attempts refused: no endpoint */
	__u64 errors;		/* tables inconsistent: refused, agent bug */
	__u64 rate_limited;	/* attempts refused: over connectionsPerSecond */
	__u64 pool_full;	/* attempts refused: every endpoint tried was at
				 * maxConnections */
	__u64 idle_closed;	/* connections reset after idleTimeout */
	__u64 aged_closed;	/* ... after maxConnectionDuration */
	__u64 eject_refused;	/* outlier ejections refused: they would have
				 * ejected more than maxEjectionPercent */
	__u64 eject_panic;	/* connections sent to an ejected endpoint:
				 * fewer than minHealthPercent were healthy */
};

/* sluice_conn_bucket: array indexed by service id, the token bucket of its
 * connection rate limit (TrafficLimit), in nano-tokens: a connection costs
 * 10^9, time adds conn_rate per nanosecond, up to conn_burst * 10^9. The
 * rate and burst it was filled for are kept, so a changed limit starts a
 * full bucket. */
#define SL_TOKEN 1000000000ULL

struct sl_conn_bucket {
	struct bpf_spin_lock lock;
	__u32 conn_rate;
	__u32 conn_burst;
	__u32 pad;
	__u64 tokens;
	__u64 last_ns;
};

/* sluice_backend_state: array indexed by backend id. */
struct sl_backend_state {
	__u64 selected;		/* connections and datagrams sent here */
	__u64 active;		/* TCP connections held against a service's
				 * maxConnections: taken at connect, given back
				 * when the socket closes (sockops) */
	__u64 ejected_until_ns;	/* outlier ejection: no new connections before */
	__u32 failures;		/* consecutive connect failures (refused, reset,
				 * timed out), seen by sockops */
	__u32 ejections;	/* times ejected so far */
};

/* sluice_svc_info: service id -> names, for the CLI only. */
#define SL_KIND_SERVICE 1	/* v1 Service + EndpointSlices */
#define SL_KIND_SERVICE_ENTRY 2	/* networking.istio.io ServiceEntry */

struct sl_svc_info {
	char namespace[SL_NAMESPACE_LEN];
	char name[SL_NAME_LEN];
	char port_name[SL_PORT_NAME_LEN];
	__u32 kind;		/* SL_KIND_* */
	__u32 pad;
};

/* sluice_backend_info: backend id -> descriptive data, for the CLI only. */
struct sl_backend_info {
	char locality[SL_LOCALITY_LEN];
};

/* sluice_status: one entry, key 0. Written by the agent after every
 * configuration attempt; read by `sluicectl status`. */
#define SL_RESULT_NONE 0	/* nothing attempted yet */
#define SL_RESULT_APPLIED 1	/* last attempt applied */
#define SL_RESULT_REJECTED 2	/* last attempt had an error; previous state kept */

struct sl_status {
	__u32 abi_version;
	__u32 agent_pid;	/* 0 once the agent has stopped */
	__u64 generation;	/* configurations applied so far */
	__u64 config_digest;	/* digest of the applied configuration */
	__u64 applied_at;	/* unix time, seconds */
	__u64 attempted_at;	/* unix time, seconds */
	__u32 result;		/* SL_RESULT_* of the last attempt */
	__u32 n_services;	/* frontends in the maps */
	__u32 n_backends;
	__u32 n_warnings;	/* fields reported as not implemented */
	__u64 cgroup_id;	/* the cgroup the programs are attached to */
	char error[SL_ERROR_LEN];
	char config_path[SL_PATH_LEN];
	char cgroup_path[SL_PATH_LEN];
	char warnings[SL_WARNINGS_LEN];	/* the first ones, one per line */
	char locality[SL_LOCALITY_LEN];	/* the node's (--locality), "" unknown */
	char flows_socket[SL_PATH_LEN];	/* where the agent serves the flow log */
};

/*
 * Same-node acceleration. Both sockets of a connection between two local
 * mesh pods join sluice_sockhash when the connection is established; the
 * sk_msg program then moves each message of a direction straight into the
 * peer socket's receive queue instead of through two TCP stacks, while
 * that is safe and fast (see bpf/redir.bpf.c).
 *
 * sluice_sockhash key: the socket's own view of the connection. Pod
 * addresses are unique on a node, so they identify a socket node-wide;
 * loopback addresses repeat in every network namespace, so for those the
 * namespace cookie is part of the key (0 otherwise).
 */
struct sl_sock_key {
	struct sl_addr local;
	struct sl_addr remote;
	__be16 local_port;
	__be16 remote_port;
	__u8 family;
	__u8 pad[3];
	__u64 netns;
};

/* sluice_flow: member socket key -> its state, reachable by key from both
 * ends of the connection (the peer's key is the mirror of one's own).
 *
 * gate serialises the peer's decisions to redirect into this socket
 * against this socket leaving the sockhash: the peer sets it to 1 before
 * its first redirect, unless SL_GATE_LEAVING is set; the socket may leave
 * only by turning a gate of 0 into SL_GATE_LEAVING, so nothing can ever be
 * queued on a socket that is on its way out. */
#define SL_GATE_LEAVING (1U << 31)

#define SL_FLOW_F_BULK (1U << 0)	/* sent a bulk message through the stack */
#define SL_FLOW_F_LEFT (1U << 1)	/* left the sockhash */
#define SL_FLOW_F_SERVER (1U << 2)	/* the accepted end of the connection */
#define SL_FLOW_F_READER (1U << 3)	/* its application read TCP data twice,
					 * replying in between, without splice:
					 * it reads with recv/read */
#define SL_FLOW_F_SPLICER (1U << 4)	/* its application called splice on it */
#define SL_FLOW_F_USED (1U << 5)	/* its connection took the shortcut: set
					 * by the end that closed first */

/* Direction state: how this socket's last message went. */
#define SL_DIR_STACK 0
#define SL_DIR_REDIRECT 1

struct sl_flow {
	__u32 gate;
	__u32 flags;			/* SL_FLOW_F_* */
	__u32 dir;			/* SL_DIR_* */
	__u32 copied_seq;		/* how far its application had read the
					 * TCP stream when it last sent or got
					 * an ACK */
	__u32 joined_seq;		/* copied_seq when it joined */
	__u32 reads;			/* publications that found new data read */
	__u64 redirected_msgs;
	__u64 redirected_bytes;
	__u64 peer_bytes;		/* what the peer redirected into this
					 * socket, left here when the peer closed
					 * first (for telemetry) */
};

/*
 * sluice_reader: reader identities seen calling splice(2): (pod address,
 * service port, role), where the service port is the server's port for
 * both ends. Data redirected into a socket can be read with recv/read but
 * not with splice, so nothing is redirected to a socket until it has been
 * seen reading TCP data of its own connection without splice, and nothing
 * ever to one whose identity was seen splicing (the
 * syscalls:sys_enter_splice tracepoint, bpf/trace.bpf.c).
 */
struct sl_reader_key {
	struct sl_addr addr;
	__be16 port;
	__u8 family;
	__u8 server;		/* 1: the accepting end */
};

struct sl_reader {
	__u32 flags;		/* SL_FLOW_F_SPLICER */
	__u32 pad;
	__u64 seen_ns;
};

/* sluice_redir_stats: one entry, counters kept with atomic adds. */
struct sl_redir_stats {
	__u64 joined;		/* sockets that joined the sockhash */
	__u64 left;		/* sockets that left it for the stack (bulk) */
	__u64 closed;		/* member sockets closed */
	__u64 redirected_msgs;
	__u64 redirected_bytes;
	__u64 stack_msgs;	/* messages of members sent through the stack */
	__u64 stack_bytes;
	__u64 not_local;	/* established connections with no local peer */
	__u64 splice_seen;	/* member sockets whose application spliced */
	__u64 splice_stranded;	/* ... with redirected data unread: lost to it */
	__u64 short_skipped;	/* connections that did not join: their
				 * pair's connections end before gaining */
};

/* sluice_settings: one entry, written by the agent. */
struct sl_settings {
	__u32 redirect;		/* 0: same-node redirection off */
	__u32 policy;		/* 0: no AuthorizationPolicy in force;
				 * else 1 + the policy bank in force */
	__u32 bandwidth;	/* workload addresses in sluice_bw; 0: the
				 * connection hooks skip the bandwidth lookups */
	__u32 flows;		/* 1: connection events (open, close, connect
				 * failed) go to sluice_events (--flow-log) */
	__u32 telemetry;	/* 1: connections are counted in sluice_traffic
				 * (--telemetry); 0: neither counted nor logged */
	__u32 pad;
};

/* sluice_local_addr: what sockops learned about an address: the local end
 * of a mesh socket on this node (mesh = 1), or a destination whose end
 * never joined (mesh = 0), so a client knows at once whether to join. */
struct sl_local_addr_key {
	struct sl_addr addr;
	__u8 family;
	__u8 pad[3];
};

struct sl_local_addr {
	__u64 seen_ns;		/* bpf_ktime_get_ns() of the last sighting */
	__u32 mesh;
	__u32 pad;
};

/*
 * sluice_short_pair: the record of a client/server pair, keyed by the
 * client socket's key with the client port zeroed. Joining costs a
 * connection two psocks, set up and torn down, about a quarter of the life
 * of a connection that carries one request; such a connection never takes
 * the shortcut (its server reads one turn only). After SL_SHORT_STREAK
 * member connections in a row closed without a single redirected message,
 * new connections of the pair do not join until SL_SHORT_TTL passes
 * without another; then one joins again and tells. A connection that took
 * the shortcut resets the streak.
 */
struct sl_short_pair {
	__u64 seen_ns;		/* when the last wasted connection closed */
	__u32 wasted;		/* member connections in a row that closed
				 * without taking the shortcut */
	__u32 pad;
};

/*
 * Identity and authorization: Istio's AuthorizationPolicy at L4, compiled
 * by the agent into exact-match tables, so a decision is at most four
 * lookups whatever the number of rules.
 *
 * Every address the mesh knows (workloads, local and remote) and every
 * CIDR a policy names is in sluice_ipcache with its source class (what a
 * policy can tell about a peer from there: identity and the named CIDRs it
 * lies in) and its destination set (which policies select the workload
 * there). A decision looks up (destination set, source class, port), then
 * (set, class, any other port), then the set's default.
 *
 * Compiled state lives in two banks: the agent writes the bank not in
 * force, then switches sl_settings.policy with one write, so a connection
 * never sees half of a policy change. The bank switched from keeps its
 * entries: the next change is written over them, difference only.
 */
#define SL_POLICY_BANKS 2

/* sluice_ipcache: LPM trie. prefixlen counts the 32 bits of bank, family
 * and pad before the address. */
struct sl_ipcache_key {
	__u32 prefixlen;
	__u8 bank;
	__u8 family;
	__u8 pad[2];
	struct sl_addr addr;
};

#define SL_IPCACHE_PREFIX_BITS 32

struct sl_ipcache {
	__u32 src_class;	/* 0: the class of unknown peers */
	__u32 dst_set;		/* 0: no policy selects a workload there */
	__u32 identity;		/* identity id, 0: none (a named CIDR) */
	__u32 pad;
};

/* sluice_netns_addr: network namespace cookie of a local mesh pod -> its
 * addresses, learned by the agent. At connect the source address is not
 * bound yet; the pod's own address gives the client's source class. */
struct sl_netns_addr {
	struct sl_addr addr4;
	struct sl_addr addr6;
	__u8 has4;
	__u8 has6;
	__u8 pad[6];
};

/* sluice_policy: (destination set, source class, port) -> verdict. */
struct sl_policy_key {
	__u32 dst_set;
	__u32 src_class;
	__u16 port;		/* host order; 0: every port not listed */
	__u8 bank;
	__u8 pad;
};

#define SL_VERDICT_ALLOW 0
#define SL_VERDICT_DENY 1

/* Rules are numbered from 1 in the order written; rule 0 with a policy is
 * not used, and policy 0 means no policy decided: allowed because no
 * ALLOW policy selects the workload, or denied because ALLOW policies
 * select it and none matched. */
struct sl_policy_verdict {
	__u8 verdict;		/* SL_VERDICT_* in force */
	__u8 shadow;		/* the verdict with dry-run policies enforced */
	__u8 audit;		/* 1: an AUDIT policy matched */
	__u8 pad;
	__u32 policy;		/* policy id that decided the verdict */
	__u32 rule;
	__u32 shadow_policy;	/* ... that decided the shadow verdict */
	__u32 shadow_rule;
	__u32 audit_policy;
	__u32 audit_rule;
	__u32 pad2;
};

/* sluice_policy_set: (bank, set) -> the verdict when nothing more exact is
 * in sluice_policy. */
struct sl_policy_set_key {
	__u32 dst_set;
	__u32 bank;
};

/* sluice_policy_stats: array indexed by policy id (0: decisions of no
 * policy), atomic adds once per decision. */
struct sl_policy_stats {
	__u64 allowed;		/* connections and datagrams it allowed */
	__u64 denied;
	__u64 dry_run_denied;	/* it would have denied (dry-run policy) */
	__u64 audited;		/* an AUDIT policy matched */
};

/* sluice_policy_info: policy id -> names, for the CLI only. */
#define SL_POLICY_F_DRY_RUN (1U << 0)

struct sl_policy_info {
	char namespace[SL_NAMESPACE_LEN];
	char name[SL_NAME_LEN];
	__u8 action;		/* SL_ACTION_* */
	__u8 pad[3];
	__u32 flags;		/* SL_POLICY_F_* */
	__u32 n_rules;
	__u32 pad2;
};

#define SL_ACTION_ALLOW 0
#define SL_ACTION_DENY 1
#define SL_ACTION_AUDIT 2

/* sluice_identity_info: identity id -> (namespace, service account). */
#define SL_SA_LEN 256

struct sl_identity_info {
	char namespace[SL_NAMESPACE_LEN];
	char service_account[SL_SA_LEN];
};

/* sluice_workload_info: workload address -> names, for the CLI only. */
struct sl_workload_key {
	struct sl_addr addr;
	__u8 family;
	__u8 pad[3];
};

#define SL_WORKLOAD_POD 1
#define SL_WORKLOAD_ENTRY 2		/* WorkloadEntry */
#define SL_WORKLOAD_SE_ENDPOINT 3	/* a ServiceEntry endpoint */
#define SL_WORKLOAD_SLICE_ENDPOINT 4	/* an EndpointSlice endpoint, no Pod */

struct sl_workload_info {
	char namespace[SL_NAMESPACE_LEN];
	char name[SL_NAME_LEN];
	__u32 kind;		/* SL_WORKLOAD_* */
	__u32 identity;
};

/* sluice_udp_peer: UDP has no connection, so a reply would be decided as
 * a new flow against the policies of the side that asked. Each datagram
 * that policy let through records (local workload address, peer address,
 * peer port), at the sender's egress and at the receiver's ingress; a
 * datagram between the same two ends in the other direction is a reply and
 * passes while the record is younger than SL_UDP_PEER_TTL_NS (refreshed by
 * every datagram that passes). An LRU map: the oldest go first. */
struct sl_udp_peer_key {
	struct sl_addr local;
	struct sl_addr remote;
	__be16 remote_port;
	__u8 family;
	__u8 pad;
	__u32 pad2;
};

struct sl_udp_peer {
	__u64 seen_ns;
};

#define SL_UDP_PEER_TTL_NS (120ULL * 1000000000ULL)	/* conntrack's UDP stream timeout */
#define SL_UDP_PEER_REFRESH_NS 1000000000ULL
#define SL_DEFAULT_MAX_UDP_PEERS 65536

/* sluice_events: ring buffer of policy events, read by the agent. */
#define SL_EVENT_DENY 1		/* a connection or datagram was refused */
#define SL_EVENT_DRY_RUN_DENY 2	/* a dry-run policy would have refused it */
#define SL_EVENT_AUDIT 3	/* an AUDIT policy matched */
#define SL_EVENT_RATE_LIMITED 4	/* a connection over its service's rate
				 * limit was refused; policy = service id */
#define SL_EVENT_POOL_FULL 5	/* every endpoint tried was at maxConnections;
				 * policy = service id */
/* Connection events (sl_settings.flows), one per TCP connection and end:
 * reporter SOURCE is the client socket of a local pod, DESTINATION the
 * server's. src is always the client, dst the server (the endpoint). */
#define SL_EVENT_OPEN 6		/* established; policy = 1 + the service id
				 * (sl_traffic_key.svc_id), 0: none */
#define SL_EVENT_CLOSE 7	/* the socket destroyed: bytes, duration, RTT;
				 * policy as for OPEN */
#define SL_EVENT_CONNECT_FAILED 8	/* a connect through a VIP that never
					 * got established; policy as for OPEN */
#define SL_EVENT_EJECT 9	/* outlier detection ejected dst (an endpoint);
				 * policy as for OPEN, rule = ejections so far */

#define SL_AT_EGRESS 1		/* decided at the client's connect/sendmsg */
#define SL_AT_INGRESS 2		/* decided at the server's socket lookup */

struct sl_event {
	__u64 ts_ns;		/* bpf_ktime_get_ns() */
	__u32 type;		/* SL_EVENT_* */
	__u8 at;		/* SL_AT_* */
	__u8 proto;
	__u8 family;
	__u8 pad;
	struct sl_addr src;	/* egress: the client pod's address */
	struct sl_addr dst;
	__be16 src_port;	/* policy events at egress: 0, not bound yet;
				 * connection events: the client's port (0 for
				 * EJECT) */
	__be16 dst_port;
	__u32 policy;
	__u32 rule;
	__u32 src_identity;
	__u32 dst_identity;
	__u8 reporter;		/* connection events: SL_REPORTER_* */
	__u8 redirected;	/* the connection took the same-node shortcut */
	__u16 pad2;
	__u64 sent_bytes;	/* CLOSE: by the reporter's socket, TCP and
				 * shortcut together */
	__u64 received_bytes;
	__u32 duration_ms;	/* CLOSE: from established to release */
	__u32 rtt_us;		/* CLOSE: smoothed RTT (0 on the shortcut) */
};

/* sluice_event_stats (per-CPU array, one entry): events written and lost
 * to a full ring buffer. */
struct sl_event_stats {
	__u64 written;
	__u64 dropped;
};

#define SL_DEFAULT_MAX_IPCACHE 262144	/* both banks: 100,000 endpoints fit */
#define SL_DEFAULT_MAX_POLICY 262144	/* both banks */
#define SL_DEFAULT_MAX_POLICY_SETS 65536
#define SL_DEFAULT_MAX_POLICIES 16384	/* ids 1..max-1 */
#define SL_DEFAULT_MAX_IDENTITIES 65536
#define SL_DEFAULT_MAX_NETNS 8192
#define SL_EVENTS_BYTES (1024 * 1024)
/* Writers wake the agent only when this much is waiting (else it reads
 * every EVENTS_POLL_MS): a wakeup per event costs microseconds in a VM. */
#define SL_EVENTS_WAKEUP_BYTES (SL_EVENTS_BYTES / 8)

#define SL_DEFAULT_MAX_SOCKETS 65536
#define SL_DEFAULT_MAX_LOCAL_ADDRS 16384
#define SL_DEFAULT_MAX_READERS 65536
#define SL_DEFAULT_MAX_SHORT_PAIRS 65536

/* sluice_doomed: (service, endpoint) pairs just removed from a service,
 * filled by the agent for one run of the socket iterator, which resets
 * the connections still open to them through that service (so clients
 * reconnect to a live endpoint), then emptied. */
struct sl_doomed_key {
	struct sl_addr backend;
	__be16 backend_port;
	__u8 family;
	__u8 pad;
	__u32 svc_id;
};

#define SL_DEFAULT_MAX_DOOMED 16384

/*
 * sluice_bw: bandwidth limits of workloads on this node, by address
 * (sl_workload_key): the Kubernetes pod annotations
 * kubernetes.io/{egress,ingress}-bandwidth and TrafficLimit
 * spec.bandwidth. Each direction is a token bucket of bytes, policed on
 * the pod's interfaces by TC (bpf/tc.bpf.c, IP bytes) and on the same-node
 * shortcut by sk_msg (payload bytes: a message over the limit goes through
 * TCP instead, where TC meets it). TCP senders are paced a little below
 * the rate (SO_MAX_PACING_RATE, set by sockops), so they seldom meet the
 * policer. The agent writes rate and burst of a new or changed entry;
 * the kernel keeps the rest under the lock.
 */
#define SL_BW_EGRESS 0
#define SL_BW_INGRESS 1
#define SL_BW_MAX_RATE 12500000000ULL	/* bytes/s: 100 Gbit/s */
#define SL_NSEC 1000000000ULL

struct sl_bw_dir {
	__u64 rate;		/* bytes per second; 0: no limit this way */
	__u64 burst;		/* bucket depth in bytes */
	__u64 tokens;		/* nano-bytes: bytes * SL_NSEC */
	__u64 last_ns;		/* of the last refill; 0: start full */
	__u64 passed_bytes;
	__u64 dropped_bytes;	/* packets TC dropped over the limit */
	__u64 dropped_pkts;
	__u64 deferred_msgs;	/* shortcut messages sent through TCP instead */
};

struct sl_bw {
	struct bpf_spin_lock lock;
	__u32 pad;
	struct sl_bw_dir dir[2];	/* SL_BW_EGRESS, SL_BW_INGRESS */
};

/*
 * sluice_limit_src: (service, client address) pairs a connection rate
 * limit with sources applies to: the addresses of the workloads whose
 * namespace or principal the TrafficLimit's spec.sources match. Together
 * they share the service's bucket; other clients are not limited.
 */
struct sl_limit_src_key {
	__u32 svc_id;
	__u8 family;
	__u8 pad[3];
	struct sl_addr addr;
};

/*
 * Connection telemetry (Istio's TCP metrics), counted at connection
 * granularity, never per packet: sockops at ESTABLISHED opens, the
 * tcp_destroy_sock tracepoint closes (bpf/telemetry.bpf.c), a VIP connect
 * that never got established fails.
 *
 * sluice_traffic (LRU per-CPU hash): counters per (reporter, client
 * address, server address and port, service). The agent turns addresses
 * into workloads, namespaces and principals, and sums, at scrape time.
 * The server side (reporter DESTINATION) does not know the VIP dialled:
 * svc_id 0 there, and the agent names the service from the endpoint.
 */
#define SL_REPORTER_SOURCE 1
#define SL_REPORTER_DESTINATION 2

/* Histogram buckets: bucket i counts values below 2^i units (duration in
 * milliseconds, RTT in microseconds); the last counts the rest. */
#define SL_HIST_BUCKETS 20

struct sl_traffic_key {
	struct sl_addr src;	/* the client */
	struct sl_addr dst;	/* the server: the endpoint connected to */
	__u32 svc_id;		/* 1 + the id of the service dialled; 0: none
				 * or unknown */
	__be16 dst_port;
	__u8 family;
	__u8 reporter;		/* SL_REPORTER_* */
};

struct sl_traffic {
	__u64 opened;
	__u64 closed;
	__u64 failed;		/* connects that never got established */
	__u64 sent_bytes;	/* by the reporter: client to server for
				 * SOURCE, server to client for DESTINATION */
	__u64 received_bytes;
	__u64 redirected;	/* connections that took the shortcut */
	__u64 duration_ms_sum;
	__u64 rtt_us_sum;	/* smoothed RTT at close, TCP connections */
	__u64 duration_ms[SL_HIST_BUCKETS];
	__u64 rtt_us[SL_HIST_BUCKETS];
};

#define SL_DEFAULT_MAX_TRAFFIC 16384

/* sluice_conn: socket storage of each mesh TCP connection, from
 * ESTABLISHED to its destruction: what its close is counted under. */
struct sl_conn {
	struct sl_traffic_key key;
	__u64 start_ns;
	__u32 local_port;	/* as sockops gives them: the client's port */
	__u32 remote_port;
	/* Bytes that went over the same-node shortcut, sent and received,
	 * taken from the sluice_flow entries when the socket closes (sockops
	 * TCP_CLOSE deletes them before tcp_destroy_sock runs). */
	__u64 shortcut_sent;
	__u64 shortcut_received;
};

/* Pin layout under the agent's bpffs directory. */
#define SL_PIN_MAPS_DIR "maps"
#define SL_PIN_LINKS_DIR "links"

#endif /* SLUICE_ABI_H */
