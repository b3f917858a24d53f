// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sl-stream run: C connections of one case, P at a time, each with its own
 * deadline. One line per failed connection and a RESULT line; exit 0 iff
 * nothing failed. Workers pull connection indices from a shared counter,
 * so P bounds concurrency without any scheduling of our own.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "common.h"

/* A failed connection asks the server why; this long at least, because
 * the server may notice a reset after we gave up. */
#define VERDICT_MIN_WAIT	(1 * NS_PER_SEC)
#define CONTROL_GRACE		(1 * NS_PER_SEC)

static const char run_usage[] =
	"usage: sl-stream run --case NAME [--bytes N] [--conns C] [--parallel P]\n"
	"                     [--seed S] [--timeout SEC] [--warmup T] [--chunk B]\n"
	"                     HOST PORT\n"
	"  N takes K, M, G suffixes (binary); for rr and churn it is the number\n"
	"  of round trips. P defaults to C for echo, rr and churn, else 1.\n"
	"  --timeout: deadline of each connection, default 30.\n"
	"  --warmup: T request/response turns before the case, on the same\n"
	"  connection. --chunk: no single send of either end larger than B.\n"
	"Prints 'FAIL conn=I case=NAME REASON' per failure, then\n"
	"'RESULT case= ok= failed= bytes_up= bytes_down= elapsed_ms= csum='.\n"
	"'sl-stream run --help' lists the cases.\n";

static atomic_uint_fast64_t next_idx;
static struct {
	pthread_mutex_t mu;
	uint64_t ok, failed, up, down, csum;
} tally = { .mu = PTHREAD_MUTEX_INITIALIZER };

static void print_help(void)
{
	size_t i;

	fputs(run_usage, stdout);
	puts("Cases (default N):");
	for (i = 0; i < n_cli_cases; i++)
		printf("  %-18s %-9llu %s\n", cli_cases[i].name,
		       (unsigned long long)cli_cases[i].def_bytes,
		       cli_cases[i].what);
}

static int send_header(struct job *j)
{
	const struct run_opts *o = j->o;
	char line[LINE_MAX_LEN];
	int len;

	len = snprintf(line, sizeof(line) - 1, "CASE %s %llu %llu %llu",
		       o->cc->name, (unsigned long long)j->n,
		       (unsigned long long)j->seed, (unsigned long long)j->token);
	if (o->corrupt_down != NO_OFFSET)
		len += snprintf(line + len, sizeof(line) - 1 - (size_t)len,
				" corrupt=%llu",
				(unsigned long long)o->corrupt_down);
	if (o->warmup)
		len += snprintf(line + len, sizeof(line) - 1 - (size_t)len,
				" warmup=%llu", (unsigned long long)o->warmup);
	if (o->chunk)
		len += snprintf(line + len, sizeof(line) - 1 - (size_t)len,
				" chunk=%llu", (unsigned long long)o->chunk);
	line[len++] = '\n';
	return sio_send_all(&j->io, line, (size_t)len);
}

/* "ok ...", "fail ...", "pending", "unknown", or why the control
 * connection itself failed. See verdict.c for the protocol. */
static void query_verdict(const struct job *j, char *out, size_t cap)
{
	uint64_t now = now_ns();
	uint64_t wait = j->deadline > now ? j->deadline - now : 0;
	char line[LINE_MAX_LEN];
	struct sio q;
	int len;

	if (wait < VERDICT_MIN_WAIT)
		wait = VERDICT_MIN_WAIT;
	sio_init(&q, -1, now + wait + CONTROL_GRACE, true);
	len = snprintf(line, sizeof(line), "CASE result %llu 0 %llu\n",
		       (unsigned long long)(wait / NS_PER_MS),
		       (unsigned long long)j->token);
	if (sio_connect(&q, &j->o->dst, j->o->dlen) ||
	    sio_send_all(&q, line, (size_t)len) ||
	    sio_recv_line(&q, line, sizeof(line)))
		snprintf(out, cap, "control connection: %.200s", q.why);
	else if (strncmp(line, "VERDICT ", 8))
		snprintf(out, cap, "control connection: bad reply '%.200s'", line);
	else
		snprintf(out, cap, "%s", line + 8);
	sio_close(&q);
}

