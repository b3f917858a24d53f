/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The flow log: every event of sluice_events as a flow record (see
 * flowrec.h), the last ones kept in a ring, appended to an access log file
 * if asked, and served on a local unix socket to `sluicectl flows`.
 *
 * A client sends one request line and gets the matching records of the
 * ring as JSON lines; with follow=1 it then gets new matching records
 * until it disconnects. Everything runs on the agent's poll loop, on
 * non-blocking sockets: a client reads from the shared ring through a
 * cursor and a bounded buffer of its own, so a slow client costs nothing
 * more than its buffer; when the ring overwrites records it has not taken
 * yet, those that match its filter are counted as dropped for it and
 * reported in its stream ({"dropped": N}, N the total so far).
 */
#ifndef SLUICE_FLOWLOG_H
#define SLUICE_FLOWLOG_H

#include <poll.h>
#include <stdio.h>
#include <sys/types.h>

#include "err.h"
#include "flowrec.h"
#include "maps.h"

#define SL_FLOWS_DEFAULT_SOCKET "/run/sluice/flows.sock"
#define SL_FLOWS_RING 4096
#define SL_FLOWS_MAX_CLIENTS 16
#define SL_FLOWS_CLIENT_BUF (64 * 1024)
/* poll entries the flow log needs: its listener and its clients. */
#define SL_FLOWS_POLLFDS (1 + SL_FLOWS_MAX_CLIENTS)

/* A record is made from its event only when something reads it (a
 * client, the access log): with nobody reading, keeping an event costs a
 * copy, where naming its workloads and writing JSON costs map lookups
 * (system calls) and allocations, per connection end. */
struct sl_flow_entry {
	/* The record's filter keys and JSON, one allocation made with the
	 * record (at once with an access log or a client, else when one
	 * reads it): a ring of events nobody reads holds 128 bytes an
	 * entry, not 576 (keys in place: 2.4 MB once it had gone round). */
	struct sl_flow_keys *keys;	/* the allocation's start; NULL while pending */
	char *line;			/* JSON and a newline, after the keys */
	size_t len;
	bool pending;			/* raw holds an event not made a record yet */
	struct sl_event raw;
};

/* Makes an event into a record (names from the maps), for the flow log. */
typedef void (*sl_flow_resolver)(void *ctx, const struct sl_event *ev, struct sl_flowrec *r);

struct sl_flow_client;

struct sl_flowlog {
	struct sl_maps *maps;
	struct sl_flow_entry *ring;
	sl_flow_resolver resolve;	/* set by the event reader */
	void *resolve_ctx;
	struct sl_flowrec scratch;
	size_t cap;
	uint64_t head;			/* sequence number of the next record */
	int listen_fd;			/* -1: no socket (--flows-socket off) */
	char path[SL_PATH_LEN];
	dev_t dev;			/* of the socket file we made, removed */
	ino_t ino;			/* on exit only if still ours */
	struct sl_flow_client *clients[SL_FLOWS_MAX_CLIENTS];
	int poll_slot[SL_FLOWS_POLLFDS];	/* client of each poll entry */
	const char *access_path;
	FILE *access;
	uint64_t client_dropped;	/* records dropped for slow clients */
	uint64_t warned_client_dropped, warned_kernel_dropped;
	int64_t warn_checked_ms;
};

/* socket_path NULL: no socket; access_path NULL: no access log. */
int sl_flowlog_init(struct sl_flowlog *fl, struct sl_maps *maps, const char *socket_path,
		    const char *access_path, struct sl_err *err);
/* Records the socket's path in sluice_status for sluicectl ("" if none). */
void sl_flowlog_publish(struct sl_flowlog *fl, bool serving);
/* Fills at most SL_FLOWS_POLLFDS entries; returns how many. */
size_t sl_flowlog_pollfds(struct sl_flowlog *fl, struct pollfd *fds);
/* Accepts, reads requests, writes what clients can take; checks losses. */
void sl_flowlog_run(struct sl_flowlog *fl, const struct pollfd *fds, size_t n);
/* A warning when events were lost since the last time (at most every
 * 10 s): in the kernel (sluice_event_stats) or for slow clients. */
void sl_flowlog_check_losses(struct sl_flowlog *fl);
/* SIGHUP: the access log is reopened, for log rotation. */
void sl_flowlog_reopen(struct sl_flowlog *fl);
void sl_flowlog_free(struct sl_flowlog *fl);

/* flowsrv.c: the socket and its clients. */
int sl_flowsrv_listen(struct sl_flowlog *fl, const char *path, struct sl_err *err);
void sl_flowsrv_evict(struct sl_flowlog *fl, struct sl_flow_entry *e, uint64_t seq);
/* An event into the ring: made a record at once only if something reads
 * (the access log, a client). */
void sl_flowlog_add_event(struct sl_flowlog *fl, const struct sl_event *ev);
/* The entry made a record if it was pending; false when that failed. */
bool sl_flowlog_ready(struct sl_flowlog *fl, struct sl_flow_entry *e);
void sl_flowsrv_pump_all(struct sl_flowlog *fl);
void sl_flowsrv_close(struct sl_flowlog *fl);

#endif
