// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sl-stream serve: the server end of every case. A thread per connection,
 * because each case is a plain sequential script (read this, then write
 * that) and blocking calls are themselves under test; thousands of small
 * threads are cheap. The first line of a connection says what to do:
 *   CASE <name> <n> <seed> <token> [corrupt=<offset>] [warmup=<turns>]
 *        [chunk=<bytes>]
 * <seed> is the connection's own seed (the client mixed in its index),
 * <token> keys the verdict the client may fetch later (see verdict.c),
 * corrupt= is a test hook: flip that byte of what the server sends.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "common.h"

static const char serve_usage[] =
	"usage: sl-stream serve --port PORT [--addr ADDR] [--timeout SEC]\n"
	"  Plays the server side of 'sl-stream run'. Each connection starts\n"
	"  with 'CASE <name> <n> <seed> <token>'.\n"
	"  --addr     listen address (default ::, dual-stack)\n"
	"  --timeout  deadline of each connection (default 60: above run's\n"
	"             30, so that a stuck client is reported by the client)\n"
	"Prints 'ready' once listening; SIGTERM or SIGINT stop it, printing\n"
	"'stopped conns=N failed=M'. Failures are logged on stderr.\n";

uint64_t srv_timeout_ns = 60 * NS_PER_SEC;
static atomic_ulong n_conns, n_failed;

static int open_listener(const char *addr, const char *port)
{
	struct addrinfo hints = {
		.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV,
		.ai_socktype = SOCK_STREAM,
	};
	struct addrinfo *ai;
	int one = 1, zero = 0, fd;

	if (getaddrinfo(addr, port, &hints, &ai))
		usage_exit(serve_usage, "bad address '%s' or port '%s'", addr, port);
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket");
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)))
		die("SO_REUSEADDR");
	/* One listener for both families, as a pod's server usually is. */
	if (ai->ai_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)))
		die("IPV6_V6ONLY");
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0)
		die("bind %s port %s", addr, port);
	if (listen(fd, 4096) < 0)
		die("listen");
	freeaddrinfo(ai);
	return fd;
}

/* Optional " key=value" words after the fixed header fields. */
static int parse_options(struct sconn *c, const char *p)
{
	unsigned long long v;
	char key[16];
	int used;

	while (*p) {
		if (sscanf(p, " %15[a-z]=%llu%n", key, &v, &used) != 2)
			return sio_fail(&c->io, "bad header option '%s'", p);
		if (!strcmp(key, "corrupt"))
			c->corrupt_at = v;
		else if (!strcmp(key, "warmup"))
			c->warmup = v;
		else if (!strcmp(key, "chunk"))
			c->io.chunk = (size_t)v;
		else
			return sio_fail(&c->io, "unknown header option '%s'", key);
		p += used;
	}
	return 0;
}

static int parse_header(struct sconn *c, const char *line)
{
	unsigned long long n, seed, token;
	int used = 0;

	if (sscanf(line, "CASE %31s %llu %llu %llu%n", c->name, &n, &seed,
		   &token, &used) != 4)
		return sio_fail(&c->io, "bad header '%s'", line);
	c->n = n;
	c->seed = seed;
	c->token = token;
	c->corrupt_at = NO_OFFSET;
	return parse_options(c, line + used);
}

/* CASE result <wait_ms> 0 <token>: see verdict.c. */
static void serve_result(struct sconn *c)
{
	uint64_t wait = srv_timeout_ns;
	char v[REASON_LEN + 16], line[REASON_LEN + 32];

	if (c->n < srv_timeout_ns / NS_PER_MS)
		wait = c->n * NS_PER_MS;
	verdict_query(c->token, now_ns() + wait, v, sizeof(v));
	snprintf(line, sizeof(line), "VERDICT %s\n", v);
	sio_send_all(&c->io, line, strlen(line));
}

/* After a failure: stop sending, swallow what the client still sends until
 * it closes. Closing with unread data would reset the connection and could
 * destroy the FAIL line before the client reads it. */
static void linger_out(struct sconn *c, const struct srv_case *sc)
{
	char buf[4096];
	ssize_t n;

	if (sc && sc->reply && !c->replied) {
		snprintf(buf, sizeof(buf), "FAIL %s\n", c->io.why);
		sio_send_all(&c->io, buf, strlen(buf));
	}
	shutdown(c->io.fd, SHUT_WR);
	do
		n = sio_recv(&c->io, buf, sizeof(buf), 0);
	while (n > 0);
}

