// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sl-probe crr and rr: the two costs the mesh adds, measured apart.
 *   crr  connect/request/close, the per-connection cost (connect hooks,
 *        sockops, policy);
 *   rr   request/response on one connection, the per-byte cost (sk_msg
 *        redirect versus two TCP stacks).
 * Every latency is kept, not averaged on the fly, because the tail (p99) is
 * what a datapath change moves first.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "common.h"

static const char crr_usage[] =
	"usage: sl-probe crr [--duration SEC] [--warmup SEC] HOST PORT\n"
	"  connect, send 'ping\\n', read the reply line, close; repeat.\n"
	"  PORT is a 'serve --tcp' port. Defaults: --duration 5 --warmup 0.\n"
	"Prints 'crr conns=N rate=R p50_us=X p99_us=Y failed=F'.\n";

static const char rr_usage[] =
	"usage: sl-probe rr [--duration SEC] [--warmup SEC] [--size BYTES] HOST PORT\n"
	"  on one connection: send BYTES (default 64), read them back; repeat.\n"
	"  PORT is a 'serve --echo' port. Defaults: --duration 5 --warmup 0.\n"
	"Prints 'rr samples=N tps=T p50_us=X p99_us=Y mean_us=Z'.\n";

struct samples {
	uint64_t *v;
	size_t n, cap;
};

static void sample_add(struct samples *s, uint64_t ns)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 65536;
		s->v = realloc(s->v, s->cap * sizeof(*s->v));
		if (!s->v)
			die("realloc");
	}
	s->v[s->n++] = ns;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile, in microseconds; the samples must be sorted. */
static double pct_us(const struct samples *s, size_t pct)
{
	size_t rank = (s->n * pct + 99) / 100;

	if (!s->n)
		return 0;
	return (double)s->v[rank ? rank - 1 : 0] / 1000.0;
}

/* size is NULL for crr, which has no --size. */
static void bench_opts(int argc, char **argv, const char *usage,
		       uint64_t *duration, uint64_t *warmup, unsigned long *size)
{
	static const struct option lopts[] = {
		{ "duration", required_argument, NULL, 'd' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "size", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	int c;

	*duration = 5000000000ull;
	*warmup = 0;
	while ((c = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			*duration = parse_secs(optarg, true, usage);
			break;
		case 'w':
			*warmup = parse_secs(optarg, true, usage);
			break;
		case 's':
			if (!size)
				usage_exit(usage, "--size is for rr only");
			*size = parse_num(optarg, 1, 1ul << 24, "size", usage);
			break;
		case 'h':
			fputs(usage, stdout);
			exit(0);
		default:
			usage_exit(usage, NULL);
		}
	}
	if (argc - optind != 2)
		usage_exit(usage, "need HOST and PORT");
	if (!*duration)
		usage_exit(usage, "--duration must be > 0");
}

int cmd_crr(int argc, char **argv)
{
	uint64_t duration, warmup, start, measure, end, t0, elapsed;
	struct samples s = { 0 };
	struct sockaddr_storage dst;
	unsigned long failed = 0;
	struct attempt a;
	socklen_t dlen;

	bench_opts(argc, argv, crr_usage, &duration, &warmup, NULL);
	parse_target(argv[optind], argv[optind + 1], SOCK_STREAM, &dst, &dlen,
		     crr_usage);
	catch_stop_signals();
	start = now_ns();
	measure = start + warmup;
	end = measure + duration;
	for (t0 = start; t0 < end && !stop_flag;) {
		int err = do_attempt(M_TCP, &dst, dlen, 2000, false, &a);
		uint64_t t1 = now_ns();

		if (t0 >= measure) {
			if (err)
				failed++;
			else
				sample_add(&s, t1 - t0);
		}
		t0 = t1;
	}
	elapsed = t0 > measure ? t0 - measure : 1;
	if (s.n)
		qsort(s.v, s.n, sizeof(*s.v), cmp_u64);
	printf("crr conns=%zu rate=%.1f p50_us=%.1f p99_us=%.1f failed=%lu\n",
	       s.n, (double)s.n * 1e9 / (double)elapsed, pct_us(&s, 50),
	       pct_us(&s, 99), failed);
	free(s.v);
	return s.n ? 0 : 1;
}

/*
 * One round trip. A message larger than the socket buffers cannot be sent
 * whole before reading, or client and echo server block on each other: so
 * send without blocking and read whenever the send stalls. Small messages
 * take the fast path of one send and blocking recvs. Echoed bytes land over
 * bytes already sent, which are the same, so one buffer does for both.
 */
static int rr_roundtrip(int fd, char *buf, size_t size)
{
	size_t sent = 0, rcvd = 0;

	while (rcvd < size) {
		struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT };
		ssize_t n;

		if (sent < size) {
			n = send(fd, buf + sent, size - sent,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n > 0)
				sent += (size_t)n;
			else if (errno != EAGAIN && errno != EINTR)
				return errno;
		}
		n = recv(fd, buf + rcvd, size - rcvd,
			 sent < size ? MSG_DONTWAIT : 0);
		if (n > 0) {
			rcvd += (size_t)n;
			continue;
		}
		if (n == 0)
			return SL_EEOF;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return errno;
		/* EAGAIN from a blocking recv is SO_RCVTIMEO expiring. */
		if (sent == size || poll(&p, 1, 5000) == 0)
			return ETIMEDOUT;
	}
	return 0;
}

/* Blocking by default: the fewest syscalls per small round trip. */
static void rr_sockopts(int fd)
{
	struct timeval tv = { .tv_sec = 5 };
	int one = 1;

	if (fcntl(fd, F_SETFL, 0) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)))
		die("setsockopt");
}

