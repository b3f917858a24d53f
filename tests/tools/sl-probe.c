// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sl-probe: both ends of Sluice's e2e tests and benchmarks.
 *
 *   serve  answers every request line with "NAME LOCAL PEER", so a test can
 *          tell which endpoint got a connection and what addresses it saw;
 *   dial   makes attempts and prints one greppable tally of the outcomes;
 *   crr    connect/request/close rate and latency (the mesh's per-connection
 *          cost: connect hooks, sockops, policy);
 *   rr     request/response latency on one connection (the per-byte cost:
 *          sk_msg redirect versus two TCP stacks).
 *
 * Only libc, so it runs in any pod netns without a build of its own.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define ADDR_LEN	64
#define NAME_MAX_LEN	64
#define MAX_LISTENERS	64
/* Stop reading from a connection whose peer does not read its replies. */
#define OUT_HIGH	(1u << 20)
/* Not an errno: the peer closed before sending a whole reply line. */
#define SL_EEOF		10000

static volatile sig_atomic_t stop_flag;

static void die(const char *fmt, ...)
	__attribute__((noreturn, format(printf, 1, 2)));
static void usage_exit(const char *usage, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 2, 3)));

static void die(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	fputs("sl-probe: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", strerror(err));
	exit(1);
}

static void usage_exit(const char *usage, const char *fmt, ...)
{
	va_list ap;

	if (fmt) {
		fputs("sl-probe: ", stderr);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	fputs(usage, stderr);
	exit(2);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

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

static const char *errname(int err, char *buf, size_t len)
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
static void fmt_addr(const void *sa, char *buf, size_t len)
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

static unsigned long parse_num(const char *s, unsigned long min,
			       unsigned long max, const char *what,
			       const char *usage)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v < min || v > max)
		usage_exit(usage, "bad %s '%s'", what, s);
	return v;
}

static uint64_t parse_secs(const char *s, const char *usage)
{
	double v;
	char *end;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || v < 0 || v > 1e6)
		usage_exit(usage, "bad duration '%s'", s);
	return (uint64_t)(v * 1e9);
}

static void parse_target(const char *host, const char *port, int socktype,
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

/* ---- serve --------------------------------------------------------------- */

static const char serve_usage[] =
	"usage: sl-probe serve --name NAME [--tcp PORT]... [--udp PORT]... [--echo PORT]...\n"
	"  --tcp PORT   reply 'NAME LOCAL PEER' to every request line\n"
	"  --udp PORT   the same for every datagram\n"
	"  --echo PORT  TCP, echo every byte back\n"
	"Listens on [::] (IPv4 too); prints 'ready' once listening.\n";

enum hkind { H_LISTEN_LINE, H_LISTEN_ECHO, H_UDP, H_CONN_LINE, H_CONN_ECHO,
	     H_SIGNAL };

struct handle {
	enum hkind kind;
	int fd;
	unsigned int port;
};

struct conn {
	struct handle h;
	uint32_t events;
	bool rd_closed;
	char *out;
	size_t out_off, out_len, out_cap;
	size_t reply_len;
	char reply[];
};

static const char *srv_name;
static int epfd;
static int spare_fd = -1;
static char scratch[65536];

static void ep_add(struct handle *h, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = h };

	if (epoll_ctl(epfd, EPOLL_CTL_ADD, h->fd, &ev) < 0)
		die("epoll_ctl");
}

static void open_listener(struct handle *h)
{
	struct sockaddr_in6 sa = {
		.sin6_family = AF_INET6,
		.sin6_port = htons(h->port),
		.sin6_addr = IN6ADDR_ANY_INIT,
	};
	int type = h->kind == H_UDP ? SOCK_DGRAM : SOCK_STREAM;
	int one = 1, zero = 0;
	int fd;

	fd = socket(AF_INET6, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket");
	if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)))
		die("setsockopt");
	/* A reply must leave from the address the datagram was sent to, or a
	 * connected client drops it; IPv4 senders report through IP_PKTINFO
	 * even on a v6 socket. */
	if (type == SOCK_DGRAM &&
	    (setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one)) ||
	     setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one))))
		die("setsockopt pktinfo");
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("bind port %u", h->port);
	if (type == SOCK_STREAM && listen(fd, 4096) < 0)
		die("listen port %u", h->port);
	h->fd = fd;
	ep_add(h, EPOLLIN);
}

