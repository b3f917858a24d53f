// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <string.h>
#include <bpf/bpf.h>

#include "accel.h"

int sl_accel_read(const struct sl_maps *m, struct sl_accel_view *v, struct sl_err *err)
{
	struct sl_settings settings;
	struct bpf_map_info info;
	__u32 len = sizeof(info), zero = 0;

	memset(v, 0, sizeof(*v));
	memset(&info, 0, sizeof(info));
	if (bpf_map_lookup_elem(m->settings, &zero, &settings) ||
	    bpf_map_lookup_elem(m->redir_stats, &zero, &v->stats) ||
	    bpf_obj_get_info_by_fd(m->sockhash, &info, &len))
		return sl_errf(err, "reading same-node acceleration state: %s", strerror(errno));
	v->enabled = settings.redirect;
	v->sockhash_id = info.id;
	if (sl_map_count(m->sockhash, sizeof(struct sl_sock_key), info.max_entries,
			 &v->members) < 0)
		return sl_errf(err, "walking sluice_sockhash: %s", strerror(errno));
	return 0;
}
