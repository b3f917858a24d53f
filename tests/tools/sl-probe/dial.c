// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sl-probe dial: the client the e2e tests assert on. Rather than a line per
 * attempt it prints one sorted tally of the outcomes (which server replied,
 * which peer and source addresses were seen, which errors), so a test greps
 * counts such as 'reply a 70' and the output stays short for long runs.
 */
#include <errno.h>
#include <netinet/in.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

static const char dial_usage[] =
	"usage: sl-probe dial [options] HOST PORT\n"
	"  --count N          attempts (default 1; unlimited with --duration)\n"
	"  --duration SEC     repeat until SEC seconds have passed\n"
	"  --interval-ms MS   pause between attempts (default 0)\n"
	"  --timeout-ms MS    per attempt (default 2000)\n"
	"  --udp              unconnected UDP (sendto + recvfrom)\n"
	"  --udp-connected    UDP with connect + send + recv\n"
	"  --peername         record getpeername() (TCP, connected UDP)\n"
	"  --stop-file PATH   stop once PATH exists\n"
	"  --first-error      print 'first_error ERRNAME ELAPSED_MS'\n"
	"  --source ADDR      bind TCP connections to this local address\n"
	"Prints reply/peer/from/error tallies, then 'total ok=N failed=M'.\n";

struct dial_opts {
	unsigned long count, interval, timeout;
	uint64_t duration;
	bool peername, want_first;
	const char *stop_file;
	enum mode mode;
	struct sockaddr_storage dst;
	socklen_t dlen;
};

struct tally {
	char line[ADDR_LEN + 16];
	unsigned long count;
};

static struct tally *tallies;
static size_t ntallies, tally_cap;

static void tally(const char *kind, const char *key)
{
	char line[sizeof(tallies->line)];
	size_t i;

	snprintf(line, sizeof(line), "%s %s", kind, key);
	for (i = 0; i < ntallies; i++) {
		if (!strcmp(tallies[i].line, line)) {
			tallies[i].count++;
			return;
		}
	}
	if (ntallies == tally_cap) {
		tally_cap = tally_cap ? tally_cap * 2 : 16;
		tallies = realloc(tallies, tally_cap * sizeof(*tallies));
		if (!tallies)
			die("realloc");
	}
	strcpy(tallies[ntallies].line, line);
	tallies[ntallies++].count = 1;
}

static int cmp_tally(const void *a, const void *b)
{
	return strcmp(((const struct tally *)a)->line,
		      ((const struct tally *)b)->line);
}

static void sleep_ms(unsigned long ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR && !stop_flag)
		;
}

static void dial_parse(int argc, char **argv, struct dial_opts *o)
{
	static const struct option lopts[] = {
		{ "count", required_argument, NULL, 'c' },
		{ "duration", required_argument, NULL, 'd' },
		{ "interval-ms", required_argument, NULL, 'i' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ "udp", no_argument, NULL, 'u' },
		{ "udp-connected", no_argument, NULL, 'U' },
		{ "peername", no_argument, NULL, 'p' },
		{ "stop-file", required_argument, NULL, 's' },
		{ "first-error", no_argument, NULL, 'f' },
		{ "source", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	bool count_set = false;
	int c;

	while ((c = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->count = parse_num(optarg, 1, ~0ul, "count",
					     dial_usage);
			count_set = true;
			break;
		case 'd':
			o->duration = parse_secs(optarg, true, dial_usage);
			break;
		case 'i':
			o->interval = parse_num(optarg, 0, 3600000, "interval",
						dial_usage);
			break;
		case 't':
			o->timeout = parse_num(optarg, 1, 3600000, "timeout",
					       dial_usage);
			break;
		case 'u':
		case 'U':
			if (o->mode != M_TCP)
				usage_exit(dial_usage, "--udp and --udp-connected exclude each other");
			o->mode = c == 'u' ? M_UDP : M_UDP_CONNECTED;
			break;
		case 'p':
			o->peername = true;
			break;
		case 's':
			o->stop_file = optarg;
			break;
		case 'S':
			parse_target(optarg, "1", SOCK_STREAM, &tcp_source, &tcp_source_len,
				     dial_usage);
			/* Any local port: sin_port and sin6_port share a place. */
			((struct sockaddr_in *)&tcp_source)->sin_port = 0;
			break;
		case 'f':
			o->want_first = true;
			break;
		case 'h':
			fputs(dial_usage, stdout);
			exit(0);
		default:
			usage_exit(dial_usage, NULL);
		}
	}
	if (argc - optind != 2)
		usage_exit(dial_usage, "need HOST and PORT");
	if (o->peername && o->mode == M_UDP)
		usage_exit(dial_usage, "--peername needs TCP or --udp-connected");
	parse_target(argv[optind], argv[optind + 1],
		     o->mode == M_TCP ? SOCK_STREAM : SOCK_DGRAM, &o->dst,
		     &o->dlen, dial_usage);
	if (o->duration && !count_set)
		o->count = 0;
}

/* first_err is NULL unless --first-error was given and an attempt failed. */
static void dial_report(const char *first_err, uint64_t first_ms,
			unsigned long ok, unsigned long failed)
{
	size_t i;

	qsort(tallies, ntallies, sizeof(*tallies), cmp_tally);
	for (i = 0; i < ntallies; i++) {
		/* "first_error" sorts between "error" and "from". */
		if (first_err && strncmp(tallies[i].line, "error ", 6)) {
			printf("first_error %s %llu\n", first_err,
			       (unsigned long long)first_ms);
			first_err = NULL;
		}
		printf("%s %lu\n", tallies[i].line, tallies[i].count);
	}
	if (first_err)
		printf("first_error %s %llu\n", first_err,
		       (unsigned long long)first_ms);
	printf("total ok=%lu failed=%lu\n", ok, failed);
}

int cmd_dial(int argc, char **argv)
{
	struct dial_opts o = { .count = 1, .timeout = 2000, .mode = M_TCP };
	unsigned long ok = 0, failed = 0;
	uint64_t end = 0, first_ms = 0;
	const char *first_err = NULL;
	char addr[ADDR_LEN], ebuf[16], febuf[16];
	struct attempt a;

	dial_parse(argc, argv, &o);
	if (o.duration)
		end = now_ns() + o.duration;
	catch_stop_signals();

	for (;;) {
		uint64_t t0 = now_ns();
		int err = do_attempt(o.mode, &o.dst, o.dlen, o.timeout,
				     o.peername, &a);

		if (a.have_peer) {
			fmt_addr(&a.peer, addr, sizeof(addr));
			tally("peer", addr);
		}
		if (err) {
			failed++;
			tally("error", errname(err, ebuf, sizeof(ebuf)));
			if (!first_err) {
				first_err = errname(err, febuf, sizeof(febuf));
				first_ms = (now_ns() - t0) / 1000000;
			}
		} else {
			ok++;
			tally("reply", a.name);
			if (a.have_from) {
				fmt_addr(&a.from, addr, sizeof(addr));
				tally("from", addr);
			}
		}
		if (o.count && ok + failed >= o.count)
			break;
		if (o.interval && !stop_flag)
			sleep_ms(o.interval);
		if (stop_flag || (o.stop_file && !access(o.stop_file, F_OK)) ||
		    (end && now_ns() >= end))
			break;
	}

	dial_report(o.want_first ? first_err : NULL, first_ms, ok, failed);
	return failed == 0 && ok > 0 ? 0 : 1;
}
