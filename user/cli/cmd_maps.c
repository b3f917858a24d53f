// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* sluicectl maps: capacity and fill of every pinned map. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <bpf/bpf.h>

#include "ctl.h"
#include "table.h"

static const char *map_type_name(uint32_t type)
{
	switch (type) {
	case BPF_MAP_TYPE_HASH:
		return "hash";
	case BPF_MAP_TYPE_ARRAY:
		return "array";
	case BPF_MAP_TYPE_LRU_HASH:
		return "lru_hash";
	case BPF_MAP_TYPE_PERCPU_ARRAY:
		return "percpu_array";
	case BPF_MAP_TYPE_SK_STORAGE:
		return "sk_storage";
	case BPF_MAP_TYPE_SOCKHASH:
		return "sockhash";
	default:
		return "other";
	}
}

/* Kernel memory charged to the map, from its fdinfo. */
static unsigned long long map_memlock(int fd)
{
	unsigned long long v = 0;
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %llu", &v) == 1)
			break;
	fclose(f);
	return v;
}

struct map_row {
	const char *name;
	struct bpf_map_info info;
	uint32_t used;
	bool counted;
	unsigned long long memlock;
};

static void add_json(json_object *arr, const struct map_row *r)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(r->name));
	json_object_object_add(o, "type", json_object_new_string(map_type_name(r->info.type)));
	json_object_object_add(o, "id", json_object_new_int64(r->info.id));
	json_object_object_add(o, "key_size", json_object_new_int64(r->info.key_size));
	json_object_object_add(o, "value_size", json_object_new_int64(r->info.value_size));
	json_object_object_add(o, "max_entries", json_object_new_int64(r->info.max_entries));
	json_object_object_add(o, "entries", r->counted ? json_object_new_int64(r->used) : NULL);
	json_object_object_add(o, "memlock_bytes", json_object_new_uint64(r->memlock));
	json_object_array_add(arr, o);
}

static void add_row(struct table *t, const struct map_row *r)
{
	char id[16], key[16], value[16], max[16], used[16], fill[16], mem[24];
	const char *row[9];

	snprintf(id, sizeof(id), "%u", r->info.id);
	snprintf(key, sizeof(key), "%u", r->info.key_size);
	snprintf(value, sizeof(value), "%u", r->info.value_size);
	snprintf(max, sizeof(max), "%u", r->info.max_entries);
	snprintf(used, sizeof(used), r->counted ? "%u" : "-", r->used);
	snprintf(fill, sizeof(fill), r->counted ? "%.1f%%" : "-",
		 r->info.max_entries ? 100.0 * r->used / r->info.max_entries : 0.0);
	snprintf(mem, sizeof(mem), "%.1f MiB", r->memlock / 1048576.0);
	row[0] = r->name;
	row[1] = map_type_name(r->info.type);
	row[2] = id;
	row[3] = key;
	row[4] = value;
	row[5] = max;
	row[6] = used;
	row[7] = fill;
	row[8] = mem;
	table_row(t, row);
}

int cmd_maps(struct ctl *ctl, int argc, char **argv)
{
	static const char *const header[] = { "MAP", "TYPE", "ID", "KEY", "VALUE", "MAX",
					      "ENTRIES", "FILL", "MEMORY" };
	json_object *arr = NULL;
	struct sl_maps maps;
	struct table t;

	(void)argv;
	if (argc > 0) {
		fprintf(stderr, "sluicectl maps: takes no arguments\n");
		return CTL_USAGE;
	}
	if (ctl_open_maps(ctl, &maps) < 0)
		return CTL_NO_STATE;
	if (ctl->json)
		arr = json_object_new_array();
	else
		table_init(&t, 9, header);
	for (size_t i = 0; i < sl_n_map_descs; i++) {
		struct map_row r = { .name = sl_map_descs[i].name };
		int fd = *sl_maps_fd(&maps, &sl_map_descs[i]);
		__u32 len = sizeof(r.info);

		if (bpf_obj_get_info_by_fd(fd, &r.info, &len))
			continue;
		/* Arrays always hold max_entries; only hashes fill up. */
		r.counted = r.info.type == BPF_MAP_TYPE_HASH ||
			    r.info.type == BPF_MAP_TYPE_LRU_HASH ||
			    r.info.type == BPF_MAP_TYPE_SOCKHASH;
		if (r.counted && sl_map_count(fd, r.info.key_size, r.info.max_entries,
					      &r.used) < 0)
			r.counted = false;
		r.memlock = map_memlock(fd);
		if (arr)
			add_json(arr, &r);
		else
			add_row(&t, &r);
	}
	ctl_output(arr, &t);
	sl_maps_close(&maps);
	return CTL_OK;
}