/* Combines our outcome with the server's verdict, when it has one to give. */
static int settle(struct job *j, int rc, bool header_sent)
{
	char v[LINE_MAX_LEN];

	if (!header_sent || (j->o->cc->verdict != V_ALWAYS && (!rc || j->have_server)))
		return rc;
	query_verdict(j, v, sizeof(v));
	if (rc) {
		sio_note(&j->io, " [server: %s]", v);
		return rc;
	}
	if (!strncmp(v, "ok", 2)) {
		j->up_ok += j->up_claim;
		return 0;
	}
	if (!strncmp(v, "fail ", 5))
		return sio_fail(&j->io, "server: %s", v + 5);
	if (!strcmp(v, "pending"))
		return sio_fail(&j->io, "timeout: the server side is still blocked (verdict pending)");
	return sio_fail(&j->io, "server: no verdict (%s)", v);
}

static void report(const struct job *j, int rc)
{
	pthread_mutex_lock(&tally.mu);
	if (rc) {
		tally.failed++;
		printf("FAIL conn=%llu case=%s %s\n", (unsigned long long)j->idx,
		       j->o->cc->name, j->io.why[0] ? j->io.why : "unknown");
	} else {
		tally.ok++;
	}
	tally.up += j->up_ok;
	tally.down += j->down_ok;
	tally.csum += j->csum;
	pthread_mutex_unlock(&tally.mu);
}

static void run_job(const struct run_opts *o, uint64_t idx)
{
	struct job *j = calloc(1, sizeof(*j));
	bool header_sent = false;
	int rc;

	if (!j)
		die("calloc");
	j->o = o;
	j->idx = idx;
	j->seed = conn_seed(o->seed, idx);
	/* Random per run: concurrent runs share the server's verdict table. */
	j->token = mix64(o->token_base ^ mix64(idx)) | 1;
	j->n = o->bytes;
	j->deadline = now_ns() + o->timeout_ns;
	sio_init(&j->io, -1, j->deadline, o->cc->blocking);
	j->io.chunk = (size_t)o->chunk;
	rc = sio_connect(&j->io, &o->dst, o->dlen);
	if (!rc) {
		rc = send_header(j);
		header_sent = !rc;
	}
	if (!rc)
		rc = warmup_client(&j->io, j->seed, o->warmup);
	if (!rc)
		rc = o->cc->fn(j);
	sio_close(&j->io);
	report(j, settle(j, rc, header_sent));
	free(j);
}

static void *worker(void *arg)
{
	const struct run_opts *o = arg;
	uint64_t i;

	while ((i = atomic_fetch_add(&next_idx, 1)) < o->conns)
		run_job(o, i);
	return NULL;
}

/* Decimal with an optional binary K, M or G suffix: "64M". */
static uint64_t parse_size(const char *s)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	switch (*end) {
	case 'K': case 'k':
		shift = 10;
		break;
	case 'M': case 'm':
		shift = 20;
		break;
	case 'G': case 'g':
		shift = 30;
		break;
	}
	if (shift)
		end++;
	if (errno || end == s || *end || *s == '-' || v > (1ull << 40) >> shift)
		usage_exit(run_usage, "bad size '%s'", s);
	return (uint64_t)v << shift;
}

static void parse_target(struct run_opts *o, const char *host, const char *port)
{
	struct addrinfo hints = {
		.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
		.ai_socktype = SOCK_STREAM,
	};
	struct addrinfo *ai;

	parse_u64(port, 65535, "port", run_usage);
	if (getaddrinfo(host, port, &hints, &ai))
		usage_exit(run_usage, "HOST must be an IPv4 or IPv6 literal, not '%s'",
			   host);
	memcpy(&o->dst, ai->ai_addr, ai->ai_addrlen);
	o->dlen = ai->ai_addrlen;
	freeaddrinfo(ai);
}

static const struct cli_case *find_case(const char *name)
{
	size_t i;

	for (i = 0; i < n_cli_cases; i++)
		if (!strcmp(cli_cases[i].name, name))
			return &cli_cases[i];
	usage_exit(run_usage, "unknown case '%s'", name);
}

