// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sl-stream helpers: fatal errors exit 1 and usage errors exit 2 (as in
 * sl-probe), so a test can tell a broken setup from a bad invocation.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "common.h"

const char *const tool_name = "sl-stream";

void sleep_ns(uint64_t ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(ns / NS_PER_SEC),
		.tv_nsec = (long)(ns % NS_PER_SEC),
	};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Names, not numbers, so that tests can grep a reason. */
#define E(x) { x, #x }
static const struct {
	int err;
	const char *name;
} errnames[] = {
	E(EPERM), E(ENOENT), E(EINTR), E(EIO), E(EBADF), E(EAGAIN),
	E(ENOMEM), E(EACCES), E(EFAULT), E(EINVAL), E(ENFILE), E(EMFILE),
	E(ENOSPC), E(ESPIPE), E(EPIPE), E(EPROTO), E(EMSGSIZE),
	E(ENOPROTOOPT), E(EOPNOTSUPP), E(EAFNOSUPPORT), E(EADDRINUSE),
	E(EADDRNOTAVAIL), E(ENETDOWN), E(ENETUNREACH), E(ENETRESET),
	E(ECONNABORTED), E(ECONNRESET), E(ENOBUFS), E(EISCONN), E(ENOTCONN),
	E(ESHUTDOWN), E(ETIMEDOUT), E(ECONNREFUSED), E(EHOSTDOWN),
	E(EHOSTUNREACH), E(EALREADY), E(EINPROGRESS), E(ENOSYS),
};
#undef E

const char *errname(int err)
{
	static __thread char buf[16];
	size_t i;

	for (i = 0; i < sizeof(errnames) / sizeof(errnames[0]); i++)
		if (errnames[i].err == err)
			return errnames[i].name;
	snprintf(buf, sizeof(buf), "E%d", err);
	return buf;
}

uint64_t parse_u64(const char *s, uint64_t max, const char *what,
		   const char *usage)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end || *s == '-' || v > max)
		usage_exit(usage, "bad %s '%s'", what, s);
	return v;
}

/* Thousands of connections need thousands of descriptors, and the soft
 * limit is often 1024: take all the hard limit allows, and ask root for
 * more if even that is short of 'want'. */
void raise_nofile(unsigned long want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		die("getrlimit");
	if (rl.rlim_max < want) {
		struct rlimit up = { .rlim_cur = want, .rlim_max = want };

		if (!setrlimit(RLIMIT_NOFILE, &up))
			return;
	}
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		die("setrlimit");
	if (rl.rlim_cur < want)
		fprintf(stderr, "sl-stream: warning: only %lu descriptors, want %lu\n",
			(unsigned long)rl.rlim_cur, want);
}

/*
 * t == NULL: detached. EAGAIN is usually transient (the thread limit, while
 * thousands of threads exit) and worth a retry, but not forever: a hard
 * limit must not turn into a hang. Returns 0 or the error.
 */
int spawn_thread(pthread_t *t, void *(*fn)(void *), void *arg)
{
	uint64_t give_up = now_ns() + 2 * NS_PER_SEC;
	pthread_attr_t attr;
	pthread_t tmp;
	int err;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, THREAD_STACK);
	if (!t)
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	while ((err = pthread_create(t ? t : &tmp, &attr, fn, arg)) == EAGAIN &&
	       now_ns() < give_up)
		sleep_ns(NS_PER_MS);
	pthread_attr_destroy(&attr);
	return err;
}
