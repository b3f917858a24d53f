// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sl-probe helpers for every subcommand: fatal errors exit 1 and usage
 * errors exit 2, so a test can tell a broken setup from a bad invocation;
 * errno names and addresses print in one form the tests grep for.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"

const char *const tool_name = "sl-probe";
volatile sig_atomic_t stop_flag;

#define E(x) { x, #x }
static const struct {
	int err;
	const char *name;
} errnames[] = {
	E(EPERM), E(ENOENT), E(EINTR), E(EBADF), E(EAGAIN), E(ENOMEM),
	E(EACCES), E(EFAULT), E(EINVAL), E(ENFILE), E(EMFILE), E(ENOSPC),
	E(EPIPE), E(ENONET), E(EPROTO), E(EBADMSG), E(EDESTADDRREQ),
	E(EMSGSIZE), E(ENOPROTOOPT), E(EPROTONOSUPPORT), E(EOPNOTSUPP),
	E(EAFNOSUPPORT), E(EADDRINUSE), E(EADDRNOTAVAIL), E(ENETDOWN),
	E(ENETUNREACH), E(ENETRESET), E(ECONNABORTED), E(ECONNRESET),
	E(ENOBUFS), E(EISCONN), E(ENOTCONN), E(ESHUTDOWN), E(ETIMEDOUT),
	E(ECONNREFUSED), E(EHOSTDOWN), E(EHOSTUNREACH), E(EALREADY),
	E(EINPROGRESS), { SL_EEOF, "EOF" },
};
#undef E

const char *errname(int err, char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(errnames) / sizeof(errnames[0]); i++)
		if (errnames[i].err == err)
			return errnames[i].name;
	snprintf(buf, len, "E%d", err);
	return buf;
}

/* v4-mapped addresses print as plain IPv4: a test should not care whether
 * the server socket happened to be dual-stack. */
void fmt_addr(const void *sa, char *buf, size_t len)
{
	const struct sockaddr_in *in = sa;
	const struct sockaddr_in6 *in6 = sa;
	char ip[INET6_ADDRSTRLEN];

	if (in->sin_family == AF_INET) {
		inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
		snprintf(buf, len, "%s:%u", ip, ntohs(in->sin_port));
	} else if (in6->sin6_family == AF_INET6 &&
		   IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
		inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], ip, sizeof(ip));
		snprintf(buf, len, "%s:%u", ip, ntohs(in6->sin6_port));
	} else if (in6->sin6_family == AF_INET6) {
		inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
		snprintf(buf, len, "[%s]:%u", ip, ntohs(in6->sin6_port));
	} else {
		snprintf(buf, len, "unknown");
	}
}

unsigned long parse_num(const char *s, unsigned long min, unsigned long max,
			const char *what, const char *usage)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v < min || v > max)
		usage_exit(usage, "bad %s '%s'", what, s);
	return v;
}

void parse_target(const char *host, const char *port, int socktype,
		  struct sockaddr_storage *ss, socklen_t *len,
		  const char *usage)
{
	struct addrinfo hints = {
		.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
		.ai_socktype = socktype,
	};
	struct addrinfo *ai;

	parse_num(port, 1, 65535, "port", usage);
	if (getaddrinfo(host, port, &hints, &ai) != 0)
		usage_exit(usage, "HOST must be an IPv4 or IPv6 literal, not '%s'",
			   host);
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*len = ai->ai_addrlen;
	freeaddrinfo(ai);
}

static void on_stop_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

/* The client loops stop early on a signal and still print their summary. */
void catch_stop_signals(void)
{
	struct sigaction sa = { .sa_handler = on_stop_signal };

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}
