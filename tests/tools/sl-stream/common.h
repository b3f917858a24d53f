/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * sl-stream: byte-exact TCP stream checker, shared declarations.
 *
 * Every payload byte is a pure function of (per-connection seed, direction,
 * offset), so a receiver verifies any byte at its exact position without a
 * copy of what was sent: loss, duplication, reordering and corruption all
 * show up as "the byte at offset X is wrong", and the tool says which X.
 */
#ifndef SL_STREAM_COMMON_H
#define SL_STREAM_COMMON_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "../lib/tool.h"

#define KIB		1024ul
#define MIB		(1024ul * 1024ul)
#define NS_PER_SEC	1000000000ull
#define NS_PER_MS	1000000ull
#define REASON_LEN	320
#define LINE_MAX_LEN	400
/* A byte no stream ever reaches: "do not corrupt anything". */
#define NO_OFFSET	UINT64_MAX
/* Thread stacks stay small so that thousands of connections fit; big
 * buffers live on the heap. */
#define THREAD_STACK	(512 * KIB)

enum dir { DIR_UP, DIR_DOWN };

/* ---- util.c ---- */
const char *errname(int err);
uint64_t parse_u64(const char *s, uint64_t max, const char *what,
		   const char *usage);
void raise_nofile(unsigned long want);
int spawn_thread(pthread_t *t, void *(*fn)(void *), void *arg);
void sleep_ns(uint64_t ns);

/* ---- gen.c: the data generator, the checksum, the chunk-size PRNG ---- */
struct csum {
	uint64_t a, b;
};

struct rng {
	uint64_t s;
};

uint64_t mix64(uint64_t x);
uint64_t conn_seed(uint64_t run_seed, uint64_t idx);
uint64_t stream_key(uint64_t cseed, enum dir d);
void gen_fill(uint64_t key, uint64_t off, void *buf, size_t len);
uint8_t gen_byte(uint64_t key, uint64_t off);
size_t gen_check(uint64_t key, uint64_t off, const void *buf, size_t len);
bool gen_locate(uint64_t key, uint64_t at, const void *buf, size_t len,
		uint64_t *where);
void csum_add(struct csum *c, const void *buf, size_t len);
uint64_t csum_value(const struct csum *c);
void rng_init(struct rng *r, uint64_t seed, uint64_t salt);
uint64_t rng_next(struct rng *r);
size_t rng_range(struct rng *r, size_t lo, size_t hi);
void rr_init(struct rng *r, uint64_t cseed);
void rr_sizes(struct rng *r, size_t *req, size_t *resp);
void rr_totals(uint64_t cseed, uint64_t rounds, uint64_t *up, uint64_t *down);

/* ---- sio.c: socket I/O where every call has the connection's deadline ---- */
struct sio {
	int fd;
	/* Blocking sockets wait inside the kernel (SO_RCVTIMEO/SO_SNDTIMEO
	 * set to what is left of the deadline); the others wait in poll().
	 * Both paths are worth testing: a redirect has its own wait code. */
	bool blocking;
	uint64_t deadline;
	uint64_t armed_at;
	size_t chunk;		/* largest single send, 0: any */
	int err;		/* errno of the first failure, ETIMEDOUT too */
	char why[REASON_LEN];	/* the first failure, in words */
};

