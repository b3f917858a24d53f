// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <sluice/abi.h>

#include "links.h"
#include "sys.h"

/* Linux 6.10's link type for sockmap programs, newer than some headers. */
#define SL_BPF_LINK_TYPE_SOCKMAP 14

const struct sl_link_desc sl_link_descs[] = {
	{ "connect4", "sl_connect4", BPF_CGROUP_INET4_CONNECT, SL_LINK_CGROUP, false, NULL, NULL },
	{ "connect6", "sl_connect6", BPF_CGROUP_INET6_CONNECT, SL_LINK_CGROUP, false, NULL, NULL },
	{ "sendmsg4", "sl_sendmsg4", BPF_CGROUP_UDP4_SENDMSG, SL_LINK_CGROUP, false, NULL, NULL },
	{ "sendmsg6", "sl_sendmsg6", BPF_CGROUP_UDP6_SENDMSG, SL_LINK_CGROUP, false, NULL, NULL },
	{ "recvmsg4", "sl_recvmsg4", BPF_CGROUP_UDP4_RECVMSG, SL_LINK_CGROUP, false, NULL, NULL },
	{ "recvmsg6", "sl_recvmsg6", BPF_CGROUP_UDP6_RECVMSG, SL_LINK_CGROUP, false, NULL, NULL },
	{ "getpeername4", "sl_getpeername4", BPF_CGROUP_INET4_GETPEERNAME, SL_LINK_CGROUP, false, NULL, NULL },
	{ "getpeername6", "sl_getpeername6", BPF_CGROUP_INET6_GETPEERNAME, SL_LINK_CGROUP, false, NULL, NULL },
	/* Not only acceleration: it also gives maxConnections places back. */
	{ "sockops", "sl_sockops", BPF_CGROUP_SOCK_OPS, SL_LINK_CGROUP, false, NULL, NULL },
	/* The end of each connection, for metrics and the flow log. */
	{ "tcp_destroy", "sl_tcp_destroyed", 0, SL_LINK_RAW_TP, false, "tcp",
	  "tcp_destroy_sock" },
	{ "sk_msg", "sl_redirect", BPF_SK_MSG_VERDICT, SL_LINK_SOCKMAP, true, NULL, NULL },
	{ "splice", "sl_saw_splice", 0, SL_LINK_TRACEPOINT, true, "syscalls",
	  "sys_enter_splice" },
};
const size_t sl_n_link_descs = sizeof(sl_link_descs) / sizeof(sl_link_descs[0]);

const struct sl_link_desc *sl_link_desc_by_prog(const char *prog)
{
	for (size_t i = 0; i < sl_n_link_descs; i++)
		if (strcmp(sl_link_descs[i].prog, prog) == 0)
			return &sl_link_descs[i];
	return NULL;
}

static void judge(const struct sl_link_desc *d, const struct bpf_link_info *info,
		  struct sl_link_state *out)
{
	/* The per-type part of the info starts where the union does. */
	const __u32 *u = (const __u32 *)&info->raw_tracepoint;

	out->prog_id = info->prog_id;
	switch (d->kind) {
	case SL_LINK_CGROUP:
		/* A detached link, or one whose cgroup was removed, reports
		 * cgroup id 0. */
		out->cgroup_id = info->cgroup.cgroup_id;
		out->attached = info->type == BPF_LINK_TYPE_CGROUP &&
				info->cgroup.cgroup_id != 0 &&
				info->cgroup.attach_type == d->attach_type;
		break;
	case SL_LINK_SOCKMAP:
		out->map_id = u[0];
		out->attached = info->type == SL_BPF_LINK_TYPE_SOCKMAP && u[0] != 0;
		break;
	case SL_LINK_TRACEPOINT:
		out->attached = info->type == BPF_LINK_TYPE_PERF_EVENT && info->prog_id != 0;
		break;
	case SL_LINK_RAW_TP:
		out->attached = (info->type == BPF_LINK_TYPE_RAW_TRACEPOINT ||
				 info->type == BPF_LINK_TYPE_TRACING) && info->prog_id != 0;
		break;
	}
}

void sl_link_inspect(const char *bpffs, const struct sl_link_desc *d,
		     struct sl_link_state *out)
{
	struct bpf_link_info info;
	__u32 len = sizeof(info);
	char path[4096];
	int fd;

	memset(out, 0, sizeof(*out));
	out->name = d->name;
	if (sl_pathf(path, sizeof(path), NULL, "%s/%s/%s", bpffs, SL_PIN_LINKS_DIR,
		     d->name))
		return;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return;
	out->present = 1;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0)
		judge(d, &info, out);
	close(fd);
}
