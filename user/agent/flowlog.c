// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The flow log's ring of records, its access log file and the watch on
 * events lost on the way (see flowlog.h; the socket is flowsrv.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "flowlog.h"
#include "log.h"
#include "sys.h"

/* Losses are logged at most this often, so a flood costs one line. */
#define LOSS_WARN_MS 10000

static uint64_t kernel_dropped(const struct sl_flowlog *fl)
{
	int n = libbpf_num_possible_cpus();
	struct sl_event_stats *per_cpu;
	uint64_t sum = 0;
	__u32 zero = 0;

	if (n <= 0)
		return 0;
	per_cpu = calloc((size_t)n, sizeof(*per_cpu));
	if (per_cpu && !bpf_map_lookup_elem(fl->maps->event_stats, &zero, per_cpu))
		for (int i = 0; i < n; i++)
			sum += per_cpu[i].dropped;
	free(per_cpu);
	return sum;
}

static int open_access(struct sl_flowlog *fl, struct sl_err *err)
{
	fl->access = fopen(fl->access_path, "ae");
	if (!fl->access)
		return sl_errf(err, "--access-log %s: %s", fl->access_path, strerror(errno));
	return 0;
}

int sl_flowlog_init(struct sl_flowlog *fl, struct sl_maps *maps, const char *socket_path,
		    const char *access_path, struct sl_err *err)
{
	memset(fl, 0, sizeof(*fl));
	fl->maps = maps;
	fl->listen_fd = -1;
	fl->cap = SL_FLOWS_RING;
	fl->warn_checked_ms = sl_mono_ms();
	fl->ring = calloc(fl->cap, sizeof(*fl->ring));
	if (!fl->ring)
		return sl_errf(err, "flow log: out of memory");
	/* The kernel's counter is pinned: only what is lost from now on. */
	fl->warned_kernel_dropped = kernel_dropped(fl);
	fl->access_path = access_path;
	if (access_path && open_access(fl, err) < 0)
		return -1;
	if (socket_path && sl_flowsrv_listen(fl, socket_path, err) < 0)
		return -1;
	return 0;
}

void sl_flowlog_publish(struct sl_flowlog *fl, bool serving)
{
	struct sl_status st;
	struct sl_err err;

	if (sl_status_read(fl->maps, &st, &err) < 0) {
		sl_error("%s", err.msg);
		return;
	}
	snprintf(st.flows_socket, sizeof(st.flows_socket), "%s",
		 serving && fl->listen_fd >= 0 ? fl->path : "");
	if (sl_status_write(fl->maps, &st, &err) < 0)
		sl_error("%s", err.msg);
}

static bool has_clients(const struct sl_flowlog *fl)
{
	for (size_t i = 0; i < SL_FLOWS_MAX_CLIENTS; i++)
		if (fl->clients[i])
			return true;
	return false;
}

bool sl_flowlog_ready(struct sl_flowlog *fl, struct sl_flow_entry *e)
{
	struct sl_flowrec *r = &fl->scratch;
	char *line;

	if (!e->pending)
		return e->line != NULL;
	fl->resolve(fl->resolve_ctx, &e->raw, r);
	line = sl_flowrec_json(r, &e->len);
	e->keys = line ? malloc(sizeof(*e->keys) + e->len + 1) : NULL;
	if (!e->keys) {
		free(line);
		sl_error("flow log: out of memory formatting a record");
		return false;
	}
	sl_flowrec_keys(r, e->keys);
	e->line = (char *)(e->keys + 1);
	memcpy(e->line, line, e->len + 1);
	free(line);
	e->pending = false;
	return true;
}

void sl_flowlog_add_event(struct sl_flowlog *fl, const struct sl_event *ev)
{
	struct sl_flow_entry *e = &fl->ring[fl->head % fl->cap];
	bool clients = has_clients(fl);

	/* The oldest record makes room; clients that had not taken it yet
	 * count it as dropped. */
	if (e->line || e->pending) {
		if (clients && sl_flowlog_ready(fl, e))
			sl_flowsrv_evict(fl, e, fl->head - fl->cap);
		free(e->keys);	/* and the line after them */
		e->line = NULL;
		e->keys = NULL;
	}
	e->raw = *ev;
	e->pending = true;
	fl->head++;
	if (!fl->access && !clients)
		return;
	if (!sl_flowlog_ready(fl, e))
		return;
	if (fl->access && fwrite(e->line, 1, e->len, fl->access) != e->len)
		sl_debug("access log %s: short write", fl->access_path);
	if (clients)
		sl_flowsrv_pump_all(fl);
}

void sl_flowlog_reopen(struct sl_flowlog *fl)
{
	struct sl_err err;

	if (!fl->access_path)
		return;
	if (fl->access)
		fclose(fl->access);
	if (open_access(fl, &err) < 0)
		sl_error("%s; access log off until the next SIGHUP", err.msg);
	else
		sl_info("access log %s reopened", fl->access_path);
}

/* Called from the loop: a warning when events were lost since the last
 * check, by the kernel (its ring buffer was full) or by the agent for
 * slow clients. */
void sl_flowlog_check_losses(struct sl_flowlog *fl)
{
	int64_t now = sl_mono_ms();
	uint64_t kernel;

	if (now - fl->warn_checked_ms < LOSS_WARN_MS)
		return;
	fl->warn_checked_ms = now;
	kernel = kernel_dropped(fl);
	if (kernel > fl->warned_kernel_dropped || fl->client_dropped > fl->warned_client_dropped)
		sl_warn("flow log: %llu events lost in the kernel (sluice_events full: the "
			"agent reads too slowly) and %llu records dropped for slow flow "
			"clients in the last %d s",
			(unsigned long long)(kernel - fl->warned_kernel_dropped),
			(unsigned long long)(fl->client_dropped - fl->warned_client_dropped),
			LOSS_WARN_MS / 1000);
	fl->warned_kernel_dropped = kernel;
	fl->warned_client_dropped = fl->client_dropped;
}

void sl_flowlog_free(struct sl_flowlog *fl)
{
	if (!fl->ring)
		return;		/* never initialised */
	sl_flowsrv_close(fl);
	if (fl->access)
		fclose(fl->access);
	fl->access = NULL;
	for (size_t i = 0; fl->ring && i < fl->cap; i++)
		free(fl->ring[i].keys);
	free(fl->ring);
	fl->ring = NULL;
}