static void rr_report(struct samples *s, uint64_t elapsed)
{
	uint64_t sum = 0;
	size_t i;

	for (i = 0; i < s->n; i++)
		sum += s->v[i];
	if (s->n)
		qsort(s->v, s->n, sizeof(*s->v), cmp_u64);
	printf("rr samples=%zu tps=%.1f p50_us=%.1f p99_us=%.1f mean_us=%.1f\n",
	       s->n, (double)s->n * 1e9 / (double)elapsed,
	       pct_us(s, 50), pct_us(s, 99),
	       s->n ? (double)sum / (double)s->n / 1000.0 : 0.0);
}

int cmd_rr(int argc, char **argv)
{
	uint64_t duration, warmup, start, measure, end, t0;
	struct samples s = { 0 };
	struct sockaddr_storage dst;
	unsigned long size = 64;
	char *buf, ebuf[16];
	socklen_t dlen;
	int fd, err;

	bench_opts(argc, argv, rr_usage, &duration, &warmup, &size);
	parse_target(argv[optind], argv[optind + 1], SOCK_STREAM, &dst, &dlen,
		     rr_usage);
	buf = malloc(size);
	if (!buf)
		die("malloc");
	memset(buf, 'x', size);
	catch_stop_signals();
	if ((err = tcp_connect(&dst, dlen, now_ns() + 2000000000ull, &fd))) {
		fprintf(stderr, "sl-probe: connect: %s\n",
			errname(err, ebuf, sizeof(ebuf)));
		free(buf);
		return 1;
	}
	rr_sockopts(fd);
	start = now_ns();
	measure = start + warmup;
	end = measure + duration;
	for (t0 = start; t0 < end && !stop_flag;) {
		uint64_t t1;

		if ((err = rr_roundtrip(fd, buf, size))) {
			fprintf(stderr, "sl-probe: rr: %s\n",
				errname(err, ebuf, sizeof(ebuf)));
			close(fd);
			free(s.v);
			free(buf);
			return 1;
		}
		t1 = now_ns();
		if (t0 >= measure)
			sample_add(&s, t1 - t0);
		t0 = t1;
	}
	close(fd);
	rr_report(&s, t0 > measure ? t0 - measure : 1);
	free(s.v);
	free(buf);
	return s.n ? 0 : 1;
}
