// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Tracepoints: the one thing the socket hooks cannot see.
 *
 * Data redirected into a socket is readable with recv/read but invisible
 * to splice(2). The splice syscall's entry tracepoint names the file
 * descriptor being read; when it is a member socket, the socket and its
 * reader identity are marked as splicing before the splice reads anything,
 * and the sk_msg program never redirects into them again. It runs for
 * splice calls only, which are rare, and returns at once for anything that
 * is not a socket.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "lib/flow.h"

#define SL_S_IFMT 00170000
#define SL_S_IFSOCK 0140000

/* syscalls:sys_enter_splice, as its format file lays it out. */
struct sl_splice_args {
	__u64 common;
	__s32 nr;
	__u32 pad;
	__u64 fd_in;
};

/* Only the fields read here; CO-RE finds them in the running kernel. */
struct inode___sl {
	unsigned short i_mode;
} __attribute__((preserve_access_index));

struct file___sl {
	struct inode___sl *f_inode;
	void *private_data;
} __attribute__((preserve_access_index));

struct fdtable___sl {
	unsigned int max_fds;
	struct file___sl **fd;
} __attribute__((preserve_access_index));

struct files_struct___sl {
	struct fdtable___sl *fdt;
} __attribute__((preserve_access_index));

struct task_struct___sl {
	struct files_struct___sl *files;
} __attribute__((preserve_access_index));

struct in6_addr___sl {
	union {
		__u32 u6_addr32[4];
	} in6_u;
} __attribute__((preserve_access_index));

struct net___sl {
	__u64 net_cookie;
} __attribute__((preserve_access_index));

struct sock_common___sl {
	__be32 skc_daddr;
	__be32 skc_rcv_saddr;
	__be16 skc_dport;
	__u16 skc_num;
	unsigned short skc_family;
	struct in6_addr___sl skc_v6_daddr;
	struct in6_addr___sl skc_v6_rcv_saddr;
	struct {
		struct net___sl *net;
	} skc_net;
} __attribute__((preserve_access_index));

struct sock___sl {
	struct sock_common___sl __sk_common;
	void *sk_user_data;
} __attribute__((preserve_access_index));

struct sk_psock___sl {
	__u32 msg_tot_len;
} __attribute__((preserve_access_index));

/* The low bits of sk_user_data are flags (SK_USER_DATA_PTRMASK). */
#define SL_USER_DATA_PTRMASK (~7UL)

struct socket___sl {
	struct sock___sl *sk;
} __attribute__((preserve_access_index));

/* The socket behind a file descriptor of the calling task, or NULL. */
static __always_inline struct sock___sl *sl_fd_sock(__u64 fd)
{
	struct task_struct___sl *task = (void *)bpf_get_current_task();
	struct fdtable___sl *fdt = BPF_CORE_READ(task, files, fdt);
	struct file___sl **fds, *file = NULL;
	struct socket___sl *sock;
	unsigned short mode;

	if (!fdt || fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	fds = BPF_CORE_READ(fdt, fd);
	if (bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]) || !file)
		return NULL;
	mode = BPF_CORE_READ(file, f_inode, i_mode);
	if ((mode & SL_S_IFMT) != SL_S_IFSOCK)
		return NULL;
	sock = BPF_CORE_READ(file, private_data);
	return sock ? BPF_CORE_READ(sock, sk) : NULL;
}

static __always_inline void sl_read6(struct sl_addr *a, const struct in6_addr___sl *src)
{
	__u32 w[4] = {};

	bpf_probe_read_kernel(w, sizeof(w), &src->in6_u.u6_addr32);
	a->a[0] = w[0];
	a->a[1] = w[1];
	a->a[2] = w[2];
	a->a[3] = w[3];
}

/* The socket's key, as its sockops and sk_msg contexts build it. */
static __always_inline bool sl_sock_view(struct sock___sl *sk, struct sl_view *v)
{
	struct sock_common___sl *c = &sk->__sk_common;
	unsigned short family = BPF_CORE_READ(c, skc_family);
	struct sl_addr local = {}, remote = {}, l6 = {}, r6 = {};
	__u64 cookie = 0;
	__u8 fam;

	if (family == SL_AF_INET) {
		local.a[0] = BPF_CORE_READ(c, skc_rcv_saddr);
		remote.a[0] = BPF_CORE_READ(c, skc_daddr);
		fam = SL_AF_INET;
	} else if (family == SL_AF_INET6) {
		sl_read6(&l6, &c->skc_v6_rcv_saddr);
		sl_read6(&r6, &c->skc_v6_daddr);
		fam = sl_addr_set6(&local, l6.a[0], l6.a[1], l6.a[2], l6.a[3]);
		if (sl_addr_set6(&remote, r6.a[0], r6.a[1], r6.a[2], r6.a[3]) != fam)
			return false;
	} else {
		return false;
	}
	if (sl_addr_scope(&remote, fam) == SL_SCOPE_NETNS)
		cookie = BPF_CORE_READ(c, skc_net.net, net_cookie);
	return sl_view_build(v, fam, &local, &remote, BPF_CORE_READ(c, skc_num),
			     (__u32)BPF_CORE_READ(c, skc_dport) << 16, cookie);
}

/* Bytes already redirected into the socket and not read: a splice
 * cannot see them. 0 where the kernel does not say. */
static __always_inline __u32 sl_redirected_unread(struct sock___sl *sk)
{
	struct sk_psock___sl *psock;

	if (!bpf_core_field_exists(((struct sk_psock___sl *)0)->msg_tot_len))
		return 0;
	psock = (void *)((unsigned long)BPF_CORE_READ(sk, sk_user_data) & SL_USER_DATA_PTRMASK);
	return psock ? BPF_CORE_READ(psock, msg_tot_len) : 0;
}

SEC("tracepoint/syscalls/sys_enter_splice")
int sl_saw_splice(struct sl_splice_args *args)
{
	struct sock___sl *sk = sl_fd_sock(args->fd_in);
	struct sl_redir_stats *stats;
	struct sl_flow *flow;
	struct sl_view v;

	if (!sk || !sl_sock_view(sk, &v))
		return 0;
	flow = bpf_map_lookup_elem(&sluice_flow, &v.own);
	if (!flow || (flow->flags & SL_FLOW_F_SPLICER))
		return 0;
	__sync_fetch_and_or(&flow->flags, SL_FLOW_F_SPLICER);
	sl_reader_mark(&v.own, flow->flags & SL_FLOW_F_SERVER, SL_FLOW_F_SPLICER);
	stats = sl_redir_stats();
	if (!stats)
		return 0;
	__sync_fetch_and_add(&stats->splice_seen, 1);
	if (sl_redirected_unread(sk))
		__sync_fetch_and_add(&stats->splice_stranded, 1);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