static void parse_run(int argc, char **argv, struct run_opts *o)
{
	static const struct option opts[] = {
		{ "case", required_argument, NULL, 'c' },
		{ "bytes", required_argument, NULL, 'b' },
		{ "conns", required_argument, NULL, 'n' },
		{ "parallel", required_argument, NULL, 'p' },
		{ "seed", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "chunk", required_argument, NULL, 'k' },
		/* Hidden: proves the verifier catches a flipped byte. */
		{ "corrupt-at", required_argument, NULL, 'X' },
		{ "corrupt-down-at", required_argument, NULL, 'Y' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	bool have_bytes = false;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->cc = find_case(optarg);
			break;
		case 'b':
			o->bytes = parse_size(optarg);
			have_bytes = true;
			break;
		case 'n':
			o->conns = parse_u64(optarg, 10000000, "--conns", run_usage);
			break;
		case 'p':
			o->parallel = parse_u64(optarg, 100000, "--parallel", run_usage);
			break;
		case 's':
			o->seed = parse_u64(optarg, UINT64_MAX, "--seed", run_usage);
			break;
		case 't':
			o->timeout_ns = parse_secs(optarg, false, run_usage);
			break;
		case 'w':
			o->warmup = parse_u64(optarg, 1000000, "--warmup", run_usage);
			break;
		case 'k':
			o->chunk = parse_size(optarg);
			break;
		case 'X':
			o->corrupt_up = parse_size(optarg);
			break;
		case 'Y':
			o->corrupt_down = parse_size(optarg);
			break;
		case 'h':
			print_help();
			exit(0);
		default:
			usage_exit(run_usage, NULL);
		}
	}
	if (!o->cc || argc - optind != 2)
		usage_exit(run_usage, "need --case, HOST and PORT");
	parse_target(o, argv[optind], argv[optind + 1]);
	if (!have_bytes)
		o->bytes = o->cc->def_bytes;
	if (!o->conns)
		usage_exit(run_usage, "--conns must be at least 1");
	if (!o->parallel)
		o->parallel = o->cc->concurrent ? o->conns : 1;
	if (o->parallel > o->conns)
		o->parallel = o->conns;
}

int cmd_run(int argc, char **argv)
{
	struct run_opts o = {
		.conns = 1, .seed = 1, .timeout_ns = 30 * NS_PER_SEC,
		.corrupt_up = NO_OFFSET, .corrupt_down = NO_OFFSET,
	};
	pthread_t *t;
	uint64_t start, i;
	int err = 0;

	parse_run(argc, argv, &o);
	if (getrandom(&o.token_base, sizeof(o.token_base), 0) != sizeof(o.token_base))
		o.token_base = now_ns() ^ ((uint64_t)getpid() << 32);
	/* A connection, a control connection, a pipe or file each. */
	raise_nofile(o.parallel * 4 + 64);
	signal(SIGPIPE, SIG_IGN);
	t = calloc(o.parallel, sizeof(*t));
	if (!t)
		die("calloc");
	start = now_ns();
	/* Fewer workers than asked is slower, not wrong: they share the work. */
	for (i = 0; i < o.parallel; i++)
		if ((err = spawn_thread(&t[i], worker, &o)))
			break;
	if (!i) {
		errno = err;
		die("pthread_create");
	}
	if (i < o.parallel)
		fprintf(stderr, "sl-stream: warning: only %llu of %llu workers\n",
			(unsigned long long)i, (unsigned long long)o.parallel);
	while (i--)
		pthread_join(t[i], NULL);
	free(t);
	printf("RESULT case=%s ok=%llu failed=%llu bytes_up=%llu bytes_down=%llu elapsed_ms=%llu csum=%016llx\n",
	       o.cc->name, (unsigned long long)tally.ok,
	       (unsigned long long)tally.failed, (unsigned long long)tally.up,
	       (unsigned long long)tally.down,
	       (unsigned long long)((now_ns() - start) / NS_PER_MS),
	       (unsigned long long)tally.csum);
	fflush(stdout);
	return tally.failed ? 1 : 0;
}
