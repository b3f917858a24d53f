// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sluicectl flows: the agent's flow log, read from its unix socket (the
 * one sluice_status names, or --socket). Unlike the other commands it
 * needs the agent: the records live in the agent, not in the maps.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl.h"
#include "flowrec.h"
#include "table.h"

enum { OPT_SOCKET, OPT_NAMESPACE, OPT_SERVICE, OPT_VERDICT, OPT_FOLLOW };
const char *const ctl_flows_opts[] = { "socket", "namespace", "service", "verdict", "+follow",
				       NULL };

const char ctl_flows_help[] =
	"Prints the records the agent keeps (the last 4096), oldest first; with\n"
	"--follow, then every new one until interrupted (Ctrl-C exits 0).\n\n"
	"  --follow              stream new records\n"
	"  --namespace NS        records whose source or destination workload, or\n"
	"                        service, is in NS\n"
	"  --service NS/NAME     records of one service (NAME alone: namespace default)\n"
	"  --verdict V           open (allowed), closed, denied, dry-run-denied,\n"
	"                        audited, rate-limited, pool-full, connect-failed,\n"
	"                        ejected\n"
	"  --socket PATH         the agent's flow socket (default: the one the\n"
	"                        agent published in its status)\n\n"
	"-o json prints the agent's JSON lines as they come. A line {\"dropped\": N}\n"
	"says N matching records were lost because this client read too slowly.\n"
	"Exit codes: 0 ok (also when interrupted), 1 the agent refused the request\n"
	"or the stream broke, 2 usage error, 3 the agent is not running or serves\n"
	"no flow log.\n";

#define N_COLS 9

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static int find_socket(const struct ctl *ctl, char *path, size_t len)
{
	struct sl_status st;
	struct sl_maps maps;
	struct sl_err err;
	int ret;

	if (ctl->opt[OPT_SOCKET]) {
		snprintf(path, len, "%s", ctl->opt[OPT_SOCKET]);
		return CTL_OK;
	}
	if (ctl_open_maps(ctl, &maps) < 0)
		return CTL_NO_STATE;
	ret = sl_status_read(&maps, &st, &err);
	sl_maps_close(&maps);
	if (ret < 0) {
		fprintf(stderr, "sluicectl: %s\n", err.msg);
		return CTL_NO_STATE;
	}
	if (!st.agent_pid || !st.flows_socket[0]) {
		fprintf(stderr, "sluicectl: %s\n", st.agent_pid ?
			"the agent serves no flow log (--flows-socket off); try --socket" :
			"the agent is not running: the flow log lives in the agent");
		return CTL_NO_STATE;
	}
	snprintf(path, len, "%.*s", (int)sizeof(st.flows_socket), st.flows_socket);
	return CTL_OK;
}