void sio_init(struct sio *s, int fd, uint64_t deadline, bool blocking);
int sio_fail(struct sio *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void sio_note(struct sio *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int sio_set_blocking(struct sio *s, bool blocking);
int sio_connect(struct sio *s, const struct sockaddr_storage *dst,
		socklen_t len);
ssize_t sio_recv(struct sio *s, void *buf, size_t len, int flags);
ssize_t sio_send(struct sio *s, const void *buf, size_t len);
int sio_send_all(struct sio *s, const void *buf, size_t len);
int sio_recv_line(struct sio *s, char *buf, size_t cap);
ssize_t sio_splice(struct sio *s, int in, int out, size_t len, short events);
ssize_t sio_sendfile(struct sio *s, int file, off_t *off, size_t len);
int sio_shutdown_wr(struct sio *s);
/* sio_try_*(): the call would block. */
#define SIO_AGAIN	(-2)
ssize_t sio_try_send(struct sio *s, const void *buf, size_t len);
ssize_t sio_try_recv(struct sio *s, void *buf, size_t len);
int sio_wait(struct sio *s, short events, short *revents, const char *what);
void sio_close(struct sio *s);

/* ---- stream.c: one direction of a connection, sent or verified ---- */
struct stream {
	uint64_t key;
	uint64_t off;		/* sent, or received and verified, so far */
	uint64_t len;		/* the stream's length: more is an error */
	uint64_t corrupt_at;	/* test hook: the sender flips this byte */
	const char *name;	/* "up", "down", "echo": for the reasons */
	struct csum cs;		/* over the bytes sent or verified */
};

void stream_init(struct stream *st, uint64_t cseed, enum dir d, uint64_t len,
		 const char *name);
void stream_fill(const struct stream *st, uint64_t off, void *buf, size_t len);
int stream_take(struct sio *s, struct stream *st, const void *buf, size_t len);
int stream_send(struct sio *s, struct stream *st, uint64_t until,
		struct rng *r, size_t lo, size_t hi);
int stream_recv(struct sio *s, struct stream *st, uint64_t until,
		struct rng *r, size_t lo, size_t hi);
int stream_expect_eof(struct sio *s, struct stream *st);
/* k request/response turns of WARM_MSG bytes before the case, on either
 * end, so that a same-node shortcut has seen both applications read with
 * recv and may carry the case's very first bytes. */
#define WARM_MSG	32
int warmup_client(struct sio *s, uint64_t cseed, uint64_t turns);
int warmup_server(struct sio *s, uint64_t cseed, uint64_t turns);

/* ---- serve.c, verdict.c, srv_cases.c ---- */
struct sconn {
	struct sio io;
	char name[32];
	uint64_t n, seed, token;
	uint64_t corrupt_at;	/* of the streams the server sends */
	uint64_t warmup;	/* turns before the case */
	char detail[REASON_LEN];	/* what an ok verdict says */
	bool replied;		/* sent its own OK/FAIL line already */
};

struct srv_case {
	const char *name;
	int (*fn)(struct sconn *c);
	/* Answers "OK n csum" / "FAIL reason" in band, on the connection. */
	bool reply;
};

const struct srv_case *srv_case_find(const char *name);
extern uint64_t srv_timeout_ns;

void verdict_init(void);
int verdict_begin(uint64_t token);
void verdict_end(int slot, bool ok, const char *text);
void verdict_query(uint64_t token, uint64_t deadline, char *out, size_t cap);

int cmd_serve(int argc, char **argv);

/* ---- run.c, cli_cases.c ---- */
struct cli_case;

struct run_opts {
	const struct cli_case *cc;
	uint64_t bytes, conns, parallel, seed, timeout_ns;
	uint64_t corrupt_up, corrupt_down;	/* hidden test hooks */
	uint64_t warmup;	/* request/response turns before the case */
	uint64_t chunk;		/* largest single send of either end, 0: any */
	uint64_t token_base;
	struct sockaddr_storage dst;
	socklen_t dlen;
};

struct job {
	const struct run_opts *o;
	uint64_t idx, seed, token, n;
	uint64_t deadline;
	struct sio io;
	uint64_t up_ok, down_ok;	/* bytes verified, by either end */
	uint64_t up_claim;	/* verified if the server's verdict is ok */
	uint64_t csum;		/* of the streams verified */
	bool have_server;	/* the server's word came in band */
};

enum verdict_use { V_ON_FAIL, V_ALWAYS };

struct cli_case {
	const char *name;
	int (*fn)(struct job *j);
	uint64_t def_bytes;
	bool concurrent;	/* default --parallel is --conns */
	bool blocking;		/* the client socket's mode */
	enum verdict_use verdict;
	const char *what;	/* one line for --help */
};

extern const struct cli_case cli_cases[];
extern const size_t n_cli_cases;
int cli_echo(struct job *j);

int cmd_run(int argc, char **argv);

#endif
