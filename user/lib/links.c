// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <sluice/abi.h>

#include "links.h"
#include "sys.h"

const struct sl_link_desc sl_link_descs[] = {
	{ "connect4", BPF_CGROUP_INET4_CONNECT },
	{ "connect6", BPF_CGROUP_INET6_CONNECT },
	{ "sendmsg4", BPF_CGROUP_UDP4_SENDMSG },
	{ "sendmsg6", BPF_CGROUP_UDP6_SENDMSG },
	{ "recvmsg4", BPF_CGROUP_UDP4_RECVMSG },
	{ "recvmsg6", BPF_CGROUP_UDP6_RECVMSG },
	{ "getpeername4", BPF_CGROUP_INET4_GETPEERNAME },
	{ "getpeername6", BPF_CGROUP_INET6_GETPEERNAME },
};
const size_t sl_n_link_descs = sizeof(sl_link_descs) / sizeof(sl_link_descs[0]);

const struct sl_link_desc *sl_link_desc_find(const char *name)
{
	for (size_t i = 0; i < sl_n_link_descs; i++)
		if (strcmp(sl_link_descs[i].name, name) == 0)
			return &sl_link_descs[i];
	return NULL;
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
	if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 &&
	    info.type == BPF_LINK_TYPE_CGROUP) {
		out->cgroup_id = info.cgroup.cgroup_id;
		out->prog_id = info.prog_id;
		/* A detached link, or one whose cgroup was removed, reports
		 * cgroup id 0. */
		out->attached = info.cgroup.cgroup_id != 0 &&
				info.cgroup.attach_type == d->attach_type;
	}
	close(fd);
}