static void conn_close(struct conn *c)
{
	close(c->h.fd);
	free(c->out);
	free(c);
}

static int conn_queue(struct conn *c, const char *p, size_t n)
{
	if (c->out_len + n > c->out_cap && c->out_off) {
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	if (c->out_len + n > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap * 2 : 4096;
		char *out;

		while (cap < c->out_len + n)
			cap *= 2;
		out = realloc(c->out, cap);
		if (!out)
			return -1;
		c->out = out;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, p, n);
	c->out_len += n;
	return 0;
}

static int conn_flush(struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->h.fd, c->out + c->out_off,
				 c->out_len - c->out_off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? 0 : -1;
		c->out_off += (size_t)n;
	}
	c->out_off = c->out_len = 0;
	return 0;
}

/* Returns false once the connection is gone. */
static bool conn_update(struct conn *c)
{
	size_t pending = c->out_len - c->out_off;
	struct epoll_event ev = { .data.ptr = c };

	if (!c->rd_closed && pending < OUT_HIGH)
		ev.events |= EPOLLIN;
	if (pending)
		ev.events |= EPOLLOUT;
	if (!ev.events) {
		conn_close(c);
		return false;
	}
	if (ev.events != c->events) {
		if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->h.fd, &ev) < 0)
			die("epoll_ctl");
		c->events = ev.events;
	}
	return true;
}

static bool conn_read(struct conn *c)
{
	int i;

	/* Bounded, so one busy peer cannot starve the others. */
	for (i = 0; i < 16 && c->out_len - c->out_off < OUT_HIGH; i++) {
		ssize_t n = recv(c->h.fd, scratch, sizeof(scratch), 0);
		const char *p = scratch, *end;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0)
			goto fail;
		if (n == 0) {
			c->rd_closed = true;
			break;
		}
		end = scratch + n;
		if (c->h.kind == H_CONN_ECHO) {
			if (conn_queue(c, scratch, (size_t)n))
				goto fail;
		} else {
			while ((p = memchr(p, '\n', (size_t)(end - p)))) {
				if (conn_queue(c, c->reply, c->reply_len))
					goto fail;
				p++;
			}
		}
		if (conn_flush(c))
			goto fail;
	}
	return conn_update(c);
fail:
	conn_close(c);
	return false;
}

static void on_accept(struct handle *l)
{
	int i;

	for (i = 0; i < 64; i++) {
		struct sockaddr_storage peer, local;
		socklen_t plen = sizeof(peer), llen = sizeof(local);
		char pbuf[ADDR_LEN], lbuf[ADDR_LEN];
		struct conn *c;
		int fd, len;

		fd = accept4(l->fd, (struct sockaddr *)&peer, &plen,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0 && (errno == EMFILE || errno == ENFILE) &&
		    spare_fd >= 0) {
			/* Out of fds: refuse one pending connection rather
			 * than spin on a listener that stays readable. */
			close(spare_fd);
			fd = accept(l->fd, NULL, NULL);
			if (fd >= 0)
				close(fd);
			spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
			continue;
		}
		if (fd < 0 && (errno == EINTR || errno == ECONNABORTED))
			continue;
		if (fd < 0)
			return;
		if (getsockname(fd, (struct sockaddr *)&local, &llen) < 0) {
			close(fd);
			continue;
		}
		fmt_addr(&peer, pbuf, sizeof(pbuf));
		fmt_addr(&local, lbuf, sizeof(lbuf));
		c = calloc(1, sizeof(*c) + NAME_MAX_LEN + 2 * ADDR_LEN + 4);
		if (!c) {
			close(fd);
			continue;
		}
		c->h.kind = l->kind == H_LISTEN_ECHO ? H_CONN_ECHO : H_CONN_LINE;
		c->h.fd = fd;
		len = sprintf(c->reply, "%s %s %s\n", srv_name, lbuf, pbuf);
		c->reply_len = (size_t)len;
		c->events = EPOLLIN;
		ep_add(&c->h, EPOLLIN);
	}
}

