// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sl-probe serve: the endpoint behind every service in the e2e tests. Its
 * reply names the server and the addresses it saw, so a test can check
 * which backend got a connection and whether the datapath rewrote them.
 * One thread on epoll, because the benchmarks open thousands of connections
 * and the server must not be what they measure.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "common.h"

#define MAX_LISTENERS	64
/* Stop reading from a connection whose peer does not read its replies. */
#define OUT_HIGH	(1u << 20)

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

/* The address a datagram was sent to, from its pktinfo; false if none. */
static bool udp_dst(struct msghdr *msg, struct sockaddr_in6 *local,
		    int *ifindex)
{
	bool have_dst = false;
	struct cmsghdr *cm;

	for (cm = CMSG_FIRSTHDR(msg); cm; cm = CMSG_NXTHDR(msg, cm)) {
		if (cm->cmsg_level == IPPROTO_IP &&
		    cm->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			local->sin6_addr.s6_addr[10] = 0xff;
			local->sin6_addr.s6_addr[11] = 0xff;
			memcpy(&local->sin6_addr.s6_addr[12], &pi.ipi_addr, 4);
			have_dst = true;
		} else if (cm->cmsg_level == IPPROTO_IPV6 &&
			   cm->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;

			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			local->sin6_addr = pi.ipi6_addr;
			*ifindex = (int)pi.ipi6_ifindex;
			have_dst = true;
		}
	}
	return have_dst;
}

/*
 * Sends the reply from LOCAL, unless that is a multicast address, which
 * cannot be a source. The v6 pktinfo also carries a v4-mapped source for
 * IPv4 peers; the ifindex only matters for link-local scope.
 */
static void udp_set_src(struct msghdr *msg, void *cbuf,
			const struct sockaddr_in6 *local, int ifindex)
{
	struct in6_pktinfo pi = { .ipi6_addr = local->sin6_addr };
	struct cmsghdr *cm;

	if (IN6_IS_ADDR_MULTICAST(&local->sin6_addr) ||
	    (IN6_IS_ADDR_V4MAPPED(&local->sin6_addr) &&
	     local->sin6_addr.s6_addr[12] >= 224))
		return;
	if (IN6_IS_ADDR_LINKLOCAL(&local->sin6_addr))
		pi.ipi6_ifindex = (unsigned int)ifindex;
	msg->msg_control = cbuf;
	msg->msg_controllen = CMSG_SPACE(sizeof(pi));
	cm = CMSG_FIRSTHDR(msg);
	cm->cmsg_level = IPPROTO_IPV6;
	cm->cmsg_type = IPV6_PKTINFO;
	cm->cmsg_len = CMSG_LEN(sizeof(pi));
	memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
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
		int ifindex = 0, len;
		bool have_dst;

		if (recvmsg(h->fd, &msg, 0) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		have_dst = udp_dst(&msg, &local, &ifindex);
		fmt_addr(&peer, pbuf, sizeof(pbuf));
		fmt_addr(&local, lbuf, sizeof(lbuf));
		len = snprintf(reply, sizeof(reply), "%s %s %s\n", srv_name,
			       lbuf, pbuf);
		iov.iov_base = reply;
		iov.iov_len = (size_t)len;
		msg.msg_namelen = sizeof(peer);
		msg.msg_control = NULL;
		msg.msg_controllen = 0;
		if (have_dst)
			udp_set_src(&msg, cbuf.buf, &local, ifindex);
		while (sendmsg(h->fd, &msg, MSG_NOSIGNAL) < 0 && errno == EINTR)
			;
	}
}

/* Fills ls from the options and returns how many; exits on --help. */
static int serve_opts(int argc, char **argv, struct handle *ls)
{
	static const struct option lopts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "tcp", required_argument, NULL, 't' },
		{ "udp", required_argument, NULL, 'u' },
		{ "echo", required_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	int nl = 0, c;

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
			exit(0);
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
	return nl;
}

/* SIGINT and SIGTERM arrive through sig, as one more event to poll. */
static void serve_setup(struct handle *sig)
{
	struct rlimit rl;
	sigset_t mask;

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
	sig->fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (epfd < 0 || sig->fd < 0)
		die("epoll/signalfd");
	ep_add(sig, EPOLLIN);
}

/* Returns false once a stop signal arrived. */
static bool serve_event(const struct epoll_event *ev)
{
	struct handle *h = ev->data.ptr;
	struct conn *cn = (struct conn *)h;

	switch (h->kind) {
	case H_SIGNAL:
		return false;
	case H_LISTEN_LINE:
	case H_LISTEN_ECHO:
		on_accept(h);
		break;
	case H_UDP:
		on_udp(h);
		break;
	case H_CONN_LINE:
	case H_CONN_ECHO:
		if ((ev->events & EPOLLOUT) && conn_flush(cn)) {
			conn_close(cn);
			break;
		}
		if (ev->events & (EPOLLIN | EPOLLERR | EPOLLHUP))
			conn_read(cn);
		else
			conn_update(cn);
		break;
	}
	return true;
}

int cmd_serve(int argc, char **argv)
{
	static struct handle ls[MAX_LISTENERS];
	struct handle sig = { .kind = H_SIGNAL };
	struct epoll_event evs[256];
	int nl, i;

	nl = serve_opts(argc, argv, ls);
	serve_setup(&sig);
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
		for (i = 0; i < n; i++)
			if (!serve_event(&evs[i]))
				return 0;
	}
}
