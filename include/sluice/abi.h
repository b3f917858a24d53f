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

/* Bumped whenever a pinned map's layout or meaning changes. An agent refuses
 * to adopt pins written by a different ABI version. */
#define SL_ABI_VERSION 1

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
struct sl_svc {
	__u32 id;		/* index into sluice_svc_state and sluice_svc_info */
	__u32 rev;		/* revision of the slot and member tables */
	__u32 n_members;	/* entries of sluice_member in this revision */
	__u32 n_slots;		/* entries of sluice_slot; 0: no endpoint, refuse */
	__u32 flags;		/* SL_SVC_F_* */
	__u32 pad;
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
};

/* sluice_backend_state: array indexed by backend id. */
struct sl_backend_state {
	__u64 selected;		/* connections and datagrams sent here */
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
};

/* Pin layout under the agent's bpffs directory. */
#define SL_PIN_MAPS_DIR "maps"
#define SL_PIN_LINKS_DIR "links"

#endif /* SLUICE_ABI_H */