static void on_udp(struct handle *h)
{
	int i;

	for (i = 0; i < 64; i++) {
		struct sockaddr_in6 peer, local = {
			.sin6_family = AF_INET6,
			.sin6_port = htons(h->port),
		};
		union {
			char buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) +
				 CMSG_SPACE(sizeof(struct in_pktinfo))];
			struct cmsghdr align;
		} cbuf;
		struct iovec iov = { scratch, sizeof(scratch) };
		struct msghdr msg = {
			.msg_name = &peer, .msg_namelen = sizeof(peer),
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = cbuf.buf,
			.msg_controllen = sizeof(cbuf.buf),
		};
		char reply[NAME_MAX_LEN + 2 * ADDR_LEN + 4];
		char pbuf[ADDR_LEN], lbuf[ADDR_LEN];
		struct cmsghdr *cm;
		int ifindex = 0, len;
		bool have_dst = false;

		if (recvmsg(h->fd, &msg, 0) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
			if (cm->cmsg_level == IPPROTO_IP &&
			    cm->cmsg_type == IP_PKTINFO) {
				struct in_pktinfo pi;

				memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
				local.sin6_addr.s6_addr[10] = 0xff;
				local.sin6_addr.s6_addr[11] = 0xff;
				memcpy(&local.sin6_addr.s6_addr[12],
				       &pi.ipi_addr, 4);
				have_dst = true;
			} else if (cm->cmsg_level == IPPROTO_IPV6 &&
				   cm->cmsg_type == IPV6_PKTINFO) {
				struct in6_pktinfo pi;

				memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
				local.sin6_addr = pi.ipi6_addr;
				ifindex = (int)pi.ipi6_ifindex;
				have_dst = true;
			}
		}
		fmt_addr(&peer, pbuf, sizeof(pbuf));
		fmt_addr(&local, lbuf, sizeof(lbuf));
		len = snprintf(reply, sizeof(reply), "%s %s %s\n", srv_name,
			       lbuf, pbuf);
		iov.iov_base = reply;
		iov.iov_len = (size_t)len;
		msg.msg_namelen = sizeof(peer);
		msg.msg_control = NULL;
		msg.msg_controllen = 0;
		/* The v6 pktinfo also carries a v4-mapped source for IPv4
		 * peers; the ifindex only matters for link-local scope. */
		if (have_dst && !IN6_IS_ADDR_MULTICAST(&local.sin6_addr) &&
		    !(IN6_IS_ADDR_V4MAPPED(&local.sin6_addr) &&
		      local.sin6_addr.s6_addr[12] >= 224)) {
			struct in6_pktinfo pi = { .ipi6_addr = local.sin6_addr };

			if (IN6_IS_ADDR_LINKLOCAL(&local.sin6_addr))
				pi.ipi6_ifindex = (unsigned int)ifindex;
			msg.msg_control = cbuf.buf;
			msg.msg_controllen = CMSG_SPACE(sizeof(pi));
			cm = CMSG_FIRSTHDR(&msg);
			cm->cmsg_level = IPPROTO_IPV6;
			cm->cmsg_type = IPV6_PKTINFO;
			cm->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
		}
		while (sendmsg(h->fd, &msg, MSG_NOSIGNAL) < 0 && errno == EINTR)
			;
	}
}