static int dial(const char *path, const char *request)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len = strlen(request);
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "sluicectl: socket path %s is too long\n", path);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    send(fd, request, len, MSG_NOSIGNAL) != (ssize_t)len) {
		fprintf(stderr, "sluicectl: cannot reach the flow log at %s: %s (is the agent "
			"running?)\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static const char *str(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int64_t num(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : 0;
}

/* "ns/name 10.0.0.1:4567", "10.0.0.1", or "-". */
static void end_cell(json_object *rec, const char *key, char *buf, size_t len)
{
	const char *addr, *ns, *name;
	json_object *e;
	int64_t port;
	int n = 0;

	if (!json_object_object_get_ex(rec, key, &e) || !(addr = str(e, "address"))) {
		snprintf(buf, len, "-");
		return;
	}
	ns = str(e, "namespace");
	name = str(e, "name");
	port = num(e, "port");
	if (name)
		n = snprintf(buf, len, "%s/%s ", ns ? ns : "-", name);
	if (n < 0 || (size_t)n >= len)
		return;
	if (port)
		snprintf(buf + n, len - (size_t)n, strchr(addr, ':') ? "[%s]:%lld" : "%s:%lld",
			 addr, (long long)port);
	else
		snprintf(buf + n, len - (size_t)n, "%s", addr);
}

static void named_cell(json_object *rec, const char *key, char *buf, size_t len)
{
	json_object *o;
	const char *ns, *name;

	if (!json_object_object_get_ex(rec, key, &o) || !(name = str(o, "name"))) {
		snprintf(buf, len, "-");
		return;
	}
	ns = str(o, "namespace");
	snprintf(buf, len, "%s/%s", ns ? ns : "-", name);
}

static void policy_cell(json_object *rec, char *buf, size_t len)
{
	json_object *p;

	if (json_object_object_get_ex(rec, "policy", &p) && p && !str(p, "name"))
		snprintf(buf, len, num(p, "id") ? "#%lld" : "(no policy)", (long long)num(p, "id"));
	else if (p)
		snprintf(buf, len, "%s/%s rule %lld", str(p, "namespace") ? str(p, "namespace") :
			 "-", str(p, "name"), (long long)num(p, "rule"));
	else if (json_object_object_get_ex(rec, "ejections", &p))
		snprintf(buf, len, "ejection %lld", (long long)json_object_get_int64(p));
	else
		snprintf(buf, len, "-");
}

struct row {
	char time[16], verdict[24], reporter[16], src[400], dst[400], svc[340];
	char bytes[48], duration[24], policy[400];
};

static void fill_row(json_object *rec, struct row *r)
{
	const char *t = str(rec, "time"), *reporter = str(rec, "reporter");
	bool closed = json_object_object_get_ex(rec, "sent_bytes", NULL);

	/* "2026-01-02T15:04:05.123Z": the time of day, UTC. */
	snprintf(r->time, sizeof(r->time), "%.12s", t && strlen(t) > 11 ? t + 11 : "-");
	snprintf(r->verdict, sizeof(r->verdict), "%s", str(rec, "verdict") ?: "?");
	snprintf(r->reporter, sizeof(r->reporter), "%s", reporter ? reporter : "-");
	end_cell(rec, "source", r->src, sizeof(r->src));
	end_cell(rec, "destination", r->dst, sizeof(r->dst));
	named_cell(rec, "service", r->svc, sizeof(r->svc));
	policy_cell(rec, r->policy, sizeof(r->policy));
	snprintf(r->bytes, sizeof(r->bytes), closed ? "%lld/%lld" : "-",
		 (long long)num(rec, "sent_bytes"), (long long)num(rec, "received_bytes"));
	snprintf(r->duration, sizeof(r->duration), closed ? "%lldms" : "-",
		 (long long)num(rec, "duration_ms"));
}

static const char *const header[N_COLS] = { "TIME", "VERDICT", "REPORTER", "SOURCE",
					     "DESTINATION", "SERVICE", "BYTES(S/R)",
					     "DURATION", "POLICY" };

/* Following, rows cannot wait for the widest cell: fixed columns. */
static void print_fixed(const char *const *cells)
{
	printf("%-12s  %-14s  %-11s  %-36s  %-36s  %-20s  %-14s  %-9s  %s\n", cells[0],
	       cells[1], cells[2], cells[3], cells[4], cells[5], cells[6], cells[7], cells[8]);
}

struct reader {
	const struct ctl *ctl;
	bool follow;
	struct table t;
	uint64_t dropped;
};

/* One line from the agent; -1 when it refused the request. */
static int on_line(struct reader *rd, const char *line)
{
	json_object *rec;
	struct row r;
	const char *err;

	rec = json_tokener_parse(line);
	if (!rec) {
		fprintf(stderr, "sluicectl: the agent sent a line that is not JSON: %s\n", line);
		return -1;
	}
	if ((err = str(rec, "error"))) {
		fprintf(stderr, "sluicectl: the agent refused the request: %s\n", err);
		json_object_put(rec);
		return -1;
	}
	if (json_object_object_get_ex(rec, "dropped", NULL)) {
		rd->dropped = (uint64_t)num(rec, "dropped");
	} else if (rd->ctl->json) {
		printf("%s\n", line);
	} else {
		const char *cells[N_COLS];

		fill_row(rec, &r);
		cells[0] = r.time, cells[1] = r.verdict, cells[2] = r.reporter;
		cells[3] = r.src, cells[4] = r.dst, cells[5] = r.svc;
		cells[6] = r.bytes, cells[7] = r.duration, cells[8] = r.policy;
		if (rd->follow)
			print_fixed(cells);
		else
			table_row(&rd->t, cells);
	}
	if (rd->ctl->json && json_object_object_get_ex(rec, "dropped", NULL))
		printf("%s\n", line);
	json_object_put(rec);
	if (rd->follow)
		fflush(stdout);
	return 0;
}

/* Reads lines until the agent closes (or, following, an interrupt). */
static int read_stream(struct reader *rd, int fd)
{
	static char buf[256 * 1024];
	size_t have = 0;

	while (!interrupted) {
		ssize_t n = read(fd, buf + have, sizeof(buf) - 1 - have);
		char *p = buf, *nl;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "sluicectl: reading the flow log: %s\n", strerror(errno));
			return CTL_FAIL;
		}
		if (n == 0)
			return have ? CTL_FAIL : CTL_OK;
		have += (size_t)n;
		buf[have] = '\0';
		while ((nl = strchr(p, '\n'))) {
			*nl = '\0';
			if (on_line(rd, p) < 0)
				return CTL_FAIL;
			p = nl + 1;
		}
		have -= (size_t)(p - buf);
		memmove(buf, p, have);
		if (have == sizeof(buf) - 1)
			return CTL_FAIL;	/* a line longer than any record */
	}
	return CTL_OK;
}

