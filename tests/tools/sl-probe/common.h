/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * sl-probe: what the subcommands share. The helpers live here so that
 * every subcommand reports errors, addresses and timings the same way, and
 * a test can grep one vocabulary whichever end printed it.
 */
#ifndef SL_PROBE_COMMON_H
#define SL_PROBE_COMMON_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "../lib/tool.h"

#define ADDR_LEN	64
#define NAME_MAX_LEN	64
/* Not an errno: the peer closed before sending a whole reply line. */
#define SL_EEOF		10000

/* Set by SIGINT or SIGTERM once catch_stop_signals() ran. */
extern volatile sig_atomic_t stop_flag;

/* common.c */
const char *errname(int err, char *buf, size_t len);
void fmt_addr(const void *sa, char *buf, size_t len);
unsigned long parse_num(const char *s, unsigned long min, unsigned long max,
			const char *what, const char *usage);
void parse_target(const char *host, const char *port, int socktype,
		  struct sockaddr_storage *ss, socklen_t *len,
		  const char *usage);
void catch_stop_signals(void);

/* client.c: one request to a 'serve' port, as dial and crr make them. */
enum mode { M_TCP, M_UDP, M_UDP_CONNECTED };

struct attempt {
	char name[NAME_MAX_LEN + 1];
	struct sockaddr_storage peer, from;
	bool have_peer, have_from;
};

/* The source address TCP connections bind to (dial --source); len 0: none. */
extern struct sockaddr_storage tcp_source;
extern socklen_t tcp_source_len;

int tcp_connect(const struct sockaddr_storage *dst, socklen_t len,
		uint64_t deadline, int *fdp);
int do_attempt(enum mode mode, const struct sockaddr_storage *dst,
	       socklen_t dlen, unsigned long timeout_ms, bool peername,
	       struct attempt *a);

/* The subcommands: each takes its own argv (argv[0] is its name). */
int cmd_serve(int argc, char **argv);
int cmd_dial(int argc, char **argv);
int cmd_crr(int argc, char **argv);
int cmd_rr(int argc, char **argv);

#endif