static void run_case(struct sconn *c)
{
	const struct srv_case *sc = srv_case_find(c->name);
	int slot = -1, rc;

	if (!sc) {
		sio_fail(&c->io, "unknown case '%s'", c->name);
		rc = -1;
	} else {
		if (c->token)
			slot = verdict_begin(c->token);
		rc = warmup_server(&c->io, c->seed, c->warmup);
		if (!rc)
			rc = sc->fn(c);
		if (slot >= 0)
			verdict_end(slot, rc == 0, rc ? c->io.why : c->detail);
	}
	if (!rc)
		return;
	atomic_fetch_add(&n_failed, 1);
	fprintf(stderr, "FAIL token=%016llx case=%s %s\n",
		(unsigned long long)c->token, c->name, c->io.why);
	linger_out(c, sc);
}

static void *conn_main(void *arg)
{
	struct sconn *c = arg;
	char line[LINE_MAX_LEN];

	if (sio_recv_line(&c->io, line, sizeof(line)) || parse_header(c, line)) {
		atomic_fetch_add(&n_failed, 1);
		fprintf(stderr, "FAIL header: %s\n", c->io.why);
	} else if (!strcmp(c->name, "result")) {
		serve_result(c);
	} else {
		run_case(c);
	}
	sio_close(&c->io);
	free(c);
	return NULL;
}

static void accept_all(int lfd)
{
	static uint64_t warned_at;

	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		struct sconn *c;

		if (fd < 0 && (errno == EMFILE || errno == ENFILE)) {
			/* Leave it in the backlog: the client's deadline
			 * decides, and connections finishing free fds. */
			if (now_ns() - warned_at > NS_PER_SEC)
				fprintf(stderr, "sl-stream: accept: %s\n",
					errname(errno));
			warned_at = now_ns();
			sleep_ns(10 * NS_PER_MS);
			return;
		}
		if (fd < 0 && (errno == EINTR || errno == ECONNABORTED))
			continue;
		if (fd < 0)
			return;	/* EAGAIN: backlog empty */
		c = calloc(1, sizeof(*c));
		if (!c)
			die("calloc");
		sio_init(&c->io, fd, now_ns() + srv_timeout_ns, true);
		atomic_fetch_add(&n_conns, 1);
		if (spawn_thread(NULL, conn_main, c)) {
			atomic_fetch_add(&n_failed, 1);
			fprintf(stderr, "FAIL no thread for a connection\n");
			close(fd);
			free(c);
		}
	}
}

static int stop_signals(void)
{
	sigset_t set;
	int fd;

	/* Blocked before any thread exists, so only signalfd sees them. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL))
		die("sigmask");
	fd = signalfd(-1, &set, SFD_CLOEXEC);
	if (fd < 0)
		die("signalfd");
	signal(SIGPIPE, SIG_IGN);
	return fd;
}

int cmd_serve(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "addr", required_argument, NULL, 'a' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *addr = "::", *port = NULL;
	int c, lfd, sfd;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			port = optarg;
			parse_u64(port, 65535, "port", serve_usage);
			break;
		case 'a':
			addr = optarg;
			break;
		case 't':
			srv_timeout_ns = parse_secs(optarg, false, serve_usage);
			break;
		case 'h':
			fputs(serve_usage, stdout);
			return 0;
		default:
			usage_exit(serve_usage, NULL);
		}
	}
	if (!port || optind != argc)
		usage_exit(serve_usage, "--port is required, and nothing else");
	raise_nofile(8192);
	verdict_init();
	sfd = stop_signals();
	lfd = open_listener(addr, port);
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		struct pollfd p[2] = { { lfd, POLLIN, 0 }, { sfd, POLLIN, 0 } };

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			die("poll");
		if (p[1].revents)
			break;
		if (p[0].revents)
			accept_all(lfd);
	}
	close(lfd);
	printf("stopped conns=%lu failed=%lu\n", atomic_load(&n_conns),
	       atomic_load(&n_failed));
	fflush(stdout);
	return 0;
}