static int cmd_serve(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "tcp", required_argument, NULL, 't' },
		{ "udp", required_argument, NULL, 'u' },
		{ "echo", required_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	static struct handle ls[MAX_LISTENERS];
	struct handle sig = { .kind = H_SIGNAL };
	struct epoll_event evs[256];
	struct rlimit rl;
	sigset_t mask;
	int nl = 0, i, c;

	while ((c = getopt_long(argc, argv, "n:t:u:e:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			srv_name = optarg;
			break;
		case 't':
		case 'u':
		case 'e':
			if (nl == MAX_LISTENERS)
				usage_exit(serve_usage, "too many ports");
			ls[nl].kind = c == 't' ? H_LISTEN_LINE :
				      c == 'u' ? H_UDP : H_LISTEN_ECHO;
			ls[nl++].port = (unsigned int)parse_num(optarg, 1, 65535,
								"port", serve_usage);
			break;
		case 'h':
			fputs(serve_usage, stdout);
			return 0;
		default:
			usage_exit(serve_usage, NULL);
		}
	}
	if (optind != argc)
		usage_exit(serve_usage, "unexpected argument '%s'", argv[optind]);
	if (!srv_name || !*srv_name || strlen(srv_name) > NAME_MAX_LEN ||
	    strpbrk(srv_name, " \t\r\n"))
		usage_exit(serve_usage, "--name must be 1-%d chars, no spaces",
			   NAME_MAX_LEN);
	if (!nl)
		usage_exit(serve_usage, "no --tcp, --udp or --echo port");

	/* Thousands of connections need more than the usual 1024 fds. */
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		die("sigprocmask");
	epfd = epoll_create1(EPOLL_CLOEXEC);
	sig.fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (epfd < 0 || sig.fd < 0)
		die("epoll/signalfd");
	ep_add(&sig, EPOLLIN);
	for (i = 0; i < nl; i++)
		open_listener(&ls[i]);
	printf("ready\n");
	fflush(stdout);

	for (;;) {
		int n = epoll_wait(epfd, evs, 256, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("epoll_wait");
		for (i = 0; i < n; i++) {
			struct handle *h = evs[i].data.ptr;
			struct conn *cn = (struct conn *)h;

			switch (h->kind) {
			case H_SIGNAL:
				return 0;
			case H_LISTEN_LINE:
			case H_LISTEN_ECHO:
				on_accept(h);
				break;
			case H_UDP:
				on_udp(h);
				break;
			case H_CONN_LINE:
			case H_CONN_ECHO:
				if ((evs[i].events & EPOLLOUT) && conn_flush(cn)) {
					conn_close(cn);
					break;
				}
				if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
					conn_read(cn);
				else
					conn_update(cn);
				break;
			}
		}
	}
}

/* ---- client side ---------------------------------------------------------- */

static int wait_fd(int fd, short events, uint64_t deadline)
{
	for (;;) {
		uint64_t now = now_ns();
		struct pollfd p = { .fd = fd, .events = events };
		int n;

		if (now >= deadline)
			return ETIMEDOUT;
		n = poll(&p, 1, (int)((deadline - now + 999999) / 1000000));
		if (n < 0 && errno != EINTR)
			return errno;
		if (n > 0)
			return 0;
	}
}

static int tcp_connect(const struct sockaddr_storage *dst, socklen_t len,
		       uint64_t deadline, int *fdp)
{
	socklen_t elen = sizeof(int);
	int fd, err = 0;

	fd = socket(dst->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	if (connect(fd, (const struct sockaddr *)dst, len) < 0) {
		if (errno != EINPROGRESS && errno != EINTR)
			err = errno;
		else if (!(err = wait_fd(fd, POLLOUT, deadline)) &&
			 getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
			err = errno;
	}
	if (err) {
		close(fd);
		return err;
	}
	*fdp = fd;
	return 0;
}

static int send_all(int fd, const char *p, size_t len, uint64_t deadline)
{
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		int err;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if ((err = wait_fd(fd, POLLOUT, deadline)))
				return err;
			continue;
		}
		if (n < 0)
			return errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads up to and including the first newline; the server answers each
 * request with exactly one line, so nothing past it is lost. */
static int read_line(int fd, char *buf, size_t cap, uint64_t deadline)
{
	size_t len = 0;

	while (len < cap - 1) {
		ssize_t n = recv(fd, buf + len, cap - 1 - len, 0);
		int err;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if ((err = wait_fd(fd, POLLIN, deadline)))
				return err;
			continue;
		}
		if (n < 0)
			return errno;
		if (n == 0)
			return SL_EEOF;
		len += (size_t)n;
		buf[len] = '\0';
		if (strchr(buf, '\n'))
			return 0;
	}
	return EBADMSG;
}

/* The server's name is the first word of its reply. */
static int reply_name(const char *line, char *name)
{
	size_t n = strcspn(line, " \r\n");

	if (!n || n > NAME_MAX_LEN)
		return EBADMSG;
	memcpy(name, line, n);
	name[n] = '\0';
	return 0;
}

enum mode { M_TCP, M_UDP, M_UDP_CONNECTED };

struct attempt {
	char name[NAME_MAX_LEN + 1];
	struct sockaddr_storage peer, from;
	bool have_peer, have_from;
};

static int tcp_attempt(const struct sockaddr_storage *dst, socklen_t dlen,
		       uint64_t deadline, bool peername, struct attempt *a)
{
	char buf[512];
	socklen_t plen = sizeof(a->peer);
	int fd, err;

	if ((err = tcp_connect(dst, dlen, deadline, &fd)))
		return err;
	if (peername && !getpeername(fd, (struct sockaddr *)&a->peer, &plen))
		a->have_peer = true;
	if (!(err = send_all(fd, "ping\n", 5, deadline)) &&
	    !(err = read_line(fd, buf, sizeof(buf), deadline)))
		err = reply_name(buf, a->name);
	close(fd);
	return err;
}

static int udp_attempt(const struct sockaddr_storage *dst, socklen_t dlen,
		       uint64_t deadline, bool connected, bool peername,
		       struct attempt *a)
{
	socklen_t plen = sizeof(a->peer), flen;
	char buf[512];
	ssize_t n;
	int fd, err = 0;

	fd = socket(dst->ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	if (connected) {
		if (connect(fd, (const struct sockaddr *)dst, dlen) < 0) {
			err = errno;
			goto out;
		}
		if (peername &&
		    !getpeername(fd, (struct sockaddr *)&a->peer, &plen))
			a->have_peer = true;
		n = send(fd, "ping\n", 5, 0);
	} else {
		n = sendto(fd, "ping\n", 5, 0, (const struct sockaddr *)dst, dlen);
	}
	if (n < 0) {
		err = errno;
		goto out;
	}
	for (;;) {
		flen = sizeof(a->from);
		n = recvfrom(fd, buf, sizeof(buf) - 1, 0,
			     (struct sockaddr *)&a->from, &flen);
		if (n >= 0)
			break;
		if (errno != EAGAIN && errno != EINTR) {
			err = errno;
			goto out;
		}
		if ((err = wait_fd(fd, POLLIN, deadline)))
			goto out;
	}
	buf[n] = '\0';
	a->have_from = !connected;
	err = reply_name(buf, a->name);
out:
	close(fd);
	return err;
}

static int do_attempt(enum mode mode, const struct sockaddr_storage *dst,
		      socklen_t dlen, unsigned long timeout_ms, bool peername,
		      struct attempt *a)
{
	uint64_t deadline = now_ns() + timeout_ms * 1000000ull;

	memset(a, 0, sizeof(*a));
	if (mode == M_TCP)
		return tcp_attempt(dst, dlen, deadline, peername, a);
	return udp_attempt(dst, dlen, deadline, mode == M_UDP_CONNECTED,
			   peername, a);
}

static void on_stop_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void catch_stop_signals(void)
{
	struct sigaction sa = { .sa_handler = on_stop_signal };

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* ---- dial ------------------------------------------------------------------ */

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
	"Prints reply/peer/from/error tallies, then 'total ok=N failed=M'.\n";

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

static int cmd_dial(int argc, char **argv)
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
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	unsigned long count = 1, interval = 0, timeout = 2000, ok = 0, failed = 0;
	uint64_t duration = 0, end = 0, first_ms = 0;
	bool count_set = false, peername = false, want_first = false;
	const char *stop_file = NULL, *first_err = NULL;
	char addr[ADDR_LEN], ebuf[16], febuf[16];
	struct sockaddr_storage dst;
	enum mode mode = M_TCP;
	struct attempt a;
	socklen_t dlen;
	size_t i;
	int c;

	while ((c = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			count = parse_num(optarg, 1, ~0ul, "count", dial_usage);
			count_set = true;
			break;
		case 'd':
			duration = parse_secs(optarg, dial_usage);
			break;
		case 'i':
			interval = parse_num(optarg, 0, 3600000, "interval", dial_usage);
			break;
		case 't':
			timeout = parse_num(optarg, 1, 3600000, "timeout", dial_usage);
			break;
		case 'u':
		case 'U':
			if (mode != M_TCP)
				usage_exit(dial_usage, "--udp and --udp-connected exclude each other");
			mode = c == 'u' ? M_UDP : M_UDP_CONNECTED;
			break;
		case 'p':
			peername = true;
			break;
		case 's':
			stop_file = optarg;
			break;
		case 'f':
			want_first = true;
			break;
		case 'h':
			fputs(dial_usage, stdout);
			return 0;
		default:
			usage_exit(dial_usage, NULL);
		}
	}
	if (argc - optind != 2)
		usage_exit(dial_usage, "need HOST and PORT");
	if (peername && mode == M_UDP)
		usage_exit(dial_usage, "--peername needs TCP or --udp-connected");
	parse_target(argv[optind], argv[optind + 1],
		     mode == M_TCP ? SOCK_STREAM : SOCK_DGRAM, &dst, &dlen,
		     dial_usage);
	if (duration && !count_set)
		count = 0;
	if (duration)
		end = now_ns() + duration;
	catch_stop_signals();

	for (;;) {
		uint64_t t0 = now_ns();
		int err = do_attempt(mode, &dst, dlen, timeout, peername, &a);

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
		if (count && ok + failed >= count)
			break;
		if (interval && !stop_flag)
			sleep_ms(interval);
		if (stop_flag || (stop_file && !access(stop_file, F_OK)) ||
		    (end && now_ns() >= end))
			break;
	}

	qsort(tallies, ntallies, sizeof(*tallies), cmp_tally);
	for (i = 0; i < ntallies; i++) {
		/* "first_error" sorts between "error" and "from". */
		if (want_first && first_err && strncmp(tallies[i].line, "error ", 6)) {
			printf("first_error %s %llu\n", first_err,
			       (unsigned long long)first_ms);
			first_err = NULL;
		}
		printf("%s %lu\n", tallies[i].line, tallies[i].count);
	}
	if (want_first && first_err)
		printf("first_error %s %llu\n", first_err,
		       (unsigned long long)first_ms);
	printf("total ok=%lu failed=%lu\n", ok, failed);
	return failed == 0 && ok > 0 ? 0 : 1;
}

/* ---- benchmarks ------------------------------------------------------------ */

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
			*duration = parse_secs(optarg, usage);
			break;
		case 'w':
			*warmup = parse_secs(optarg, usage);
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

static int cmd_crr(int argc, char **argv)
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

static int cmd_rr(int argc, char **argv)
{
	uint64_t duration, warmup, start, measure, end, t0, elapsed, sum = 0;
	struct timeval tv = { .tv_sec = 5 };
	struct samples s = { 0 };
	struct sockaddr_storage dst;
	unsigned long size = 64;
	char *buf, ebuf[16];
	socklen_t dlen;
	int fd, err, one = 1;
	size_t i;

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
		return 1;
	}
	/* Blocking by default: the fewest syscalls per small round trip. */
	if (fcntl(fd, F_SETFL, 0) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)))
		die("setsockopt");
	start = now_ns();
	measure = start + warmup;
	end = measure + duration;
	for (t0 = start; t0 < end && !stop_flag;) {
		uint64_t t1;

		if ((err = rr_roundtrip(fd, buf, size))) {
			fprintf(stderr, "sl-probe: rr: %s\n",
				errname(err, ebuf, sizeof(ebuf)));
			return 1;
		}
		t1 = now_ns();
		if (t0 >= measure)
			sample_add(&s, t1 - t0);
		t0 = t1;
	}
	close(fd);
	elapsed = t0 > measure ? t0 - measure : 1;
	for (i = 0; i < s.n; i++)
		sum += s.v[i];
	qsort(s.v, s.n, sizeof(*s.v), cmp_u64);
	printf("rr samples=%zu tps=%.1f p50_us=%.1f p99_us=%.1f mean_us=%.1f\n",
	       s.n, (double)s.n * 1e9 / (double)elapsed,
	       pct_us(&s, 50), pct_us(&s, 99),
	       s.n ? (double)sum / (double)s.n / 1000.0 : 0.0);
	free(s.v);
	free(buf);
	return s.n ? 0 : 1;
}

static const char main_usage[] =
	"usage: sl-probe serve|dial|crr|rr [options] ... (--help on each)\n";

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int argc, char **argv);
	} cmds[] = {
		{ "serve", cmd_serve }, { "dial", cmd_dial },
		{ "crr", cmd_crr }, { "rr", cmd_rr },
	};
	size_t i;

	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(main_usage, stdout);
		return 0;
	}
	for (i = 0; argc >= 2 && i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	if (argc < 2)
		usage_exit(main_usage, NULL);
	usage_exit(main_usage, "unknown command '%s'", argv[1]);
}