static int build_request(const struct ctl *ctl, char *buf, size_t len)
{
	struct sl_flow_filter f;
	struct sl_err err;

	sl_flow_filter_init(&f);
	f.follow = (ctl->opt[OPT_FOLLOW] != NULL);
	if (ctl->opt[OPT_NAMESPACE])
		snprintf(f.namespace, sizeof(f.namespace), "%s", ctl->opt[OPT_NAMESPACE]);
	if (ctl->opt[OPT_SERVICE] && sl_flow_filter_service(&f, ctl->opt[OPT_SERVICE], &err) < 0)
		goto bad;
	if (ctl->opt[OPT_VERDICT]) {
		f.verdict = sl_flow_verdict_parse(ctl->opt[OPT_VERDICT]);
		if (f.verdict < 0) {
			snprintf(err.msg, sizeof(err.msg), "--verdict %s: see flows --help",
				 ctl->opt[OPT_VERDICT]);
			goto bad;
		}
	}
	if (sl_flow_filter_format(&f, buf, len, &err) == 0)
		return 0;
bad:
	fprintf(stderr, "sluicectl: flows: %s\n", err.msg);
	return -1;
}

int cmd_flows(struct ctl *ctl, int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };	/* no SA_RESTART */
	struct reader rd = { .ctl = ctl, .follow = (ctl->opt[OPT_FOLLOW] != NULL) };
	char request[SL_FLOW_REQUEST_LEN], path[SL_PATH_LEN + 1];
	int fd, ret;

	if (argc > 0) {
		fprintf(stderr, "sluicectl: flows: unexpected argument \"%s\"\n", argv[0]);
		return CTL_USAGE;
	}
	if (build_request(ctl, request, sizeof(request)) < 0)
		return CTL_USAGE;
	ret = find_socket(ctl, path, sizeof(path));
	if (ret != CTL_OK)
		return ret;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	fd = dial(path, request);
	if (fd < 0)
		return CTL_NO_STATE;
	table_init(&rd.t, N_COLS, header);
	if (rd.follow && !ctl->json) {
		print_fixed(header);
		fflush(stdout);
	}
	ret = read_stream(&rd, fd);
	close(fd);
	if (!rd.follow && !ctl->json)
		table_print(&rd.t, stdout);
	table_free(&rd.t);
	if (rd.dropped && !ctl->json)
		fprintf(stderr, "sluicectl: %llu matching records were dropped: this client "
			"read too slowly\n", (unsigned long long)rd.dropped);
	return ret;
}
